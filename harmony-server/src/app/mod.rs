//! Harmony's application layer: validation, generations, revisions.
//!
//! One file per concern: `data_planes.rs` (registration, listing),
//! `deployments.rs` (specs, generations, manifest revisions), `agents.rs`
//! (credentials, desired state, reports), `status.rs` (liveness and
//! deployment state), `validate.rs` (a spec's rules and the shared checks),
//! `clock.rs` (where "now" comes from). This file holds [`HarmonyApp`], its
//! errors and what the process asks of it (stopping, counts); the rollout
//! controller adds its commands in `rollouts`.
//!
//! Knows nothing of HTTP. Every operation is synchronous and runs one store
//! transaction; [`crate::http`] calls it on tokio's blocking pool and turns a
//! [`HarmonyError`] into an HTTP error at the edge.

mod agents;
mod clock;
mod data_planes;
mod deployments;
mod rollouts;
mod status;
mod validate;

pub use agents::{MAX_AGENT_MESSAGE, agent_api_version};
pub use clock::{Clock, ManualClock, SystemClock};
pub use data_planes::OWNER_LABEL;
pub(crate) use deployments::{Cause, insert_revision};
pub use rollouts::{RENDERS_PER_COMMIT, to_api_rollout};
pub use status::HEARTBEAT_TIMEOUT;
pub(crate) use validate::{check_dns_label, check_written, is_dns_label};

use crate::render;
use crate::store::{Store, StoreError};
use std::sync::Arc;
use uuid::Uuid;

/// The newest API version this build serves: what work no request asked
/// for (a rollout's re-renders) is judged at.
pub fn newest_version() -> deployment_rules::ApiVersion {
    let newest = harmony_api::supported_versions().iter().map(|v| v.semver().clone()).max();
    let v = newest.expect("at least one version is served");
    deployment_rules::ApiVersion::new(v.major, v.minor, v.patch)
}

#[derive(Debug, thiserror::Error)]
pub enum HarmonyError {
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// Each refusal names a field and the declared rule it breaks.
    #[error("invalid request: {0}")]
    Invalid(deployment_rules::Refusals),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// An agent without a valid credential.
    #[error("{0}")]
    Unauthenticated(String),
    /// A change past its data plane's budget ([`crate::budget`]).
    #[error(transparent)]
    OverBudget(crate::budget::OverBudget),
    /// What this Harmony cannot do yet, for a reason of its own (not the
    /// request's): a 503 that says why and what ends it.
    #[error("{0}")]
    Unavailable(String),
    #[error("storage failure")]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct HarmonyApp {
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
    /// ([`rollouts::RENDERS_PER_COMMIT`]).
    pub(crate) renders_per_commit: usize,
    /// What a change may add to its data plane ([`crate::budget`]).
    pub(crate) budgets: crate::budget::PlaneBudgets,
    /// Where the application layer reports what no caller hears of (a
    /// deployment whose set cannot be served).
    pub(crate) log: slog::Logger,
}

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

impl HarmonyApp {
    pub fn new(store: Store, clock: Arc<dyn Clock>, key: render::SecretKey) -> HarmonyApp {
        HarmonyApp {
            store,
            clock,
            key: Arc::new(key),
            stopping: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            polls_waiting: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            poll_wakeups: Arc::default(),
            policy: DEFAULT_POLICY.clone(),
            replica: Uuid::new_v4().to_string().into(),
            lease: chrono::Duration::seconds(30),
            renders_per_commit: rollouts::RENDERS_PER_COMMIT,
            budgets: crate::budget::PlaneBudgets::default(),
            log: slog::Logger::root(slog::Discard, slog::o!()),
        }
    }

    /// Logs to `log` (by default nowhere).
    pub fn with_log(mut self, log: slog::Logger) -> Self {
        self.log = log;
        self
    }

    /// Holds changes to `budgets` instead of the defaults.
    pub fn with_budgets(mut self, budgets: crate::budget::PlaneBudgets) -> Self {
        self.budgets = budgets;
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

    /// Whether [`HarmonyApp::end_long_polls`] was called.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Wakes this process's long polls on every desired-state change made
    /// through any replica sharing the database (PostgreSQL `LISTEN`/
    /// `NOTIFY`, each plane's own watchers only), so they need not read the
    /// store again on their own.
    pub fn listen_for_changes(self) -> HarmonyApp {
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
}

pub(crate) fn not_found(what: &'static str, id: &str) -> HarmonyError {
    HarmonyError::NotFound { what, id: id.to_owned() }
}
