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
    std::fs::create_dir_all(dir.path().join("docs")).unwrap();
    std::fs::copy(repo().join("docs/compat-rules.md"), dir.path().join("docs/compat-rules.md"))
        .unwrap();
    std::fs::create_dir_all(dir.path().join("astro-client/src")).unwrap();
    std::fs::copy(
        repo().join("astro-client/src/generated.rs"),
        dir.path().join("astro-client/src/generated.rs"),
    )
    .unwrap();
    for krate in ["harmony-server", "astro-api"] {
        copy_dir(
            &repo().join(krate).join("migrations"),
            &dir.path().join(krate).join("migrations"),
        );
        std::fs::create_dir_all(dir.path().join(krate).join("src/store")).unwrap();
        let store = format!("{krate}/src/store/migrations.rs");
        std::fs::copy(repo().join(&store), dir.path().join(&store)).unwrap();
    }
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

/// Staging, where every deploy goes first, can take this checkout.
/// Production is judged too: its recorded Harmony (82105cb, one SQLite
/// migration, from before expand/contract) must stop for the migrations
/// after it, and the gate says so instead of passing unjudged.
#[test]
fn the_recorded_fleet_can_take_this_checkout() {
    for service in ["astro-api", "harmony"] {
        let outcome = can_i_deploy(&repo(), service, "staging");
        assert_eq!(outcome.code, 0, "{service} to staging:\n{}", outcome.output);
    }
    let astro = can_i_deploy(&repo(), "astro-api", "production");
    assert_eq!(astro.code, 0, "astro-api to production:\n{}", astro.output);
    let harmony = can_i_deploy(&repo(), "harmony", "production");
    assert_eq!(harmony.code, 1, "{}", harmony.output);
    assert!(
        harmony.output.contains(
            "NO  sqlite: migration sqlite/0002-meta.sql says binaries before it must stop"
        ),
        "{}",
        harmony.output
    );
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

/// A new migration in a sandbox: its file (both backends unless told) and
/// its line in the store's list.
fn add_migration(root: &Path, krate: &str, name: &str, header: &str, backends: &[&str]) {
    for backend in backends {
        std::fs::write(
            root.join(format!("{krate}/migrations/{backend}/{name}")),
            format!("{header}\nALTER TABLE x ADD COLUMN y TEXT;\n"),
        )
        .unwrap();
    }
    let store = root.join(format!("{krate}/src/store/migrations.rs"));
    let text = std::fs::read_to_string(&store).unwrap();
    let mut text = text.clone();
    for backend in backends {
        // After the backend's last step, however the list is formatted.
        let at = text.rfind(&format!("step!(\"{backend}/")).unwrap();
        let end = at + text[at..].find(')').unwrap() + 1;
        text.insert_str(end, &format!(", step!(\"{backend}/{name}\")"));
    }
    std::fs::write(&store, text).unwrap();
}

/// The file name of the next migration of `krate` (one past its highest
/// SQLite number), named `what`.
fn next_migration(root: &Path, krate: &str, what: &str) -> String {
    let highest = std::fs::read_dir(root.join(format!("{krate}/migrations/sqlite")))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_string_lossy()[..4].parse::<u32>().ok())
        .max()
        .unwrap();
    format!("{:04}-{what}.sql", highest + 1)
}

const KEEP: &str = "-- older binaries: keep working";
const STOP: &str = "-- older binaries: must stop";

#[test]
fn a_new_migration_for_both_backends_passes() {
    let dir = sandbox();
    let x = next_migration(dir.path(), "harmony-server", "x");
    add_migration(dir.path(), "harmony-server", &x, KEEP, &["sqlite", "postgres"]);
    let outcome = check(dir.path());
    assert_eq!(outcome.code, 0, "{}", outcome.output);
}

#[test]
fn an_edited_released_migration_fails() {
    let dir = sandbox();
    edit(
        &dir.path().join("harmony-server/migrations/sqlite/0003-agents.sql"),
        "health TEXT NOT NULL",
        "health TEXT",
    );
    let outcome = check(dir.path());
    assert_ne!(outcome.code, 0, "{}", outcome.output);
    assert!(
        outcome.output.contains("sqlite/0003-agents.sql is part of a release and was edited"),
        "{}",
        outcome.output
    );
}

#[test]
fn a_removed_released_migration_fails() {
    let dir = sandbox();
    std::fs::remove_file(dir.path().join("astro-api/migrations/sqlite/0005-tenancy.sql")).unwrap();
    let outcome = check(dir.path());
    assert_ne!(outcome.code, 0, "{}", outcome.output);
    assert!(
        outcome.output.contains("sqlite/0005-tenancy.sql is part of a release and was removed"),
        "{}",
        outcome.output
    );
}

#[test]
fn backends_that_disagree_fail() {
    let dir = sandbox();
    let x = next_migration(dir.path(), "astro-api", "x");
    add_migration(dir.path(), "astro-api", &x, KEEP, &["sqlite"]);
    let outcome = check(dir.path());
    assert_ne!(outcome.code, 0, "{}", outcome.output);
    assert!(outcome.output.contains("astro-api: the backends disagree"), "{}", outcome.output);
}

#[test]
fn a_migration_without_its_answer_or_its_line_fails() {
    let dir = sandbox();
    let x = next_migration(dir.path(), "harmony-server", "x");
    add_migration(dir.path(), "harmony-server", &x, "-- adds y", &["sqlite", "postgres"]);
    let y = next_migration(dir.path(), "harmony-server", "y");
    std::fs::write(
        dir.path().join(format!("harmony-server/migrations/sqlite/{y}")),
        format!("{KEEP}\nSELECT 1;\n"),
    )
    .unwrap();
    let outcome = check(dir.path());
    assert_ne!(outcome.code, 0, "{}", outcome.output);
    assert!(outcome.output.contains(&format!("{x}: the first line must be")), "{}", outcome.output);
    assert!(
        outcome.output.contains(&format!(
            "sqlite/{y} is not listed in harmony-server/src/store/migrations.rs"
        )),
        "{}",
        outcome.output
    );
}

/// Staging runs a Harmony that knows four SQLite migrations: a migration
/// older binaries live with may ship; one they must stop for may not.
#[test]
fn a_migration_the_deployed_binaries_cannot_live_with_is_refused() {
    let dir = sandbox();
    let x = next_migration(dir.path(), "harmony-server", "x");
    add_migration(dir.path(), "harmony-server", &x, KEEP, &["sqlite", "postgres"]);
    let fine = can_i_deploy(dir.path(), "harmony", "staging");
    assert_eq!(fine.code, 0, "{}", fine.output);
    let y = next_migration(dir.path(), "harmony-server", "y");
    add_migration(dir.path(), "harmony-server", &y, STOP, &["sqlite", "postgres"]);
    let outcome = can_i_deploy(dir.path(), "harmony", "staging");
    assert_eq!(outcome.code, 1, "{}", outcome.output);
    assert!(
        outcome.output.contains(&format!(
            "NO  sqlite: migration sqlite/{y} says binaries before it must stop"
        )),
        "{}",
        outcome.output
    );
    // Staging's Harmony predates PostgreSQL: no binary there to stop.
    assert!(outcome.output.contains("ok  postgres: harmony at"), "{}", outcome.output);
}

fn run(root: &Path, args: &[&str]) -> Outcome {
    let out = Command::new(BINARY).args(args).env("OPENAPI_MANAGER_ROOT", root).output().unwrap();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// `record-deploy` writes the commit, what it serves and the migrations it
/// knows; those migrations become released, so editing one then fails the
/// check, and the gate judges the next change against them.
#[test]
fn a_recorded_deploy_releases_its_migrations_and_moves_the_gate() {
    let dir = sandbox();
    let x = next_migration(dir.path(), "harmony-server", "x");
    add_migration(dir.path(), "harmony-server", &x, STOP, &["sqlite", "postgres"]);
    let count = |backend: &str| {
        std::fs::read_dir(dir.path().join(format!("harmony-server/migrations/{backend}")))
            .unwrap()
            .count()
    };
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    };
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "x"]);
    let before = can_i_deploy(dir.path(), "harmony", "staging");
    assert_eq!(before.code, 1, "{}", before.output);

    let recorded = run(dir.path(), &["record-deploy", "harmony", "staging"]);
    assert_eq!(recorded.code, 0, "{}", recorded.output);
    let live: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("versions/live.json")).unwrap(),
    )
    .unwrap();
    let deployed = &live["environments"]["staging"]["deployed"]["harmony"];
    assert_eq!(
        deployed["migrations"],
        serde_json::json!({"sqlite": count("sqlite"), "postgres": count("postgres")})
    );
    let serves = live["environments"]["staging"]["harmony"][0]["serves"].as_object().unwrap();
    assert!(serves.contains_key("4.0.0"), "{serves:?}");
    let commit = run(dir.path(), &["deployed-commit", "harmony", "staging"]);
    assert_eq!(commit.output.trim(), deployed["commit"].as_str().unwrap());

    let after = can_i_deploy(dir.path(), "harmony", "staging");
    assert_eq!(after.code, 0, "the deployed binaries know {x} now:\n{}", after.output);
    edit(&dir.path().join(format!("harmony-server/migrations/sqlite/{x}")), "y TEXT", "z TEXT");
    let outcome = check(dir.path());
    assert_ne!(outcome.code, 0, "{}", outcome.output);
    assert!(outcome.output.contains(&format!("sqlite/{x} is part of a release and was edited")));
}

/// Issue 38: an environment with no deployed record passed the gate
/// without its migrations being judged. Not knowing what runs is a no,
/// naming the command that records it.
#[test]
fn an_unrecorded_environment_refuses_a_migration() {
    let dir = sandbox();
    let live = dir.path().join("versions/live.json");
    let mut text: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&live).unwrap()).unwrap();
    text["environments"]["production"].as_object_mut().unwrap().remove("deployed");
    std::fs::write(&live, serde_json::to_string_pretty(&text).unwrap()).unwrap();
    for service in ["harmony", "astro-api"] {
        let outcome = can_i_deploy(dir.path(), service, "production");
        assert_eq!(outcome.code, 1, "{}", outcome.output);
        assert!(
            outcome
                .output
                .contains(&format!("NO  no deployed {service} is recorded for production"))
                && outcome.output.contains("cargo xtask record-deploy"),
            "{}",
            outcome.output
        );
    }
}
