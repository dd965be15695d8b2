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

use crate::migrations::{self, Deployed};
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
    /// Service to the commit it runs (`cargo xtask record-deploy`).
    #[serde(default)]
    deployed: BTreeMap<String, Deployed>,
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

    // The deployed binaries share the database with this checkout's during
    // the rollout, and after a rollback.
    for (ok, line) in migrations::judge(root, service, environment, env.deployed.get(service))? {
        say(ok, line);
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

fn load_live(root: &Utf8Path) -> Result<(camino::Utf8PathBuf, serde_json::Value)> {
    let path = root.join("versions/live.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let live: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {path}"))?;
    Ok((path, live))
}

/// The commit `service` runs in `environment`, as recorded.
pub fn deployed_commit(root: &Utf8Path, service: &str, environment: &str) -> Result<String> {
    let (path, live) = load_live(root)?;
    live["environments"][environment]["deployed"][service]["commit"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| {
            format!(
                "{path} records no deployed {service} in {environment:?}; record one with \
                 `cargo xtask record-deploy {service} --to {environment} --commit REV`"
            )
        })
}

/// Records that `environment` now runs `service` at `commit`: the commit,
/// how many migrations its binaries know, what it serves (Harmony: every
/// cell, each version's document hash) or needs (astro-api), and its
/// migrations as released.
pub fn record_deploy(
    root: &Utf8Path,
    service: &str,
    environment: &str,
    commit: &str,
) -> Result<Vec<String>> {
    let commit =
        migrations::git(root, &["rev-parse", "--verify", &format!("{commit}^{{commit}}")])?;
    let krate = migrations::crate_of(service)?;
    let found = migrations::load_at(root, &commit, krate)?;
    if found.values().all(Vec::is_empty) {
        bail!("{commit} predates migration files ({krate}/migrations/): record its deploy by hand");
    }
    let (path, mut live) = load_live(root)?;
    let Some(env) = live["environments"].get_mut(environment) else {
        bail!("no environment {environment:?} in {path}");
    };
    let mut said = Vec::new();
    let counts: BTreeMap<String, usize> =
        found.iter().map(|(backend, m)| (backend.to_string(), m.len())).collect();
    said.push(format!("{service} in {environment} runs {commit}, knowing migrations {counts:?}"));
    env["deployed"][service] =
        serde_json::to_value(Deployed { commit: commit.clone(), migrations: counts })?;
    match service {
        "harmony" => {
            let listing =
                migrations::git(root, &["ls-tree", "--name-only", &commit, "openapi/harmony/"])?;
            let mut serves = serde_json::Map::new();
            for file in listing.lines() {
                let name = file.rsplit('/').next().unwrap_or(file);
                let Some(version) = name
                    .strip_prefix("harmony-")
                    .and_then(|rest| rest.rsplit_once('-'))
                    .map(|(version, _)| version)
                    .filter(|v| semver::Version::parse(v).is_ok())
                else {
                    continue;
                };
                let bytes = migrations::git_bytes(root, &["show", &format!("{commit}:{file}")])?;
                serves.insert(version.to_owned(), sha256_hex(&bytes).into());
            }
            said.push(format!("every Harmony cell serves {:?}", serves.keys().collect::<Vec<_>>()));
            for cell in env["harmony"].as_array_mut().into_iter().flatten() {
                cell["serves"] = serde_json::Value::Object(serves.clone());
            }
        }
        "astro-api" => {
            let needs = migrations::git(
                root,
                &["show", &format!("{commit}:astro-api/harmony-needs.json")],
            )?;
            env["consumers"]["astro-api"] =
                serde_json::from_str(&needs).context("parsing harmony-needs.json")?;
            said.push(format!("astro-api needs {needs}"));
        }
        _ => {}
    }
    let mut text = serde_json::to_string_pretty(&live)?;
    text.push('\n');
    std::fs::write(&path, text).with_context(|| format!("writing {path}"))?;
    migrations::Record::load(root)?.add(root, service, &found)?;
    Ok(said)
}
