//! The command line: formats, `--fail-on`, exit codes.

use std::path::{Path, PathBuf};
use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_openapi-compat");

fn harmony(version: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/harmony");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name().unwrap().to_string_lossy().starts_with(&format!("harmony-{version}-"))
        })
        .unwrap()
}

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BINARY).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn exit_codes_follow_fail_on() {
    let (v1, v2) = (harmony("1.0.0"), harmony("2.0.0"));
    let (v1, v2) = (v1.to_str().unwrap(), v2.to_str().unwrap());
    assert_eq!(run(&[v1, v1]).0, 0);
    let (code, text) = run(&[v1, v2]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("errors,"), "{text}");
    // Backwards, the same pair has errors too (what 2.0.0 clients rely on).
    assert_eq!(run(&[v2, v1, "--fail-on", "warning"]).0, 1);
}

#[test]
fn every_format_renders() {
    let (v1, v2) = (harmony("1.0.0"), harmony("2.0.0"));
    let (v1, v2) = (v1.to_str().unwrap(), v2.to_str().unwrap());
    let (_, json) = run(&[v1, v2, "--format", "json"]);
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(parsed["changes"].as_array().unwrap().iter().any(|c| c["level"] == "error"));
    let (_, markdown) = run(&[v1, v2, "--format", "markdown"]);
    assert!(markdown.starts_with("| level | direction |"), "{markdown}");
    let (_, junit) = run(&[v1, v2, "--format", "junit"]);
    assert!(
        junit.contains("<testsuite name=\"openapi-compat\"") && junit.contains("<failure"),
        "{junit}"
    );
}

#[test]
fn yaml_input_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("v1.yaml");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(harmony("1.0.0")).unwrap()).unwrap();
    std::fs::write(&yaml, serde_norway::to_string(&doc).unwrap()).unwrap();
    let (code, text) = run(&[yaml.to_str().unwrap(), harmony("1.0.0").to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
}

#[test]
fn unreadable_input_is_exit_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"swagger\": \"2.0\", \"paths\": {}}").unwrap();
    let v1 = harmony("1.0.0");
    let (code, text) = run(&[bad.to_str().unwrap(), v1.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(text.contains("no `openapi` field"), "{text}");
    let (code, text) = run(&["/nonexistent.json", v1.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(text.contains("/nonexistent.json"), "{text}");
    assert_eq!(run(&[v1.to_str().unwrap()]).0, 2);
}

/// The JSON report on stdout (warnings go to stderr).
fn json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(BINARY).args(args).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// A pair whose only change is a new error status on one operation: an
/// error for a generic client, info for a progenitor one.
fn status_pair(dir: &Path) -> (String, String) {
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(harmony("1.0.0")).unwrap()).unwrap();
    let responses =
        doc["paths"].as_object_mut().unwrap().values_mut().find_map(|i| i.get_mut("get")).unwrap()
            ["responses"]
            .as_object_mut()
            .unwrap();
    // Without the 4XX range, which would document 418 already.
    responses.remove("4XX").unwrap();
    let old = write(dir, "old.json", &doc.to_string());
    let responses =
        doc["paths"].as_object_mut().unwrap().values_mut().find_map(|i| i.get_mut("get")).unwrap()
            ["responses"]
            .as_object_mut()
            .unwrap();
    responses.insert("418".into(), serde_json::json!({"description": "teapot"}));
    let new = write(dir, "new.json", &doc.to_string());
    (old, new)
}

#[test]
fn the_client_profile_decides_what_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = status_pair(dir.path());
    let (code, text) = run(&[&old, &new]);
    assert_eq!(code, 1, "generic is the default, and an undocumented status breaks it: {text}");
    assert!(text.contains("(generic client)"), "{text}");
    let (code, text) = run(&[&old, &new, "--client", "progenitor"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(run(&[&old, &new, "--client", "progenitor", "--fail-on", "info"]).0, 1);
    let (code, text) = run(&[&old, &new, "--client", "rust"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("unknown client"), "{text}");
}

#[test]
fn an_ignore_file_accepts_changes_with_a_reason_and_names_stale_entries() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = status_pair(dir.path());
    let report = json(&[&old, &new, "--format", "json"]);
    let change = &report["changes"][0];
    let (method, path) = (change["method"].as_str().unwrap(), change["path"].as_str().unwrap());

    let ignore = write(
        dir.path(),
        "accepted.txt",
        &format!(
            "# accepted\n{method} {path} response-status-added clients treat 418 as a retry\n\
             * operation-removed nothing was removed; this entry is stale\n"
        ),
    );
    let (code, text) = run(&[&old, &new, "--ignore", &ignore]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("1 accepted by the ignore file"), "{text}");
    assert!(
        text.contains("matched nothing: ") && text.contains(":3: * operation-removed"),
        "{text}"
    );

    let report = json(&[&old, &new, "--ignore", &ignore, "--format", "json"]);
    assert_eq!(report["summary"]["ignored"], 1, "{report}");
    assert_eq!(report["summary"]["unused_ignores"], 1, "{report}");
    assert_eq!(report["summary"]["failed"], false, "{report}");
    assert_eq!(report["ignored"][0]["accepted_because"], "clients treat 418 as a retry");

    let no_reason =
        write(dir.path(), "bad.txt", &format!("{method} {path} response-status-added\n"));
    let (code, text) = run(&[&old, &new, "--ignore", &no_reason]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("bad.txt:1") && text.contains("without a reason"), "{text}");
    let unknown = write(dir.path(), "unknown.txt", "* no-such-rule because\n");
    let (code, text) = run(&[&old, &new, "--ignore", &unknown]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("there is no rule `no-such-rule`"), "{text}");
}

#[test]
fn ci_formats_follow_fail_on() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = status_pair(dir.path());
    let (_, actions) = run(&[&old, &new, "--format", "githubactions"]);
    assert!(
        actions.starts_with("::error title=response-status-added (breaks old clients"),
        "{actions}"
    );
    // Property values escape `:` and `,`; data keeps them.
    assert!(
        !actions.lines().next().unwrap().split("::").nth(1).unwrap().contains(','),
        "{actions}"
    );

    let failures = |junit: &str| junit.matches("<failure").count();
    let (_, progenitor) = run(&[&old, &new, "--client", "progenitor", "--format", "junit"]);
    assert_eq!(failures(&progenitor), 0, "{progenitor}");
    let (_, progenitor_info) =
        run(&[&old, &new, "--client", "progenitor", "--format", "junit", "--fail-on", "info"]);
    assert_eq!(failures(&progenitor_info), 1, "{progenitor_info}");
    assert!(progenitor_info.contains("failures=\"1\""), "{progenitor_info}");
}

#[test]
fn a_git_revision_and_path_is_read_without_a_checkout() {
    let released = harmony("1.0.0");
    let name = released.file_name().unwrap().to_str().unwrap();
    let rev = format!("HEAD:openapi/harmony/{name}");
    let (code, text) = run(&[&rev, released.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("0 errors, 0 warnings, 0 info"), "{text}");
    let (code, text) = run(&["HEAD:openapi/no-such.json", released.to_str().unwrap()]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("HEAD:openapi/no-such.json"), "{text}");
}
