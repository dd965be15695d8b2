//! The stores' migrations as the repository holds them: one file per
//! schema change under `<crate>/migrations/<backend>/NNNN-name.sql`, whose
//! first line says whether binaries that predate it keep working after it
//! ran (`sql_store::Step`).
//!
//! `check` holds them to three rules:
//! - a migration that is part of a release (recorded in
//!   `versions/migrations.json` by `record-deploy`: what ran on a deployed
//!   database) never changes and is never removed;
//! - both backends list the same changes: PostgreSQL began later (its first
//!   file creates what SQLite's first ones did), and from there every
//!   SQLite migration has a PostgreSQL one of the same number, and back;
//! - every file is listed by its store (`step!("sqlite/0001-initial.sql")`),
//!   so none is left out of the binary.
//!
//! The deploy gate asks of them whether the binaries deployed in an
//! environment can keep using the database once this checkout migrated it.

use crate::released::sha256_hex;
use anyhow::{Context, Result, bail};
use camino::Utf8Path;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const RECORD: &str = "versions/migrations.json";
pub const BACKENDS: [&str; 2] = ["sqlite", "postgres"];

/// Each service with migrations, and its crate.
pub const STORES: [(&str, &str); 2] = [("harmony", "harmony-server"), ("astro-api", "astro-api")];

/// Where each store lists its migrations (`step!(...)`), under its crate.
pub const MIGRATION_LIST: &str = "src/store/migrations.rs";

pub fn crate_of(service: &str) -> Result<&'static str> {
    STORES
        .iter()
        .find(|(s, _)| *s == service)
        .map(|(_, c)| *c)
        .with_context(|| format!("unknown service {service:?}; expected one of harmony, astro-api"))
}

/// One migration file.
#[derive(Clone, Debug)]
pub struct Migration {
    /// `sqlite/0001-initial.sql`.
    pub file: String,
    pub number: u32,
    /// Whether binaries that predate it keep working after it ran.
    pub keeps_older: Option<bool>,
    pub sha256: String,
}

fn parse(file: String, text: &[u8]) -> Result<Migration> {
    let name = file.rsplit('/').next().unwrap_or(&file);
    let number = name
        .split_once('-')
        .and_then(|(n, _)| (n.len() == 4).then(|| n.parse().ok()).flatten())
        .with_context(|| format!("migration {file}: the name must be NNNN-name.sql"))?;
    let first = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let keeps_older = match first {
        b"-- older binaries: keep working" => Some(true),
        b"-- older binaries: must stop" => Some(false),
        _ => None,
    };
    Ok(Migration { file, number, keeps_older, sha256: sha256_hex(text) })
}

/// A store's migrations per backend, in order, from the working tree.
pub fn load(root: &Utf8Path, krate: &str) -> Result<BTreeMap<&'static str, Vec<Migration>>> {
    let mut all = BTreeMap::new();
    for backend in BACKENDS {
        let dir = root.join(krate).join("migrations").join(backend);
        let mut found = Vec::new();
        if dir.exists() {
            for entry in dir.read_dir_utf8().with_context(|| format!("reading {dir}"))? {
                let entry = entry?;
                if entry.file_name().ends_with(".sql") {
                    let text = std::fs::read(entry.path())?;
                    found.push(parse(format!("{backend}/{}", entry.file_name()), &text)?);
                }
            }
        }
        found.sort_by_key(|m| m.number);
        all.insert(backend, found);
    }
    Ok(all)
}

/// A store's migrations per backend at a commit (none when it predates
/// migration files).
pub fn load_at(
    root: &Utf8Path,
    commit: &str,
    krate: &str,
) -> Result<BTreeMap<&'static str, Vec<Migration>>> {
    let mut all = BTreeMap::new();
    for backend in BACKENDS {
        let listing = git(
            root,
            &["ls-tree", "--name-only", commit, &format!("{krate}/migrations/{backend}/")],
        )?;
        let mut found = Vec::new();
        for path in listing.lines().filter(|p| p.ends_with(".sql")) {
            let text = git_bytes(root, &["show", &format!("{commit}:{path}")])?;
            let name = path.rsplit('/').next().unwrap_or(path);
            found.push(parse(format!("{backend}/{name}"), &text)?);
        }
        found.sort_by_key(|m| m.number);
        all.insert(backend, found);
    }
    Ok(all)
}

pub fn git(root: &Utf8Path, args: &[&str]) -> Result<String> {
    Ok(String::from_utf8(git_bytes(root, args)?)?.trim().to_owned())
}

pub fn git_bytes(root: &Utf8Path, args: &[&str]) -> Result<Vec<u8>> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .context("running git")?;
    if !out.status.success() {
        bail!("git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(out.stdout)
}

/// Service to its released migrations.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Record(BTreeMap<String, Vec<Released>>);

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Released {
    /// Relative to the crate's `migrations/`.
    pub file: String,
    pub sha256: String,
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

    /// Records `found` (what a deployed commit ran) as released; a file
    /// already recorded must be unchanged.
    pub fn add(
        &mut self,
        root: &Utf8Path,
        service: &str,
        found: &BTreeMap<&'static str, Vec<Migration>>,
    ) -> Result<()> {
        let released = self.0.entry(service.to_owned()).or_default();
        for migration in found.values().flatten() {
            match released.iter().find(|r| r.file == migration.file) {
                Some(r) if r.sha256 != migration.sha256 => bail!(
                    "{service} migration {} differs from its released text: released migrations \
                     never change",
                    migration.file
                ),
                Some(_) => {}
                None => released.push(Released {
                    file: migration.file.clone(),
                    sha256: migration.sha256.clone(),
                }),
            }
        }
        released.sort_by(|a, b| a.file.cmp(&b.file));
        self.save(root)
    }
}

/// Every problem with the checkout's migrations (empty: none).
pub fn check(root: &Utf8Path) -> Result<Vec<String>> {
    let record = Record::load(root)?;
    let mut problems = Vec::new();
    for (service, krate) in STORES {
        let found = load(root, krate)?;
        let store_rs = std::fs::read_to_string(root.join(krate).join(MIGRATION_LIST))
            .with_context(|| format!("reading {krate}/{MIGRATION_LIST}"))?;
        for migration in found.values().flatten() {
            if migration.keeps_older.is_none() {
                problems.push(format!(
                    "{krate}/migrations/{}: the first line must be `-- older binaries: keep \
                     working` or `-- older binaries: must stop`",
                    migration.file
                ));
            }
            if !store_rs.contains(&format!("step!(\"{}\")", migration.file)) {
                problems.push(format!(
                    "{krate}/migrations/{} is not listed in {krate}/{MIGRATION_LIST} \
                     (step!(\"{}\")): it would never run",
                    migration.file, migration.file
                ));
            }
        }
        let numbers = |backend: &str| -> Vec<u32> {
            found.get(backend).map(|m| m.iter().map(|m| m.number).collect()).unwrap_or_default()
        };
        let (sqlite, postgres) = (numbers("sqlite"), numbers("postgres"));
        if sqlite.iter().copied().ne(1..=sqlite.len() as u32) {
            problems.push(format!(
                "{krate}: SQLite migrations must be numbered 1, 2, 3, … without gaps (found {sqlite:?})"
            ));
        }
        if let Some(first) = postgres.first() {
            let expected: Vec<u32> = sqlite.iter().copied().filter(|n| n >= first).collect();
            if postgres != expected {
                problems.push(format!(
                    "{krate}: the backends disagree: from PostgreSQL's first migration ({first}) \
                     on, SQLite has {expected:?} and PostgreSQL {postgres:?}; every schema \
                     change needs a migration for each backend, with the same number"
                ));
            }
        }
        for released in record.0.get(service).into_iter().flatten() {
            let now = found.values().flatten().find(|m| m.file == released.file);
            match now {
                None => problems.push(format!(
                    "{krate}/migrations/{} is part of a release and was removed: released \
                     migrations never change (a database already ran it); restore it",
                    released.file
                )),
                Some(m) if m.sha256 != released.sha256 => problems.push(format!(
                    "{krate}/migrations/{} is part of a release and was edited: released \
                     migrations never change (a database already ran it); restore it and add a \
                     new migration instead",
                    released.file
                )),
                Some(_) => {}
            }
        }
    }
    Ok(problems)
}

/// What an environment runs of a service: its commit and how many
/// migrations (per backend) its binaries know.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Deployed {
    pub commit: String,
    pub migrations: BTreeMap<String, usize>,
}

/// The gate's lines on this checkout's migrations against what `deployed`
/// runs: each migration the deployed binaries do not know must keep them
/// working, or they would stop (or misread data) during the rollout.
pub fn judge(
    root: &Utf8Path,
    service: &str,
    environment: &str,
    deployed: Option<&Deployed>,
) -> Result<Vec<(bool, String)>> {
    let found = load(root, crate_of(service)?)?;
    let Some(deployed) = deployed else {
        // A gate that does not know what runs cannot say a migration keeps
        // it working: it says no (issue 38).
        let count: usize = found.values().map(Vec::len).sum();
        return Ok(vec![(
            count == 0,
            format!(
                "no deployed {service} is recorded for {environment}, so its {count} \
                 migration(s) cannot be judged against what runs there; record it with \
                 `cargo xtask record-deploy {service} {environment} <commit>` (or by hand in \
                 versions/live.json when that commit predates migration files)"
            ),
        )]);
    };
    let short = &deployed.commit[..12.min(deployed.commit.len())];
    let mut lines = Vec::new();
    for (backend, migrations) in &found {
        let known = deployed.migrations.get(*backend).copied().unwrap_or(0);
        if known == 0 {
            // No binary of it runs on this backend: none can be stopped.
            lines.push((
                true,
                format!(
                    "{backend}: {service} at {short} does not run on it; nothing to keep working"
                ),
            ));
            continue;
        }
        let new: Vec<&Migration> = migrations.iter().skip(known).collect();
        let breaking: Vec<&&Migration> =
            new.iter().filter(|m| m.keeps_older != Some(true)).collect();
        if breaking.is_empty() {
            lines.push((
                true,
                format!(
                    "{backend}: {} migration(s) beyond the {known} that {service} at {short} \
                     knows, each keeping it working",
                    new.len()
                ),
            ));
        }
        for m in breaking {
            lines.push((
                false,
                format!(
                    "{backend}: migration {} says binaries before it must stop, and {service} at \
                     {short} (live in {environment}) knows only {known}: it would be refused \
                     mid-rollout. Split it into an expand step older binaries live with and a \
                     contract step taken once they are gone (docs/versioning.md)",
                    m.file
                ),
            ));
        }
    }
    Ok(lines)
}
