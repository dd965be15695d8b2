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
//! The protocol: `GET /desired-state?known_revision=N&wait_seconds=S` answers
//! at once when the data plane's desired state has moved past `N`, or holds
//! the request up to `S` seconds (a long poll) and answers `changed: false`.
//! The agent applies what it got and `POST /status`es the revision it
//! applied and each deployment's health.

/// Request bodies must arrive within the process's read deadline; an
/// implementation names the same type.
pub use body_deadline::TimedBody;
use dropshot::{HttpError, HttpResponseOk, HttpResponseUpdatedNoContent, Query, RequestContext};
use dropshot_api_manager_types::api_versions;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

api_versions!([(1, INITIAL)]);

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
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
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
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct DesiredDeployment {
    pub deployment_id: Uuid,
    pub manifest_revision: u64,
    pub namespace: String,
    /// Complete Kubernetes objects, Secrets included, in apply order.
    /// Empty when `unavailable` is set.
    pub objects: Vec<serde_json::Value>,
    /// Set when Harmony cannot serve this deployment's objects now (its
    /// stored set cannot be read): the agent keeps whatever it applied for
    /// the deployment, prunes none of it, and reports it unhealthy with
    /// this reason. The other deployments of the data plane are served as
    /// usual: one broken deployment never stops a plane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
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

    /// Report the applied revision and each deployment's health; also the
    /// agent's heartbeat.
    #[endpoint { method = POST, path = "/status" }]
    async fn status_report(
        rqctx: RequestContext<Self::Context>,
        body: TimedBody<StatusReport>,
    ) -> Result<HttpResponseUpdatedNoContent, HttpError>;
}
