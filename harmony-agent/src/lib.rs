//! The data-plane agent: keeps a data plane at the desired state Harmony
//! holds for it.
//!
//! It long-polls Harmony's agent API for what changed on its data plane
//! (authenticated by the data plane's credential, which is also all that
//! decides which state it gets), applies it, and reports the applied
//! revision and each deployment's health.
//!
//! **Two protocols** (`harmony_agent_api` states their guarantees). It
//! speaks the changes protocol (agent API 2.0.0) when Harmony serves it:
//! only what moved since the plane revision it has, paged; each deployment
//! applied on its own ([`ApplyDir::apply_deployment`]: an unchanged
//! deployment's files are not touched) and reported only when it moved. A
//! Harmony that predates 2.0.0 refuses the version; the agent then speaks
//! the whole-state protocol (1.0.0: every deployment on every change, the
//! tree rewritten whole) and asks again after [`PROBE_AGAIN`]. Switching
//! from the whole state to changes starts with a full sync.
//!
//! Applying, with `--apply-dir DIR`:
//! one YAML file per object (`DIR/<namespace>/<kind>-<name>.yaml`, cluster-scoped
//! objects under `DIR/_cluster/`), objects no longer desired pruned, a tree
//! Argo CD or Flux can sync.
//!
//! **Only the agent's user reads the tree.** Secret manifests (the user's
//! secret variables, the Fernet key, the metadata database password) are
//! files here, so every file is 0600 and every directory 0700, whatever
//! the umask: a file is written to a temporary file created 0600 and then
//! renamed over its place, so a secret never sits on disk with wider
//! modes, not even for an instant, and files and directories left wider by
//! an older agent are narrowed on the next apply.
//!
//! A control-plane outage never changes a data plane: when Harmony cannot be
//! reached or answers in error, the agent keeps what it applied last and
//! tries again later; files change only when a new desired state arrives
//! whole.

mod per_deployment;

use anyhow::{Context, Result, bail};
use harmony_client::agent::types::{
    DeploymentReport, DesiredState, Health, Observes, StatusReport,
};
use std::collections::BTreeSet;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one long poll may wait at Harmony.
pub const POLL_SECONDS: u32 = 20;
const STATE_DIR: &str = ".harmony-agent";
const CLUSTER_DIR: &str = "_cluster";

/// Where the agent applies desired state: a directory tree.
pub struct ApplyDir {
    root: PathBuf,
}

/// A Kubernetes name or namespace as a path component: DNS-1123 subdomain
/// characters only, so nothing from Harmony can climb out of the tree.
fn safe_component(what: &str, value: &str) -> Result<String> {
    let ok = !value.is_empty()
        && value.len() <= 253
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && value.as_bytes()[0].is_ascii_alphanumeric()
        && !value.contains("..");
    if !ok {
        bail!("refusing {what} {value:?}: not a Kubernetes name");
    }
    Ok(value.to_owned())
}

/// The mode of every file the agent writes.
pub const FILE_MODE: u32 = 0o600;
/// The mode of every directory the agent writes into.
pub const DIR_MODE: u32 = 0o700;

/// Sets `path`'s permission bits to `mode` unless they already are.
fn narrow(path: &Path, mode: u32) -> std::io::Result<()> {
    let now = std::fs::metadata(path)?.permissions().mode() & 0o7777;
    if now != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Creates `dir` (and what is missing above it) 0700, and narrows it to
/// 0700 when it exists. Directories above `dir` that existed are the
/// operator's and are left as they are.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)?;
    narrow(dir, DIR_MODE)
}

/// Writes `content` to `path` through a temporary file beside it, created
/// 0600 (the umask can only narrow that, and it is set to exactly 0600
/// before the first byte is written), then renamed over `path`.
fn write_private(path: &Path, content: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    // A temporary file left by a crash may have any mode: never reuse it.
    absent(std::fs::remove_file(&tmp))?;
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(&tmp)?;
    file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
    file.write_all(content)?;
    drop(file);
    std::fs::rename(&tmp, path)
}

/// A removal's outcome, with "it was not there" as success.
fn absent(removed: std::io::Result<()>) -> std::io::Result<()> {
    match removed {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn text<'a>(object: &'a serde_json::Value, pointer: &str) -> Option<&'a str> {
    object.pointer(pointer).and_then(serde_json::Value::as_str)
}

impl ApplyDir {
    pub fn new(root: impl Into<PathBuf>) -> ApplyDir {
        ApplyDir { root: root.into() }
    }

    /// The revision last applied here (0 for none).
    pub fn applied_revision(&self) -> u64 {
        std::fs::read_to_string(self.root.join(STATE_DIR).join("revision"))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0)
    }

    /// What the last apply reported for each deployment (`None` before
    /// the first apply of this version of the agent: it then cannot say it
    /// reports everything).
    pub fn reports(&self) -> Option<Vec<DeploymentReport>> {
        let text = std::fs::read_to_string(self.root.join(STATE_DIR).join("reports.json")).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The file an object goes to.
    fn path_of(&self, object: &serde_json::Value) -> Result<PathBuf> {
        let kind = text(object, "/kind").context("an object without a kind")?;
        if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_alphabetic()) {
            bail!("refusing kind {kind:?}");
        }
        let name = safe_component("name", text(object, "/metadata/name").unwrap_or(""))?;
        let dir = match text(object, "/metadata/namespace") {
            Some(ns) => safe_component("namespace", ns)?,
            None => CLUSTER_DIR.to_owned(),
        };
        Ok(self.root.join(dir).join(format!("{}-{name}.yaml", kind.to_lowercase())))
    }

    /// Writes every desired object and prunes every other file, then records
    /// the revision. Checks every path before touching anything, so a bad
    /// object leaves the tree as it was.
    pub fn apply(&self, state: &DesiredState) -> Result<Vec<DeploymentReport>> {
        let mut files = Vec::new();
        for deployment in &state.deployments {
            for object in &deployment.objects {
                files.push((self.path_of(object)?, object));
            }
        }
        let mut wanted: BTreeSet<&PathBuf> = files.iter().map(|(p, _)| p).collect();
        if wanted.len() != files.len() {
            bail!("two desired objects map to one file");
        }
        // A deployment Harmony cannot serve now keeps what was applied for
        // it: nothing in its namespace is pruned.
        let mut kept = Vec::new();
        for deployment in state.deployments.iter().filter(|d| d.unavailable.is_some()) {
            let dir = self.root.join(safe_component("namespace", &deployment.namespace)?);
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for entry in entries {
                    kept.push(entry?.path());
                }
            }
        }
        wanted.extend(kept.iter());
        private_dir(&self.root)?;
        for (path, object) in &files {
            let mut content = String::new();
            k8s_yaml::document(object, &mut content);
            let dir = path.parent().context("a file has a directory")?;
            private_dir(dir)?;
            if std::fs::read_to_string(path).ok().as_deref() == Some(content.as_str()) {
                narrow(path, FILE_MODE)?;
                continue;
            }
            write_private(path, content.as_bytes())?;
        }
        self.prune(&wanted)?;
        let reports: Vec<DeploymentReport> = state
            .deployments
            .iter()
            .map(|d| match &d.unavailable {
                Some(why) => DeploymentReport {
                    deployment_id: d.deployment_id,
                    manifest_revision: d.manifest_revision,
                    health: Health::Unhealthy,
                    message: Some(format!("kept what was applied before: {why}")),
                },
                None => DeploymentReport {
                    deployment_id: d.deployment_id,
                    manifest_revision: d.manifest_revision,
                    // Files say nothing about pods; whoever syncs them knows.
                    health: Health::Unknown,
                    message: Some(format!("written to {}", self.root.display())),
                },
            })
            .collect();
        // The reports first, then the revision: a crash between the two
        // leaves the old revision, and the state is applied again.
        let state_dir = self.root.join(STATE_DIR);
        private_dir(&state_dir)?;
        for (name, content) in [
            ("reports.json", serde_json::to_string(&reports)?),
            ("revision", state.revision.to_string()),
        ] {
            write_private(&state_dir.join(name), content.as_bytes())?;
        }
        Ok(reports)
    }

    /// Removes every file not `wanted`, and narrows what stays (files an
    /// older agent wrote wider, those kept for an unavailable deployment).
    fn prune(&self, wanted: &BTreeSet<&PathBuf>) -> Result<()> {
        for entry in std::fs::read_dir(&self.root)? {
            let dir = entry?.path();
            if !dir.is_dir() || dir.file_name().is_some_and(|n| n == STATE_DIR) {
                continue;
            }
            narrow(&dir, DIR_MODE)?;
            for file in std::fs::read_dir(&dir)? {
                let file = file?.path();
                if !wanted.contains(&file) {
                    std::fs::remove_file(&file)?;
                } else {
                    narrow(&file, FILE_MODE)?;
                }
            }
            if std::fs::read_dir(&dir)?.next().is_none() {
                std::fs::remove_dir(&dir)?;
            }
        }
        Ok(())
    }
}

/// The agent: a client for its data plane and where it applies.
pub struct Agent {
    /// The whole-state protocol (agent API 1.0.0), and every report.
    client: harmony_client::agent::Client,
    /// The changes protocol (agent API 2.0.0).
    changes: harmony_client::agent_v2::Client,
    apply: ApplyDir,
    version: String,
    protocol: std::sync::Mutex<Protocol>,
    /// Set when Harmony refused the changes protocol: speak the whole
    /// state until then.
    whole_until: std::sync::Mutex<Option<std::time::Instant>>,
    /// Bytes of desired state received (response bodies).
    received: std::sync::atomic::AtomicU64,
}

/// Which agent API version the agent speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// 2.0.0 when Harmony serves it, else 1.0.0 (asked again every
    /// [`PROBE_AGAIN`]).
    Negotiate,
    /// 1.0.0, as agents before 2.0.0 do.
    Whole,
}

/// How long an agent whose Harmony does not serve the changes protocol
/// speaks the whole-state one before it asks again.
pub const PROBE_AGAIN: Duration = Duration::from_secs(600);

/// Why a round of the changes protocol ended early.
enum Refused {
    /// Harmony does not serve the changes protocol.
    Version,
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Refused {
    fn from(e: anyhow::Error) -> Refused {
        Refused::Other(e)
    }
}

/// What one round of the loop did.
#[derive(Debug, PartialEq, Eq)]
pub enum Round {
    /// A new desired state was applied at this revision.
    Applied(u64),
    /// Nothing new; the agent is at this revision.
    Unchanged(u64),
}

/// Whether Harmony refused the request's agent API version (one that
/// predates it), so the agent should speak an older one.
fn version_refused(error: &harmony_client::Error<harmony_client::agent_v2::types::Error>) -> bool {
    match error {
        harmony_client::Error::ErrorResponse(r) => {
            let status = r.status().as_u16();
            // dropshot's words for a version past the newest served.
            status == 404
                || (status == 400 && r.message.contains("does not support this API version"))
        }
        harmony_client::Error::UnexpectedResponse(r) => matches!(r.status().as_u16(), 400 | 404),
        _ => false,
    }
}

impl Agent {
    pub fn new(url: &str, credential: &str, apply: ApplyDir) -> Result<Agent> {
        Agent::trusting(url, credential, apply, None)
    }

    /// [`Agent::new`], trusting (besides the system's roots) the PEM
    /// certificates of `ca`: the CA that signed the agent API's certificate.
    pub fn trusting(
        url: &str,
        credential: &str,
        apply: ApplyDir,
        ca: Option<&[u8]>,
    ) -> Result<Agent> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {}", credential.trim()).parse().context("a credential is text")?,
        );
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(u64::from(POLL_SECONDS) + 15));
        if let Some(ca) = ca {
            builder = harmony_client::trusting(builder, ca).context("the CA bundle")?;
        }
        let http = builder.build()?;
        Ok(Agent {
            client: harmony_client::agent::Client::new_with_client(url, http.clone()),
            changes: harmony_client::agent_v2::Client::new_with_client(url, http),
            apply,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            protocol: std::sync::Mutex::new(Protocol::Negotiate),
            whole_until: std::sync::Mutex::new(None),
            received: Default::default(),
        })
    }

    /// The agent, speaking only `protocol` from now on.
    pub fn speaking(self, protocol: Protocol) -> Agent {
        *self.protocol.lock().unwrap_or_else(|p| p.into_inner()) = protocol;
        self
    }

    /// Whether the next round speaks the changes protocol.
    fn speaks_changes(&self) -> bool {
        let protocol = *self.protocol.lock().unwrap_or_else(|p| p.into_inner());
        let until = *self.whole_until.lock().unwrap_or_else(|p| p.into_inner());
        protocol == Protocol::Negotiate && until.is_none_or(|t| std::time::Instant::now() >= t)
    }

    /// One poll: waits up to `wait` seconds for a change, applies it if
    /// there is one, and reports (a heartbeat when nothing changed).
    pub async fn round(&self, wait: u32) -> Result<Round> {
        if self.speaks_changes() {
            match self.changes_round(wait).await {
                Err(Refused::Version) => {
                    *self.whole_until.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(std::time::Instant::now() + PROBE_AGAIN);
                }
                Err(Refused::Other(e)) => return Err(e),
                Ok(round) => return Ok(round),
            }
        }
        self.whole_round(wait).await
    }

    /// One round of the changes protocol (agent API 2.0.0): every page of
    /// one pass, each deployment applied on its own and reported when it
    /// moved; the applied revision moves once the pass is whole.
    async fn changes_round(&self, wait: u32) -> Result<Round, Refused> {
        let known = self.apply.applied_revision();
        let since = self.apply.keeps_changes().then_some(known);
        let mut token: Option<String> = None;
        let mut listed = std::collections::HashSet::new();
        let mut first = true;
        // Whether the pass moved anything: a revision, a deployment.
        let mut moved = false;
        loop {
            let page = self
                .changes
                .changes_get(token.as_deref(), since, Some(if token.is_some() { 0 } else { wait }))
                .await;
            let page = match page {
                Ok(page) => {
                    self.count(page.content_length());
                    page.into_inner()
                }
                Err(e) if first && version_refused(&e) => return Err(Refused::Version),
                Err(e) => {
                    return Err(Refused::Other(anyhow::anyhow!("fetching what changed: {e}")));
                }
            };
            first = false;
            let last = page.next_page.is_none();
            moved |=
                page.revision != known || !page.deployments.is_empty() || !page.removed.is_empty();
            let mut reports = Vec::new();
            for id in &page.removed {
                self.apply.remove_deployment(*id)?;
            }
            for d in page.deployments {
                if page.full {
                    listed.insert(d.deployment_id);
                }
                let d = harmony_client::agent::types::DesiredDeployment {
                    deployment_id: d.deployment_id,
                    manifest_revision: d.manifest_revision,
                    namespace: d.namespace,
                    objects: d.objects,
                    unavailable: d.unavailable,
                };
                reports.extend(self.apply.apply_deployment(&d)?);
            }
            if last {
                if page.full {
                    self.apply.finish_full_sync(&listed)?;
                }
                if moved || page.full {
                    self.apply.finish_pass(page.revision)?;
                }
            }
            // Mid-pass the agent is still at the revision it had (never
            // past the plane's: a plane started over has a lower one).
            let applied_revision = if last { page.revision } else { known.min(page.revision) };
            self.report(applied_revision, reports, false).await?;
            if last {
                return Ok(if moved {
                    Round::Applied(page.revision)
                } else {
                    Round::Unchanged(known)
                });
            }
            token = page.next_page;
        }
    }

    /// One round of the whole-state protocol (agent API 1.0.0).
    async fn whole_round(&self, wait: u32) -> Result<Round> {
        let known = self.apply.applied_revision();
        let state = self
            .client
            .desired_state_get(Some(known), Some(wait))
            .await
            .map_err(|e| anyhow::anyhow!("fetching the desired state: {e}"))?;
        self.count(state.content_length());
        let state = state.into_inner();
        // Every round repeats every deployment's report, so Harmony may
        // record it without waiting for its disk (the next round repairs a
        // lost one); before this agent's first apply it has none to repeat.
        let (round, deployments) = if state.changed {
            let reports = self.apply.apply(&state)?;
            self.apply.forget_changes()?;
            (Round::Applied(state.revision), Some(reports))
        } else {
            (Round::Unchanged(known), self.apply.reports())
        };
        let applied_revision = match round {
            Round::Applied(r) | Round::Unchanged(r) => r,
        };
        let complete = deployments.is_some();
        self.report(applied_revision, deployments.unwrap_or_default(), complete).await?;
        Ok(round)
    }

    /// Bytes of desired state received so far (response bodies of both
    /// protocols).
    pub fn bytes_received(&self) -> u64 {
        self.received.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count(&self, bytes: Option<u64>) {
        self.received.fetch_add(bytes.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
    }

    async fn report(
        &self,
        applied_revision: u64,
        deployments: Vec<DeploymentReport>,
        complete: bool,
    ) -> Result<()> {
        self.client
            .status_report(&StatusReport {
                applied_revision,
                agent_version: self.version.clone(),
                complete,
                deployments,
                // It writes files: workloads' health is not its to see.
                observes: Some(Observes { health: false }),
            })
            .await
            .map_err(|e| anyhow::anyhow!("reporting status: {e}"))?;
        Ok(())
    }

    /// Runs until `stop` completes, long-polling `poll_seconds` at a time.
    /// Errors are logged and retried with backoff; what was applied stays as
    /// it is meanwhile. A stop ends the round in flight at its next wait (a
    /// desired state is applied whole, never cut off partway: applying does
    /// not wait on anything), and the next start resumes from what was
    /// applied.
    pub async fn run_until<S>(&self, poll_seconds: u32, log: &slog::Logger, stop: S) -> S::Output
    where
        S: std::future::Future,
    {
        tokio::pin!(stop);
        let mut backoff = Duration::from_secs(1);
        loop {
            let round = tokio::select! {
                stopped = &mut stop => return stopped,
                round = self.round(poll_seconds) => round,
            };
            match round {
                Ok(round) => {
                    if let Round::Applied(revision) = round {
                        slog::info!(log, "applied the data plane's desired state";
                            "revision" => revision);
                    }
                    backoff = Duration::from_secs(1);
                }
                Err(e) => {
                    slog::warn!(log, "keeping what is applied, retrying";
                        "error" => format!("{e:#}"), "retry_in_ms" => backoff.as_millis() as u64);
                    tokio::select! {
                        stopped = &mut stop => return stopped,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}
