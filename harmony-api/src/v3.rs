//! Wire types of Harmony API 3.0.0 (`ROLLOUTS`).
//!
//! What changed from 2.0.0: platform releases and rollouts of them across
//! data planes, as new endpoints. Every 2.0.0 type and endpoint is unchanged
//! (re-exported here), so a 2.0.0 client keeps working against a 3.0.0
//! Harmony, and nothing needs converting.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::v2::{
    ApiVersions, AstroMachine, CloudProvider, DataPlane, DataPlaneKind, DataPlanePageSelector,
    DataPlanePath, DataPlaneRegistration, DataPlaneStatus, Deployment, DeploymentPageSelector,
    DeploymentPath, DeploymentSpec, EnvironmentVariable, Executor, HybridScheduler, ManifestObject,
    ManifestQuery, ManifestSet, SchedulerSize, WorkerQueue,
};

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct PlatformReleasePath {
    /// The release's version, e.g. `2026.11.0`.
    pub version: String,
}

/// What a platform release supports. Releases are immutable: registering a
/// version again with the same content is a no-op, with other content a
/// conflict.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformReleaseSpec {
    /// Oldest supported Kubernetes minor, `MAJOR.MINOR`.
    pub kubernetes_min: String,
    /// Newest supported Kubernetes minor, `MAJOR.MINOR`.
    pub kubernetes_max: String,
    /// Supported Astro Runtime versions; empty means any.
    #[serde(default)]
    pub runtimes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct PlatformRelease {
    pub version: String,
    pub kubernetes_min: String,
    pub kubernetes_max: String,
    pub runtimes: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// Start a rollout: every data plane on `from_release` moves to
/// `to_release`, wave by wave, under this Harmony's environment's policy.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutCreate {
    pub from_release: String,
    pub to_release: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct RolloutPath {
    pub rollout_id: Uuid,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct RolloutListQuery {
    /// Only rollouts that target this data plane.
    #[serde(default)]
    pub data_plane_id: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RolloutState {
    Pending,
    Progressing,
    Baking,
    Paused,
    Succeeded,
    Aborted,
    RolledBack,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GateKind {
    Health,
    Metric,
    ManualApproval,
}

/// One wave's policy parameters and where its data planes are.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct RolloutWave {
    pub name: String,
    /// A count (`"1"`) or a percentage of the wave (`"10%"`).
    pub max_parallel: String,
    pub max_unavailable: String,
    pub bake_seconds: u64,
    pub gates: Vec<GateKind>,
    pub targets: u64,
    pub waiting: u64,
    pub updating: u64,
    pub updated: u64,
    pub failed: u64,
    pub held_back: u64,
    pub restored: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RolloutDecisionKind {
    Started,
    Moved,
    Stalled,
    WaveUpdated,
    GatePassed,
    GateFailed,
    GateInconclusive,
    AwaitingApproval,
    WavePassed,
    Failed,
    Paused,
    Resumed,
    Approved,
    Bypassed,
    Aborted,
    RolledBack,
    Succeeded,
}

/// A decision of the controller, or a person's command, with its reason.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct RolloutDecision {
    pub at: DateTime<Utc>,
    pub kind: RolloutDecisionKind,
    pub wave: Option<String>,
    pub reason: String,
    pub actor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Rollout {
    pub id: Uuid,
    /// The environment whose policy parameters it runs under.
    pub environment: String,
    pub from_release: String,
    pub to_release: String,
    /// SHA-256 of the resolved policy.
    pub policy_hash: String,
    pub state: RolloutState,
    /// The wave in progress (the last one once finished).
    pub current_wave: String,
    /// Why it is where it is.
    pub reason: String,
    pub bake_until: Option<DateTime<Utc>>,
    pub waves: Vec<RolloutWave>,
    /// Every decision and command, oldest first.
    pub decisions: Vec<RolloutDecision>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RolloutDataPlaneState {
    Waiting,
    HeldBack,
    Updating,
    Updated,
    Failed,
    Restored,
}

/// One targeted data plane's place in a rollout.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct RolloutDataPlane {
    pub data_plane_id: String,
    pub wave: String,
    pub state: RolloutDataPlaneState,
    /// Why it is held back or failed.
    pub reason: Option<String>,
    pub moved_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct RolloutDataPlanePageSelector {
    pub last_seen: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RolloutAction {
    Pause,
    Resume,
    /// Pass the current wave's MANUAL_APPROVAL gate.
    Approve,
    /// Stop, and give every moved data plane its previous release back.
    Abort,
    /// Give every moved data plane its previous release back.
    Rollback,
    /// Emergency: the current wave's bake and gates count as passed. Needs a
    /// reason; recorded with the actor.
    Bypass,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutCommand {
    pub action: RolloutAction,
    /// Who acts (recorded with the decision).
    pub actor: String,
    #[serde(default)]
    pub reason: Option<String>,
}
