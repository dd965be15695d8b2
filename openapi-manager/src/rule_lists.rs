//! Each Harmony version's declared rules, as a committed list
//! (`versions/rules/harmony-<version>.json`), generated from
//! `deployment_rules::rule`.
//!
//! Released documents are frozen and never stated their rules, so the rule
//! list is the other half of a released version's contract: what a request
//! at that version may be refused for. A released version's list never
//! changes (the check fails naming the rule, and `generate` will not
//! rewrite it); an unreleased version's list is regenerated like its
//! document. The 4.0.0 document carries the same rules in `x-rules`.

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use deployment_rules::ApiVersion;
use deployment_rules::rule::{Api, Subject, rules_at};
use std::collections::BTreeSet;

/// Where the lists live, relative to the repository root.
pub const DIR: &str = "versions/rules";

/// The list of `version`'s rules as committed (pretty JSON, a newline).
pub fn generated(version: &semver::Version) -> String {
    let at = ApiVersion::new(version.major, version.minor, version.patch);
    let rules: Vec<serde_json::Value> = rules_at(Api::Harmony, at)
        .map(|r| {
            serde_json::json!({
                "id": r.id(),
                "subject": r.subject().schema(),
                "fields": r.fields(),
                "statement": r.statement(),
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&rules).expect("plain JSON");
    text.push('\n');
    text
}

pub fn path(root: &Utf8Path, version: &semver::Version) -> Utf8PathBuf {
    root.join(DIR).join(format!("harmony-{version}.json"))
}

/// Identifiers and statements of a committed list.
fn read_ids(text: &str) -> Result<BTreeSet<(String, String)>> {
    let rules: Vec<serde_json::Value> = serde_json::from_str(text)?;
    Ok(rules
        .iter()
        .map(|r| {
            let field = |name: &str| r[name].as_str().unwrap_or_default().to_owned();
            (field("id"), field("statement"))
        })
        .collect())
}

/// What differs between a committed list and the declarations: a line per
/// rule added, removed or restated.
fn differences(committed: &str, generated: &str) -> Result<Vec<String>> {
    let (old, new) = (read_ids(committed)?, read_ids(generated)?);
    let mut lines = Vec::new();
    for (id, statement) in new.difference(&old) {
        lines.push(format!("rule {id} ({statement:?}) is declared but not in the list"));
    }
    for (id, statement) in old.difference(&new) {
        lines.push(format!("rule {id} ({statement:?}) is in the list but no longer declared"));
    }
    Ok(lines)
}

/// The rules `new` declares that `old` does not: each refuses requests
/// that `old`'s contract allowed, so a client moving from `old` to `new`
/// may be refused what it sent before (a narrowing). The older version
/// keeps serving its clients without it. Rules about a body `old` did not
/// take (a new endpoint's) are not narrowings.
pub fn narrowing(old: &semver::Version, new: &semver::Version) -> Vec<String> {
    let at = |v: &semver::Version| ApiVersion::new(v.major, v.minor, v.patch);
    let before: BTreeSet<&str> = rules_at(Api::Harmony, at(old)).map(|r| r.id()).collect();
    // A body `old` did not take at all (a new endpoint's) narrows nothing.
    let subjects: BTreeSet<_> = rules_at(Api::Harmony, at(old)).map(|r| r.subject()).collect();
    rules_at(Api::Harmony, at(new))
        .filter(|r| {
            let judged_before = subjects.contains(&r.subject())
                || (r.subject() == Subject::RequestBody && !subjects.is_empty());
            !before.contains(r.id()) && judged_before
        })
        .map(|r| {
            format!(
                "narrowing for {old} clients that move to {new}: rule {} ({})",
                r.id(),
                r.statement()
            )
        })
        .collect()
}

/// Writes every unreleased version's list, and a released version's only
/// when it has none yet (the lists began after 3.0.0 was released, and
/// record what those versions enforced then). A released version's list
/// that differs is left as it is; `check` names the rule.
pub fn generate(root: &Utf8Path, released: &[semver::Version]) -> Result<()> {
    std::fs::create_dir_all(root.join(DIR)).with_context(|| format!("creating {DIR}"))?;
    for version in harmony_api::supported_versions().iter().map(|v| v.semver().clone()) {
        let path = path(root, &version);
        if released.contains(&version) && path.exists() {
            continue;
        }
        std::fs::write(&path, generated(&version)).with_context(|| format!("writing {path}"))?;
    }
    Ok(())
}

/// Problems with the committed lists: a released version's rules changed
/// (the contract its clients hold), or an unreleased one's list is stale.
pub fn check(root: &Utf8Path, released: &[semver::Version]) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for version in harmony_api::supported_versions().iter().map(|v| v.semver().clone()) {
        let path = path(root, &version);
        let expected = generated(&version);
        let committed = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(_) => {
                problems
                    .push(format!("{path} is missing; run `{}` and commit it", crate::REGENERATE));
                continue;
            }
        };
        if committed == expected {
            continue;
        }
        let changes = differences(&committed, &expected)?;
        if released.contains(&version) {
            for change in changes {
                problems.push(format!(
                    "harmony {version} is released, and its rules are part of its contract: \
                     {change}. A rule that refuses more is a new API version's: declare it \
                     `since` the first unreleased version (docs/versioning.md, \"Tightening a \
                     rule\"); never edit {path}"
                ));
            }
            if problems.is_empty() {
                problems.push(format!("{path} is not as generated (formatting); restore it"));
            }
        } else {
            problems.push(format!(
                "stale: {path} does not list harmony {version}'s declared rules ({}); run `{}` \
                 and commit",
                changes.join("; "),
                crate::REGENERATE
            ));
        }
    }
    Ok(problems)
}
