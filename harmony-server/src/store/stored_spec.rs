//! What the store's rows hold, in types of the store's own: a deployment's
//! spec as `deployments.spec` keeps it (and as the render's input hash
//! reads it). Converted from and to the API's types at the store's edge, so
//! a new API version changes neither stored rows nor input hashes (which
//! would re-render the whole fleet) unless the store says so: a field a
//! new version adds has no place here until a new stored format is added
//! the expand/contract way (docs/versioning.md, "The database half"), and
//! the conversions below stop compiling until someone decides.
//!
//! Format 1 is the 2.0.0 shape. Its parts are the released 2.0.0 types,
//! which its released document freezes; the whole is the store's. Its one
//! addition, `contact_emails` (4.0.0), is written only once every binary
//! reads it, and only when there are any.

use harmony_api::latest;
use harmony_api::v2::{
    DataPlaneKind, EnvironmentVariable, Executor, HybridScheduler, SchedulerSize, WorkerQueue,
};
use serde::{Deserialize, Serialize};

/// A deployment's spec as stored (format 1). Field order and attributes
/// are the format: the input hash is computed over this JSON.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StoredSpec {
    pub kind: DataPlaneKind,
    pub organization_id: String,
    pub workspace_id: String,
    pub data_plane_id: String,
    pub name: String,
    pub runtime_version: String,
    pub executor: Executor,
    #[serde(default)]
    pub scheduler_size: Option<SchedulerSize>,
    #[serde(default)]
    pub scheduler: Option<HybridScheduler>,
    #[serde(default)]
    pub is_high_availability: bool,
    pub worker_queues: Vec<WorkerQueue>,
    #[serde(default)]
    pub environment_variables: Vec<EnvironmentVariable>,
    pub image_tag: String,
    #[serde(default)]
    pub dag_bundle_version: Option<String>,
    pub generation: u64,
    /// Written only once every binary reads it (migration
    /// `contact-emails` contracted: `Store::holds_contact_emails`); left
    /// out when empty, so a spec without any is stored, and hashed, as
    /// before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact_emails: Vec<String>,
}

impl From<latest::DeploymentSpec> for StoredSpec {
    fn from(spec: latest::DeploymentSpec) -> StoredSpec {
        let latest::DeploymentSpec {
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
            contact_emails,
        } = spec;
        StoredSpec {
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
            // Absent (as they are) has been resolved against the stored
            // spec by the time a spec is stored.
            contact_emails: contact_emails.unwrap_or_default(),
        }
    }
}

impl From<StoredSpec> for latest::DeploymentSpec {
    fn from(spec: StoredSpec) -> latest::DeploymentSpec {
        let StoredSpec {
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
            contact_emails,
        } = spec;
        latest::DeploymentSpec {
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
            contact_emails: Some(contact_emails),
        }
    }
}
