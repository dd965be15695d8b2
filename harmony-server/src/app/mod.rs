//! Harmony's application layer: validation, generations, revisions.
//!
//! Knows nothing of HTTP. Every operation is synchronous and runs one store
//! transaction; [`crate::http`] calls it on tokio's blocking pool and turns a
//! [`HarmonyError`] into an HTTP error at the edge.

mod validate;

use validate::validate_spec;
pub(crate) use validate::{check_dns_label, check_written, is_dns_label};

use crate::render;
use crate::store::{Store, StoreError, StoredDeployment, StoredManifestSet};
use chrono::{DateTime, Utc};
use harmony_api::latest::{
    DataPlane, DataPlaneRegistration, Deployment, DeploymentSpec, DeploymentState,
    DeploymentStatus, EnvironmentVariable, ManifestObject, ManifestSet,
};
use std::sync::Arc;
use uuid::Uuid;

/// Where "now" comes from; injected so tests control time.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        // What the store keeps: answers match what is read back later.
        sql_store::now()
    }
}

/// A clock that moves only when told: tests and the benchmark run bakes of
/// hours in moments.
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(std::sync::Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = at;
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HarmonyError {
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// Each entry names a field and the rule it breaks.
    #[error("invalid request: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// An agent without a valid credential.
    #[error("{0}")]
    Unauthenticated(String),
    #[error("storage failure")]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Harmony {
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) key: Arc<render::SecretKey>,
    /// Set when the process is stopping: long polls answer at once instead
    /// of holding the graceful stop for up to their whole wait.
    pub(crate) stopping: Arc<std::sync::atomic::AtomicBool>,
    /// Long polls of this process waiting for a change now.
    pub(crate) polls_waiting: Arc<std::sync::atomic::AtomicUsize>,
    /// Times a waiting long poll was woken to read its plane again.
    pub(crate) poll_wakeups: Arc<std::sync::atomic::AtomicU64>,
    /// The rollout policy of this Harmony's environment.
    pub(crate) policy: Arc<crate::rollout::policy::RolloutPolicy>,
    /// This replica's name in leases on shared background work.
    pub(crate) replica: Arc<str>,
    /// How long a lease on background work lasts unrenewed: how soon
    /// another replica takes over the work of one that died.
    pub(crate) lease: chrono::Duration,
    /// Deployments a rollout step re-renders in one transaction
    /// ([`crate::rollout::controller::RENDERS_PER_COMMIT`]).
    pub(crate) renders_per_commit: usize,
    /// Where the application layer reports what no caller hears of (a
    /// deployment whose set cannot be served).
    pub(crate) log: slog::Logger,
}

/// An agent whose last report is older than this has its data plane shown
/// UNREACHABLE.
pub const HEARTBEAT_TIMEOUT: chrono::Duration = chrono::Duration::seconds(90);

/// Prefix of an agent credential: `hagent.<data plane>.<secret>`.
const AGENT_CREDENTIAL_PREFIX: &str = "hagent.";

/// The committed policy's `local` environment, resolved once per process.
static DEFAULT_POLICY: std::sync::LazyLock<Arc<crate::rollout::policy::RolloutPolicy>> =
    std::sync::LazyLock::new(|| {
        Arc::new(
            crate::rollout::policy::RolloutPolicy::committed("local")
                .expect("the committed rollout policy resolves (tested)"),
        )
    });

/// Upper bound on a page of results.
pub const MAX_PAGE: usize = 1000;

impl Harmony {
    pub fn new(store: Store, clock: Arc<dyn Clock>, key: render::SecretKey) -> Harmony {
        Harmony {
            store,
            clock,
            key: Arc::new(key),
            stopping: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            polls_waiting: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            poll_wakeups: Arc::default(),
            policy: DEFAULT_POLICY.clone(),
            replica: Uuid::new_v4().to_string().into(),
            lease: chrono::Duration::seconds(30),
            renders_per_commit: crate::rollout::controller::RENDERS_PER_COMMIT,
            log: slog::Logger::root(slog::Discard, slog::o!()),
        }
    }

    /// Logs to `log` (by default nowhere).
    pub fn with_log(mut self, log: slog::Logger) -> Self {
        self.log = log;
        self
    }

    /// Holds leases on shared background work for `lease` at a time.
    pub fn with_lease(mut self, lease: std::time::Duration) -> Self {
        self.lease = chrono::Duration::from_std(lease).unwrap_or(self.lease);
        self
    }

    /// Re-renders at most `renders` deployments in one rollout step's
    /// transaction (at least one data plane's).
    pub fn with_rollout_renders_per_commit(mut self, renders: usize) -> Self {
        self.renders_per_commit = renders;
        self
    }

    /// Runs rollouts under `policy` (by default the committed policy's
    /// `local` environment).
    pub fn with_rollout_policy(mut self, policy: crate::rollout::policy::RolloutPolicy) -> Self {
        self.policy = Arc::new(policy);
        self
    }

    pub fn register_data_plane(
        &self,
        id: &str,
        registration: DataPlaneRegistration,
    ) -> Result<DataPlane, HarmonyError> {
        let mut problems = Vec::new();
        check_dns_label(&mut problems, "data_plane_id", id);
        check_written(&mut problems, "region", &registration.region);
        check_written(&mut problems, "agent_version", &registration.agent_version);
        check_written(&mut problems, "platform_release", &registration.platform_release);
        if let Err(rule) = deployment_rules::kubernetes_version(&registration.kubernetes_version) {
            problems.push(format!(
                "kubernetes_version: {rule}, got {:?}",
                registration.kubernetes_version
            ));
        }
        // A Hybrid data plane belongs to one organization, named when it
        // registers (deployment_rules::REGISTRATION_RULES): without it the
        // plane could take any organization's deployments.
        let owner = registration.labels.get(OWNER_LABEL);
        if registration.kind == harmony_api::latest::DataPlaneKind::Hybrid {
            match owner {
                None => problems.push(format!(
                    "labels: a HYBRID data plane names the organization it belongs to in \
                     label {OWNER_LABEL}"
                )),
                Some(owner) => {
                    check_written(&mut problems, &format!("labels.{OWNER_LABEL}"), owner)
                }
            }
        }
        if !problems.is_empty() {
            return Err(HarmonyError::Invalid(problems));
        }
        let now = self.clock.now();
        let id = id.to_owned();
        self.store.write(move |tx| {
            if let Some(existing) = tx.data_plane(&id)? {
                if existing.kind != registration.kind {
                    return Err(HarmonyError::Conflict {
                        code: "DataPlaneKindChanged",
                        message: format!(
                            "data plane {id} is registered as {:?}; its kind cannot change",
                            existing.kind
                        ),
                    });
                }
                // A registration names the release a data plane starts on;
                // after that only rollouts move it (and re-render its
                // deployments), so a re-registration cannot quietly undo one.
                if existing.labels.get(OWNER_LABEL) != registration.labels.get(OWNER_LABEL) {
                    return Err(HarmonyError::Conflict {
                        code: "DataPlaneOwnerChanged",
                        message: format!(
                            "data plane {id} belongs to {}; the organization a data plane \
                             belongs to (label {OWNER_LABEL}) cannot change",
                            existing.labels.get(OWNER_LABEL).map_or("no organization", |o| o)
                        ),
                    });
                }
                if existing.platform_release != registration.platform_release {
                    return Err(HarmonyError::Conflict {
                        code: "PlatformReleaseManagedByRollouts",
                        message: format!(
                            "data plane {id} is on platform release {}; a registration cannot \
                             change it (send {} again, and change releases with a rollout, \
                             API 3.0.0)",
                            existing.platform_release, existing.platform_release
                        ),
                    });
                }
            }
            Ok(tx.upsert_data_plane(&id, &registration, now)?)
        })
    }

    pub fn data_plane(&self, id: &str) -> Result<DataPlane, HarmonyError> {
        // Registration admits only DNS labels: anything else names no data
        // plane (and is not sent to the database, which may not be able to
        // hold it: PostgreSQL text cannot contain NUL).
        if !is_dns_label(id) {
            return Err(not_found("data plane", id));
        }
        self.store
            .read(|tx| Ok::<_, HarmonyError>(tx.data_plane(id)?))?
            .map(|plane| self.with_liveness(plane))
            .ok_or_else(|| not_found("data plane", id))
    }

    /// A data plane whose agent has reported before but not within
    /// [`HEARTBEAT_TIMEOUT`] is UNREACHABLE, whatever it last said.
    fn with_liveness(&self, mut plane: DataPlane) -> DataPlane {
        if let Some(beat) = plane.last_heartbeat
            && self.clock.now() - beat > HEARTBEAT_TIMEOUT
        {
            plane.status = harmony_api::latest::DataPlaneStatus::Unreachable;
        }
        plane
    }

    pub fn data_planes(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DataPlane>, HarmonyError> {
        if let Some(after) = after
            && !is_dns_label(after)
        {
            return Err(HarmonyError::Invalid(vec![format!(
                "page_token: names no data plane ({after:?})"
            )]));
        }
        let planes = self
            .store
            .read(|tx| Ok::<_, HarmonyError>(tx.data_planes_after(after, limit.min(MAX_PAGE))?))?;
        Ok(planes.into_iter().map(|p| self.with_liveness(p)).collect())
    }

    /// Accepts a deployment's desired state.
    ///
    /// Generations only move forward: an older generation is refused; the
    /// stored generation with the same spec is an idempotent no-op (a retry);
    /// the stored generation with another spec is a conflict. A new manifest
    /// revision is written only when the rendering input changed.
    ///
    /// Everything, rendering included, runs in the write: the task waits
    /// for the commit without holding a thread. (Validating and rendering
    /// against a snapshot first, re-checked in the write, was measured: it
    /// costs more CPU per request than it takes off the writer.)
    pub async fn put_deployment(
        &self,
        id: Uuid,
        mut spec: DeploymentSpec,
    ) -> Result<Deployment, HarmonyError> {
        let now = self.clock.now();
        let key = self.key.clone();
        self.store
            .write_async(move |tx| {
                // Only a DNS label can name a data plane (validation says so).
                let plane = match is_dns_label(&spec.data_plane_id) {
                    true => tx.data_plane(&spec.data_plane_id)?,
                    false => None,
                };
                let existing = tx.deployment(id)?;
                merge_secrets(&mut spec, existing.as_ref().map(|e| &e.spec))?;
                validate_spec(&spec, plane.as_ref(), existing.as_ref().map(|e| &e.spec))?;
                let plane = plane.ok_or_else(|| not_found("data plane", &spec.data_plane_id))?;

                if let Some(existing) = &existing {
                    let stored = existing.spec.generation;
                    if spec.generation < stored {
                        return Err(HarmonyError::Conflict {
                            code: "StaleGeneration",
                            message: format!(
                                "generation {} is older than the stored generation {stored}",
                                spec.generation
                            ),
                        });
                    }
                    if spec.generation == stored {
                        if spec == existing.spec {
                            return Ok(to_api(existing.clone()));
                        }
                        return Err(HarmonyError::Conflict {
                            code: "GenerationConflict",
                            message: format!(
                                "generation {stored} was already accepted with a different spec; \
                             send generation {} for a change",
                                stored + 1
                            ),
                        });
                    }
                }

                let input_hash = render::input_hash(&key, id, &spec, &plane);
                let previous_revision = existing.as_ref().map_or(0, |e| e.revision);
                let unchanged = existing.as_ref().is_some_and(|e| e.input_hash == input_hash);
                let revision = if unchanged { previous_revision } else { previous_revision + 1 };
                let stored = StoredDeployment {
                    id,
                    spec,
                    input_hash,
                    revision,
                    created_at: existing.as_ref().map_or(now, |e| e.created_at),
                    updated_at: now,
                };
                // The deployment row must exist before its first manifest set
                // references it; SQLite checks foreign keys at each statement.
                tx.put_deployment(&stored)?;
                if !unchanged {
                    tx.bump_desired_revision(&plane.id)?;
                    insert_revision(tx, &key, &stored, &plane, now, "change")?;
                }
                Ok(to_api(stored))
            })
            .await
    }

    pub fn deployment(&self, id: Uuid) -> Result<Deployment, HarmonyError> {
        self.store
            .read(|tx| Ok::<_, HarmonyError>(tx.deployment(id)?))?
            .map(to_api)
            .ok_or_else(|| not_found("deployment", &id.to_string()))
    }

    pub fn deployments(
        &self,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<Deployment>, HarmonyError> {
        let rows = self
            .store
            .read(|tx| Ok::<_, HarmonyError>(tx.deployments_after(after, limit.min(MAX_PAGE))?))?;
        Ok(rows.into_iter().map(to_api).collect())
    }

    pub fn delete_deployment(&self, id: Uuid) -> Result<(), HarmonyError> {
        let deleted = self.store.write(move |tx| {
            let Some(existing) = tx.deployment(id)? else {
                return Ok::<_, HarmonyError>(false);
            };
            tx.delete_deployment(id)?;
            tx.bump_desired_revision(&existing.spec.data_plane_id)?;
            Ok(true)
        })?;
        if deleted { Ok(()) } else { Err(not_found("deployment", &id.to_string())) }
    }

    /// Issues (or replaces) the credential a data plane's agent presents;
    /// returns it (shown once: only a SHA-256 of its secret is kept).
    pub fn issue_agent_credential(&self, data_plane_id: &str) -> Result<String, HarmonyError> {
        use sha2::Digest;
        // 32 bytes from the operating system's RNG (a UUID v4 has 122
        // random bits), as hex.
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| HarmonyError::Store(StoreError::Invalid(format!("no randomness: {e}"))))?;
        let secret = hex::encode(bytes);
        let digest = sha2::Sha256::digest(secret.as_bytes()).to_vec();
        let (id, now) = (data_plane_id.to_owned(), self.clock.now());
        self.store.write(move |tx| {
            tx.data_plane(&id)?.ok_or_else(|| not_found("data plane", &id))?;
            Ok::<_, HarmonyError>(tx.put_agent_credential(&id, &digest, now)?)
        })?;
        Ok(format!("{AGENT_CREDENTIAL_PREFIX}{data_plane_id}.{secret}"))
    }

    /// The data plane an `Authorization` header's credential belongs to.
    pub fn authenticate_agent(&self, header: Option<&str>) -> Result<String, HarmonyError> {
        let refused = || {
            HarmonyError::Unauthenticated(
                "send the data plane's agent credential as `Authorization: Bearer <credential>`"
                    .to_owned(),
            )
        };
        let credential = header
            .and_then(|h| h.trim().strip_prefix("Bearer "))
            .and_then(|c| c.trim().strip_prefix(AGENT_CREDENTIAL_PREFIX))
            .ok_or_else(refused)?;
        let (plane, secret) = credential.rsplit_once('.').ok_or_else(refused)?;
        let stored = self.store.read(|tx| Ok::<_, HarmonyError>(tx.agent_credential(plane)?))?;
        match stored {
            Some(stored) if crate::crypto::sha256_matches(secret, &stored) => Ok(plane.to_owned()),
            _ => Err(refused()),
        }
    }

    /// Who waits for which data plane's desired state (the store wakes a
    /// plane's watchers when its desired revision moves).
    pub fn wakeups(&self) -> &Arc<crate::wakeups::Wakeups> {
        self.store.wakeups()
    }

    /// The process is stopping: every long poll answers with what it has
    /// now (an agent asks again, of a replica that is not stopping),
    /// instead of holding the graceful stop for up to its whole wait.
    pub fn end_long_polls(&self) {
        self.stopping.store(true, std::sync::atomic::Ordering::SeqCst);
        self.store.wakeups().wake_all();
    }

    /// Whether [`Harmony::end_long_polls`] was called.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Wakes this process's long polls on every desired-state change made
    /// through any replica sharing the database (PostgreSQL `LISTEN`/
    /// `NOTIFY`, each plane's own watchers only), so they need not read the
    /// store again on their own.
    pub fn listen_for_changes(self) -> Harmony {
        self.store.listen_for_changes();
        self
    }

    /// Long polls of this process waiting for a change now (registered to
    /// be woken: a change from here on wakes each).
    pub fn polls_waiting(&self) -> usize {
        self.polls_waiting.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Times a waiting long poll was woken (by a change to its plane, or
    /// every poll at once: the process stopping, the listener reconnected)
    /// and read its plane again. A change wakes only its own plane's polls,
    /// so this grows with changes, not with the number of agents waiting.
    pub fn poll_wakeups(&self) -> u64 {
        self.poll_wakeups.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// What this process's writer has committed (groups, and those that
    /// waited for the disk).
    pub fn write_counts(&self) -> sql_store::WriteCounts {
        self.store.write_counts()
    }

    /// The longest write wait and transaction since the last call.
    pub fn take_longest_writes(&self) -> sql_store::Longest {
        self.store.take_longest()
    }

    /// Read transactions this process has run.
    pub fn store_reads(&self) -> u64 {
        self.store.read_count()
    }

    /// How often a long poll must look at the store again on its own:
    /// `Some` when other replicas share the store and their changes are not
    /// heard here (no listener), `None` when every change comes through
    /// this process (SQLite) or is announced to it (PostgreSQL `LISTEN`):
    /// waiting agents then cost the store nothing.
    pub fn recheck_every(&self) -> Option<std::time::Duration> {
        match (self.store.backend(), self.store.is_listening()) {
            (sql_store::Backend::Postgres, false) => Some(std::time::Duration::from_secs(1)),
            _ => None,
        }
    }

    /// A data plane's desired state: every deployment on it at its newest
    /// manifest revision, Secrets included (for its agent only). Unchanged
    /// (and empty) when the plane is still at `known_revision`.
    pub fn desired_state(
        &self,
        data_plane_id: &str,
        known_revision: u64,
    ) -> Result<harmony_agent_api::DesiredState, HarmonyError> {
        self.store.read(|tx| {
            let (revision, _) = tx
                .plane_revisions(data_plane_id)?
                .ok_or_else(|| not_found("data plane", data_plane_id))?;
            let mut deployments = Vec::new();
            let changed = revision != known_revision;
            if changed {
                for d in tx.deployments_on(data_plane_id)? {
                    // One set that cannot be read fails its own deployment
                    // (the agent keeps what it applied), never the plane.
                    let (objects, unavailable) = match tx.manifest_set(d.id, d.revision) {
                        Ok(Some(set)) => (set.objects.iter().map(|o| o.value()).collect(), None),
                        Ok(None) => (Vec::new(), Some(format!("revision {} is missing", d.revision))),
                        Err(e) => (Vec::new(), Some(format!("revision {} cannot be read: {e}", d.revision))),
                    };
                    if let Some(why) = &unavailable {
                        slog::error!(self.log, "a deployment's desired state cannot be served";
                            "deployment_id" => %d.id, "data_plane_id" => data_plane_id, "reason" => why);
                    }
                    deployments.push(harmony_agent_api::DesiredDeployment {
                        deployment_id: d.id,
                        manifest_revision: d.revision,
                        namespace: render::namespace(d.id),
                        objects,
                        unavailable: unavailable.map(|why| format!("Harmony cannot serve this deployment: {why}")),
                    });
                }
            }
            Ok(harmony_agent_api::DesiredState {
                data_plane_id: data_plane_id.to_owned(),
                revision,
                changed,
                deployments,
            })
        })
    }

    /// Records an agent's report: its applied revision, its heartbeat, what
    /// it can observe, and each deployment's health. Reports about
    /// deployments that are not on the agent's own data plane are ignored;
    /// messages are cut to [`MAX_AGENT_MESSAGE`] characters with control
    /// characters replaced. Waits for the disk.
    pub fn record_agent_status(
        &self,
        data_plane_id: &str,
        report: harmony_agent_api::StatusReport,
    ) -> Result<(), HarmonyError> {
        self.store.write(self.status_write(data_plane_id, report)?)
    }

    /// [`Harmony::record_agent_status`] for the agent API: a complete
    /// report (every deployment, repeated each round) is recorded without
    /// waiting for the disk, since the next round repairs its loss; an
    /// incomplete one (an older agent's, naming only what it just applied)
    /// waits, as it is not repeated.
    pub async fn report_agent_status(
        &self,
        data_plane_id: &str,
        report: harmony_agent_api::StatusReport,
    ) -> Result<(), HarmonyError> {
        let complete = report.complete;
        let write = self.status_write(data_plane_id, report)?;
        if complete {
            self.store.write_redoable_async(write).await
        } else {
            self.store.write_async(write).await
        }
    }

    /// The checked report as a write.
    fn status_write(
        &self,
        data_plane_id: &str,
        report: harmony_agent_api::StatusReport,
    ) -> Result<
        impl FnOnce(&crate::store::Tx<'_>) -> Result<(), HarmonyError> + Send + 'static,
        HarmonyError,
    > {
        let mut problems = Vec::new();
        check_written(&mut problems, "agent_version", &report.agent_version);
        for (i, d) in report.deployments.iter().enumerate() {
            if d.manifest_revision > i64::MAX as u64 {
                problems.push(format!("deployments[{i}].manifest_revision: at most {}", i64::MAX));
            }
        }
        if !problems.is_empty() {
            return Err(HarmonyError::Invalid(problems));
        }
        let reports: Vec<_> = report
            .deployments
            .iter()
            .map(|d| {
                let health = serde_json::to_value(d.health)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                // An agent's words reach users: kept bounded and printable.
                let message =
                    d.message.as_deref().map(|m| deployment_rules::shown(m, MAX_AGENT_MESSAGE));
                (d.deployment_id, d.manifest_revision, health, message)
            })
            .collect();
        let observes_health = report.observes.map(|o| o.health);
        let (id, now, applied) =
            (data_plane_id.to_owned(), self.clock.now(), report.applied_revision);
        Ok(move |tx: &crate::store::Tx<'_>| {
            let (desired, _) =
                tx.plane_revisions(&id)?.ok_or_else(|| not_found("data plane", &id))?;
            if applied > desired {
                return Err(HarmonyError::Invalid(vec![format!(
                    "applied_revision: {applied} is ahead of the desired revision {desired}"
                )]));
            }
            Ok(tx.record_agent_status(&id, applied, &reports, observes_health, now)?)
        })
    }

    /// Where a deployment stands on its data plane, from its agent's last
    /// report: DEPLOYING until the agent reports its newest manifest
    /// revision, then HEALTHY or UNHEALTHY as reported; UNKNOWN when the
    /// data plane stopped reporting.
    pub fn deployment_status(&self, id: Uuid) -> Result<DeploymentStatus, HarmonyError> {
        let (deployment, report, plane) = self.store.read(|tx| {
            let d = tx.deployment(id)?.ok_or_else(|| not_found("deployment", &id.to_string()))?;
            let plane = tx.data_plane(&d.spec.data_plane_id)?;
            Ok::<_, HarmonyError>((d, tx.deployment_report(id)?, plane))
        })?;
        let reachable = plane
            .map(|p| self.with_liveness(p).status)
            .is_some_and(|s| s != harmony_api::latest::DataPlaneStatus::Unreachable);
        let state = match &report {
            _ if !reachable => DeploymentState::Unknown,
            Some(r) if r.revision == deployment.revision => match r.health.as_str() {
                "HEALTHY" => DeploymentState::Healthy,
                "UNHEALTHY" => DeploymentState::Unhealthy,
                _ => DeploymentState::Deploying,
            },
            _ => DeploymentState::Deploying,
        };
        Ok(DeploymentStatus {
            deployment_id: id,
            generation: deployment.spec.generation,
            revision: deployment.revision,
            state,
            reported_revision: report.as_ref().map(|r| r.revision),
            reported_at: report.as_ref().map(|r| r.at),
            message: report.and_then(|r| r.message),
        })
    }

    /// A manifest set as handed to Astro API: Secret bodies left out.
    pub fn manifests(&self, id: Uuid, revision: Option<u64>) -> Result<ManifestSet, HarmonyError> {
        let set = self.store.read(|tx| {
            let deployment =
                tx.deployment(id)?.ok_or_else(|| not_found("deployment", &id.to_string()))?;
            let revision = revision.unwrap_or(deployment.revision);
            tx.manifest_set(id, revision)?.ok_or_else(|| HarmonyError::NotFound {
                what: "manifest revision",
                id: format!("{revision} of deployment {id}"),
            })
        })?;
        Ok(ManifestSet {
            deployment_id: set.deployment_id,
            revision: set.revision,
            generation: set.generation,
            platform_release: set.platform_release,
            input_hash: set.input_hash,
            objects: set
                .objects
                .into_iter()
                .map(|object| {
                    let manifest = (object.meta.kind != "Secret").then(|| object.value());
                    ManifestObject { manifest, ..object.meta }
                })
                .collect(),
            created_at: set.created_at,
        })
    }
}

/// Renders `stored` for `plane` (timed, by `cause`, in the metrics) and
/// writes it as manifest revision
/// `stored.revision` (the deployment row must already say so). A set larger
/// than `deployment_rules::MAX_RENDERED_SET_BYTES` is refused (400) and
/// nothing is written, so every set stored can be handed to its agent.
pub(crate) fn insert_revision(
    tx: &crate::store::Tx<'_>,
    key: &render::SecretKey,
    stored: &StoredDeployment,
    plane: &DataPlane,
    now: DateTime<Utc>,
    cause: &'static str,
) -> Result<(), HarmonyError> {
    let started = std::time::Instant::now();
    let objects = render::objects(key, stored.id, &stored.spec, plane);
    crate::metrics::RENDERS
        .get_or_create(&crate::metrics::RenderLabels { cause })
        .observe(started.elapsed().as_secs_f64());
    let size: usize = objects.iter().map(|o| o.body.get().len()).sum();
    if size > deployment_rules::MAX_RENDERED_SET_BYTES {
        return Err(HarmonyError::Invalid(vec![format!(
            "environment_variables: the rendered manifest set would be {size} bytes, more than \
             the {} a data plane is served; fewer or smaller variables, or fewer worker queues",
            deployment_rules::MAX_RENDERED_SET_BYTES
        )]));
    }
    // `stored.input_hash` is `render::input_hash` of the same input.
    Ok(tx.insert_manifest_set(&StoredManifestSet {
        deployment_id: stored.id,
        revision: stored.revision,
        generation: stored.spec.generation,
        platform_release: plane.platform_release.clone(),
        input_hash: stored.input_hash.clone(),
        objects,
        created_at: now,
    })?)
}

pub(crate) fn not_found(what: &'static str, id: &str) -> HarmonyError {
    HarmonyError::NotFound { what, id: id.to_owned() }
}

/// The API form of a stored deployment: secret values removed.
fn to_api(stored: StoredDeployment) -> Deployment {
    let StoredDeployment { id, spec, revision, created_at, updated_at, input_hash: _ } = stored;
    let DeploymentSpec {
        kind,
        organization_id,
        workspace_id,
        data_plane_id,
        name,
        runtime_version,
        executor,
        scheduler_size,
        scheduler,
        is_high_availability,
        worker_queues,
        environment_variables,
        image_tag,
        dag_bundle_version,
        generation,
    } = spec;
    Deployment {
        id,
        kind,
        organization_id,
        workspace_id,
        data_plane_id,
        name,
        runtime_version,
        executor,
        scheduler_size,
        scheduler,
        is_high_availability,
        worker_queues,
        environment_variables: environment_variables
            .into_iter()
            .map(|v| EnvironmentVariable { value: if v.is_secret { None } else { v.value }, ..v })
            .collect(),
        image_tag,
        dag_bundle_version,
        generation,
        revision,
        created_at,
        updated_at,
    }
}

/// A secret sent without a value keeps the value stored for the same key.
fn merge_secrets(
    spec: &mut DeploymentSpec,
    previous: Option<&DeploymentSpec>,
) -> Result<(), HarmonyError> {
    let mut problems = Vec::new();
    for (i, var) in spec.environment_variables.iter_mut().enumerate() {
        if !var.is_secret || var.value.is_some() {
            continue;
        }
        let kept = previous.and_then(|p| {
            p.environment_variables.iter().find(|old| old.key == var.key && old.is_secret)
        });
        match kept {
            Some(old) => var.value = old.value.clone(),
            None => problems.push(format!(
                "environment_variables[{i}].value: required for a new secret ({})",
                var.key
            )),
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(HarmonyError::Invalid(problems)) }
}

/// The label recording, at registration, the organization a Hybrid or
/// Dedicated data plane belongs to (docs/security.md).
pub const OWNER_LABEL: &str = "astronomer.io/organization";

/// Longest message of an agent's report that is kept.
pub const MAX_AGENT_MESSAGE: usize = 1000;
