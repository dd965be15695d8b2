//! The deployment rules of the public API. Every rule that fails is
//! reported, at once, as a field error naming the field and the rule.

use crate::failure::field_error;
use astro_public_api::FieldError;
use astro_public_api::types::{Deployment, DeploymentInput, DeploymentType, Executor};
use deployment_rules as rules;
use deployment_rules::rule as R;

/// A declared rule of astro-api's public API (`deployment_rules::rule`).
type Rule = &'static deployment_rules::Rule;
use std::collections::BTreeSet;

/// Astro Runtime versions a deployment may run (the document states them).
pub use astro_public_api::types::RUNTIME_VERSIONS;

/// Highest `worker_concurrency` a queue may ask for.
pub use astro_public_api::types::MAX_WORKER_CONCURRENCY;

/// Everything these rules accept, for `GET /deployment-options`.
pub fn options() -> astro_public_api::types::DeploymentOptions {
    use astro_public_api::types::{
        AstroMachine as M, DeploymentOptions, Range, SchedulerSize as S,
    };
    DeploymentOptions {
        runtime_releases: RUNTIME_VERSIONS.iter().map(|v| (*v).to_owned()).collect(),
        executors: vec![Executor::Celery, Executor::Kubernetes, Executor::Astro],
        scheduler_sizes: vec![S::Small, S::Medium, S::Large, S::ExtraLarge],
        astro_machines: vec![M::A5, M::A10, M::A20, M::A40, M::A60, M::A120, M::A160],
        scheduler_au: Range { min: SCHEDULER_AU.0.into(), max: SCHEDULER_AU.1.into() },
        scheduler_replicas: Range {
            min: SCHEDULER_REPLICAS.0.into(),
            max: SCHEDULER_REPLICAS.1.into(),
        },
        worker_concurrency: Range { min: 1, max: MAX_WORKER_CONCURRENCY },
        max_name_length: MAX_NAME,
    }
}

/// Hosted resource settings used when a request leaves them out.
pub struct Quotas {
    pub resource_quota_cpu: &'static str,
    pub resource_quota_memory: &'static str,
    pub default_task_pod_cpu: &'static str,
    pub default_task_pod_memory: &'static str,
}

pub const DEFAULT_QUOTAS: Quotas = Quotas {
    resource_quota_cpu: "10",
    resource_quota_memory: "20Gi",
    default_task_pod_cpu: "0.25",
    default_task_pod_memory: "0.5Gi",
};

/// GiB of memory per CPU core, for quotas and default task pods alike.
const MEMORY_GIB_PER_CPU: f64 = 2.0;
const GIB: f64 = (1u64 << 30) as f64;

/// The value of a Kubernetes quantity (`250m`, `0.5`, `1.5Gi`, `2e3`,
/// `128M`), or `None` when it is not one or is not positive.
pub fn quantity(text: &str) -> Option<f64> {
    let split =
        text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let digits = number.strip_prefix('+').unwrap_or(number);
    let well_formed = !digits.is_empty()
        && digits != "."
        && digits.matches('.').count() <= 1
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if !well_formed {
        return None;
    }
    let value: f64 = digits.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => GIB,
        "Ti" => GIB * 1024.0,
        "Pi" => GIB * 1024.0 * 1024.0,
        "Ei" => GIB * 1024.0 * 1024.0 * 1024.0,
        exponent => {
            let power = exponent.strip_prefix(['e', 'E'])?;
            let well_formed = !power.is_empty()
                && power.trim_start_matches(['+', '-']).bytes().all(|b| b.is_ascii_digit())
                && power.trim_start_matches(['+', '-']).len() <= 2;
            if !well_formed {
                return None;
            }
            10f64.powi(power.parse().ok()?)
        }
    };
    let value = value * scale;
    (value.is_finite() && value > 0.0).then_some(value)
}

/// The Hosted resource rules: well-formed quantities, memory twice the CPU
/// (in GiB), each default at most its quota. Hybrid: none may be set.
fn quotas(e: &mut Errors, input: &DeploymentInput) {
    let fields = [
        ("resource_quota_cpu", &input.resource_quota_cpu, DEFAULT_QUOTAS.resource_quota_cpu),
        (
            "resource_quota_memory",
            &input.resource_quota_memory,
            DEFAULT_QUOTAS.resource_quota_memory,
        ),
        ("default_task_pod_cpu", &input.default_task_pod_cpu, DEFAULT_QUOTAS.default_task_pod_cpu),
        (
            "default_task_pod_memory",
            &input.default_task_pod_memory,
            DEFAULT_QUOTAS.default_task_pod_memory,
        ),
    ];
    if input.deployment_type == DeploymentType::Hybrid {
        for (field, value, _) in fields {
            if value.is_some() {
                e.add(
                    &R::PUBLIC_RESOURCES,
                    field,
                    "forbidden",
                    "Hosted deployments only; Hybrid clusters set their own",
                );
            }
        }
        return;
    }
    let mut parsed = [None; 4];
    for (slot, (field, value, default)) in parsed.iter_mut().zip(fields) {
        let text = value.as_deref().unwrap_or(default);
        *slot = quantity(text);
        if slot.is_none() {
            e.add(
                &R::PUBLIC_RESOURCES,
                field,
                "format",
                format!("{text:?} is not a positive Kubernetes quantity (like 2, 500m, 4Gi)"),
            );
        }
    }
    let [quota_cpu, quota_memory, pod_cpu, pod_memory] = parsed;
    let twice = |cpu: f64, memory: f64| {
        let expected = cpu * MEMORY_GIB_PER_CPU * GIB;
        (memory - expected).abs() <= expected * 1e-3
    };
    if let (Some(cpu), Some(memory)) = (quota_cpu, quota_memory)
        && !twice(cpu, memory)
    {
        e.add(
            &R::PUBLIC_RESOURCES,
            "resource_quota_memory",
            "ratio",
            format!("must be {}Gi: twice resource_quota_cpu in GiB", cpu * MEMORY_GIB_PER_CPU),
        );
    }
    if let (Some(cpu), Some(memory)) = (pod_cpu, pod_memory)
        && !twice(cpu, memory)
    {
        e.add(
            &R::PUBLIC_RESOURCES,
            "default_task_pod_memory",
            "ratio",
            format!("must be {}Gi: twice default_task_pod_cpu in GiB", cpu * MEMORY_GIB_PER_CPU),
        );
    }
    if let (Some(pod), Some(quota)) = (pod_cpu, quota_cpu)
        && pod > quota
    {
        e.add(
            &R::PUBLIC_RESOURCES,
            "default_task_pod_cpu",
            "range",
            "must not exceed resource_quota_cpu",
        );
    }
    if let (Some(pod), Some(quota)) = (pod_memory, quota_memory)
        && pod > quota
    {
        e.add(
            &R::PUBLIC_RESOURCES,
            "default_task_pod_memory",
            "range",
            "must not exceed resource_quota_memory",
        );
    }
}

/// Hybrid scheduler Astro Units and replicas, inclusive.
// What Harmony enforces, from the one list both services read.
const SCHEDULER_AU: (u8, u8) = (rules::SCHEDULER_AU.min as u8, rules::SCHEDULER_AU.max as u8);
const SCHEDULER_REPLICAS: (u8, u8) =
    (rules::SCHEDULER_REPLICAS.min as u8, rules::SCHEDULER_REPLICAS.max as u8);
const MAX_NAME: u32 = rules::NAME_LENGTH.max as u32;

struct Errors(Vec<FieldError>);

impl Errors {
    /// `field` refused by `rule` (a declared rule of astro-api's).
    fn add(
        &mut self,
        rule: Rule,
        field: impl Into<String>,
        code: &str,
        message: impl Into<String>,
    ) {
        self.0.push(field_error(rule, field, code, message));
    }

    /// A rule of `deployment_rules`, with its sentence as the message.
    fn rule(&mut self, rule: Rule, field: impl Into<String>, checked: Result<(), &str>) {
        if let Err(detail) = checked {
            self.add(rule, field, "format", detail);
        }
    }

    fn description(&mut self, rule: Rule, description: Option<&str>) {
        if let Some(d) = description {
            if d.chars().count() > rules::MAX_DESCRIPTION {
                self.add(rule, "description", "length", "must be at most 1000 characters");
            }
            self.rule(rule, "description", rules::described_text(d));
        }
    }

    fn length(&mut self, rule: Rule, field: &str, value: &str, max: usize) {
        let len = value.chars().count();
        if len == 0 || len > max {
            self.add(rule, field, "length", format!("must be 1 to {max} characters, got {len}"));
        }
    }
}

/// Checks an input against every rule; with `current`, also the rules of an
/// update (fields that cannot change, secrets that may keep their value).
pub fn deployment(input: &DeploymentInput, current: Option<&Deployment>) -> Vec<FieldError> {
    let mut e = Errors(Vec::new());
    let hybrid = input.deployment_type == DeploymentType::Hybrid;
    let hosted = !hybrid;

    e.length(&R::PUBLIC_WORKSPACE_ID, "workspace_id", &input.workspace_id, 63);
    e.length(&R::PUBLIC_NAME, "name", &input.name, MAX_NAME as usize);
    e.rule(&R::PUBLIC_NAME, "name", rules::name_text(&input.name));
    e.description(&R::PUBLIC_DESCRIPTION, input.description.as_deref());
    if let Some(tag) = &input.image_tag {
        e.rule(&R::PUBLIC_IMAGE_TAG, "image_tag", rules::image_tag(tag));
    }
    for problem in
        rules::contact_email_problems(input.contact_emails.as_deref().unwrap_or_default())
    {
        use rules::ContactEmailProblem as P;
        match problem {
            P::TooMany(n) => {
                let detail = format!("at most {} addresses, got {n}", rules::MAX_CONTACT_EMAILS);
                e.add(&R::PUBLIC_CONTACT_EMAILS_COUNT, "contact_emails", "count", detail);
            }
            P::Grammar(i, why) => {
                e.add(&R::PUBLIC_CONTACT_EMAIL, format!("contact_emails[{i}]"), "format", why)
            }
            P::Repeated(i) => e.add(
                &R::PUBLIC_CONTACT_EMAILS_UNIQUE,
                format!("contact_emails[{i}]"),
                "unique",
                "listed twice",
            ),
        }
    }
    if input.worker_queues.len() > rules::MAX_WORKER_QUEUES {
        e.add(
            &R::PUBLIC_QUEUES_COUNT,
            "worker_queues",
            "count",
            format!(
                "at most {} queues, got {}",
                rules::MAX_WORKER_QUEUES,
                input.worker_queues.len()
            ),
        );
    }

    match input.deployment_type {
        DeploymentType::Standard => {
            if input.cloud_provider.is_none() {
                e.add(
                    &R::PUBLIC_STANDARD_PLACEMENT,
                    "cloud_provider",
                    "required",
                    "required for STANDARD deployments",
                );
            }
            match &input.region {
                None => e.add(
                    &R::PUBLIC_STANDARD_PLACEMENT,
                    "region",
                    "required",
                    "required for STANDARD deployments",
                ),
                Some(region) => e.length(&R::PUBLIC_STANDARD_PLACEMENT, "region", region, 63),
            }
            if input.cluster_id.is_some() {
                e.add(&R::PUBLIC_STANDARD_PLACEMENT,
                    "cluster_id",
                    "forbidden",
                    "STANDARD deployments run on a shared cluster chosen by cloud_provider and region",
                );
            }
        }
        DeploymentType::Dedicated | DeploymentType::Hybrid => {
            match &input.cluster_id {
                None => e.add(
                    &R::PUBLIC_CLUSTER_PLACEMENT,
                    "cluster_id",
                    "required",
                    "required for DEDICATED and HYBRID deployments",
                ),
                Some(id) => e.length(&R::PUBLIC_CLUSTER_PLACEMENT, "cluster_id", id, 63),
            }
            if input.cloud_provider.is_some() {
                e.add(
                    &R::PUBLIC_CLUSTER_PLACEMENT,
                    "cloud_provider",
                    "forbidden",
                    "set by the cluster; STANDARD deployments only",
                );
            }
            if input.region.is_some() {
                e.add(
                    &R::PUBLIC_CLUSTER_PLACEMENT,
                    "region",
                    "forbidden",
                    "set by the cluster; STANDARD deployments only",
                );
            }
        }
    }

    if !RUNTIME_VERSIONS.contains(&input.runtime_version.as_str()) {
        e.add(
            &R::PUBLIC_RUNTIME,
            "runtime_version",
            "one_of",
            format!("must be one of {}", RUNTIME_VERSIONS.join(", ")),
        );
    }
    if hybrid && input.executor == Executor::Astro {
        e.add(
            &R::PUBLIC_HYBRID_SETTINGS,
            "executor",
            "forbidden",
            "ASTRO is not available for HYBRID deployments",
        );
    }

    if hybrid {
        match input.scheduler {
            None => e.add(
                &R::PUBLIC_HYBRID_SETTINGS,
                "scheduler",
                "required",
                "required for HYBRID deployments",
            ),
            Some(s) => {
                let (lo, hi) = SCHEDULER_AU;
                if !(lo..=hi).contains(&s.au) {
                    e.add(
                        &R::PUBLIC_SCHEDULER,
                        "scheduler.au",
                        "range",
                        format!("must be {lo} to {hi}, got {}", s.au),
                    );
                }
                let (lo, hi) = SCHEDULER_REPLICAS;
                if !(lo..=hi).contains(&s.replicas) {
                    e.add(
                        &R::PUBLIC_SCHEDULER,
                        "scheduler.replicas",
                        "range",
                        format!("must be {lo} to {hi}, got {}", s.replicas),
                    );
                }
            }
        }
        if input.scheduler_size.is_some() {
            e.add(
                &R::PUBLIC_HYBRID_SETTINGS,
                "scheduler_size",
                "forbidden",
                "Hosted deployments only; HYBRID uses scheduler",
            );
        }
        if input.is_high_availability {
            e.add(
                &R::PUBLIC_HYBRID_SETTINGS,
                "is_high_availability",
                "forbidden",
                "Hosted deployments only",
            );
        }
        if input.is_development_mode {
            e.add(
                &R::PUBLIC_HYBRID_SETTINGS,
                "is_development_mode",
                "forbidden",
                "Hosted deployments only",
            );
        }
    } else {
        if input.scheduler_size.is_none() {
            e.add(
                &R::PUBLIC_HOSTED_SETTINGS,
                "scheduler_size",
                "required",
                "required for STANDARD and DEDICATED deployments",
            );
        }
        if input.scheduler.is_some() {
            e.add(
                &R::PUBLIC_HOSTED_SETTINGS,
                "scheduler",
                "forbidden",
                "HYBRID deployments only; Hosted uses scheduler_size",
            );
        }
    }

    quotas(&mut e, input);

    let defaults = input.worker_queues.iter().filter(|q| q.is_default).count();
    if defaults != 1 {
        e.add(
            &R::PUBLIC_DEFAULT_QUEUE,
            "worker_queues",
            "default_queue",
            format!("exactly one default queue is required, found {defaults}"),
        );
    }
    if input.executor == Executor::Kubernetes && input.worker_queues.len() > 1 {
        e.add(
            &R::PUBLIC_KUBERNETES_ONE_QUEUE,
            "worker_queues",
            "forbidden",
            "the KUBERNETES executor takes only the default queue",
        );
    }
    let parallelism = rules::parallelism(
        input
            .worker_queues
            .iter()
            .map(|q| (q.max_worker_count.into(), q.worker_concurrency.into())),
    );
    if parallelism > rules::MAX_PARALLELISM {
        e.add(
            &R::PUBLIC_PARALLELISM,
            "worker_queues",
            "parallelism",
            format!(
                "the sum of max_worker_count x worker_concurrency (Airflow's parallelism) must be \
                 at most {}, got {parallelism}",
                rules::MAX_PARALLELISM
            ),
        );
    }
    let mut names = BTreeSet::new();
    for (i, q) in input.worker_queues.iter().enumerate() {
        let f = |name: &str| format!("worker_queues[{i}].{name}");
        if q.name.is_empty()
            || q.name.len() > 63
            || !q.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            || q.name.starts_with('-')
            || q.name.ends_with('-')
        {
            e.add(
                &R::PUBLIC_QUEUE_NAME,
                f("name"),
                "format",
                format!("must be 1 to 63 lowercase letters, digits or '-', got {:?}", q.name),
            );
        }
        if !names.insert(q.name.as_str()) {
            e.add(
                &R::PUBLIC_QUEUE_NAMES_UNIQUE,
                f("name"),
                "unique",
                format!("queue name {:?} is used twice", q.name),
            );
        }
        if q.is_default && q.name != "default" {
            e.add(
                &R::PUBLIC_DEFAULT_QUEUE,
                f("name"),
                "default_queue",
                "the default queue must be named \"default\"",
            );
        }
        for (field, value, min) in [
            ("min_worker_count", q.min_worker_count, 0),
            ("max_worker_count", q.max_worker_count, 1),
        ] {
            // Worker counts become replicas: a Kubernetes int32.
            if !(min..=rules::INT32_MAX).contains(&u64::from(value)) {
                e.add(
                    &R::PUBLIC_WORKER_COUNTS,
                    f(field),
                    "range",
                    format!("must be {min} to {}, got {value}", rules::INT32_MAX),
                );
            }
        }
        if q.min_worker_count > q.max_worker_count {
            e.add(
                &R::PUBLIC_WORKER_COUNTS,
                f("min_worker_count"),
                "range",
                format!(
                    "must not exceed max_worker_count ({} > {})",
                    q.min_worker_count, q.max_worker_count
                ),
            );
        }
        if !(1..=MAX_WORKER_CONCURRENCY).contains(&q.worker_concurrency) {
            e.add(
                &R::PUBLIC_WORKER_CONCURRENCY,
                f("worker_concurrency"),
                "range",
                format!("must be 1 to {MAX_WORKER_CONCURRENCY}, got {}", q.worker_concurrency),
            );
        }
        if hosted {
            if q.astro_machine.is_none() {
                e.add(
                    &R::PUBLIC_QUEUE_PLACEMENT,
                    f("astro_machine"),
                    "required",
                    "required on Hosted queues",
                );
            }
            if q.node_pool_id.is_some() {
                e.add(
                    &R::PUBLIC_QUEUE_PLACEMENT,
                    f("node_pool_id"),
                    "forbidden",
                    "HYBRID queues only",
                );
            }
        } else {
            match q.node_pool_id.as_deref() {
                None | Some("") => e.add(
                    &R::PUBLIC_QUEUE_PLACEMENT,
                    f("node_pool_id"),
                    "required",
                    "required on HYBRID queues",
                ),
                Some(pool) => {
                    e.rule(&R::PUBLIC_QUEUE_PLACEMENT, f("node_pool_id"), rules::node_pool_id(pool))
                }
            }
            if q.astro_machine.is_some() {
                e.add(
                    &R::PUBLIC_QUEUE_PLACEMENT,
                    f("astro_machine"),
                    "forbidden",
                    "Hosted queues only",
                );
            }
        }
    }

    let mut keys = BTreeSet::new();
    let sizes = input
        .environment_variables
        .iter()
        .map(|v| (v.key.as_str(), v.value.as_deref().map_or(0, str::len)));
    for (i, problem) in rules::environment_sizes(sizes) {
        match i {
            Some(i) => e.add(
                &R::PUBLIC_ENVIRONMENT,
                format!("environment_variables[{i}].value"),
                "length",
                problem,
            ),
            None => e.add(&R::PUBLIC_ENVIRONMENT, "environment_variables", "length", problem),
        }
    }
    for (i, var) in input.environment_variables.iter().enumerate() {
        let f = |name: &str| format!("environment_variables[{i}].{name}");
        e.rule(&R::PUBLIC_ENVIRONMENT, f("key"), rules::environment_key(&var.key));
        if !keys.insert(var.key.as_str()) {
            e.add(
                &R::PUBLIC_ENVIRONMENT,
                f("key"),
                "unique",
                format!("key {:?} is used twice", var.key),
            );
        }
        // Harmony's rule platform_environment_keys (4.0.0): refused for a
        // new key; one a deployment already carries is kept (and never
        // sent to Harmony, which would not render it).
        let carried =
            current.is_some_and(|c| c.environment_variables.iter().any(|old| old.key == var.key));
        if rules::platform_key(&var.key) && !carried {
            e.add(
                &R::PUBLIC_PLATFORM_KEYS,
                f("key"),
                "reserved",
                format!("{:?} is set by the platform for every Airflow container", var.key),
            );
        }
        if var.value.is_none() {
            let kept = current.is_some_and(|c| {
                c.environment_variables.iter().any(|old| old.key == var.key && old.is_secret)
            });
            if !var.is_secret {
                e.add(
                    &R::PUBLIC_ENVIRONMENT,
                    f("value"),
                    "required",
                    "required for a variable that is not secret",
                );
            } else if !kept {
                e.add(&R::PUBLIC_ENVIRONMENT, f("value"), "required", "required for a new secret");
            }
        }
    }

    if let Some(current) = current {
        if input.workspace_id != current.workspace_id {
            e.add(
                &R::PUBLIC_IMMUTABLE,
                "workspace_id",
                "immutable",
                format!("cannot change (is {:?})", current.workspace_id),
            );
        }
        if input.deployment_type != current.deployment_type {
            e.add(
                &R::PUBLIC_IMMUTABLE,
                "type",
                "immutable",
                format!("cannot change (is {:?})", current.deployment_type),
            );
        }
        if input.cluster_id != current.cluster_id {
            e.add(
                &R::PUBLIC_IMMUTABLE,
                "cluster_id",
                "immutable",
                "cannot change; create a new deployment instead",
            );
        }
        if input.cloud_provider != current.cloud_provider || input.region != current.region {
            e.add(
                &R::PUBLIC_IMMUTABLE,
                "region",
                "immutable",
                "cloud_provider and region cannot change",
            );
        }
        if input.is_development_mode && !current.is_development_mode {
            e.add(
                &R::PUBLIC_IMMUTABLE,
                "is_development_mode",
                "immutable",
                "cannot be switched on after creation",
            );
        }
    }
    e.0
}

/// The rules of a deploy, against the deployment it targets.
pub fn deploy(
    input: &astro_public_api::types::DeployInput,
    deployment: &Deployment,
) -> Vec<FieldError> {
    use astro_public_api::types::DeployType;
    let mut e = Errors(Vec::new());
    let (wants_image, wants_dags) = match input.deploy_type {
        DeployType::ImageAndDag => (true, true),
        DeployType::ImageOnly => (true, false),
        DeployType::DagOnly => (false, true),
    };
    match (&input.image_tag, wants_image) {
        (None, true) => e.add(
            &R::PUBLIC_DEPLOY_CONTENT,
            "image_tag",
            "required",
            "required for IMAGE_AND_DAG and IMAGE_ONLY deploys",
        ),
        (Some(_), false) => e.add(
            &R::PUBLIC_DEPLOY_CONTENT,
            "image_tag",
            "forbidden",
            "a DAG_ONLY deploy keeps the current image",
        ),
        (Some(tag), true) => e.rule(&R::PUBLIC_DEPLOY_CONTENT, "image_tag", rules::image_tag(tag)),
        (None, false) => {}
    }
    match (&input.dag_tarball_version, wants_dags) {
        (None, true) => e.add(
            &R::PUBLIC_DEPLOY_CONTENT,
            "dag_tarball_version",
            "required",
            "required for IMAGE_AND_DAG and DAG_ONLY deploys",
        ),
        (Some(_), false) => e.add(
            &R::PUBLIC_DEPLOY_CONTENT,
            "dag_tarball_version",
            "forbidden",
            "an IMAGE_ONLY deploy carries no DAGs",
        ),
        (Some(version), true) => {
            e.rule(&R::PUBLIC_DEPLOY_CONTENT, "dag_tarball_version", rules::bundle_version(version))
        }
        (None, false) => {}
    }
    if input.deploy_type == DeployType::DagOnly && !deployment.is_dag_deploy_enabled {
        e.add(
            &R::PUBLIC_DAG_ONLY,
            "type",
            "forbidden",
            "DAG_ONLY deploys need DAG deploys enabled on the deployment",
        );
    }
    e.description(&R::PUBLIC_DEPLOY_DESCRIPTION, input.description.as_deref());
    e.0
}

#[cfg(test)]
mod tests {
    use super::quantity;

    /// astro-api's public limits are never wider than what Harmony takes
    /// (the one list Harmony's validation runs): what astro-api accepts,
    /// every live Harmony accepts.
    #[test]
    fn public_limits_are_never_wider_than_harmonys() {
        use deployment_rules as rules;
        let public = super::options();
        let within = |bound: rules::Bound, min: u64, max: u64| {
            assert!(
                bound.min <= min && max <= bound.max,
                "{}: {min}..={max} vs {bound:?}",
                bound.field
            );
        };
        within(rules::SCHEDULER_AU, public.scheduler_au.min.into(), public.scheduler_au.max.into());
        within(
            rules::SCHEDULER_REPLICAS,
            public.scheduler_replicas.min.into(),
            public.scheduler_replicas.max.into(),
        );
        within(
            rules::WORKER_CONCURRENCY,
            public.worker_concurrency.min.into(),
            public.worker_concurrency.max.into(),
        );
        within(rules::NAME_LENGTH, 1, public.max_name_length.into());
    }

    /// The document states the quantity grammar (`QUANTITY_PATTERN`, as
    /// ECMAScript reads it): it takes exactly what `quantity` takes.
    #[test]
    fn the_quantity_pattern_is_the_function() {
        let regex = regress::Regex::new(astro_public_api::types::QUANTITY_PATTERN).unwrap();
        let alphabet: Vec<char> = "0159.+-eEmkMGTPiK x".chars().collect();
        let mut samples: Vec<String> = [
            "", ".", "0", "0.0", "1.", ".5", "+.5", "1e99", "1e100", "1e-99", "2Gi", "0.5Gi",
            "1Ei", "1e", "1e+", "1e+-5", "++1", "1+2", "0e5", "500m",
        ]
        .map(str::to_owned)
        .to_vec();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..50_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = 1 + (state % 6) as usize;
            samples.push(
                (0..len)
                    .map(|i| alphabet[((state >> (7 * i)) % alphabet.len() as u64) as usize])
                    .collect(),
            );
        }
        for sample in &samples {
            assert_eq!(
                regex.find(sample).is_some(),
                quantity(sample).is_some(),
                "the pattern and quantity() disagree on {sample:?}"
            );
        }
    }

    #[test]
    fn kubernetes_quantities() {
        let gib = (1u64 << 30) as f64;
        for (text, value) in [
            ("2", 2.0),
            ("500m", 0.5),
            ("0.25", 0.25),
            ("+1", 1.0),
            ("4Gi", 4.0 * gib),
            ("512Mi", 0.5 * gib),
            ("1.5G", 1.5e9),
            ("2e3", 2000.0),
            ("1E-3", 0.001),
        ] {
            assert_eq!(quantity(text), Some(value), "{text}");
        }
        for text in ["", "1.5.0", "-1", "0", "Gi", "1GB", "1e", "1e999", ".", "1 Gi", "0.0"] {
            assert_eq!(quantity(text), None, "{text:?}");
        }
    }
}
