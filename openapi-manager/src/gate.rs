//! The deploy gate: `cargo xtask can-i-deploy <service> --to <environment>`.
//!
//! `versions/live.json` records, per environment, each Harmony cell (which
//! data-plane kinds it hosts, which API versions it serves, by document
//! hash) and each live consumer's needs (per kind, the versions it can do
//! that work through). The gate answers whether deploying this checkout's
//! service keeps every pairing working:
//!
//! - a consumer (astro-api) may not need a version some live cell lacks;
//! - a provider (Harmony) may not stop serving what a live consumer needs;
//! - a version's document is the same everywhere: what a cell serves as
//!   1.0.0 must be the released 1.0.0.

use crate::released::{Record, sha256_hex};
use anyhow::{Context, Result, bail};
use camino::Utf8Path;
use semver::Version;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Live {
    environments: BTreeMap<String, Environment>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Environment {
    harmony: Vec<Cell>,
    /// Consumer name to its needs: data-plane kind to versions that do.
    consumers: BTreeMap<String, Needs>,
}

type Needs = BTreeMap<String, Vec<Version>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cell {
    cell: String,
    kinds: Vec<String>,
    /// Version to the SHA-256 of its document.
    serves: BTreeMap<Version, String>,
}

/// The answer, with every reason.
pub struct Verdict {
    pub ok: bool,
    pub lines: Vec<String>,
}

fn list(versions: impl IntoIterator<Item = impl ToString>) -> String {
    let all: Vec<String> = versions.into_iter().map(|v| v.to_string()).collect();
    if all.is_empty() { "nothing".to_owned() } else { all.join(", ") }
}

/// What this checkout's Harmony serves: each version with its document hash.
fn head_harmony(root: &Utf8Path, record: &Record) -> Result<BTreeMap<Version, String>> {
    let released = record.hashes("harmony");
    let mut serves = BTreeMap::new();
    for version in harmony_api::supported_versions().iter() {
        let v = version.semver().clone();
        let hash = match released.get(&v) {
            Some(hash) => (*hash).clone(),
            None => {
                let doc = crate::clients::find_document(root, "harmony", &v)?;
                sha256_hex(&std::fs::read(&doc)?)
            }
        };
        serves.insert(v, hash);
    }
    Ok(serves)
}

pub fn can_i_deploy(root: &Utf8Path, service: &str, environment: &str) -> Result<Verdict> {
    let path = root.join("versions/live.json");
    let live: Live = serde_json::from_str(
        &std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?,
    )
    .with_context(|| format!("parsing {path}"))?;
    let Some(env) = live.environments.get(environment) else {
        bail!(
            "no environment {environment:?} in {path}; known: {}",
            list(live.environments.keys())
        );
    };
    let record = Record::load(root)?;
    let mut verdict = Verdict { ok: true, lines: Vec::new() };
    let mut say = |ok: bool, line: String| {
        verdict.ok &= ok;
        verdict.lines.push(format!("{} {line}", if ok { "ok " } else { "NO " }));
    };

    match service {
        "astro-api" => {
            let needs_path = root.join("astro-api/harmony-needs.json");
            let needs: Needs = serde_json::from_str(
                &std::fs::read_to_string(&needs_path)
                    .with_context(|| format!("reading {needs_path}"))?,
            )
            .with_context(|| format!("parsing {needs_path}"))?;
            for cell in &env.harmony {
                for kind in &cell.kinds {
                    let wanted = needs.get(kind).cloned().unwrap_or_default();
                    let common: Vec<_> =
                        wanted.iter().filter(|v| cell.serves.contains_key(v)).collect();
                    say(
                        !common.is_empty(),
                        format!(
                            "cell {} ({kind}) serves {}; astro-api here needs one of {}",
                            cell.cell,
                            list(cell.serves.keys()),
                            list(&wanted)
                        ),
                    );
                }
            }
        }
        "harmony" => {
            let head = head_harmony(root, &record)?;
            for (consumer, needs) in &env.consumers {
                for cell in &env.harmony {
                    for kind in &cell.kinds {
                        let wanted = needs.get(kind).cloned().unwrap_or_default();
                        let common: Vec<_> =
                            wanted.iter().filter(|v| head.contains_key(v)).collect();
                        say(
                            !common.is_empty(),
                            format!(
                                "cell {} ({kind}): Harmony here serves {}; live {consumer} needs one of {}",
                                cell.cell,
                                list(head.keys()),
                                list(&wanted)
                            ),
                        );
                    }
                }
            }
            for cell in &env.harmony {
                for (version, live_hash) in &cell.serves {
                    if let Some(head_hash) = head.get(version) {
                        say(
                            head_hash == live_hash,
                            format!(
                                "cell {} serves {version} as document {}; Harmony here serves it as {}",
                                cell.cell,
                                &live_hash[..12.min(live_hash.len())],
                                &head_hash[..12.min(head_hash.len())]
                            ),
                        );
                    }
                }
            }
        }
        other => bail!("unknown service {other:?}; expected astro-api or harmony"),
    }

    // Whatever is deployed, what is live must be what was released.
    let released = record.hashes("harmony");
    for cell in &env.harmony {
        for (version, hash) in &cell.serves {
            if let Some(recorded) = released.get(version)
                && *recorded != hash
            {
                say(
                    false,
                    format!(
                        "cell {} serves {version} as a document that is not the released {version}",
                        cell.cell
                    ),
                );
            }
        }
    }
    Ok(verdict)
}
