//! The agent API: how a data plane's agent gets its desired state from
//! Harmony and reports what it applied. A dropshot trait and its wire types,
//! nothing else.
//!
//! Separate from Harmony's own API (`harmony-api`) because its client is
//! different and upgrades on its own clock: agents run inside data planes
//! (Hybrid ones on customers' clusters) and move to a new version only when
//! a data plane is upgraded. Harmony serves it on its own listener, and an
//! agent authenticates with its data plane's credential
//! (`Authorization: Bearer <credential>`), which is also how Harmony knows
//! which data plane is asking: there is no data-plane id in any path, so an
//! agent can only ever see its own.
//!
//! # Two protocols
//!
//! **Whole state (1.0.0, still served).** `GET /desired-state?known_revision=N&wait_seconds=S`
//! answers at once when the data plane's desired state has moved past `N`
//! with every deployment's objects, or holds the request up to `S` seconds
//! (a long poll) and answers `changed: false`. The agent applies what it
//! got and `POST /status`es the revision it applied and each deployment's
//! health. Its cost follows the size of the plane on every change.
//!
//! **Changes (2.0.0).** `GET /changes?since=R&wait_seconds=S` answers with
//! what moved on the plane since plane revision `R`: each deployment whose
//! objects changed (whole, at its newest manifest revision) and each
//! deployment removed. Its cost follows the size of the change. The agent
//! applies and reports per deployment (`POST /status` naming only what it
//! applied).
//!
//! What the changes protocol promises:
//!
//! - **Revisions.** A data plane's revision moves forward by one with every
//!   write that changes what the plane should run, in commit order: two
//!   writes to one plane never share or swap revisions.
//! - **"Changed since R".** An answer from `since=R` lists every deployment
//!   whose objects changed, and every deployment removed, by a write that
//!   took the plane past `R` up to the answer's `revision`. It may list a
//!   deployment more than once across pages, or one the agent already runs
//!   at that manifest revision (a change that moved it again while the
//!   agent was paging): applying is idempotent per manifest revision, so a
//!   repeat costs nothing but bytes. A deployment changed after the answer's
//!   `revision` may already appear at its newer manifest revision; the next
//!   answer, from `since=revision`, lists it again.
//! - **Ordering.** Within one pass (an answer and its `next_page`s), items
//!   come in plane-revision order (removals and changes interleaved), so a
//!   deployment removed and created again under the same id is removed
//!   first. Across deployments there is no other order to honour: each is
//!   applied on its own.
//! - **Pages.** An answer holds at most [`PAGE_BYTES`] of objects (always at
//!   least one deployment). `next_page` continues the same pass; the agent
//!   moves its own revision to `revision` only after the last page, so an
//!   agent stopped mid-pass starts the pass again from `R`.
//! - **Resync.** When Harmony cannot say what changed since `R` (`R` is
//!   ahead of the plane, older than the history Harmony keeps, from before
//!   a write by a binary that does not log changes, or absent), the answer
//!   is a full sync: `full` is true with its reason, the pages list every
//!   deployment on the plane, and at the last page the agent removes every
//!   deployment the pass did not list. Its `revision` is the plane's
//!   revision when the pass began; what changed during the pass comes in
//!   the next answer.
//! - **A missed change is impossible.** The log is written in the same
//!   transaction as the change and the revision it moves, by every binary
//!   that serves this version. A binary that does not know the log (an
//!   older replica on the same database) moves the revision without
//!   logging; Harmony notices the gap (`logged_through` behind the plane's
//!   revision) and answers with a full sync instead of a delta that could
//!   leave something out. Nothing is answered from a cache: every answer is
//!   read from the store in one transaction.
//! - **Long polls** work as in 1.0.0: with `wait_seconds`, an agent whose
//!   `since` is the plane's revision is held until the plane moves (a
//!   write at any replica wakes it, through `LISTEN/NOTIFY` on PostgreSQL)
//!   or the wait ends (`revision == since`, nothing listed).

/// Request bodies must arrive within the process's read deadline; an
/// implementation names the same type.
pub use body_deadline::TimedBody;
use dropshot::{HttpError, HttpResponseOk, HttpResponseUpdatedNoContent, Query, RequestContext};
use dropshot_api_manager_types::api_versions;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

api_versions!([
    // Changes since a plane revision, paged; per-deployment reports.
    (2, CHANGES),
    (1, INITIAL),
]);

/// Most bytes of objects one `GET /changes` answer carries (one deployment
/// larger than this still comes whole, alone on its page).
pub const PAGE_BYTES: usize = 1024 * 1024;

/// Longest long poll, in seconds.
pub const MAX_WAIT_SECONDS: u32 = 30;

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct DesiredStateQuery {
    /// The data-plane revision the agent has applied; absent or 0 for none.
    #[serde(default)]
    pub known_revision: Option<u64>,
    /// How long to wait for a newer revision before answering unchanged
    /// (0 to 30; default 0).
    #[serde(default)]
    pub wait_seconds: Option<u32>,
}

/// Everything the data plane should run.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DesiredState {
    pub data_plane_id: String,
    /// Moves forward whenever anything on the data plane changes.
    pub revision: u64,
    /// False when `revision` is the one the agent said it knows; then
    /// `deployments` is empty and nothing is to be done.
    pub changed: bool,
    pub deployments: Vec<DesiredDeployment>,
}

/// One Airflow deployment's objects at its newest manifest revision.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DesiredDeployment {
    pub deployment_id: Uuid,
    pub manifest_revision: u64,
    pub namespace: String,
    /// Complete Kubernetes objects, Secrets included, in apply order.
    /// Empty when `unavailable` is set.
    // Held as the JSON text they are stored as (their schema is any JSON
    // value's, as before): a server answering a page never builds their
    // trees, which would take several times their size.
    pub objects: Vec<Box<serde_json::value::RawValue>>,
    /// Set when Harmony cannot serve this deployment's objects now (its
    /// stored set cannot be read): the agent keeps whatever it applied for
    /// the deployment, prunes none of it, and reports it unhealthy with
    /// this reason. The other deployments of the data plane are served as
    /// usual: one broken deployment never stops a plane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ChangesQuery {
    /// The plane revision the agent has applied whole; absent: it asks for
    /// a full sync.
    #[serde(default)]
    pub since: Option<u64>,
    /// Continues a pass: the `next_page` of the previous answer (`since` is
    /// then ignored).
    #[serde(default)]
    pub page_token: Option<String>,
    /// How long to wait for the plane to move past `since` before answering
    /// with nothing (0 to 30; default 0). Ignored with a `page_token`.
    #[serde(default)]
    pub wait_seconds: Option<u32>,
}

/// What changed on the data plane since a plane revision (one page of it).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Changes {
    pub data_plane_id: String,
    /// The plane revision the agent is at once it has applied this page
    /// and every page after it.
    pub revision: u64,
    /// A full sync: the pass lists every deployment on the plane, and the
    /// agent removes, after the last page, every deployment it runs that
    /// the pass did not list.
    pub full: bool,
    /// Why Harmony answers with a full sync (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_reason: Option<String>,
    /// Deployments whose objects changed (all of them, on a full sync),
    /// each whole at its newest manifest revision.
    pub deployments: Vec<DesiredDeployment>,
    /// Deployments removed from the plane: the agent removes what it
    /// applied for them.
    pub removed: Vec<Uuid>,
    /// More of this pass: ask again with this as `page_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Health {
    Healthy,
    Unhealthy,
    /// Applied, not yet ready.
    Progressing,
    /// The agent cannot tell (for example, it only writes files).
    Unknown,
}

/// What the agent applied, and how it is doing.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct StatusReport {
    /// The data-plane revision now applied.
    pub applied_revision: u64,
    pub agent_version: String,
    pub deployments: Vec<DeploymentReport>,
    /// Whether `deployments` lists every deployment the agent runs, each as
    /// observed now, not only those a new desired state changed. A complete
    /// report repeats everything the agent knows, so Harmony records it
    /// without waiting for the disk: one lost in a power failure is
    /// repaired by the next round. Absent: false.
    #[serde(default)]
    pub complete: bool,
    /// What this agent can observe of what it applies; absent when it does
    /// not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observes: Option<Observes>,
}

/// Evidence an agent can give about its data plane. A rollout gate that
/// needs evidence a data plane's agent cannot give is refused when the
/// rollout is planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct Observes {
    /// Whether it can tell its deployments' workloads' health (HEALTHY,
    /// UNHEALTHY, PROGRESSING). An agent that only writes files cannot: it
    /// reports UNKNOWN, and a rollout gated on HEALTH could never pass.
    pub health: bool,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct DeploymentReport {
    pub deployment_id: Uuid,
    pub manifest_revision: u64,
    pub health: Health,
    #[serde(default)]
    pub message: Option<String>,
}

#[dropshot::api_description]
pub trait HarmonyAgentApi {
    type Context;

    /// The data plane's desired state, if newer than `known_revision`
    /// (waiting up to `wait_seconds` for it).
    #[endpoint { method = GET, path = "/desired-state" }]
    async fn desired_state_get(
        rqctx: RequestContext<Self::Context>,
        query: Query<DesiredStateQuery>,
    ) -> Result<HttpResponseOk<DesiredState>, HttpError>;

    /// What changed on the data plane since a plane revision, a page at a
    /// time (waiting up to `wait_seconds` for a change).
    #[endpoint { method = GET, path = "/changes", versions = VERSION_CHANGES.. }]
    async fn changes_get(
        rqctx: RequestContext<Self::Context>,
        query: Query<ChangesQuery>,
    ) -> Result<HttpResponseOk<Changes>, HttpError>;

    /// Report the applied revision and each deployment's health; also the
    /// agent's heartbeat.
    #[endpoint { method = POST, path = "/status" }]
    async fn status_report(
        rqctx: RequestContext<Self::Context>,
        body: TimedBody<StatusReport>,
    ) -> Result<HttpResponseUpdatedNoContent, HttpError>;
}
