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
