//! The checks `cargo xtask check` runs, proven to fail when they must.
//!
//! Each test copies what the manager reads (the documents, the released
//! record, the generated clients) into a scratch repository, breaks one
//! thing, and runs the real binary against it. `repository_is_fresh` runs
//! the same check on this checkout, so a plain `cargo test` fails when
//! anything generated is stale.

use std::path::{Path, PathBuf};
use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_openapi-manager");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A scratch repository holding copies of everything the manager reads.
fn sandbox() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for part in ["openapi", "versions", "harmony-client/src/generated"] {
        copy_dir(&repo().join(part), &dir.path().join(part));
    }
    std::fs::create_dir_all(dir.path().join("astro-client/src")).unwrap();
    std::fs::copy(
        repo().join("astro-client/src/generated.rs"),
        dir.path().join("astro-client/src/generated.rs"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("astro-api")).unwrap();
    std::fs::copy(
        repo().join("astro-api/harmony-needs.json"),
        dir.path().join("astro-api/harmony-needs.json"),
    )
    .unwrap();
    let status = Command::new("git").args(["init", "-q"]).current_dir(dir.path()).status().unwrap();
    assert!(status.success());
    dir
}

struct Outcome {
    code: i32,
    output: String,
}

fn check(root: &Path) -> Outcome {
    let out = Command::new(BINARY)
        .arg("check")
        .env("OPENAPI_MANAGER_ROOT", root)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn released_document(root: &Path, version: &str) -> PathBuf {
    let dir = root.join("openapi/harmony");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(&format!("harmony-{version}-")) && !p.is_symlink()
        })
        .unwrap()
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn repository_is_fresh() {
    let outcome = check(&repo());
    assert_eq!(
        outcome.code, 0,
        "generated documents or clients are stale, or a released document changed:\n{}\n\
         run `cargo xtask regenerate` and commit the result",
        outcome.output
    );
}

#[test]
fn a_fresh_copy_passes() {
    let dir = sandbox();
    let outcome = check(dir.path());
    assert_eq!(outcome.code, 0, "{}", outcome.output);
}

#[test]
fn a_hand_edited_released_document_fails() {
    let dir = sandbox();
    edit(
        &released_document(dir.path(), "1.0.0"),
        "Fetch one (Hybrid) data plane.",
        "Fetch a data plane.",
    );
    let outcome = check(dir.path());
    assert_ne!(outcome.code, 0);
    assert!(outcome.output.contains("Released documents are immutable"), "{}", outcome.output);
}

/// The trait now generates something other than what was released: seen
/// from the checker, exactly a code change to a released version (the
/// released document and its recorded hash stay as they were released).
#[test]
fn code_that_changes_a_released_version_fails() {
    let dir = sandbox();
    let doc = released_document(dir.path(), "2.0.0");
    let original_hash = sha256_of(&doc);
    edit(
        &doc,
        "\"required\": [\n          \"agent_version\",",
        "\"required\": [\n          \"labels\",\n          \"agent_version\",",
    );
    // Released as this document, under the name the manager gives it.
    let hash = sha256_of(&doc);
    let name = format!("harmony-2.0.0-{}.json", &hash[..6]);
    let old_name = doc.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::rename(&doc, doc.with_file_name(&name)).unwrap();
    let latest = dir.path().join("openapi/harmony/harmony-latest.json");
    std::fs::remove_file(&latest).unwrap();
    std::os::unix::fs::symlink(&name, &latest).unwrap();
    let record = dir.path().join("versions/released.json");
    edit(&record, &original_hash, &hash);
    edit(&record, &old_name, &name);

    let outcome = check(dir.path());
    assert_ne!(outcome.code, 0, "{}", outcome.output);
    assert!(
        outcome.output.contains("Failure harmony (versioned v2.0.0 (blessed))"),
        "{}",
        outcome.output
    );
}

#[test]
fn a_stale_generated_client_fails_naming_the_fix() {
    let dir = sandbox();
    let client = dir.path().join("harmony-client/src/generated/v1.rs");
    let text = std::fs::read_to_string(&client).unwrap();
    std::fs::write(
        &client,
        text.replace("pub async fn deployment_get", "pub async fn deployment_fetch"),
    )
    .unwrap();
    let outcome = check(dir.path());
    assert_eq!(outcome.code, 4, "{}", outcome.output);
    assert!(outcome.output.contains("generated/v1.rs"), "{}", outcome.output);
    assert!(outcome.output.contains("cargo xtask regenerate"), "{}", outcome.output);
}

#[test]
fn a_stale_public_document_fails() {
    let dir = sandbox();
    edit(&dir.path().join("openapi/astro.json"), "Create a deployment.", "Make a deployment.");
    let outcome = check(dir.path());
    assert_eq!(outcome.code, 4, "{}", outcome.output);
    assert!(outcome.output.contains("run cargo xtask generate"), "{}", outcome.output);
}

#[test]
fn a_released_version_no_longer_served_fails() {
    let dir = sandbox();
    let record = dir.path().join("versions/released.json");
    let doc = released_document(dir.path(), "1.0.0");
    let retired = dir.path().join("openapi/harmony/harmony-0.9.0-000000.json");
    std::fs::copy(&doc, &retired).unwrap();
    let text = std::fs::read_to_string(&record).unwrap();
    let entry = format!(
        "\"harmony\": [\n      {{\n        \"version\": \"0.9.0\",\n        \"file\": \"harmony/harmony-0.9.0-000000.json\",\n        \"sha256\": \"{}\"\n      }},",
        sha256_of(&retired)
    );
    std::fs::write(&record, text.replacen("\"harmony\": [", &entry, 1)).unwrap();
    let outcome = check(dir.path());
    assert_ne!(outcome.code, 0);
    assert!(outcome.output.contains("no longer in `api_versions!`"), "{}", outcome.output);
}

fn sha256_of(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}

fn can_i_deploy(root: &Path, service: &str, environment: &str) -> Outcome {
    let out = Command::new(BINARY)
        .args(["can-i-deploy", service, environment])
        .env("OPENAPI_MANAGER_ROOT", root)
        .output()
        .unwrap();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

#[test]
fn the_recorded_fleet_can_take_this_checkout() {
    for service in ["astro-api", "harmony"] {
        for environment in ["staging", "production"] {
            let outcome = can_i_deploy(&repo(), service, environment);
            assert_eq!(outcome.code, 0, "{service} to {environment}:\n{}", outcome.output);
        }
    }
}

/// The incident's change: astro-api starts to rely on 2.0.0 for Hybrid work.
/// Staging's Hybrid cell already runs 2.0.0, so staging says yes; production's
/// Hybrid cell is still on 1.0.0, and the gate says no before it ships.
#[test]
fn a_consumer_needing_what_a_live_cell_lacks_is_refused() {
    let dir = sandbox();
    let needs = dir.path().join("astro-api/harmony-needs.json");
    std::fs::write(&needs, r#"{"HYBRID": ["2.0.0"], "HOSTED": ["2.0.0"]}"#).unwrap();
    let staging = can_i_deploy(dir.path(), "astro-api", "staging");
    assert_eq!(staging.code, 0, "{}", staging.output);
    let production = can_i_deploy(dir.path(), "astro-api", "production");
    assert_eq!(production.code, 1, "{}", production.output);
    assert!(
        production
            .output
            .contains("NO  cell hybrid (HYBRID) serves 1.0.0; astro-api here needs one of 2.0.0"),
        "{}",
        production.output
    );
}

#[test]
fn a_provider_dropping_what_a_live_consumer_needs_is_refused() {
    let dir = sandbox();
    let live = dir.path().join("versions/live.json");
    // A live consumer that can only speak a version this Harmony no longer serves.
    edit(
        &live,
        r#""astro-api": { "HYBRID": ["1.0.0", "2.0.0"]"#,
        r#""astro-api": { "HYBRID": ["0.9.0"]"#,
    );
    let outcome = can_i_deploy(dir.path(), "harmony", "staging");
    assert_eq!(outcome.code, 1, "{}", outcome.output);
    assert!(outcome.output.contains("live astro-api needs one of 0.9.0"), "{}", outcome.output);
}

#[test]
fn a_live_document_that_is_not_the_released_one_is_refused() {
    let dir = sandbox();
    let live = dir.path().join("versions/live.json");
    let text = std::fs::read_to_string(&live).unwrap();
    let released = std::fs::read_to_string(dir.path().join("versions/released.json")).unwrap();
    let v1: serde_json::Value = serde_json::from_str(&released).unwrap();
    let hash = v1["apis"]["harmony"][0]["sha256"].as_str().unwrap();
    std::fs::write(&live, text.replacen(hash, &"0".repeat(64), 1)).unwrap();
    for service in ["astro-api", "harmony"] {
        let outcome = can_i_deploy(dir.path(), service, "staging");
        assert_eq!(outcome.code, 1, "{}", outcome.output);
        assert!(outcome.output.contains("not the released 1.0.0"), "{}", outcome.output);
    }
}
