//! Wire types of Harmony API 4.0.0 (`STATUS`).
//!
//! What changed from 3.0.0: a deployment's status on its data plane, as
//! Harmony derives it from the agent's reports, as a new endpoint
//! (`GET /deployments/{deployment_id}/status`). Every 3.0.0 type and
//! endpoint is unchanged (re-exported here), so 2.0.0 and 3.0.0 clients keep
//! working against a 4.0.0 Harmony, and nothing needs converting.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::v3::{
    ApiVersions, AstroMachine, CloudProvider, DataPlane, DataPlaneKind, DataPlanePageSelector,
    DataPlanePath, DataPlaneRegistration, DataPlaneStatus, Deployment, DeploymentPageSelector,
    DeploymentPath, DeploymentSpec, EnvironmentVariable, Executor, GateKind, HybridScheduler,
    ManifestObject, ManifestQuery, ManifestSet, PlatformRelease, PlatformReleasePath,
    PlatformReleaseSpec, Rollout, RolloutAction, RolloutCommand, RolloutCreate, RolloutDataPlane,
    RolloutDataPlanePageSelector, RolloutDataPlaneState, RolloutDecision, RolloutDecisionKind,
    RolloutListQuery, RolloutPath, RolloutState, RolloutWave, SchedulerSize, WorkerQueue,
};

/// Where a deployment stands on its data plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentState {
    /// The agent has not reported the deployment's newest revision yet.
    Deploying,
    /// The agent reports the newest revision running healthy.
    Healthy,
    /// The agent reports the newest revision unhealthy.
    Unhealthy,
    /// The data plane's agent stopped reporting: nothing can be said.
    Unknown,
}

/// A deployment's status, derived from its data plane agent's reports.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct DeploymentStatus {
    pub deployment_id: Uuid,
    /// The generation Harmony has.
    pub generation: u64,
    /// The manifest revision the data plane should run.
    pub revision: u64,
    pub state: DeploymentState,
    /// The revision the agent last reported on, and when.
    pub reported_revision: Option<u64>,
    pub reported_at: Option<DateTime<Utc>>,
    /// What the agent said with its last report, if anything.
    pub message: Option<String>,
}
