//! schemathesis (from PyPI) against a running service, as both services'
//! conformance tests run it: every check, one worker, a fixed seed (or
//! `SCHEMATHESIS_SEED`), no example database, a JSON report read back.
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
    /// (a rule a schema cannot state), each with why.
    pub refusals: Vec<(String, String)>,
    pub max_examples: usize,
}

/// What a run found.
pub struct Outcome {
    pub cases: u64,
    pub failures: u64,
    pub errors: u64,
    /// schemathesis's own exit status.
    pub succeeded: bool,
    pub stdout: String,
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
    // What the document allows must be taken (positive_data_acceptance),
    // except where such a rule decides.
    for (operation, why) in &run.refusals {
        settings.push_str(&format!(
            "\n# {why}\n[[operations]]\ninclude-operation-id = \"{operation}\"\n\
             checks.positive_data_acceptance.expected-statuses = \
             [\"2xx\", \"400\", \"401\", \"403\", \"404\", \"409\"]\n"
        ));
    }
    std::fs::write(&config, settings).expect("writing schemathesis.toml");
    let report = work.path().join("report.json");
    let seed = std::env::var("SCHEMATHESIS_SEED").unwrap_or_else(|_| "1".to_owned());
    let mut command = Command::new("schemathesis");
    command
        .current_dir(work.path())
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
        .args(["--workers", "1", "--report", "json", "--report-json-path"])
        .arg(&report);
    let output = command.output().expect("running schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let text = std::fs::read_to_string(&report).unwrap_or_else(|e| {
        panic!(
            "no schemathesis report ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let report: Value = serde_json::from_str(&text).expect("schemathesis's JSON report");
    let count = |v: &Value| v.as_u64().or_else(|| v.as_array().map(|a| a.len() as u64));
    Outcome {
        cases: report["test_cases"]["generated"].as_u64().expect("test_cases.generated"),
        failures: count(&report["failures"]).unwrap_or_else(|| panic!("{}", report["failures"])),
        errors: count(&report["errors"]).unwrap_or_else(|| panic!("{}", report["errors"])),
        succeeded: output.status.success(),
        stdout,
    }
}
