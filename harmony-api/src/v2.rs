//! Wire types of Harmony API 2.0.0 (`UNIFIED`).
//!
//! One Harmony serves Hosted and Hybrid data planes. What changed from 1.0.0:
//!
//! - data planes and deployments carry a `kind` (`HOSTED` or `HYBRID`);
//! - deployments gain the Hosted-only fields `scheduler_size` and
//!   `is_high_availability`, and `scheduler` (AU sizing) becomes Hybrid-only;
//! - worker queues name either an `astro_machine` (Hosted) or a
//!   `node_pool_id` (Hybrid);
//! - the `ASTRO` executor exists (Hosted only).
//!
//! Conversions go between this version and 1.0.0 only. A 1.0.0 request is a
//! Hybrid request; a Hosted resource has no 1.0.0 form, so converting one to
//! 1.0.0 fails with [`NotRepresentable`] and a 1.0.0 client never sees it.

use crate::v1;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

pub use v1::{
    ApiVersions, CloudProvider, DataPlanePageSelector, DataPlanePath, DataPlaneStatus,
    DeploymentPageSelector, DeploymentPath, EnvironmentVariable, HybridScheduler, ManifestObject,
    ManifestQuery, ManifestSet,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DataPlaneKind {
    /// A vendor-run cluster.
    Hosted,
    /// A customer-run cluster.
    Hybrid,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataPlaneRegistration {
    pub kind: DataPlaneKind,
    pub cloud_provider: CloudProvider,
    pub region: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub kubernetes_version: String,
    pub agent_version: String,
    pub platform_release: String,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct DataPlane {
    pub id: String,
    pub kind: DataPlaneKind,
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
    /// Astro's own executor; Hosted only.
    Astro,
}

/// Scheduler size of a Hosted deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SchedulerSize {
    Small,
    Medium,
    Large,
    ExtraLarge,
}

/// Hosted worker machine types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum AstroMachine {
    A5,
    A10,
    A20,
    A40,
    A60,
    A120,
    A160,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerQueue {
    pub name: String,
    pub is_default: bool,
    pub min_worker_count: u32,
    pub max_worker_count: u32,
    pub worker_concurrency: u32,
    /// Hosted queues only.
    #[serde(default)]
    pub astro_machine: Option<AstroMachine>,
    /// Hybrid queues only.
    #[serde(default)]
    pub node_pool_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentSpec {
    pub kind: DataPlaneKind,
    pub organization_id: String,
    pub workspace_id: String,
    pub data_plane_id: String,
    pub name: String,
    pub runtime_version: String,
    pub executor: Executor,
    /// Hosted only.
    #[serde(default)]
    pub scheduler_size: Option<SchedulerSize>,
    /// Hybrid only.
    #[serde(default)]
    pub scheduler: Option<HybridScheduler>,
    /// Hosted only: two scheduler replicas and a disruption budget.
    #[serde(default)]
    pub is_high_availability: bool,
    pub worker_queues: Vec<WorkerQueue>,
    #[serde(default)]
    pub environment_variables: Vec<EnvironmentVariable>,
    pub image_tag: String,
    #[serde(default)]
    pub dag_bundle_version: Option<String>,
    pub generation: u64,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Deployment {
    pub id: Uuid,
    pub kind: DataPlaneKind,
    pub organization_id: String,
    pub workspace_id: String,
    pub data_plane_id: String,
    pub name: String,
    pub runtime_version: String,
    pub executor: Executor,
    pub scheduler_size: Option<SchedulerSize>,
    pub scheduler: Option<HybridScheduler>,
    pub is_high_availability: bool,
    pub worker_queues: Vec<WorkerQueue>,
    pub environment_variables: Vec<EnvironmentVariable>,
    pub image_tag: String,
    pub dag_bundle_version: Option<String>,
    pub generation: u64,
    pub revision: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A 2.0.0 value that has no 1.0.0 form (a Hosted resource, or a field only
/// Hosted deployments have).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotRepresentable {
    pub what: &'static str,
    pub reason: &'static str,
}

impl std::fmt::Display for NotRepresentable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is not visible at API version 1.0.0: {}", self.what, self.reason)
    }
}

impl std::error::Error for NotRepresentable {}

const HOSTED: &str = "it belongs to a HOSTED data plane, which needs API version 2.0.0";

impl From<v1::DataPlaneRegistration> for DataPlaneRegistration {
    fn from(old: v1::DataPlaneRegistration) -> Self {
        let v1::DataPlaneRegistration {
            cloud_provider,
            region,
            labels,
            kubernetes_version,
            agent_version,
            platform_release,
        } = old;
        DataPlaneRegistration {
            kind: DataPlaneKind::Hybrid,
            cloud_provider,
            region,
            labels,
            kubernetes_version,
            agent_version,
            platform_release,
        }
    }
}

impl TryFrom<DataPlane> for v1::DataPlane {
    type Error = NotRepresentable;

    fn try_from(new: DataPlane) -> Result<Self, Self::Error> {
        let DataPlane {
            id,
            kind,
            cloud_provider,
            region,
            labels,
            kubernetes_version,
            agent_version,
            platform_release,
            status,
            last_heartbeat,
            created_at,
            updated_at,
        } = new;
        if kind != DataPlaneKind::Hybrid {
            return Err(NotRepresentable { what: "data plane", reason: HOSTED });
        }
        Ok(v1::DataPlane {
            id,
            cloud_provider,
            region,
            labels,
            kubernetes_version,
            agent_version,
            platform_release,
            status,
            last_heartbeat,
            created_at,
            updated_at,
        })
    }
}

impl From<v1::Executor> for Executor {
    fn from(old: v1::Executor) -> Self {
        match old {
            v1::Executor::Celery => Executor::Celery,
            v1::Executor::Kubernetes => Executor::Kubernetes,
        }
    }
}

impl TryFrom<Executor> for v1::Executor {
    type Error = NotRepresentable;

    fn try_from(new: Executor) -> Result<Self, Self::Error> {
        match new {
            Executor::Celery => Ok(v1::Executor::Celery),
            Executor::Kubernetes => Ok(v1::Executor::Kubernetes),
            Executor::Astro => Err(NotRepresentable { what: "executor ASTRO", reason: HOSTED }),
        }
    }
}

impl From<v1::WorkerQueue> for WorkerQueue {
    fn from(old: v1::WorkerQueue) -> Self {
        let v1::WorkerQueue {
            name,
            is_default,
            min_worker_count,
            max_worker_count,
            worker_concurrency,
            node_pool_id,
        } = old;
        WorkerQueue {
            name,
            is_default,
            min_worker_count,
            max_worker_count,
            worker_concurrency,
            astro_machine: None,
            node_pool_id: Some(node_pool_id),
        }
    }
}

impl TryFrom<WorkerQueue> for v1::WorkerQueue {
    type Error = NotRepresentable;

    fn try_from(new: WorkerQueue) -> Result<Self, Self::Error> {
        let WorkerQueue {
            name,
            is_default,
            min_worker_count,
            max_worker_count,
            worker_concurrency,
            astro_machine: _,
            node_pool_id,
        } = new;
        let node_pool_id =
            node_pool_id.ok_or(NotRepresentable { what: "worker queue", reason: HOSTED })?;
        Ok(v1::WorkerQueue {
            name,
            is_default,
            min_worker_count,
            max_worker_count,
            worker_concurrency,
            node_pool_id,
        })
    }
}

impl From<v1::DeploymentSpec> for DeploymentSpec {
    fn from(old: v1::DeploymentSpec) -> Self {
        let v1::DeploymentSpec {
            organization_id,
            workspace_id,
            data_plane_id,
            name,
            runtime_version,
            executor,
            scheduler,
            worker_queues,
            environment_variables,
            image_tag,
            dag_bundle_version,
            generation,
        } = old;
        DeploymentSpec {
            kind: DataPlaneKind::Hybrid,
            organization_id,
            workspace_id,
            data_plane_id,
            name,
            runtime_version,
            executor: executor.into(),
            scheduler_size: None,
            scheduler: Some(scheduler),
            is_high_availability: false,
            worker_queues: worker_queues.into_iter().map(Into::into).collect(),
            environment_variables,
            image_tag,
            dag_bundle_version,
            generation,
        }
    }
}

impl TryFrom<Deployment> for v1::Deployment {
    type Error = NotRepresentable;

    fn try_from(new: Deployment) -> Result<Self, Self::Error> {
        let Deployment {
            id,
            kind,
            organization_id,
            workspace_id,
            data_plane_id,
            name,
            runtime_version,
            executor,
            scheduler_size: _,
            scheduler,
            is_high_availability: _,
            worker_queues,
            environment_variables,
            image_tag,
            dag_bundle_version,
            generation,
            revision,
            created_at,
            updated_at,
        } = new;
        let not_hybrid = NotRepresentable { what: "deployment", reason: HOSTED };
        if kind != DataPlaneKind::Hybrid {
            return Err(not_hybrid);
        }
        Ok(v1::Deployment {
            id,
            organization_id,
            workspace_id,
            data_plane_id,
            name,
            runtime_version,
            executor: executor.try_into()?,
            scheduler: scheduler.ok_or(not_hybrid)?,
            worker_queues: worker_queues
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_, _>>()?,
            environment_variables,
            image_tag,
            dag_bundle_version,
            generation,
            revision,
            created_at,
            updated_at,
        })
    }
}
