//! Rules as declarations: the only way a service refuses input.
//!
//! Every rule is declared once, below, with an identifier, the statement a
//! client reads, the fields it reads and the API versions at which it
//! applies. A [`Rule`] cannot be built anywhere else (its fields are
//! private), and a refusal ([`Refusal`]) can only be made from a rule, so a
//! check written by hand in a validator has to name one of these, and a new
//! rule changes what every version's document and rule list say
//! (`versions/rules/`, `x-rules`): `cargo xtask check` refuses it
//! for a released version, and the compatibility checker reports it as a
//! narrowing for an unreleased one.
//!
//! A refusal remembers the API version of the request it refused
//! ([`Refusals::new`]); one made by a rule that version does not declare is
//! [`Refusal::declared`] `false`, which the services treat as their own
//! fault (a 500 in debug builds, so any test that triggers it fails; logged
//! and counted in release builds).

use std::fmt;

/// Whose contract a rule belongs to: each API has its own version line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Api {
    /// Harmony's main API (`harmony-api`).
    Harmony,
    /// Harmony's agent API (`harmony-agent-api`).
    HarmonyAgent,
    /// astro-api's public API (`astro-public-api`).
    Astro,
}

/// What a rule judges: one request body (or parameter) of one API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    /// `PUT /deployments/{id}` (Harmony).
    DeploymentSpec,
    /// `PUT /data-planes/{id}` (Harmony).
    DataPlaneRegistration,
    /// `PUT /platform-releases/{version}` (Harmony).
    PlatformRelease,
    /// `POST /rollouts` and the commands on a rollout (Harmony).
    Rollout,
    /// An opaque page token (any list).
    PageToken,
    /// The text of every request body of its API (listed with each body's
    /// rules).
    RequestBody,
    /// `POST /status` (Harmony's agent API).
    AgentReport,
    /// `GET /desired-state` and `GET /changes` (Harmony's agent API).
    AgentPoll,
    /// A deployment's create or update (astro-api).
    PublicDeployment,
    /// A deploy (astro-api).
    PublicDeploy,
    /// A workspace's create or update (astro-api).
    PublicWorkspace,
    /// An API token's create (astro-api).
    PublicToken,
    /// A request's path and query (astro-api).
    PublicRequest,
    /// An operator's bootstrap of an organization (astro-api's flag).
    PublicBootstrap,
}

impl Subject {
    /// The schema (component) name the rule is listed under in a document.
    pub fn schema(self) -> &'static str {
        match self {
            Subject::DeploymentSpec => "DeploymentSpec",
            Subject::DataPlaneRegistration => "DataPlaneRegistration",
            Subject::PlatformRelease => "PlatformReleaseSpec",
            Subject::Rollout => "RolloutCreate",
            Subject::PageToken => "page_token",
            Subject::RequestBody => "*",
            Subject::AgentReport => "StatusReport",
            Subject::AgentPoll => "parameters",
            Subject::PublicDeployment => "DeploymentInput",
            Subject::PublicDeploy => "DeployInput",
            Subject::PublicWorkspace => "WorkspaceInput",
            Subject::PublicToken => "TokenInput",
            Subject::PublicRequest => "parameters",
            Subject::PublicBootstrap => "bootstrap",
        }
    }
}

/// An API version as rules name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl ApiVersion {
    pub const fn new(major: u64, minor: u64, patch: u64) -> ApiVersion {
        ApiVersion { major, minor, patch }
    }

    /// `MAJOR.MINOR.PATCH`, nothing else.
    pub fn parse(text: &str) -> Option<ApiVersion> {
        let mut parts = text.split('.').map(|p| p.parse::<u64>().ok());
        let version = ApiVersion::new(parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(version)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// One declared rule. Built only by the declarations in this module.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    id: &'static str,
    api: Api,
    subject: Subject,
    fields: &'static [&'static str],
    statement: &'static str,
    since: ApiVersion,
    until: Option<ApiVersion>,
}

impl Rule {
    /// Its identifier: lowercase words joined by `_`, unique, never reused.
    pub fn id(&self) -> &'static str {
        self.id
    }
    pub fn api(&self) -> Api {
        self.api
    }
    pub fn subject(&self) -> Subject {
        self.subject
    }
    /// The fields it reads (`[]` for each item of a list).
    pub fn fields(&self) -> &'static [&'static str] {
        self.fields
    }
    /// What a client reads: the rule in one sentence.
    pub fn statement(&self) -> &'static str {
        self.statement
    }
    /// The first version of its API that declares it.
    pub fn since(&self) -> ApiVersion {
        self.since
    }
    /// The first version that no longer does, if any.
    pub fn until(&self) -> Option<ApiVersion> {
        self.until
    }
    /// Whether it judges bodies of `subject`: its own subject's, or every
    /// body's ([`Subject::RequestBody`]).
    pub fn judges(&self, subject: Subject) -> bool {
        self.subject == subject || self.subject == Subject::RequestBody
    }
    /// Whether requests at `version` of its API are held to it.
    pub fn applies_at(&self, version: ApiVersion) -> bool {
        self.since <= version && self.until.is_none_or(|until| version < until)
    }
}

/// Why one field was refused: a declared rule, the field (with indexes:
/// `worker_queues[1].name`), what was wrong with this value, and the
/// version the request was made at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    rule: &'static Rule,
    field: String,
    detail: String,
    at: ApiVersion,
}

impl Refusal {
    pub fn rule(&self) -> &'static Rule {
        self.rule
    }
    pub fn field(&self) -> &str {
        &self.field
    }
    /// What this value broke, in words (the statement applied to it).
    pub fn detail(&self) -> &str {
        &self.detail
    }
    /// The API version of the request refused.
    pub fn at(&self) -> ApiVersion {
        self.at
    }
    /// Whether the request's version declares the rule. `false` is the
    /// refusing service's bug: the contract it published allows the value.
    pub fn declared(&self) -> bool {
        self.rule.applies_at(self.at)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (rule {})", self.field, self.detail, self.rule.id)
    }
}

/// A refusal made where the request's version is not known (a pure layer
/// that never sees a request, such as the rollout state machine); the
/// caller stamps it with the version ([`Refusals::take`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Objection {
    rule: &'static Rule,
    field: String,
    detail: String,
}

impl Rule {
    /// An objection to `field` by this rule, for [`Refusals::take`].
    pub fn object(&'static self, field: impl Into<String>, detail: impl Into<String>) -> Objection {
        Objection { rule: self, field: field.into(), detail: detail.into() }
    }
}

impl fmt::Display for Objection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (rule {})", self.field, self.detail, self.rule.id)
    }
}

/// The refusals of one request, collected so that a 400 names them all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusals {
    at: ApiVersion,
    list: Vec<Refusal>,
}

impl Refusals {
    /// For a request made at `at` (its API's version).
    pub fn new(at: ApiVersion) -> Refusals {
        Refusals { at, list: Vec::new() }
    }

    pub fn at(&self) -> ApiVersion {
        self.at
    }

    /// Whether `rule` holds at this request's version: what a rule that
    /// begins or ends at some version is checked behind.
    pub fn applies(&self, rule: &'static Rule) -> bool {
        rule.applies_at(self.at)
    }

    /// Refuses `field` by `rule`, saying what was wrong with it.
    pub fn refuse(
        &mut self,
        rule: &'static Rule,
        field: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.list.push(Refusal { rule, field: field.into(), detail: detail.into(), at: self.at });
    }

    /// `checked`'s error, if any, as a refusal of `field` by `rule`.
    pub fn check(
        &mut self,
        rule: &'static Rule,
        field: impl Into<String>,
        checked: Result<(), &str>,
    ) {
        if let Err(detail) = checked {
            self.refuse(rule, field, detail);
        }
    }

    /// Takes `objection`, made at this request's version.
    pub fn take(&mut self, objection: Objection) {
        let Objection { rule, field, detail } = objection;
        self.refuse(rule, field, detail);
    }

    /// A request refused by one rule.
    pub fn one(
        at: ApiVersion,
        rule: &'static Rule,
        field: impl Into<String>,
        detail: impl Into<String>,
    ) -> Refusals {
        let mut refusals = Refusals::new(at);
        refusals.refuse(rule, field, detail);
        refusals
    }

    pub fn list(&self) -> &[Refusal] {
        &self.list
    }

    /// `Ok` when nothing was refused.
    pub fn into_result(self) -> Result<(), Refusals> {
        match self.list.is_empty() {
            true => Ok(()),
            false => Err(self),
        }
    }

    /// The identifiers of the rules that refused, each once, in order.
    pub fn rule_ids(&self) -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = Vec::new();
        for refusal in &self.list {
            if !ids.contains(&refusal.rule.id) {
                ids.push(refusal.rule.id);
            }
        }
        ids
    }

    /// Refusals by a rule the request's version does not declare.
    pub fn undeclared(&self) -> impl Iterator<Item = &Refusal> {
        self.list.iter().filter(|r| !r.declared())
    }
}

impl fmt::Display for Refusals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, refusal) in self.list.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{refusal}")?;
        }
        Ok(())
    }
}

/// The rule that refuses a NUL in the body whose schema is named
/// `schema` (a body schema of some subject, or `RolloutCommand`): the
/// [`Subject::RequestBody`] rule of that subject's API. `None` for a body
/// no rule names (the agent API's).
pub fn body_text_rule(schema: &str) -> Option<&'static Rule> {
    let api = match schema {
        "RolloutCommand" => Api::Harmony,
        _ => RULES.iter().find(|r| r.subject.schema() == schema)?.api,
    };
    RULES.iter().copied().find(|r| r.api == api && r.subject == Subject::RequestBody)
}

/// Every rule of `api` about `subject` that requests at `version` are held
/// to, in declaration order.
pub fn rules_at(api: Api, version: ApiVersion) -> impl Iterator<Item = &'static Rule> {
    RULES.iter().copied().filter(move |r| r.api == api && r.applies_at(version))
}

/// The rule with identifier `id`, if one is declared.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| r.id == id)
}

const V1: ApiVersion = ApiVersion::new(1, 0, 0);
const V2: ApiVersion = ApiVersion::new(2, 0, 0);
const V3: ApiVersion = ApiVersion::new(3, 0, 0);
const V4: ApiVersion = ApiVersion::new(4, 0, 0);

macro_rules! declare {
    ($(
        $(#[$doc:meta])*
        $name:ident: $api:ident $subject:ident $id:literal since $since:ident
            [$($field:literal),* $(,)?] $statement:literal;
    )*) => {
        $(
            $(#[$doc])*
            pub static $name: Rule = Rule {
                id: $id,
                api: Api::$api,
                subject: Subject::$subject,
                fields: &[$($field),*],
                statement: $statement,
                since: $since,
                until: None,
            };
        )*
        /// Every declared rule, in declaration order.
        pub static RULES: &[&Rule] = &[$(&$name),*];
    };
}

declare! {
    // Harmony: a deployment's spec.
    NAME_LENGTH: Harmony DeploymentSpec "name_length" since V1
        ["name"] "name is 1 to 63 characters";
    NAME_TEXT: Harmony DeploymentSpec "name_text" since V1
        ["name"] "name holds no control characters or line breaks";
    IMAGE_TAG: Harmony DeploymentSpec "image_tag_grammar" since V1
        ["image_tag"] "image_tag is an OCI image tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
    BUNDLE_VERSION: Harmony DeploymentSpec "dag_bundle_version_grammar" since V1
        ["dag_bundle_version"]
        "dag_bundle_version is 1 to 128 of [A-Za-z0-9._:+-], starting with a letter or digit";
    GENERATION_RANGE: Harmony DeploymentSpec "generation_range" since V1
        ["generation"] "generation is 1 to 9223372036854775807";
    DATA_PLANE_ID: Harmony DeploymentSpec "data_plane_id_dns_label" since V1
        ["data_plane_id"]
        "data_plane_id is a DNS label: 1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit";
    WRITTEN_IDENTIFIERS: Harmony DeploymentSpec "identifiers_written" since V1
        ["organization_id", "workspace_id", "runtime_version"]
        "organization_id, workspace_id and runtime_version are not blank and hold no control characters";
    WORKER_QUEUES_COUNT: Harmony DeploymentSpec "worker_queues_count" since V1
        ["worker_queues"] "worker_queues holds 1 to 32 queues";
    KIND_MATCHES_PLANE: Harmony DeploymentSpec "kind_matches_data_plane" since V1
        ["kind", "data_plane_id"] "kind matches the kind of the data plane data_plane_id names";
    PLANE_OWNER: Harmony DeploymentSpec "data_plane_owner" since V1
        ["organization_id", "data_plane_id"]
        "a data plane registered with an owner (label astronomer.io/organization) takes only that organization's deployments";
    IDENTITY_IMMUTABLE: Harmony DeploymentSpec "identity_immutable" since V1
        ["data_plane_id", "organization_id", "workspace_id", "kind"]
        "data_plane_id, organization_id, workspace_id and kind never change";
    HYBRID_EXECUTOR: Harmony DeploymentSpec "hybrid_executor" since V1
        ["kind", "executor"] "HYBRID: executor is not ASTRO";
    HYBRID_SCHEDULER: Harmony DeploymentSpec "hybrid_scheduler" since V1
        ["kind", "scheduler", "scheduler_size", "is_high_availability"]
        "HYBRID: scheduler required; scheduler_size and is_high_availability absent";
    SCHEDULER_AU: Harmony DeploymentSpec "scheduler_au_range" since V1
        ["scheduler.au"] "scheduler.au is 5 to 24";
    SCHEDULER_REPLICAS: Harmony DeploymentSpec "scheduler_replicas_range" since V1
        ["scheduler.replicas"] "scheduler.replicas is 1 to 4";
    HOSTED_SCHEDULER: Harmony DeploymentSpec "hosted_scheduler" since V1
        ["kind", "scheduler_size", "scheduler"]
        "HOSTED: scheduler_size required; scheduler absent";
    ONE_DEFAULT_QUEUE: Harmony DeploymentSpec "one_default_queue" since V1
        ["worker_queues[].is_default", "worker_queues[].name"]
        "exactly one queue is_default, and it is named \"default\"";
    KUBERNETES_ONE_QUEUE: Harmony DeploymentSpec "kubernetes_executor_one_queue" since V1
        ["executor", "worker_queues"] "the KUBERNETES executor takes only the default queue";
    PARALLELISM: Harmony DeploymentSpec "parallelism_max" since V1
        ["worker_queues[].max_worker_count", "worker_queues[].worker_concurrency"]
        "the sum over worker_queues of max_worker_count x worker_concurrency (Airflow's parallelism) is at most 2147483647";
    QUEUE_NAME: Harmony DeploymentSpec "queue_name_dns_label" since V1
        ["worker_queues[].name"]
        "a queue's name is a DNS label: 1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit";
    QUEUE_NAMES_UNIQUE: Harmony DeploymentSpec "queue_names_unique" since V1
        ["worker_queues[].name"] "queue names are unique";
    MAX_WORKER_COUNT: Harmony DeploymentSpec "max_worker_count_range" since V1
        ["worker_queues[].max_worker_count"] "a queue's max_worker_count is 1 to 2147483647";
    MIN_WORKER_COUNT: Harmony DeploymentSpec "min_worker_count_range" since V1
        ["worker_queues[].min_worker_count"] "a queue's min_worker_count is 0 to 2147483647";
    WORKER_CONCURRENCY: Harmony DeploymentSpec "worker_concurrency_range" since V1
        ["worker_queues[].worker_concurrency"] "a queue's worker_concurrency is 1 to 2147483647";
    WORKER_COUNT_ORDER: Harmony DeploymentSpec "min_worker_count_not_above_max" since V1
        ["worker_queues[].min_worker_count", "worker_queues[].max_worker_count"]
        "a queue's min_worker_count is at most its max_worker_count";
    HOSTED_QUEUE: Harmony DeploymentSpec "hosted_queue_machine" since V1
        ["kind", "worker_queues[].astro_machine", "worker_queues[].node_pool_id"]
        "HOSTED: every queue has an astro_machine and no node_pool_id";
    HYBRID_QUEUE: Harmony DeploymentSpec "hybrid_queue_node_pool" since V1
        ["kind", "worker_queues[].node_pool_id", "worker_queues[].astro_machine"]
        "HYBRID: every queue has a node_pool_id and no astro_machine";
    NODE_POOL_ID: Harmony DeploymentSpec "node_pool_id_grammar" since V1
        ["worker_queues[].node_pool_id"]
        "a node_pool_id is 1 to 63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit";
    ENVIRONMENT_SIZE: Harmony DeploymentSpec "environment_size" since V1
        ["environment_variables", "environment_variables[].value"]
        "at most 256 environment variables, each value at most 16384 bytes, keys and values together at most 65536 bytes";
    ENVIRONMENT_KEY: Harmony DeploymentSpec "environment_key_grammar" since V1
        ["environment_variables[].key"]
        "an environment variable's key matches [A-Za-z_][A-Za-z0-9_]* and is at most 255 bytes";
    ENVIRONMENT_KEYS_UNIQUE: Harmony DeploymentSpec "environment_keys_unique" since V1
        ["environment_variables[].key"] "environment variable keys are unique";
    SECRET_VALUE: Harmony DeploymentSpec "secret_value_required" since V1
        ["environment_variables[].is_secret", "environment_variables[].value"]
        "a secret sent without a value keeps the value stored for its key; a new secret needs one";
    RENDERED_SIZE: Harmony DeploymentSpec "rendered_set_max" since V1
        ["environment_variables", "worker_queues"]
        "the rendered manifest set is at most 4 MiB";
    /// Issue 38's tightening: keys the platform sets for every Airflow
    /// container are refused from 4.0.0; older versions' requests still
    /// carry them, and Harmony renders the platform's value regardless.
    PLATFORM_KEYS: Harmony DeploymentSpec "platform_environment_keys" since V4
        ["environment_variables[].key"]
        "an environment variable's key is not one the platform sets (AIRFLOW__CORE__FERNET_KEY, AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, AIRFLOW__API_AUTH__JWT_SECRET, AIRFLOW__CELERY__BROKER_URL, AIRFLOW__CELERY__WORKER_CONCURRENCY)";
    /// Issue 37's field: the addresses a deployment's alerts go to, carried
    /// from 4.0.0 (older versions' requests leave them as they are).
    CONTACT_EMAILS_COUNT: Harmony DeploymentSpec "contact_emails_count" since V4
        ["contact_emails"] "contact_emails holds at most 10 addresses";
    CONTACT_EMAIL: Harmony DeploymentSpec "contact_email_grammar" since V4
        ["contact_emails[]"]
        "a contact email is local@domain: the local part 1 to 64 of [A-Za-z0-9._%+-], the domain two or more DNS labels; at most 254 characters";
    CONTACT_EMAILS_UNIQUE: Harmony DeploymentSpec "contact_emails_unique" since V4
        ["contact_emails"] "contact_emails are unique";

    // Harmony: a data plane's registration.
    PLANE_ID: Harmony DataPlaneRegistration "registration_id_dns_label" since V1
        ["data_plane_id"]
        "the data plane's id is a DNS label: 1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit";
    REGISTRATION_WRITTEN: Harmony DataPlaneRegistration "registration_text_written" since V1
        ["region", "agent_version", "platform_release"]
        "region, agent_version and platform_release are not blank and hold no control characters";
    KUBERNETES_VERSION: Harmony DataPlaneRegistration "kubernetes_version_grammar" since V1
        ["kubernetes_version"]
        "kubernetes_version is MAJOR.MINOR or MAJOR.MINOR.PATCH (digits, an optional leading v)";
    HYBRID_OWNER: Harmony DataPlaneRegistration "hybrid_owner_label" since V1
        ["kind", "labels"]
        "HYBRID: labels hold astronomer.io/organization, the organization the data plane belongs to (not blank, no control characters)";

    // Harmony: platform releases and rollouts (3.0.0 added them).
    RELEASE_NAME: Harmony PlatformRelease "release_name_grammar" since V3
        ["version"] "a platform release's version is 1 to 63 letters, digits, '.' and '-'";
    RELEASE_KUBERNETES: Harmony PlatformRelease "release_kubernetes_grammar" since V3
        ["kubernetes_min", "kubernetes_max"]
        "kubernetes_min and kubernetes_max are MAJOR.MINOR or MAJOR.MINOR.PATCH (digits, an optional leading v)";
    RELEASE_KUBERNETES_ORDER: Harmony PlatformRelease "release_kubernetes_order" since V3
        ["kubernetes_min", "kubernetes_max"] "kubernetes_min is not newer than kubernetes_max";
    RELEASE_RUNTIMES: Harmony PlatformRelease "release_runtimes" since V3
        ["runtimes[]"] "runtimes are not blank, hold no control characters, and are listed once each";
    ROLLOUT_RELEASES: Harmony Rollout "rollout_release_names" since V3
        ["from_release", "to_release"]
        "from_release and to_release are release names (1 to 63 letters, digits, '.' and '-')";
    ROLLOUT_TARGET: Harmony Rollout "rollout_to_registered_release" since V3
        ["to_release", "from_release"]
        "to_release names a registered platform release, other than from_release";
    ROLLOUT_COVERAGE: Harmony Rollout "rollout_waves_cover_targets" since V3
        ["from_release"]
        "some data plane is on from_release, and the policy's waves select every such data plane";
    ROLLOUT_GATES_OBSERVABLE: Harmony Rollout "rollout_gates_observable" since V3
        ["from_release"]
        "a wave gated on HEALTH has no data plane whose agent cannot observe health";
    ROLLOUT_ACTOR: Harmony Rollout "rollout_command_actor" since V3
        ["actor", "reason"]
        "a rollout command names who acts (not blank); an emergency bypass says why";

    // Page tokens, at every list.
    BODY_TEXT: Harmony RequestBody "body_text_without_nul" since V4
        ["*"] "no text in a request body, key or value, holds a NUL character (U+0000)";
    PAGE_TOKEN: Harmony PageToken "page_token_known" since V1
        ["page_token"] "a page token is one this service handed out";

    // Harmony's agent API: an agent's report.
    REPORT_AGENT_VERSION: HarmonyAgent AgentReport "report_agent_version_written" since V1
        ["agent_version"] "agent_version is not blank and holds no control characters";
    REPORT_REVISIONS: HarmonyAgent AgentReport "report_revisions_known" since V1
        ["applied_revision", "deployments[].manifest_revision"]
        "revisions are at most 9223372036854775807, and applied_revision is not ahead of the data plane's desired revision";

    // Harmony's agent API: a poll.
    AGENT_WAIT: HarmonyAgent AgentPoll "agent_wait_seconds" since V1
        ["wait_seconds"] "wait_seconds is 0 to 30";
    AGENT_PAGE_TOKEN: HarmonyAgent AgentPoll "agent_page_token_known" since V2
        ["page_token"]
        "a page token is one Harmony handed out to this data plane, for a pass that has not fallen out of the plane's history";

    // astro-api's public API (one version, 1.0.0): a deployment.
    PUBLIC_WORKSPACE_ID: Astro PublicDeployment "deployment_workspace" since V1
        ["workspace_id"] "workspace_id is 1 to 63 characters and names a workspace of the organization the caller may use";
    PUBLIC_NAME: Astro PublicDeployment "deployment_name" since V1
        ["name"] "name is 1 to 63 characters, without control characters, bidirectional controls or invisible characters";
    PUBLIC_DESCRIPTION: Astro PublicDeployment "description_text" since V1
        ["description"] "description is at most 1000 characters, without control characters or bidirectional controls";
    PUBLIC_IMAGE_TAG: Astro PublicDeployment "deployment_image_tag" since V1
        ["image_tag"] "image_tag is an OCI image tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
    PUBLIC_QUEUES_COUNT: Astro PublicDeployment "deployment_queues_count" since V1
        ["worker_queues"] "worker_queues holds at most 32 queues";
    PUBLIC_STANDARD_PLACEMENT: Astro PublicDeployment "standard_placement" since V1
        ["type", "cloud_provider", "region", "cluster_id"]
        "STANDARD: cloud_provider and region (1 to 63 characters) required, cluster_id absent; the region has a shared cluster";
    PUBLIC_CLUSTER_PLACEMENT: Astro PublicDeployment "cluster_placement" since V1
        ["type", "cluster_id", "cloud_provider", "region"]
        "DEDICATED and HYBRID: cluster_id required, naming a cluster of the organization of the deployment's kind; cloud_provider and region absent";
    PUBLIC_RUNTIME: Astro PublicDeployment "runtime_version_offered" since V1
        ["runtime_version"] "runtime_version is one GET /deployment-options lists";
    PUBLIC_HYBRID_SETTINGS: Astro PublicDeployment "hybrid_settings" since V1
        ["type", "executor", "scheduler", "scheduler_size", "is_high_availability", "is_development_mode"]
        "HYBRID: executor not ASTRO; scheduler required; scheduler_size, is_high_availability and is_development_mode absent";
    PUBLIC_SCHEDULER: Astro PublicDeployment "scheduler_ranges" since V1
        ["scheduler.au", "scheduler.replicas"] "scheduler.au is 5 to 24 and scheduler.replicas 1 to 4";
    PUBLIC_HOSTED_SETTINGS: Astro PublicDeployment "hosted_settings" since V1
        ["type", "scheduler_size", "scheduler"] "STANDARD and DEDICATED: scheduler_size required, scheduler absent";
    PUBLIC_RESOURCES: Astro PublicDeployment "resource_quantities" since V1
        ["type", "resource_quota_cpu", "resource_quota_memory", "default_task_pod_cpu", "default_task_pod_memory"]
        "Hosted: the resource settings are positive Kubernetes quantities, memory twice the CPU in GiB, each default at most its quota; HYBRID: none set";
    PUBLIC_DEFAULT_QUEUE: Astro PublicDeployment "deployment_default_queue" since V1
        ["worker_queues[].is_default", "worker_queues[].name"]
        "exactly one queue is_default, and it is named \"default\"";
    PUBLIC_KUBERNETES_ONE_QUEUE: Astro PublicDeployment "deployment_kubernetes_one_queue" since V1
        ["executor", "worker_queues"] "the KUBERNETES executor takes only the default queue";
    PUBLIC_PARALLELISM: Astro PublicDeployment "deployment_parallelism" since V1
        ["worker_queues[].max_worker_count", "worker_queues[].worker_concurrency"]
        "the sum over worker_queues of max_worker_count x worker_concurrency is at most 2147483647";
    PUBLIC_QUEUE_NAME: Astro PublicDeployment "deployment_queue_name" since V1
        ["worker_queues[].name"] "a queue's name is 1 to 63 lowercase letters, digits or '-', not starting or ending with '-'";
    PUBLIC_QUEUE_NAMES_UNIQUE: Astro PublicDeployment "deployment_queue_names_unique" since V1
        ["worker_queues[].name"] "queue names are unique";
    PUBLIC_WORKER_COUNTS: Astro PublicDeployment "deployment_worker_counts" since V1
        ["worker_queues[].min_worker_count", "worker_queues[].max_worker_count"]
        "a queue's min_worker_count is 0 to 2147483647, its max_worker_count 1 to 2147483647, and min at most max";
    PUBLIC_WORKER_CONCURRENCY: Astro PublicDeployment "deployment_worker_concurrency" since V1
        ["worker_queues[].worker_concurrency"] "a queue's worker_concurrency is 1 to the maximum GET /deployment-options lists";
    PUBLIC_QUEUE_PLACEMENT: Astro PublicDeployment "deployment_queue_placement" since V1
        ["type", "worker_queues[].astro_machine", "worker_queues[].node_pool_id"]
        "Hosted queues have an astro_machine and no node_pool_id; HYBRID queues a node_pool_id (1 to 63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit) and no astro_machine";
    PUBLIC_ENVIRONMENT: Astro PublicDeployment "deployment_environment" since V1
        ["environment_variables[].key", "environment_variables[].value"]
        "at most 256 variables with unique keys matching [A-Za-z_][A-Za-z0-9_]* (at most 255 bytes), each value at most 16384 bytes and all together at most 65536; a value required unless a secret keeps its stored one";
    PUBLIC_PLATFORM_KEYS: Astro PublicDeployment "deployment_platform_keys" since V1
        ["environment_variables[].key"]
        "a new variable's key is not one the platform sets (AIRFLOW__CORE__FERNET_KEY, AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, AIRFLOW__API_AUTH__JWT_SECRET, AIRFLOW__CELERY__BROKER_URL, AIRFLOW__CELERY__WORKER_CONCURRENCY)";
    PUBLIC_IMMUTABLE: Astro PublicDeployment "deployment_immutable" since V1
        ["workspace_id", "type", "cluster_id", "cloud_provider", "region", "is_development_mode"]
        "workspace_id, type, cluster_id, cloud_provider and region never change, and is_development_mode is never switched on after creation";
    PUBLIC_CONTACT_EMAILS_COUNT: Astro PublicDeployment "deployment_contact_emails_count" since V1
        ["contact_emails"] "contact_emails holds at most 10 addresses";
    PUBLIC_CONTACT_EMAIL: Astro PublicDeployment "deployment_contact_email_grammar" since V1
        ["contact_emails[]"]
        "a contact email is local@domain: the local part 1 to 64 of [A-Za-z0-9._%+-], the domain two or more DNS labels; at most 254 characters";
    PUBLIC_CONTACT_EMAILS_UNIQUE: Astro PublicDeployment "deployment_contact_emails_unique" since V1
        ["contact_emails"] "contact_emails are unique";

    // astro-api: a deploy.
    PUBLIC_DEPLOY_CONTENT: Astro PublicDeploy "deploy_content_by_type" since V1
        ["type", "image_tag", "dag_tarball_version"]
        "IMAGE_AND_DAG and IMAGE_ONLY carry an image_tag (an OCI tag), IMAGE_AND_DAG and DAG_ONLY a dag_tarball_version (1 to 128 of [A-Za-z0-9._:+-], starting with a letter or digit), and nothing else";
    PUBLIC_DAG_ONLY: Astro PublicDeploy "deploy_dag_only_enabled" since V1
        ["type"] "a DAG_ONLY deploy needs DAG deploys enabled on the deployment";
    PUBLIC_DEPLOY_DESCRIPTION: Astro PublicDeploy "deploy_description_text" since V1
        ["description"] "description is at most 1000 characters, without control characters or bidirectional controls";

    // astro-api: workspaces, tokens, requests, the operator's bootstrap.
    PUBLIC_WORKSPACE_NAME: Astro PublicWorkspace "workspace_name" since V1
        ["name"] "name is 1 to 63 characters, without control characters, bidirectional controls or invisible characters, unique in the organization";
    PUBLIC_WORKSPACE_DESCRIPTION: Astro PublicWorkspace "workspace_description" since V1
        ["description"] "description is at most 1000 characters, without control characters or bidirectional controls";
    PUBLIC_TOKEN_NAME: Astro PublicToken "token_name" since V1
        ["name"] "name is 1 to 63 characters, without control characters, bidirectional controls or invisible characters";
    PUBLIC_TOKEN_SCOPE: Astro PublicToken "token_scope" since V1
        ["role", "workspace_id"]
        "a WORKSPACE_MEMBER token names a workspace of the organization; OWNER and READ_ONLY tokens name none";
    PUBLIC_TOKEN_LIFETIME: Astro PublicToken "token_lifetime" since V1
        ["expires_in_seconds"]
        "expires_in_seconds is within the bounds the document states, and no later than the expiry of the token making the request";
    PUBLIC_NUL: Astro PublicRequest "no_nul_in_request" since V1
        ["path", "query"] "no path segment or query parameter holds a NUL character (U+0000)";
    PUBLIC_BODY_TEXT: Astro RequestBody "public_body_text_without_nul" since V1
        ["*"] "no text in a request body, key or value, holds a NUL character (U+0000)";
    PUBLIC_BOOTSTRAP_IDS: Astro PublicBootstrap "bootstrap_ids" since V1
        ["organization", "workspace"] "organization and workspace ids are 1 to 63 letters, digits, '-' or '_'";
}

/// The environment variable keys the platform sets for every Airflow
/// container (what [`PLATFORM_KEYS`] refuses from 4.0.0, and what Harmony
/// never renders a user's value over).
pub const PLATFORM_ENVIRONMENT_KEYS: &[&str] = &[
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__WORKER_CONCURRENCY",
];

/// Whether the platform owns `key` (see [`PLATFORM_ENVIRONMENT_KEYS`]).
pub fn platform_key(key: &str) -> bool {
    PLATFORM_ENVIRONMENT_KEYS.contains(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_unique_and_plain() {
        let mut seen = std::collections::BTreeSet::new();
        for rule in RULES {
            assert!(seen.insert(rule.id), "{} declared twice", rule.id);
            assert!(
                rule.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                rule.id
            );
            assert!(!rule.fields.is_empty() && !rule.statement.is_empty(), "{}", rule.id);
        }
    }

    #[test]
    fn statements_name_every_platform_key() {
        for key in PLATFORM_ENVIRONMENT_KEYS {
            assert!(PLATFORM_KEYS.statement.contains(key), "{key}");
        }
    }

    #[test]
    fn a_refusal_knows_whether_its_version_declares_it() {
        let mut at_two = Refusals::new(ApiVersion::new(2, 0, 0));
        at_two.refuse(&QUEUE_NAMES_UNIQUE, "worker_queues[1].name", "\"a\" is used twice");
        at_two.refuse(&PLATFORM_KEYS, "environment_variables[0].key", "set by the platform");
        let undeclared: Vec<_> = at_two.undeclared().map(|r| r.rule().id()).collect();
        assert_eq!(undeclared, ["platform_environment_keys"]);
        assert_eq!(at_two.rule_ids(), ["queue_names_unique", "platform_environment_keys"]);
        assert!(!at_two.applies(&PLATFORM_KEYS));
        assert!(Refusals::new(V4).applies(&PLATFORM_KEYS));
        assert_eq!(ApiVersion::parse("4.0.0"), Some(V4));
        assert_eq!(ApiVersion::parse("4.0"), None);
        assert_eq!(ApiVersion::parse("4.0.0.1"), None);
    }
}
