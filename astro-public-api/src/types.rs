//! Wire types of the public API. Deliberately separate from Harmony's: the
//! public contract must not change when an internal one does.

use chrono::{DateTime, Utc};
use deployment_rules as rules;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct OrganizationPath {
    pub organization_id: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DeploymentPath {
    pub organization_id: String,
    pub deployment_id: Uuid,
}

/// Filters for listing deployments.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct DeploymentScan {
    /// Only deployments of this workspace.
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// Only the deployment with this name.
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DeploymentPageSelector {
    pub workspace_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub last_seen: Uuid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentType {
    /// On a shared Hosted cluster, chosen by `cloud_provider` and `region`.
    Standard,
    /// On a dedicated Hosted cluster (`cluster_id`).
    Dedicated,
    /// On the customer's own cluster (`cluster_id`).
    Hybrid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CloudProvider {
    Aws,
    Azure,
    Gcp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Executor {
    Celery,
    Kubernetes,
    /// Hosted deployments only.
    Astro,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SchedulerSize {
    Small,
    Medium,
    Large,
    ExtraLarge,
}

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

/// Scheduler of a Hybrid deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HybridScheduler {
    /// Astro Units, 5 to 24.
    #[schemars(range(min = "rules::SCHEDULER_AU_MIN", max = "rules::SCHEDULER_AU_MAX"))]
    pub au: u8,
    /// 1 to 4.
    #[schemars(range(
        min = "rules::SCHEDULER_REPLICAS_MIN",
        max = "rules::SCHEDULER_REPLICAS_MAX"
    ))]
    pub replicas: u8,
}

/// Most tasks one worker of a queue runs at once (narrower than Harmony's
/// limit: astro-api's own).
pub const MAX_WORKER_CONCURRENCY: u32 = 256;

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerQueue {
    /// 1 to 63 lowercase letters, digits or '-', unique in the deployment;
    /// the default queue is named `default`.
    #[schemars(regex = "rules::DNS_LABEL_PATTERN")]
    pub name: String,
    pub is_default: bool,
    /// At most `max_worker_count`.
    #[schemars(range(min = 0, max = "rules::MIN_WORKER_COUNT_MAX"))]
    pub min_worker_count: u32,
    /// The queue's largest `replicas` (a Kubernetes int32). Over every
    /// queue, the sum of `max_worker_count` x `worker_concurrency` is
    /// Airflow's parallelism, at most 2147483647.
    #[schemars(range(min = 1, max = "rules::MAX_WORKER_COUNT_MAX"))]
    pub max_worker_count: u32,
    #[schemars(range(min = 1, max = "MAX_WORKER_CONCURRENCY"))]
    pub worker_concurrency: u32,
    /// Hosted deployments only.
    #[serde(default)]
    pub astro_machine: Option<AstroMachine>,
    /// Hybrid deployments only.
    #[serde(default)]
    #[schemars(regex = "rules::NODE_POOL_ID_PATTERN")]
    pub node_pool_id: Option<String>,
}

/// An environment variable. A secret's value is write-only: it is never
/// returned, and an update that omits it keeps the current value.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentVariable {
    /// Unique in the deployment.
    #[schemars(regex = "rules::ENVIRONMENT_KEY_PATTERN")]
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default)]
    pub is_secret: bool,
}

/// What a user sends to create a deployment or to replace its settings.
///
/// Rules that join fields (the schema states every other one):
/// - `runtime_version` is one of the supported runtimes (`GET .../deployment-options`);
/// - STANDARD: `cloud_provider` and `region` (an offered one), no `cluster_id`;
///   DEDICATED and HYBRID: `cluster_id` naming a cluster of the caller's
///   organization of that kind, no `cloud_provider` or `region`;
/// - HYBRID: `scheduler` required, no `scheduler_size`, executor not ASTRO,
///   every queue has a `node_pool_id` and no `astro_machine`; Hosted (STANDARD,
///   DEDICATED): `scheduler_size` required, no `scheduler`, every queue has an
///   `astro_machine` and no `node_pool_id`; the Hosted-only fields stay unset on HYBRID;
/// - exactly one queue `is_default`, named `default`; queue names unique; the
///   KUBERNETES executor takes only the default queue; `min_worker_count` <=
///   `max_worker_count`;
/// - environment variable keys unique; a new secret has a value; keys and
///   values together at most 64 KiB, each value at most 16 KiB;
/// - `resource_quota_memory` is twice `resource_quota_cpu` in GiB, the task pod
///   defaults likewise and at most the quota;
/// - an update keeps `workspace_id`, `type` and the placement, and cannot
///   switch `is_development_mode` on.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentInput {
    #[schemars(length(min = 1, max = 63))]
    pub workspace_id: String,
    /// 1 to 63 characters, unique in the workspace.
    #[schemars(length(min = 1, max = "rules::NAME_MAX"), regex = "rules::FREE_TEXT_PATTERN")]
    pub name: String,
    #[serde(default)]
    #[schemars(length(max = "rules::MAX_DESCRIPTION"), regex = "rules::FREE_TEXT_PATTERN")]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub deployment_type: DeploymentType,
    /// STANDARD only.
    #[serde(default)]
    pub cloud_provider: Option<CloudProvider>,
    /// STANDARD only.
    #[serde(default)]
    #[schemars(length(min = 1, max = 63))]
    pub region: Option<String>,
    /// DEDICATED and HYBRID: the cluster to run on.
    #[serde(default)]
    #[schemars(length(min = 1, max = 63))]
    pub cluster_id: Option<String>,
    /// One of the supported Astro Runtime versions.
    #[schemars(schema_with = "runtime_versions")]
    pub runtime_version: String,
    pub executor: Executor,
    /// Hosted (STANDARD, DEDICATED) only.
    #[serde(default)]
    pub scheduler_size: Option<SchedulerSize>,
    /// HYBRID only.
    #[serde(default)]
    pub scheduler: Option<HybridScheduler>,
    /// Hosted only.
    #[serde(default)]
    pub is_high_availability: bool,
    /// Hosted only; cannot be switched on after creation.
    #[serde(default)]
    pub is_development_mode: bool,
    /// Hosted only: CPU all task pods together may use, as a Kubernetes
    /// quantity (`10`, `2500m`); 10 when absent.
    #[serde(default)]
    #[schemars(regex = "QUANTITY_PATTERN")]
    pub resource_quota_cpu: Option<String>,
    /// Hosted only: memory all task pods together may use (`20Gi`); always
    /// twice `resource_quota_cpu` in GiB; 20Gi when absent.
    #[serde(default)]
    #[schemars(regex = "QUANTITY_PATTERN")]
    pub resource_quota_memory: Option<String>,
    /// Hosted only: CPU of a task pod that asks for none (`0.25`, `250m`);
    /// at most the quota; 0.25 when absent.
    #[serde(default)]
    #[schemars(regex = "QUANTITY_PATTERN")]
    pub default_task_pod_cpu: Option<String>,
    /// Hosted only: memory of a task pod that asks for none (`0.5Gi`);
    /// twice `default_task_pod_cpu` in GiB, at most the quota; 0.5Gi when
    /// absent.
    #[serde(default)]
    #[schemars(regex = "QUANTITY_PATTERN")]
    pub default_task_pod_memory: Option<String>,
    #[serde(default)]
    pub is_cicd_enforced: bool,
    #[serde(default = "yes")]
    pub is_dag_deploy_enabled: bool,
    /// Exactly one is the default queue.
    #[schemars(length(min = 1, max = "rules::MAX_WORKER_QUEUES"))]
    pub worker_queues: Vec<WorkerQueue>,
    #[serde(default)]
    #[schemars(length(max = "rules::MAX_ENVIRONMENT_VARIABLES"))]
    pub environment_variables: Vec<EnvironmentVariable>,
    /// Image to run; the runtime's stock image when absent.
    #[serde(default)]
    #[schemars(regex = "rules::IMAGE_TAG_PATTERN")]
    pub image_tag: Option<String>,
    /// The addresses the deployment's alerts go to, each once. Absent: as
    /// they are (none for a new deployment); empty: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "Option<std::collections::BTreeSet<String>>",
        length(max = "rules::MAX_CONTACT_EMAILS"),
        inner(regex = "rules::CONTACT_EMAIL_PATTERN", length(max = "rules::MAX_CONTACT_EMAIL"))
    )]
    pub contact_emails: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

/// Where a deployment stands. `CREATING`: astro-api has it, Harmony not
/// yet. `DEPLOYING`: a change is on its way (to Harmony, or from Harmony to
/// the data plane). `HEALTHY` / `UNHEALTHY`: what the data plane reports
/// for the newest change (on a single deployment's `GET`, where its
/// Harmony can say). `UNKNOWN`: Harmony refused the last change, the
/// data plane stopped reporting, or its agent applied the newest change
/// and cannot observe the workloads' health (see `status_reason`, which
/// names the revision applied); sending the deployment again retries a
/// refused change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentStatus {
    Creating,
    Deploying,
    Healthy,
    Unhealthy,
    Hibernating,
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Deployment {
    pub id: Uuid,
    pub organization_id: String,
    pub workspace_id: String,
    pub name: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub deployment_type: DeploymentType,
    pub cloud_provider: Option<CloudProvider>,
    pub region: Option<String>,
    pub cluster_id: Option<String>,
    pub runtime_version: String,
    pub executor: Executor,
    pub scheduler_size: Option<SchedulerSize>,
    pub scheduler: Option<HybridScheduler>,
    pub is_high_availability: bool,
    pub is_development_mode: bool,
    /// Hosted only (with the defaults filled in).
    pub resource_quota_cpu: Option<String>,
    pub resource_quota_memory: Option<String>,
    pub default_task_pod_cpu: Option<String>,
    pub default_task_pod_memory: Option<String>,
    pub is_cicd_enforced: bool,
    pub is_dag_deploy_enabled: bool,
    pub worker_queues: Vec<WorkerQueue>,
    /// Secret values are never returned.
    pub environment_variables: Vec<EnvironmentVariable>,
    /// The addresses the deployment's alerts go to (none when absent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact_emails: Vec<String>,
    pub image_tag: String,
    /// The DAG bundle the deployment runs, once a DAG deploy was finalized.
    pub dag_bundle_version: Option<String>,
    pub status: DeploymentStatus,
    pub status_reason: Option<String>,
    /// The data plane Harmony runs this deployment on.
    pub data_plane_id: String,
    /// Bumped on every accepted change.
    pub generation: u64,
    /// The newest generation Harmony has accepted (0: none yet). Behind
    /// `generation` while a change waits to reach Harmony (Harmony down, or
    /// at a version that cannot take it yet); `status_reason` says why.
    pub delivered_generation: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Readiness of one astro-api.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Readiness {
    /// Every cell answers at a version astro-api speaks.
    pub ready: bool,
    pub cells: Vec<CellStatus>,
}

/// One Harmony cell as astro-api sees it.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct CellStatus {
    pub name: String,
    pub reachable: bool,
    /// The Harmony API version requests to this cell use.
    pub api_version: Option<String>,
    /// Every version the cell serves.
    pub served: Vec<String>,
    /// Reachable, but below the newest version astro-api speaks: some
    /// requests (anything Hosted, on a 1.0.0 cell) get a version-gap 503.
    pub degraded: bool,
    pub detail: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DeployPath {
    pub organization_id: String,
    pub deployment_id: Uuid,
    pub deploy_id: Uuid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeployType {
    /// A new image and a new DAG bundle.
    ImageAndDag,
    ImageOnly,
    /// A new DAG bundle on the current image; needs DAG deploys enabled.
    DagOnly,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeployStatus {
    /// Created; the image or bundle is being uploaded.
    Initialized,
    /// Finalized: the deployment's desired state points at it.
    Deployed,
    Failed,
}

/// What a user sends to start a deploy.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployInput {
    #[serde(rename = "type")]
    pub deploy_type: DeployType,
    /// IMAGE_AND_DAG and IMAGE_ONLY: the image tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`).
    #[serde(default)]
    #[schemars(regex = "rules::IMAGE_TAG_PATTERN")]
    pub image_tag: Option<String>,
    /// IMAGE_AND_DAG and DAG_ONLY: the DAG bundle's version (1 to 128 characters).
    #[serde(default)]
    #[schemars(regex = "rules::BUNDLE_VERSION_PATTERN")]
    pub dag_tarball_version: Option<String>,
    #[serde(default)]
    #[schemars(length(max = "rules::MAX_DESCRIPTION"), regex = "rules::FREE_TEXT_PATTERN")]
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Deploy {
    pub id: Uuid,
    pub deployment_id: Uuid,
    pub organization_id: String,
    #[serde(rename = "type")]
    pub deploy_type: DeployType,
    pub status: DeployStatus,
    pub image_tag: Option<String>,
    pub dag_tarball_version: Option<String>,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a deployment may be configured with.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct DeploymentOptions {
    /// Astro Runtime versions, oldest first.
    pub runtime_releases: Vec<String>,
    pub executors: Vec<Executor>,
    /// Hosted scheduler sizes.
    pub scheduler_sizes: Vec<SchedulerSize>,
    /// Hosted worker machines.
    pub astro_machines: Vec<AstroMachine>,
    /// Hybrid scheduler Astro Units.
    pub scheduler_au: Range,
    /// Hybrid scheduler replicas.
    pub scheduler_replicas: Range,
    pub worker_concurrency: Range,
    /// Longest deployment or queue name.
    pub max_name_length: u32,
}

/// An inclusive range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct Range {
    pub min: u32,
    pub max: u32,
}

/// Request headers an update may carry.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct UpdatePreconditions {
    /// The `ETag` the client read. When it is no longer current the update
    /// is refused with 412 naming the current one; `*` or no header skips
    /// the check.
    #[serde(rename = "if-match", default)]
    pub if_match: Option<String>,
}

/// Response headers of a deployment.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DeploymentHeaders {
    /// The deployment's version (its generation, quoted), for `If-Match`.
    pub etag: String,
}

impl DeploymentHeaders {
    pub fn of(deployment: &Deployment) -> DeploymentHeaders {
        DeploymentHeaders { etag: etag(deployment.generation) }
    }
}

/// The entity tag of a deployment at `generation`.
pub fn etag(generation: u64) -> String {
    format!("\"{generation}\"")
}

/// An organization: the tenant every other resource belongs to.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct WorkspacePath {
    pub organization_id: String,
    pub workspace_id: String,
}

/// A group of deployments inside an organization.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Workspace {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What an owner sends to create a workspace.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceInput {
    /// 1 to 63 characters, unique in the organization.
    #[schemars(length(min = 1, max = "rules::NAME_MAX"), regex = "rules::FREE_TEXT_PATTERN")]
    pub name: String,
    #[serde(default)]
    #[schemars(length(max = "MAX_WORKSPACE_DESCRIPTION"), regex = "rules::FREE_TEXT_PATTERN")]
    pub description: Option<String>,
}

/// Longest workspace description, in characters.
pub const MAX_WORKSPACE_DESCRIPTION: u64 = 1000;

/// Shortest and longest lifetime of an expiring API token, in seconds.
pub const MIN_TOKEN_SECONDS: u64 = 60;
pub const MAX_TOKEN_SECONDS: u64 = 2 * 365 * 24 * 3600;

/// What an API token may do, always inside its own organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Everything, including workspaces and tokens.
    Owner,
    /// Reads and changes the deployments of one workspace (`workspace_id`).
    WorkspaceMember,
    /// Reads everything; changes nothing.
    ReadOnly,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct TokenPath {
    pub organization_id: String,
    pub token_id: Uuid,
}

/// What an owner sends to create an API token.
///
/// Rules that join fields: `workspace_id` is given exactly for
/// WORKSPACE_MEMBER tokens and names a workspace of the organization; a
/// token that expires can create only tokens that expire no later.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    /// 1 to 63 characters: what the token is for.
    #[schemars(length(min = 1, max = "rules::NAME_MAX"), regex = "rules::FREE_TEXT_PATTERN")]
    pub name: String,
    pub role: Role,
    /// WORKSPACE_MEMBER only: the workspace it is scoped to.
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// Lifetime, 60 seconds to 2 years; never expires when absent.
    #[serde(default)]
    #[schemars(range(min = "MIN_TOKEN_SECONDS", max = "MAX_TOKEN_SECONDS"))]
    pub expires_in_seconds: Option<u64>,
}

/// An API token as listed: never its secret.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct ApiToken {
    pub id: Uuid,
    pub organization_id: String,
    pub name: String,
    pub role: Role,
    pub workspace_id: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A token just created: the only time its value is shown. Send it as
/// `Authorization: Bearer <token>`; astro-api keeps only a hash of it.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct CreatedToken {
    pub token: String,
    pub api_token: ApiToken,
}

/// Page selector for listings ordered by id.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct IdPageSelector {
    pub last_seen: String,
}

/// Where a platform rollout is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PlatformRolloutState {
    Pending,
    Progressing,
    Baking,
    Paused,
    Succeeded,
    Aborted,
    RolledBack,
}

/// One of the organization's data planes a rollout targets, and the
/// platform release it is on now.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct PlatformRolloutDataPlane {
    pub data_plane_id: String,
    pub platform_release: String,
}

/// A rollout of a platform release that targets data planes this
/// organization's deployments run on. Running ones, and those finished in
/// the last 7 days.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct PlatformRollout {
    pub cell: String,
    pub id: Uuid,
    pub from_release: String,
    pub to_release: String,
    pub state: PlatformRolloutState,
    /// The wave in progress (the last one once finished).
    pub current_wave: String,
    /// The organization's data planes among its targets.
    pub data_planes: Vec<PlatformRolloutDataPlane>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A Harmony cell whose rollouts could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct PlatformRolloutsUnavailable {
    pub cell: String,
    pub reason: String,
    /// Set when the cell runs a Harmony too old to report rollouts.
    pub version_gap: Option<crate::VersionGap>,
}

/// Platform rollouts touching this organization's data planes. A cell that
/// cannot say (down, or too old) is listed under `unavailable`; the answer
/// is still a 200.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct PlatformRollouts {
    pub rollouts: Vec<PlatformRollout>,
    pub unavailable: Vec<PlatformRolloutsUnavailable>,
}

/// A deployment's create or update body as the document states it: the
/// schema of [`DeploymentInput`], with an example that a server with the
/// example data planes takes, and every rule astro-api declares about it
/// (`deployment_rules::rule`, in `x-rules`: the ones a schema states and
/// the ones it cannot).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct DeploymentBody(pub DeploymentInput);

impl JsonSchema for DeploymentBody {
    fn schema_name() -> String {
        "DeploymentInput".to_owned()
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        let example = serde_json::json!({
            "workspace_id": "ws-1", "name": "etl", "type": "STANDARD",
            "cloud_provider": "AWS", "region": "us-east-1", "runtime_version": "13.1.0",
            "executor": "CELERY", "scheduler_size": "SMALL",
            "worker_queues": [{
                "name": "default", "is_default": true, "min_worker_count": 1,
                "max_worker_count": 10, "worker_concurrency": 16, "astro_machine": "A5"
            }],
            "environment_variables": [{ "key": "AIRFLOW__CORE__LOAD_EXAMPLES", "value": "False" }]
        });
        stated::<DeploymentInput>(generator, rules::rule::Subject::PublicDeployment, example)
    }
}

/// A deploy's body as the document states it (see [`DeploymentBody`]).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct DeployBody(pub DeployInput);

impl JsonSchema for DeployBody {
    fn schema_name() -> String {
        "DeployInput".to_owned()
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        let example = serde_json::json!({
            "type": "IMAGE_AND_DAG", "image_tag": "v2", "dag_tarball_version": "2026-12-04T10.00.00Z",
            "description": "nightly build 412"
        });
        stated::<DeployInput>(generator, rules::rule::Subject::PublicDeploy, example)
    }
}

/// A workspace's create body as the document states it (see
/// [`DeploymentBody`]).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct WorkspaceBody(pub WorkspaceInput);

impl JsonSchema for WorkspaceBody {
    fn schema_name() -> String {
        "WorkspaceInput".to_owned()
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        let example = serde_json::json!({ "name": "data-platform", "description": "ETL" });
        stated::<WorkspaceInput>(generator, rules::rule::Subject::PublicWorkspace, example)
    }
}

/// An API token's create body as the document states it (see
/// [`DeploymentBody`]).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct TokenBody(pub TokenInput);

impl JsonSchema for TokenBody {
    fn schema_name() -> String {
        "TokenInput".to_owned()
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        let example = serde_json::json!({
            "name": "ci", "role": "WORKSPACE_MEMBER", "workspace_id": "ws-1",
            "expires_in_seconds": 86400
        });
        stated::<TokenInput>(generator, rules::rule::Subject::PublicToken, example)
    }
}

/// `T`'s schema with `example` and the rules declared about `subject`.
fn stated<T: JsonSchema>(
    generator: &mut schemars::r#gen::SchemaGenerator,
    subject: rules::rule::Subject,
    example: serde_json::Value,
) -> schemars::schema::Schema {
    let mut schema = T::json_schema(generator).into_object();
    let declared: Vec<serde_json::Value> = rules::rule::rules_at(
        rules::rule::Api::Astro,
        rules::ApiVersion::new(1, 0, 0),
    )
    .filter(|r| r.judges(subject))
    .map(|r| serde_json::json!({ "id": r.id(), "fields": r.fields(), "statement": r.statement() }))
    .collect();
    schema.extensions.insert("x-rules".to_owned(), declared.into());
    schema.extensions.insert("example".to_owned(), example);
    schema.into()
}

/// The Astro Runtime versions a deployment may run (what
/// `GET /deployment-options` lists, and the document states).
pub const RUNTIME_VERSIONS: &[&str] = &["12.9.0", "13.0.0", "13.1.0"];

fn runtime_versions(_: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
    schemars::schema::SchemaObject {
        instance_type: Some(schemars::schema::InstanceType::String.into()),
        enum_values: Some(RUNTIME_VERSIONS.iter().map(|v| (*v).into()).collect()),
        ..Default::default()
    }
    .into()
}

/// A positive Kubernetes quantity as astro-api reads one
/// (`astro_api::validate::quantity`, which a test holds to it): an
/// optional `+`, a decimal number with a digit other than 0, and an
/// optional suffix (`m`, `k`, `M` to `E`, `Ki` to `Ei`) or exponent of at
/// most two digits.
pub const QUANTITY_PATTERN: &str = "^\\+?(?=[0-9.]*[1-9])([0-9]+\\.?[0-9]*|\\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]{1,2})?$";
