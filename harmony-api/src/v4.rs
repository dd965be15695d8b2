//! Wire types of Harmony API 4.0.0 (`STATUS`).
//!
//! What changed from 3.0.0:
//! - a deployment's report on its data plane, as Harmony derives it from
//!   the agent's ([`DeploymentReport`], [`DeploymentState`]), at a new
//!   endpoint (`GET /deployments/{deployment_id}/status`);
//! - every request body states its rules in its schema (bounds, lengths,
//!   patterns) and lists the declared ones in `x-rules` (the `Ruled…`
//!   types, which have the 3.0.0 shape on the wire), and path parameters
//!   state their grammar;
//! - a deployment's `contact_emails` (the addresses its alerts go to): its
//!   own [`DeploymentSpec`] and [`Deployment`]; older versions' requests
//!   leave them as they are, and their answers do not show them;
//! - the rules declared since 4.0.0 (`deployment_rules::rule`).
//!
//! The other 3.0.0 types are re-exported unchanged; 2.0.0 and 3.0.0 clients
//! keep working against a 4.0.0 Harmony, which serves every version.

use chrono::{DateTime, Utc};
use deployment_rules::ApiVersion;
use deployment_rules::rule::{Api, Subject};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::v3::{
    ApiVersions, AstroMachine, CloudProvider, DataPlane, DataPlaneKind, DataPlanePageSelector,
    DataPlanePath, DataPlaneRegistration, DataPlaneStatus, DeploymentPageSelector, DeploymentPath,
    EnvironmentVariable, Executor, GateKind, HybridScheduler, ManifestObject, ManifestQuery,
    ManifestSet, PlatformRelease, PlatformReleasePath, PlatformReleaseSpec, Rollout, RolloutAction,
    RolloutCommand, RolloutCreate, RolloutDataPlane, RolloutDataPlanePageSelector,
    RolloutDataPlaneState, RolloutDecision, RolloutDecisionKind, RolloutListQuery, RolloutPath,
    RolloutState, RolloutWave, SchedulerSize, WorkerQueue,
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
    /// The agent applied the newest revision and cannot observe its
    /// workloads (it writes files another tool syncs): their health is
    /// not known to Harmony. `message` is the agent's word on it.
    Applied,
    /// The data plane's agent stopped reporting: nothing can be said.
    Unknown,
}

/// A deployment's status, derived from its data plane agent's reports.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct DeploymentReport {
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

/// A deployment's desired state at 4.0.0: 3.0.0's, and the addresses its
/// alerts go to.
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
    /// The addresses the deployment's alerts go to. Absent: as they are
    /// (none for a new deployment); empty: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_emails: Option<Vec<String>>,
}

/// A deployment at 4.0.0: 3.0.0's, and the addresses its alerts go to.
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
    /// The addresses the deployment's alerts go to; absent when none (as
    /// a 4.0.0 Harmony from before them wrote it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact_emails: Vec<String>,
}

/// A 3.0.0 spec at 4.0.0: its contact emails as they are.
impl From<crate::v3::DeploymentSpec> for DeploymentSpec {
    fn from(spec: crate::v3::DeploymentSpec) -> DeploymentSpec {
        let crate::v3::DeploymentSpec {
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
        DeploymentSpec {
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
            contact_emails: None,
        }
    }
}

/// A deployment as 3.0.0 (and 2.0.0) show it: without its contact emails.
impl From<Deployment> for crate::v3::Deployment {
    fn from(d: Deployment) -> crate::v3::Deployment {
        let Deployment {
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
            environment_variables,
            image_tag,
            dag_bundle_version,
            generation,
            revision,
            created_at,
            updated_at,
            contact_emails: _,
        } = d;
        crate::v3::Deployment {
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
            environment_variables,
            image_tag,
            dag_bundle_version,
            generation,
            revision,
            created_at,
            updated_at,
        }
    }
}

/// A deployment's desired state as 4.0.0 takes it: the 2.0.0 shape on the
/// wire, with the rules Harmony enforces stated in its schema (bounds,
/// lengths, patterns, item counts from `deployment_rules`), and the rules
/// declared (`deployment_rules::rule`) listed in `x-rules`. Tightening a rule is
/// thereby a change to the document: `cargo xtask check` refuses it for a
/// released version, and the compatibility checker reports it as breaking
/// for older clients. Older versions take [`DeploymentSpec`] as released;
/// their rules are `deployment_rules::BOUNDS` and the grammars there.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct RuledDeploymentSpec(pub DeploymentSpec);

impl From<DeploymentSpec> for RuledDeploymentSpec {
    fn from(spec: DeploymentSpec) -> Self {
        RuledDeploymentSpec(spec)
    }
}

impl JsonSchema for RuledDeploymentSpec {
    fn schema_name() -> String {
        "DeploymentSpec".to_owned()
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        ruled::<rules::DeploymentSpec>(generator, Subject::DeploymentSpec)
    }
}

/// The schema of `R` (a body's shape with its rules) with every rule
/// declared about `subject` at 4.0.0 in `x-rules` (its identifier, the
/// fields it reads, its statement): the rules a schema states and the ones
/// it cannot (they join fields, or depend on what is stored). A rule added
/// or changed is a change to this document.
fn ruled<R: JsonSchema>(
    generator: &mut schemars::r#gen::SchemaGenerator,
    subject: Subject,
) -> schemars::schema::Schema {
    let mut schema = R::json_schema(generator).into_object();
    let at = ApiVersion::new(4, 0, 0);
    let rules: Vec<serde_json::Value> = deployment_rules::rule::rules_at(Api::Harmony, at)
        .filter(|r| r.judges(subject))
        .map(declared)
        .collect();
    schema.extensions.insert("x-rules".to_owned(), rules.into());
    schema.into()
}

/// A rule as documents list it.
pub fn declared(rule: &deployment_rules::Rule) -> serde_json::Value {
    serde_json::json!({
        "id": rule.id(),
        "fields": rule.fields(),
        "statement": rule.statement(),
    })
}

/// A data plane's registration as 4.0.0 takes it: the 2.0.0 shape, its
/// rules stated (non-blank text, the Kubernetes version's grammar; the
/// owner label a HYBRID plane needs, with every declared rule, in `x-rules`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct RuledDataPlaneRegistration(pub DataPlaneRegistration);

impl From<DataPlaneRegistration> for RuledDataPlaneRegistration {
    fn from(registration: DataPlaneRegistration) -> Self {
        RuledDataPlaneRegistration(registration)
    }
}

impl JsonSchema for RuledDataPlaneRegistration {
    fn schema_name() -> String {
        "DataPlaneRegistration".to_owned()
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        ruled::<rules::DataPlaneRegistration>(generator, Subject::DataPlaneRegistration)
    }
}

/// A platform release as 4.0.0 takes it: the 3.0.0 shape, its rules stated.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct RuledPlatformReleaseSpec(pub PlatformReleaseSpec);

impl From<PlatformReleaseSpec> for RuledPlatformReleaseSpec {
    fn from(spec: PlatformReleaseSpec) -> Self {
        RuledPlatformReleaseSpec(spec)
    }
}

impl JsonSchema for RuledPlatformReleaseSpec {
    fn schema_name() -> String {
        "PlatformReleaseSpec".to_owned()
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        ruled::<rules::PlatformReleaseSpec>(generator, Subject::PlatformRelease)
    }
}

/// A rollout's start as 4.0.0 takes it: the 3.0.0 shape, release names'
/// grammar stated.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct RuledRolloutCreate(pub RolloutCreate);

impl From<RolloutCreate> for RuledRolloutCreate {
    fn from(create: RolloutCreate) -> Self {
        RuledRolloutCreate(create)
    }
}

impl JsonSchema for RuledRolloutCreate {
    fn schema_name() -> String {
        "RolloutCreate".to_owned()
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        ruled::<rules::RolloutCreate>(generator, Subject::Rollout)
    }
}

/// A data plane's path at 4.0.0: the id's grammar (a DNS label) stated.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct RuledDataPlanePath {
    /// Data plane identifier: a DNS label (`[a-z0-9-]`, 1 to 63 characters).
    #[schemars(regex = "deployment_rules::DNS_LABEL_PATTERN")]
    pub data_plane_id: String,
}

impl From<DataPlanePath> for RuledDataPlanePath {
    fn from(path: DataPlanePath) -> Self {
        RuledDataPlanePath { data_plane_id: path.data_plane_id }
    }
}

/// A platform release's path at 4.0.0: the name's grammar stated.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct RuledPlatformReleasePath {
    /// The release's version, e.g. `2026.11.0`.
    #[schemars(regex = "deployment_rules::RELEASE_NAME_PATTERN")]
    pub version: String,
}

impl From<PlatformReleasePath> for RuledPlatformReleasePath {
    fn from(path: PlatformReleasePath) -> Self {
        RuledPlatformReleasePath { version: path.version }
    }
}

/// The schemas [`RuledDeploymentSpec`] states: the same fields as
/// [`DeploymentSpec`] (a test holds them together), each with its rules.
mod rules {
    use super::{AstroMachine, CloudProvider, DataPlaneKind, Executor, SchedulerSize};
    use deployment_rules as r;
    use schemars::JsonSchema;
    use std::collections::BTreeMap;

    #[derive(JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    pub struct DataPlaneRegistration {
        pub kind: DataPlaneKind,
        pub cloud_provider: CloudProvider,
        #[schemars(regex = "r::WRITTEN_TEXT_PATTERN")]
        pub region: String,
        #[serde(default)]
        pub labels: BTreeMap<String, String>,
        #[schemars(regex = "r::KUBERNETES_VERSION_PATTERN")]
        pub kubernetes_version: String,
        #[schemars(regex = "r::WRITTEN_TEXT_PATTERN")]
        pub agent_version: String,
        #[schemars(regex = "r::WRITTEN_TEXT_PATTERN")]
        pub platform_release: String,
    }

    /// What a platform release supports. Releases are immutable.
    #[derive(JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    pub struct PlatformReleaseSpec {
        /// Oldest supported Kubernetes version.
        #[schemars(regex = "r::KUBERNETES_VERSION_PATTERN")]
        pub kubernetes_min: String,
        /// Newest supported Kubernetes version.
        #[schemars(regex = "r::KUBERNETES_VERSION_PATTERN")]
        pub kubernetes_max: String,
        /// Supported Astro Runtime versions, each once; empty means any.
        #[serde(default)]
        #[schemars(inner(regex = "r::WRITTEN_TEXT_PATTERN"))]
        pub runtimes: std::collections::BTreeSet<String>,
    }

    #[derive(JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    pub struct RolloutCreate {
        #[schemars(regex = "r::RELEASE_NAME_PATTERN")]
        pub from_release: String,
        #[schemars(regex = "r::RELEASE_NAME_PATTERN")]
        pub to_release: String,
    }

    #[derive(JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    pub struct DeploymentSpec {
        pub kind: DataPlaneKind,
        #[schemars(regex = "r::WRITTEN_TEXT_PATTERN")]
        pub organization_id: String,
        #[schemars(regex = "r::WRITTEN_TEXT_PATTERN")]
        pub workspace_id: String,
        #[schemars(regex = "r::DNS_LABEL_PATTERN")]
        pub data_plane_id: String,
        #[schemars(length(min = 1, max = "r::NAME_MAX"), regex = "r::FREE_TEXT_PATTERN")]
        pub name: String,
        #[schemars(regex = "r::WRITTEN_TEXT_PATTERN")]
        pub runtime_version: String,
        pub executor: Executor,
        /// HOSTED only (required there).
        #[serde(default)]
        pub scheduler_size: Option<SchedulerSize>,
        /// HYBRID only (required there).
        #[serde(default)]
        pub scheduler: Option<HybridSchedulerSpec>,
        /// HOSTED only: two scheduler replicas and a disruption budget.
        #[serde(default)]
        pub is_high_availability: bool,
        #[schemars(length(min = "r::WORKER_QUEUES_MIN", max = "r::MAX_WORKER_QUEUES"))]
        pub worker_queues: Vec<WorkerQueueSpec>,
        #[serde(default)]
        #[schemars(length(max = "r::MAX_ENVIRONMENT_VARIABLES"))]
        pub environment_variables: Vec<EnvironmentVariableSpec>,
        #[schemars(regex = "r::IMAGE_TAG_PATTERN")]
        pub image_tag: String,
        #[serde(default)]
        #[schemars(regex = "r::BUNDLE_VERSION_PATTERN")]
        pub dag_bundle_version: Option<String>,
        /// At most 9223372036854775807 (a signed 64-bit column).
        #[schemars(range(min = 1, max = "r::MAX_GENERATION"))]
        pub generation: u64,
        /// The addresses the deployment's alerts go to, each once. Absent:
        /// as they are (none for a new deployment); empty: none.
        #[serde(default)]
        #[schemars(
            length(max = "r::MAX_CONTACT_EMAILS"),
            inner(regex = "r::CONTACT_EMAIL_PATTERN", length(max = "r::MAX_CONTACT_EMAIL"))
        )]
        pub contact_emails: Option<std::collections::BTreeSet<String>>,
    }

    /// Scheduler of a Hybrid deployment, sized in Astro Units.
    #[derive(JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    pub struct HybridSchedulerSpec {
        #[schemars(range(min = "r::SCHEDULER_AU_MIN", max = "r::SCHEDULER_AU_MAX"))]
        pub au: u8,
        #[schemars(range(min = "r::SCHEDULER_REPLICAS_MIN", max = "r::SCHEDULER_REPLICAS_MAX"))]
        pub replicas: u8,
    }

    #[derive(JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    pub struct WorkerQueueSpec {
        #[schemars(regex = "r::DNS_LABEL_PATTERN")]
        pub name: String,
        pub is_default: bool,
        #[schemars(range(min = "r::MIN_WORKER_COUNT_MIN", max = "r::MIN_WORKER_COUNT_MAX"))]
        pub min_worker_count: u32,
        #[schemars(range(min = "r::MAX_WORKER_COUNT_MIN", max = "r::MAX_WORKER_COUNT_MAX"))]
        pub max_worker_count: u32,
        #[schemars(range(min = "r::WORKER_CONCURRENCY_MIN", max = "r::WORKER_CONCURRENCY_MAX"))]
        pub worker_concurrency: u32,
        /// HOSTED queues only (required there).
        #[serde(default)]
        pub astro_machine: Option<AstroMachine>,
        /// HYBRID queues only (required there).
        #[serde(default)]
        #[schemars(regex = "r::NODE_POOL_ID_PATTERN")]
        pub node_pool_id: Option<String>,
    }

    /// An environment variable. A secret's value is never returned; an
    /// update that omits it keeps the stored one.
    #[derive(JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    pub struct EnvironmentVariableSpec {
        #[schemars(regex = "r::ENVIRONMENT_KEY_PATTERN")]
        pub key: String,
        /// At most 16384 bytes.
        #[serde(default)]
        pub value: Option<String>,
        pub is_secret: bool,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each ruled schema ([`RuledDeploymentSpec`] and the others) has exactly
    /// the fields (and required fields) of the type on the wire, at every level: the rules are added,
    /// the shape is the one on the wire.
    #[test]
    fn the_ruled_schema_has_the_shape_of_the_spec() {
        let mut generator = schemars::r#gen::SchemaSettings::openapi3().into_generator();
        let ruled = serde_json::to_value(RuledDeploymentSpec::json_schema(&mut generator)).unwrap();
        let plain = serde_json::to_value(DeploymentSpec::json_schema(&mut generator)).unwrap();
        let defs = serde_json::to_value(generator.definitions()).unwrap();
        let shape = |schema: &serde_json::Value| {
            let mut fields: Vec<String> =
                schema["properties"].as_object().unwrap().keys().cloned().collect();
            fields.sort();
            let mut required: Vec<String> =
                serde_json::from_value(schema["required"].clone()).unwrap();
            required.sort();
            (fields, required)
        };
        assert_eq!(shape(&ruled), shape(&plain));
        for (ruled, plain) in [
            (
                RuledDataPlaneRegistration::json_schema(&mut generator),
                DataPlaneRegistration::json_schema(&mut generator),
            ),
            (
                RuledPlatformReleaseSpec::json_schema(&mut generator),
                PlatformReleaseSpec::json_schema(&mut generator),
            ),
            (
                RuledRolloutCreate::json_schema(&mut generator),
                RolloutCreate::json_schema(&mut generator),
            ),
            (
                RuledPlatformReleasePath::json_schema(&mut generator),
                PlatformReleasePath::json_schema(&mut generator),
            ),
            (
                RuledDataPlanePath::json_schema(&mut generator),
                DataPlanePath::json_schema(&mut generator),
            ),
        ] {
            let (ruled, plain) =
                (serde_json::to_value(ruled).unwrap(), serde_json::to_value(plain).unwrap());
            assert_eq!(shape(&ruled), shape(&plain), "{ruled}");
        }
        for (plain, ruled) in [
            ("WorkerQueue", "WorkerQueueSpec"),
            ("HybridScheduler", "HybridSchedulerSpec"),
            ("EnvironmentVariable", "EnvironmentVariableSpec"),
        ] {
            assert_eq!(shape(&defs[ruled]), shape(&defs[plain]), "{ruled} and {plain}");
        }
    }
}
