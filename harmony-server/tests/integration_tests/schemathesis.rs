//! schemathesis (from PyPI) against a running Harmony, once per served API
//! version with that version's committed document and `api-version` header:
//! at least 1,000 generated cases per document, no server error, every
//! response conforming to the document of the version asked for, and every
//! request the document allows taken, except on the operations listed with
//! why (a rule a schema cannot state; at a released version, a rule its
//! frozen document never stated). On each store backend.
//!
//! `.ci/run` installs schemathesis and sets `REQUIRE_SCHEMATHESIS=1`, so CI
//! fails when it cannot run. Elsewhere, without the tool, the test says so
//! loudly and does nothing else (`pip install schemathesis` to run it).

use crate::common::{Backend, TestHarmony, document, on_both_backends};
use serde_json::Value;
use std::process::Command;

const MINIMUM_CASES: u64 = 1000;

/// Operations of the newest version where a schema-valid request may still
/// be refused (400), and why: the rule joins fields or depends on what is
/// stored, and the document lists it in `x-cross-field-rules` (or, for page
/// tokens, it is opaque by design).
const RULES_A_SCHEMA_CANNOT_STATE: &[(&str, &str)] = &[
    ("deployment_put", "kinds must match the data plane's, one default queue, min <= max, ..."),
    ("data_plane_put", "a HYBRID plane names its owner; kind, release and owner never change"),
    ("platform_release_put", "kubernetes_min <= kubernetes_max"),
    ("rollout_create", "to_release must be registered; data planes must be on from_release"),
    ("data_plane_list", "page_token is opaque: only a token this server issued is valid"),
    ("deployment_list", "page_token is opaque: only a token this server issued is valid"),
    ("rollout_data_plane_list", "page_token is opaque: only a token this server issued is valid"),
];

fn schemathesis_available() -> bool {
    let found =
        Command::new("schemathesis").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("REQUIRE_SCHEMATHESIS").is_none(),
            "REQUIRE_SCHEMATHESIS is set but `schemathesis` is not on PATH"
        );
        eprintln!(
            "\n*** schemathesis is not installed: the Harmony conformance runs are SKIPPED ***\n\
             *** (pip install schemathesis; CI sets REQUIRE_SCHEMATHESIS=1)                ***\n"
        );
    }
    found
}

on_both_backends!(schemathesis_finds_no_server_error_at_any_served_version);

async fn schemathesis_finds_no_server_error_at_any_served_version(backend: Backend) {
    if !schemathesis_available() {
        return;
    }
    let Some(h) = TestHarmony::on_with(backend, |c| c.dev_seed = true) else { return };
    let mut summary = Vec::new();
    for version in harmony_api::supported_versions().iter().map(|v| v.semver().clone()) {
        let doc = document(&version);
        let text: Value = serde_json::from_str(&std::fs::read_to_string(&doc).unwrap()).unwrap();
        let operations: usize =
            text["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
        // Enough per operation that the document gets its 1,000 cases.
        let per_operation = (MINIMUM_CASES as usize).div_ceil(operations) + 20;
        let work = tempfile::tempdir().unwrap();
        let config = work.path().join("schemathesis.toml");
        // Known data planes, so the deployment operations get past "no
        // such data plane" sometimes; everything else is generated.
        let mut settings = "[parameters]\ndata_plane_id = \"hybrid-example\"\n".to_owned();
        // What a document allows must be taken (positive_data_acceptance),
        // except where a rule the schema cannot state decides (each named
        // below with why): at the newest version, rules it lists in
        // `x-cross-field-rules` or what is stored; at a released version,
        // also the rules its frozen document never stated (4.0.0 states
        // them; `deployment_rules` is their reference before it).
        let newest = version == harmony_api::latest_version();
        for (operation, why) in RULES_A_SCHEMA_CANNOT_STATE {
            let why = match newest {
                true => why.to_string(),
                false => format!("{why}; and the released document states none of its rules"),
            };
            settings.push_str(&format!(
                "\n# {why}\n[[operations]]\ninclude-operation-id = \"{operation}\"\n\
                 checks.positive_data_acceptance.expected-statuses = \
                 [\"2xx\", \"400\", \"401\", \"403\", \"404\", \"409\"]\n"
            ));
        }
        std::fs::write(&config, settings).unwrap();
        let report = work.path().join("report.json");
        let seed = std::env::var("SCHEMATHESIS_SEED").unwrap_or_else(|_| "1".to_owned());
        let mut command = Command::new("schemathesis");
        command
            .current_dir(work.path())
            .arg("--config-file")
            .arg(&config)
            .arg("run")
            .arg(&doc)
            .args(["--url", &h.url])
            .args(["--header", &format!("api-version: {version}")])
            .args(["--header", &format!("Authorization: Bearer {}", crate::common::SERVICE_TOKEN)])
            .args(["--checks", "all"])
            .args(["--max-examples", &per_operation.to_string()])
            .args(["--seed", &seed, "--generation-database", "none", "--no-color"])
            // One worker: with two, CPython 3.11's AST constructor (which
            // hypothesis uses to describe strategies) races on its
            // recursion counter and schemathesis reports a spurious runtime
            // error ("AST constructor recursion depth mismatch").
            .args(["--workers", "1", "--report", "json", "--report-json-path"])
            .arg(&report);
        let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap_or_else(|e| {
                panic!(
                    "{version}: no schemathesis report ({e}):\n{stdout}\n{}",
                    String::from_utf8_lossy(&output.stderr)
                )
            }))
            .unwrap();
        let cases = report["test_cases"]["generated"].as_u64().unwrap();
        let count = |v: &Value| v.as_u64().or_else(|| v.as_array().map(|a| a.len() as u64));
        let failures =
            count(&report["failures"]).unwrap_or_else(|| panic!("{}", report["failures"]));
        let errors = count(&report["errors"]).unwrap_or_else(|| panic!("{}", report["errors"]));
        summary.push(format!("{version}: {cases} cases, {failures} failures, {errors} errors"));
        assert!(output.status.success() && failures == 0 && errors == 0, "{version}:\n{stdout}");
        assert!(cases >= MINIMUM_CASES, "{version}: only {cases} cases generated:\n{stdout}");
    }
    eprintln!("schemathesis against Harmony ({backend:?}): {}", summary.join("; "));
}
