//! schemathesis (from PyPI) against a running service, as both services'
//! conformance tests run it: every check, one worker, a fixed seed (or
//! `SCHEMATHESIS_SEED`), no example database, a JSON report read back,
//! and the hook `schemathesis/contract_hooks.py`, which makes positive
//! cases meet the rules the document declares (`x-rules`).
//!
//! `.ci/run` installs schemathesis and sets `REQUIRE_SCHEMATHESIS=1`, so CI
//! fails when it cannot run; elsewhere, without the tool, [`available`]
//! says so loudly and the test does nothing else.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// Whether `schemathesis` is on PATH; when not, a failure under
/// `REQUIRE_SCHEMATHESIS`, otherwise a loud note that `service`'s
/// conformance run is skipped.
pub fn available(service: &str) -> bool {
    let found =
        Command::new("schemathesis").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        let what = format!(
            "`schemathesis` is not on PATH (pip install schemathesis): the {service} conformance run"
        );
        crate::skip("REQUIRE_SCHEMATHESIS", &what);
    }
    found
}

/// One run against one document.
pub struct Run {
    pub document: PathBuf,
    pub url: String,
    /// `Name: value` headers sent with every request.
    pub headers: Vec<String>,
    /// Path and query parameters fixed to known values.
    pub parameters: Vec<(String, String)>,
    /// Operations where a request the document allows may still be refused
    /// (400), each with why: what no document can state (an opaque page
    /// token), or, at a released version, the rules its frozen document
    /// never listed.
    pub refusals: Vec<(String, String)>,
    /// The state the declared rules read, for `contract_hooks.py` (data
    /// planes, releases, clusters, runtimes: whatever its `SATISFY` table
    /// names), as a JSON object. The hook brings each generated positive
    /// body to meet every rule the document lists in `x-rules`.
    pub facts: Value,
    pub max_examples: usize,
}

/// The facts every document's rules read, from the rules themselves
/// (`deployment_rules`): the bidirectional controls and invisible
/// characters names may not hold, the environment variable keys the
/// platform sets, and the limits the hook fits bodies into. Merged into each run's [`Run::facts`].
pub fn rule_facts() -> Value {
    let chars = |keep: fn(char) -> bool| -> Vec<String> {
        (0..=0x10FFFF_u32)
            .filter_map(char::from_u32)
            .filter(|c| keep(*c))
            .map(String::from)
            .collect()
    };
    serde_json::json!({
        "bidi_controls": chars(deployment_rules::is_bidi_control),
        "invisible": chars(deployment_rules::is_invisible),
        "platform_environment_keys": deployment_rules::rule::PLATFORM_ENVIRONMENT_KEYS,
        "limits": {
            "parallelism": deployment_rules::MAX_PARALLELISM,
            "environment_value_bytes": deployment_rules::MAX_ENVIRONMENT_VALUE,
            "environment_bytes": deployment_rules::MAX_ENVIRONMENT_BYTES,
            "environment_variables": deployment_rules::MAX_ENVIRONMENT_VARIABLES,
        },
    })
}

/// Exclusions for the list operations named: what no document can state
/// (a page token is opaque; only one the server issued is valid), each with
/// that reason.
pub fn opaque_page_tokens(operations: &[&str]) -> Vec<(String, String)> {
    let why = "page_token is opaque: only a token this server issued is valid";
    operations.iter().map(|operation| (operation.to_string(), why.to_owned())).collect()
}

/// What a run found.
pub struct Outcome {
    pub cases: u64,
    pub failures: u64,
    pub errors: u64,
    /// schemathesis's own exit status.
    pub succeeded: bool,
    pub stdout: String,
    /// Per operation of the document (its `operationId`), how many of the
    /// requests schemathesis sent were answered 2xx: an operation with none
    /// had only its refusals exercised.
    pub successes: std::collections::BTreeMap<String, u64>,
}

impl Outcome {
    /// Asserts the run found nothing (no failure, no error, schemathesis
    /// content) and generated at least `minimum` cases; `what` names the run.
    pub fn assert_clean(&self, what: &str, minimum: u64) {
        let Outcome { cases, failures, errors, succeeded, stdout, .. } = self;
        assert!(*succeeded && *failures == 0 && *errors == 0, "{what}:\n{stdout}");
        assert!(*cases >= minimum, "{what}: only {cases} cases generated:\n{stdout}");
    }

    /// Asserts every operation's success path was reached (a 2xx): a run
    /// whose requests were all refused exercised only the refusals.
    pub fn assert_every_operation_succeeded(&self, what: &str) {
        let unreached: Vec<&String> =
            self.successes.iter().filter(|(_, n)| **n == 0).map(|(op, _)| op).collect();
        assert!(
            unreached.is_empty(),
            "{what}: no 2xx for {unreached:?}: {:?}\n{}",
            self.successes,
            self.stdout
        );
    }
}

/// Runs schemathesis (blocking: call it from a blocking thread when the
/// servers run on the caller's runtime). Panics with its output when it
/// leaves no report.
pub fn run(run: &Run) -> Outcome {
    let work = tempfile::tempdir().expect("a temporary directory");
    let config = work.path().join("schemathesis.toml");
    let mut settings = "[parameters]\n".to_owned();
    for (name, value) in &run.parameters {
        settings.push_str(&format!("{name} = {value:?}\n"));
    }
    // A conflict with what is stored (409), a precondition that names
    // another version (412) and a rate limit (429) answer a valid body;
    // a 400 refuses it, and is never expected of positive data.
    settings.push_str(
        "\n[checks.positive_data_acceptance]\n\
         expected-statuses = [\"2xx\", \"401\", \"403\", \"404\", \"409\", \"412\", \"429\"]\n",
    );
    // What the document allows must be taken (positive_data_acceptance),
    // except where an exclusion says why not. A 412 is never a refusal of
    // the body: a generated If-Match that names another version is
    // answered so.
    for (operation, why) in &run.refusals {
        settings.push_str(&format!(
            "\n# {why}\n[[operations]]\ninclude-operation-id = \"{operation}\"\n\
             checks.positive_data_acceptance.expected-statuses = \
             [\"2xx\", \"400\", \"401\", \"403\", \"404\", \"409\", \"412\"]\n"
        ));
    }
    std::fs::write(&config, settings).expect("writing schemathesis.toml");
    let mut facts = rule_facts();
    for (name, value) in run.facts.as_object().expect("facts are a JSON object") {
        facts[name] = value.clone();
    }
    facts["document"] = Value::String(run.document.display().to_string());
    let facts_file = work.path().join("facts.json");
    std::fs::write(&facts_file, facts.to_string()).expect("writing facts.json");
    let hooks = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemathesis");
    let report = work.path().join("report.json");
    let seed = std::env::var("SCHEMATHESIS_SEED").unwrap_or_else(|_| "1".to_owned());
    let mut command = Command::new("schemathesis");
    command
        .current_dir(work.path())
        .env("SCHEMATHESIS_HOOKS", "contract_hooks")
        .env("PYTHONPATH", &hooks)
        .env("CONTRACT_FACTS", &facts_file)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(&run.document)
        .args(["--url", &run.url]);
    for header in &run.headers {
        command.args(["--header", header]);
    }
    command
        .args(["--checks", "all"])
        .args(["--max-examples", &run.max_examples.to_string()])
        .args(["--seed", &seed, "--generation-database", "none", "--no-color"])
        // One worker: with two, CPython 3.11's AST constructor (which
        // hypothesis uses to describe strategies) races on its recursion
        // counter and schemathesis reports a spurious runtime error ("AST
        // constructor recursion depth mismatch").
        .args(["--workers", "1", "--report", "json,har", "--report-json-path"])
        .arg(&report)
        .arg("--report-har-path")
        .arg(work.path().join("exchanges.har"));
    let output = command.output().expect("running schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let text = std::fs::read_to_string(&report).unwrap_or_else(|e| {
        panic!(
            "no schemathesis report ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let report: Value = serde_json::from_str(&text).expect("schemathesis's JSON report");
    let successes = successes(&run.document, &work.path().join("exchanges.har"));
    let count = |v: &Value| v.as_u64().or_else(|| v.as_array().map(|a| a.len() as u64));
    Outcome {
        cases: report["test_cases"]["generated"].as_u64().expect("test_cases.generated"),
        failures: count(&report["failures"]).unwrap_or_else(|| panic!("{}", report["failures"])),
        errors: count(&report["errors"]).unwrap_or_else(|| panic!("{}", report["errors"])),
        succeeded: output.status.success(),
        stdout,
        successes,
    }
}

/// 2xx answers per operation of `document`, from the HAR file of every
/// exchange schemathesis made: each request's method and path matched to
/// the document's path templates (a `{parameter}` is any one segment).
fn successes(
    document: &std::path::Path,
    har: &std::path::Path,
) -> std::collections::BTreeMap<String, u64> {
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(document).expect("the document"))
            .expect("the document parses");
    let mut operations: Vec<(String, Vec<String>, String)> = Vec::new();
    for (path, methods) in doc["paths"].as_object().into_iter().flatten() {
        for (method, operation) in methods.as_object().into_iter().flatten() {
            let Some(id) = operation["operationId"].as_str() else { continue };
            let segments = path.trim_start_matches('/').split('/').map(str::to_owned).collect();
            operations.push((method.to_uppercase(), segments, id.to_owned()));
        }
    }
    let mut counts: std::collections::BTreeMap<String, u64> =
        operations.iter().map(|(_, _, id)| (id.clone(), 0)).collect();
    let text = std::fs::read_to_string(har).unwrap_or_else(|e| panic!("no HAR report: {e}"));
    let har: Value = serde_json::from_str(&text).expect("schemathesis's HAR report");
    for entry in har["log"]["entries"].as_array().into_iter().flatten() {
        let status = entry["response"]["status"].as_u64().unwrap_or(0);
        if !(200..300).contains(&status) {
            continue;
        }
        let method = entry["request"]["method"].as_str().unwrap_or_default();
        let url = entry["request"]["url"].as_str().unwrap_or_default();
        let path = url.split_once("://").map_or(url, |(_, rest)| rest);
        let path = path.find('/').map_or("", |i| &path[i..]);
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        // The template with the most literal segments wins (`/x/options`
        // over `/x/{id}`).
        let found = operations
            .iter()
            .filter(|(m, template, _)| {
                m == method
                    && template.len() == segments.len()
                    && template.iter().zip(&segments).all(|(t, s)| {
                        (t.starts_with('{') && t.ends_with('}') && !s.is_empty()) || t == s
                    })
            })
            .max_by_key(|(_, template, _)| template.iter().filter(|t| !t.starts_with('{')).count());
        if let Some((_, _, id)) = found {
            *counts.entry(id.clone()).or_default() += 1;
        }
    }
    counts
}
