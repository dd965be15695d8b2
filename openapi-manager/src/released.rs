//! The committed record of released API versions.
//!
//! `versions/released.json` lists, per versioned API, each released
//! version with its document's path and SHA-256. Released documents are
//! immutable: the check fails when a recorded document is edited, missing, or
//! no longer generated identically from the trait, and when a recorded
//! version is no longer served. Retiring a version is a deliberate edit of
//! this record in the same change that removes it from `api_versions!`.

use anyhow::{Context, Result, bail};
use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

const RECORD: &str = "versions/released.json";

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// API identifier (the `openapi/` subfolder) to its released versions.
    pub apis: BTreeMap<String, Vec<Released>>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Released {
    pub version: semver::Version,
    /// Path relative to `openapi/`.
    pub file: Utf8PathBuf,
    pub sha256: String,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Record {
    pub fn load(root: &Utf8Path) -> Result<Record> {
        let path = root.join(RECORD);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).with_context(|| format!("parsing {path}")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Record::default()),
            Err(e) => Err(e).with_context(|| format!("reading {path}")),
        }
    }

    fn save(&self, root: &Utf8Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        std::fs::write(root.join(RECORD), text).with_context(|| format!("writing {RECORD}"))
    }

    /// Every recorded document exists and still has its recorded hash.
    pub fn verify(&self, root: &Utf8Path) -> Result<()> {
        let mut problems = Vec::new();
        for (api, versions) in &self.apis {
            for released in versions {
                let path = root.join("openapi").join(&released.file);
                match std::fs::read(&path) {
                    Ok(bytes) => {
                        let actual = sha256_hex(&bytes);
                        if actual != released.sha256 {
                            problems.push(format!(
                                "{api} {} is released, but {path} was changed \
                                 (sha256 {actual}, recorded {}). Released documents \
                                 are immutable: restore it with `git checkout -- {path}` \
                                 and add a new API version instead",
                                released.version, released.sha256
                            ));
                        }
                    }
                    Err(e) => problems.push(format!(
                        "{api} {} is released, but {path} cannot be read ({e}); \
                         restore it from git",
                        released.version
                    )),
                }
            }
        }
        if !problems.is_empty() {
            bail!("released documents changed:\n  {}", problems.join("\n  "));
        }
        Ok(())
    }

    /// The newest commit that changed `api`'s released versions (a commit
    /// that recorded another API's release in the same file does not
    /// count); `None` when none did (a shallow clone, or none yet).
    pub fn last_release(root: &Utf8Path, api: &str) -> Result<Option<String>> {
        let at = |rev: &str| -> Option<Vec<Released>> {
            let text = crate::migrations::git(root, &["show", &format!("{rev}:{RECORD}")]).ok()?;
            let record: Record = serde_json::from_str(&text).ok()?;
            record.apis.get(api).cloned()
        };
        let versions = |list: Option<Vec<Released>>| -> Vec<(semver::Version, String)> {
            list.into_iter().flatten().map(|r| (r.version, r.sha256)).collect()
        };
        let log = crate::migrations::git(root, &["log", "--format=%H", "--", RECORD])?;
        Ok(log
            .lines()
            .find(|rev| versions(at(rev)) != versions(at(&format!("{rev}^"))))
            .map(str::to_owned))
    }

    /// One API's released versions.
    pub fn versions(&self, api: &str) -> Vec<semver::Version> {
        self.apis.get(api).into_iter().flatten().map(|r| r.version.clone()).collect()
    }

    /// Version to document hash, for one API's released versions.
    pub fn hashes(&self, api: &str) -> BTreeMap<&semver::Version, &String> {
        self.apis.get(api).into_iter().flatten().map(|r| (&r.version, &r.sha256)).collect()
    }

    /// Every released version is still served by its API trait.
    pub fn verify_covers_served_versions(&self) -> Result<()> {
        let served: Vec<semver::Version> =
            harmony_api::supported_versions().iter().map(|v| v.semver().clone()).collect();
        let mut problems = Vec::new();
        for released in self.apis.get("harmony").into_iter().flatten() {
            if !served.contains(&released.version) {
                problems.push(format!(
                    "harmony {} is released but no longer in `api_versions!`. \
                     Live consumers may still need it; to retire it on purpose, also \
                     remove it from {RECORD} (see docs/versioning.md)",
                    released.version
                ));
            }
        }
        if !problems.is_empty() {
            bail!("released versions not served:\n  {}", problems.join("\n  "));
        }
        Ok(())
    }

    /// Copies the released documents into a temporary directory laid out
    /// like `openapi/`, to hand to dropshot-api-manager as the blessed set.
    pub fn materialize(&self, root: &Utf8Path) -> Result<tempfile::TempDir> {
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        for released in self.apis.values().flatten() {
            let to = dir.path().join(released.file.as_std_path());
            std::fs::create_dir_all(to.parent().context("document path has no parent")?)?;
            std::fs::copy(root.join("openapi").join(&released.file), &to)
                .with_context(|| format!("copying {}", released.file))?;
        }
        Ok(dir)
    }
}

/// Records `api`'s generated document for `version` as released.
pub fn release(root: &Utf8Path, api: &str, version: &semver::Version) -> Result<()> {
    let mut record = Record::load(root)?;
    record.verify(root)?;
    let versions = record.apis.entry(api.to_owned()).or_default();
    if versions.iter().any(|r| &r.version == version) {
        bail!("{api} {version} is already released");
    }
    let document = crate::clients::find_document(root, api, version)?;
    let file = document
        .strip_prefix(root.join("openapi"))
        .context("documents live under openapi/")?
        .to_owned();
    let sha256 = sha256_hex(&std::fs::read(&document)?);
    versions.push(Released { version: version.clone(), file, sha256 });
    versions.sort_by(|a, b| a.version.cmp(&b.version));
    record.save(root)?;
    println!("recorded {api} {version} as released in {RECORD}");
    Ok(())
}
