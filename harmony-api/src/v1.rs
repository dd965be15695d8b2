//! Wire types of Harmony API 1.0.0 (`INITIAL`).
//!
//! The Harmony that only knew Hybrid data planes: every data plane and every
//! deployment is implicitly HYBRID, schedulers are sized in AU, and worker
//! queues run on customer node pools. Later versions convert to and from these
//! types so that a 1.0.0 client keeps working against any newer Harmony.
//!
//! Types that never changed after 1.0.0 (manifest sets, pagination selectors,
//! shared enums) are defined here and re-exported by later versions.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The API versions a Harmony serves.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct ApiVersions {
    /// Every version this Harmony answers, oldest first (semver strings).
    pub served: Vec<String>,
}

/// Path parameter naming one data plane.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DataPlanePath {
    /// Data plane identifier: a DNS label (`[a-z0-9-]`, 1 to 63 characters).
    pub data_plane_id: String,
}

/// Path parameter naming one deployment.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DeploymentPath {
    pub deployment_id: Uuid,
}

/// Page selector for listing data planes (ordered by id).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DataPlanePageSelector {
    pub last_seen: String,
}

/// Page selector for listing deployments (ordered by id).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DeploymentPageSelector {
    pub last_seen: Uuid,
}

/// Query for fetching a manifest set.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ManifestQuery {
    /// A specific revision; the newest when absent.
    #[serde(default)]
    pub revision: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CloudProvider {
    Aws,
    Azure,
    Gcp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DataPlaneStatus {
    Ready,
    Degraded,
    Unreachable,
}

/// What a data plane's agent says about itself when it registers.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataPlaneRegistration {
    pub cloud_provider: CloudProvider,
    pub region: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Kubernetes version of the cluster, `MAJOR.MINOR` or `MAJOR.MINOR.PATCH`.
    pub kubernetes_version: String,
    pub agent_version: String,
    /// Platform release (manifest template version) the data plane runs.
    pub platform_release: String,
}

/// A registered (Hybrid) data plane.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct DataPlane {
    pub id: String,
    pub cloud_provider: CloudProvider,
    pub region: String,
    pub labels: BTreeMap<String, String>,
    pub kubernetes_version: String,
    pub agent_version: String,
    pub platform_release: String,
    pub status: DataPlaneStatus,
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Executor {
    Celery,
    Kubernetes,
}

/// Scheduler of a Hybrid deployment, sized in Astro Units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HybridScheduler {
    /// Astro Units, 5 to 24.
    pub au: u8,
    /// Scheduler replicas, 1 to 4.
    pub replicas: u8,
}

/// A worker queue on a customer node pool.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerQueue {
    pub name: String,
    pub is_default: bool,
    pub min_worker_count: u32,
    pub max_worker_count: u32,
    pub worker_concurrency: u32,
    pub node_pool_id: String,
}

/// An environment variable. A secret's value is write-only: Harmony never
/// returns it, and an update that omits it keeps the stored one.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentVariable {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub is_secret: bool,
}

/// The desired state of a Hybrid deployment, as Astro API hands it over.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentSpec {
    pub organization_id: String,
    pub workspace_id: String,
    pub data_plane_id: String,
    pub name: String,
    pub runtime_version: String,
    pub executor: Executor,
    pub scheduler: HybridScheduler,
    pub worker_queues: Vec<WorkerQueue>,
    #[serde(default)]
    pub environment_variables: Vec<EnvironmentVariable>,
    pub image_tag: String,
    #[serde(default)]
    pub dag_bundle_version: Option<String>,
    /// Bumped by the caller on every change; Harmony refuses to go backwards,
    /// and a repeated generation with the same spec is a no-op.
    pub generation: u64,
}

/// A deployment as Harmony holds it (secret values removed).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Deployment {
    pub id: Uuid,
    pub organization_id: String,
    pub workspace_id: String,
    pub data_plane_id: String,
    pub name: String,
    pub runtime_version: String,
    pub executor: Executor,
    pub scheduler: HybridScheduler,
    pub worker_queues: Vec<WorkerQueue>,
    pub environment_variables: Vec<EnvironmentVariable>,
    pub image_tag: String,
    pub dag_bundle_version: Option<String>,
    pub generation: u64,
    /// The newest manifest-set revision rendered for this deployment.
    pub revision: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One rendered Kubernetes object.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct ManifestObject {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// SHA-256 of the object's canonical JSON, hex.
    pub hash: String,
    /// The object itself; absent for `Secret` objects, whose data only the
    /// data plane's agent receives.
    pub manifest: Option<serde_json::Value>,
}

/// An immutable revision of a deployment's rendered manifests.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct ManifestSet {
    pub deployment_id: Uuid,
    pub revision: u64,
    pub generation: u64,
    pub platform_release: String,
    /// SHA-256 of everything the rendering depended on; an unchanged input
    /// makes no new revision.
    pub input_hash: String,
    pub objects: Vec<ManifestObject>,
    pub created_at: DateTime<Utc>,
}
