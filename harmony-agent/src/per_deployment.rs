//! Applying one deployment at a time (the agent API's changes protocol):
//! a deployment's files are written, and its old ones pruned, without
//! reading or rewriting any other deployment's.
//!
//! What the agent applied for each deployment is recorded in
//! `.harmony-agent/deployments/<id>.json`: its manifest revision, the files
//! it owns and its last report. Before a deployment's files change, the
//! record lists the old files and the new ones together, so a crash
//! partway leaves every file it may have written owned by the deployment,
//! and the pass (applied again from the plane revision the agent had, since
//! that moves only once a pass is whole) prunes what is no longer desired.

use super::{
    ApplyDir, CLUSTER_DIR, FILE_MODE, STATE_DIR, absent, narrow, private_dir, safe_component,
    write_private,
};
use anyhow::{Context, Result, bail};
use harmony_client::agent::types::{DeploymentReport, DesiredDeployment, Health};
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use uuid::Uuid;

const DEPLOYMENTS_DIR: &str = "deployments";
/// Marks a tree kept by the changes protocol: present once a full sync
/// recorded every deployment it applied.
const PROTOCOL_FILE: &str = "protocol";
const CHANGES: &str = "changes";

/// What the agent applied for one deployment.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Applied {
    manifest_revision: u64,
    /// Paths relative to the apply directory.
    files: BTreeSet<PathBuf>,
    report: DeploymentReport,
}

impl ApplyDir {
    fn deployments_dir(&self) -> PathBuf {
        self.root.join(STATE_DIR).join(DEPLOYMENTS_DIR)
    }

    fn record_path(&self, id: Uuid) -> PathBuf {
        self.deployments_dir().join(format!("{id}.json"))
    }

    fn record(&self, id: Uuid) -> Option<Applied> {
        let text = std::fs::read_to_string(self.record_path(id)).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn write_record(&self, id: Uuid, applied: &Applied) -> Result<()> {
        private_dir(&self.deployments_dir())?;
        write_private(&self.record_path(id), serde_json::to_string(applied)?.as_bytes())?;
        Ok(())
    }

    /// Each deployment applied here by the changes protocol, at its
    /// manifest revision.
    pub fn applied_deployments(&self) -> std::collections::BTreeMap<Uuid, u64> {
        let mut applied = std::collections::BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(self.deployments_dir()) else { return applied };
        for entry in entries.flatten() {
            let path = entry.path();
            let id = path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse().ok());
            if let Some(id) = id
                && let Some(record) = self.record(id)
            {
                applied.insert(id, record.manifest_revision);
            }
        }
        applied
    }

    /// Whether the tree is kept per deployment (a full sync of the changes
    /// protocol completed here): then the applied revision is one a
    /// `since` may name.
    pub fn keeps_changes(&self) -> bool {
        std::fs::read_to_string(self.root.join(STATE_DIR).join(PROTOCOL_FILE))
            .is_ok_and(|t| t.trim() == CHANGES)
    }

    /// Forgets the per-deployment records (the whole-state protocol is
    /// spoken now, and prunes by the whole tree): the next pass of the
    /// changes protocol starts with a full sync.
    pub(crate) fn forget_changes(&self) -> Result<()> {
        let state = self.root.join(STATE_DIR);
        absent(std::fs::remove_file(state.join(PROTOCOL_FILE)))?;
        Ok(absent(std::fs::remove_dir_all(state.join(DEPLOYMENTS_DIR)))?)
    }

    /// Records that a pass of the changes protocol brought the tree to
    /// plane revision `revision`.
    pub(crate) fn finish_pass(&self, revision: u64) -> Result<()> {
        let state = self.root.join(STATE_DIR);
        private_dir(&state)?;
        // The whole-state protocol's repeated reports would be stale now.
        absent(std::fs::remove_file(state.join("reports.json")))?;
        write_private(&state.join(PROTOCOL_FILE), CHANGES.as_bytes())?;
        write_private(&state.join("revision"), revision.to_string().as_bytes())?;
        Ok(())
    }

    /// Applies one deployment: writes its files, prunes the ones it no
    /// longer has. Returns its report, or `None` when it was already
    /// applied at that manifest revision (nothing is read or written then
    /// but its record). A deployment that cannot be applied keeps what it
    /// had and is reported unhealthy: it fails alone.
    pub fn apply_deployment(&self, d: &DesiredDeployment) -> Result<Option<DeploymentReport>> {
        let before = self.record(d.deployment_id);
        if let Some(before) = &before
            && before.manifest_revision == d.manifest_revision
            && before.report.health != Health::Unhealthy
            && d.unavailable.is_none()
        {
            return Ok(None);
        }
        let report = |health, message: String| DeploymentReport {
            deployment_id: d.deployment_id,
            manifest_revision: d.manifest_revision,
            health,
            message: Some(message),
        };
        let old_files = before.as_ref().map(|b| b.files.clone()).unwrap_or_default();
        let kept = |report: DeploymentReport| -> Result<Option<DeploymentReport>> {
            let revision = before.as_ref().map_or(0, |b| b.manifest_revision);
            let files = old_files.clone();
            self.write_record(
                d.deployment_id,
                &Applied { manifest_revision: revision, files, report: report.clone() },
            )?;
            Ok(Some(report))
        };
        if let Some(why) = &d.unavailable {
            return kept(report(Health::Unhealthy, format!("kept what was applied before: {why}")));
        }
        let files = match self.files_of(d) {
            Ok(files) => files,
            Err(e) => {
                return kept(report(
                    Health::Unhealthy,
                    format!("not applied, kept what was: {e:#}"),
                ));
            }
        };
        let new_files: BTreeSet<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
        // Owned before the first byte is written: a crash from here on
        // leaves nothing unowned.
        let union: BTreeSet<PathBuf> = old_files.union(&new_files).cloned().collect();
        if union != old_files {
            let old_report = before.as_ref().map_or_else(
                || report(Health::Progressing, "being applied".to_owned()),
                |b| b.report.clone(),
            );
            let revision = before.as_ref().map_or(0, |b| b.manifest_revision);
            self.write_record(
                d.deployment_id,
                &Applied { manifest_revision: revision, files: union, report: old_report },
            )?;
        }
        private_dir(&self.root)?;
        for (relative, object) in &files {
            let path = self.root.join(relative);
            let mut content = String::new();
            k8s_yaml::document(object, &mut content);
            private_dir(path.parent().context("a file has a directory")?)?;
            if std::fs::read_to_string(&path).ok().as_deref() == Some(content.as_str()) {
                narrow(&path, FILE_MODE)?;
                continue;
            }
            write_private(&path, content.as_bytes())?;
        }
        // What it owned and no longer has, and whatever else sits in its
        // namespace's directory (left by a crash, or by an older agent).
        let mut stale: Vec<PathBuf> = old_files.difference(&new_files).cloned().collect();
        let namespace = PathBuf::from(safe_component("namespace", &d.namespace)?);
        if let Ok(entries) = std::fs::read_dir(self.root.join(&namespace)) {
            for entry in entries {
                let relative = namespace.join(entry?.file_name());
                if !new_files.contains(&relative) {
                    stale.push(relative);
                }
            }
        }
        self.remove_files(&stale)?;
        let done = report(Health::Unknown, format!("written to {}", self.root.display()));
        self.write_record(
            d.deployment_id,
            &Applied {
                manifest_revision: d.manifest_revision,
                files: new_files,
                report: done.clone(),
            },
        )?;
        Ok(Some(done))
    }

    /// The files a deployment's objects go to, relative to the root; every
    /// namespaced object in the deployment's own namespace, no two objects
    /// to one file.
    fn files_of<'a>(
        &self,
        d: &'a DesiredDeployment,
    ) -> Result<Vec<(PathBuf, &'a serde_json::Value)>> {
        let mut files = Vec::with_capacity(d.objects.len());
        let mut seen = HashSet::new();
        for object in &d.objects {
            let path = self.path_of(object)?;
            let relative = path.strip_prefix(&self.root).context("inside the tree")?.to_path_buf();
            let dir = relative.parent().and_then(Path::to_str).unwrap_or("");
            if dir != CLUSTER_DIR && dir != d.namespace {
                bail!("an object in namespace {dir:?}, outside the deployment's {:?}", d.namespace);
            }
            if !seen.insert(relative.clone()) {
                bail!("two desired objects map to {}", relative.display());
            }
            files.push((relative, object));
        }
        Ok(files)
    }

    /// Removes files (relative paths), and their directories once empty.
    fn remove_files(&self, files: &[PathBuf]) -> Result<()> {
        let mut dirs = BTreeSet::new();
        for relative in files {
            let path = self.root.join(relative);
            absent(std::fs::remove_file(&path))?;
            if let Some(dir) = path.parent() {
                dirs.insert(dir.to_path_buf());
            }
        }
        for dir in dirs {
            if dir != self.root && std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_none()) {
                std::fs::remove_dir(&dir)?;
            }
        }
        Ok(())
    }

    /// Removes everything applied for a deployment.
    pub fn remove_deployment(&self, id: Uuid) -> Result<()> {
        let Some(applied) = self.record(id) else { return Ok(()) };
        let files: Vec<PathBuf> = applied.files.into_iter().collect();
        self.remove_files(&files)?;
        Ok(absent(std::fs::remove_file(self.record_path(id)))?)
    }

    /// Ends a full sync: removes every deployment not `listed`, and every
    /// file no deployment owns (left by an older agent or a crash).
    pub fn finish_full_sync(&self, listed: &HashSet<Uuid>) -> Result<()> {
        let mut owned = HashSet::new();
        if let Ok(entries) = std::fs::read_dir(self.deployments_dir()) {
            for entry in entries {
                let path = entry?.path();
                let id = path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse().ok());
                match id {
                    Some(id) if listed.contains(&id) => {
                        if let Some(applied) = self.record(id) {
                            owned.extend(applied.files);
                        }
                    }
                    Some(id) => self.remove_deployment(id)?,
                    None => std::fs::remove_file(&path)?,
                }
            }
        }
        if !self.root.is_dir() {
            return Ok(()); // an empty plane, and nothing applied here yet
        }
        // What no deployment owns goes, as a whole-state apply prunes.
        let owned: BTreeSet<PathBuf> = owned.iter().map(|r| self.root.join(r)).collect();
        self.prune(&owned.iter().collect())
    }
}
