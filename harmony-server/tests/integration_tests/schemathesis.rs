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

const MINIMUM_CASES: u64 = 1000;

/// Operations of the newest version where a schema-valid request may still
/// be refused (400), and why: the rule joins fields or depends on what is
/// stored, and the document lists it in `x-rules` (or, for page
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

on_both_backends!(schemathesis_finds_no_server_error_at_any_served_version);

async fn schemathesis_finds_no_server_error_at_any_served_version(backend: Backend) {
    if !test_support::schemathesis::available("Harmony") {
        return;
    }
    let Some(h) = TestHarmony::on_with(backend, |c| c.dev_seed = true) else { return };
    // No older binary shares a test's database: every format is written
    // (a 4.0.0 spec's contact emails wait for that).
    let h = h.contracted(|c| c.dev_seed = true).await;
    let mut summary = Vec::new();
    for version in harmony_api::supported_versions().iter().map(|v| v.semver().clone()) {
        let doc = document(&version);
        let text: Value = serde_json::from_str(&std::fs::read_to_string(&doc).unwrap()).unwrap();
        let operations: usize =
            text["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
        // What a document allows must be taken, except where a rule the
        // schema cannot state decides (each named with why): at the newest
        // version, rules it lists in `x-rules` or what is
        // stored; at a released version, also the rules its frozen
        // document never stated (4.0.0 states them; `deployment_rules` is
        // their reference before it).
        let newest = version == harmony_api::latest_version();
        let refusals = RULES_A_SCHEMA_CANNOT_STATE
            .iter()
            .map(|(operation, why)| {
                let why = match newest {
                    true => why.to_string(),
                    false => format!("{why}; and the released document states none of its rules"),
                };
                (operation.to_string(), why)
            })
            .collect();
        let run = test_support::schemathesis::Run {
            document: doc,
            url: h.url.clone(),
            headers: vec![
                format!("api-version: {version}"),
                format!("Authorization: Bearer {}", crate::common::SERVICE_TOKEN),
            ],
            // Known data planes, so the deployment operations get past "no
            // such data plane" sometimes; everything else is generated.
            parameters: vec![("data_plane_id".into(), "hybrid-example".into())],
            refusals,
            // Enough per operation that the document gets its 1,000 cases.
            max_examples: (MINIMUM_CASES as usize).div_ceil(operations) + 20,
        };
        let outcome = tokio::task::spawn_blocking(move || test_support::schemathesis::run(&run))
            .await
            .unwrap();
        let test_support::schemathesis::Outcome {
            cases, failures, errors, succeeded, stdout, ..
        } = outcome;
        summary.push(format!("{version}: {cases} cases, {failures} failures, {errors} errors"));
        assert!(succeeded && failures == 0 && errors == 0, "{version}:\n{stdout}");
        assert!(cases >= MINIMUM_CASES, "{version}: only {cases} cases generated:\n{stdout}");
    }
    eprintln!("schemathesis against Harmony ({backend:?}): {}", summary.join("; "));
}
