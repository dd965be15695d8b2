//! What a deployment spec must be before Harmony stores it: each rule
//! named with its field, every problem reported at once (a 400 names them
//! all), and the small checks the rest of the application shares.

use super::{HarmonyError, OWNER_LABEL};
use deployment_rules::{ApiVersion, Refusals, Rule, rule};
use harmony_api::latest::{DataPlane, DataPlaneKind, DeploymentSpec, Executor};
use std::collections::BTreeSet;

pub(super) fn validate_spec(
    spec: &DeploymentSpec,
    plane: Option<&DataPlane>,
    previous: Option<&DeploymentSpec>,
    at: ApiVersion,
) -> Result<(), HarmonyError> {
    let mut refusals = Refusals::new(at);
    let p = &mut refusals;
    use deployment_rules as rules;
    p.check(&rule::NAME_TEXT, "name", rules::free_text(&spec.name));
    p.check(&rule::IMAGE_TAG, "image_tag", rules::image_tag(&spec.image_tag));
    if let Some(version) = &spec.dag_bundle_version {
        p.check(&rule::BUNDLE_VERSION, "dag_bundle_version", rules::bundle_version(version));
    }
    if spec.generation == 0 || spec.generation > rules::MAX_GENERATION {
        let detail = format!("must be 1 to {}", rules::MAX_GENERATION);
        p.refuse(&rule::GENERATION_RANGE, "generation", detail);
    }
    bound(p, rules::NAME_LENGTH, "name", spec.name.chars().count() as u64);
    check_dns_label(p, &rule::DATA_PLANE_ID, "data_plane_id", &spec.data_plane_id);
    for (field, value) in [
        ("organization_id", &spec.organization_id),
        ("workspace_id", &spec.workspace_id),
        ("runtime_version", &spec.runtime_version),
    ] {
        check_written(p, &rule::WRITTEN_IDENTIFIERS, field, value);
    }
    bound(p, rules::WORKER_QUEUES, "worker_queues", spec.worker_queues.len() as u64);
    match plane {
        None => {}
        Some(plane) if plane.kind != spec.kind => p.refuse(
            &rule::KIND_MATCHES_PLANE,
            "kind",
            format!(
                "{:?} deployment cannot run on {:?} data plane {}",
                spec.kind, plane.kind, plane.id
            ),
        ),
        Some(plane) => {
            // A data plane registered with an owner takes only its owner's
            // deployments, whatever a caller says (astro-api checks first).
            if let Some(owner) = plane.labels.get(OWNER_LABEL)
                && *owner != spec.organization_id
            {
                p.refuse(
                    &rule::PLANE_OWNER,
                    "organization_id",
                    format!("data plane {} belongs to another organization", plane.id),
                );
            }
        }
    }
    if let Some(previous) = previous {
        for (field, old, new) in [
            ("data_plane_id", &previous.data_plane_id, &spec.data_plane_id),
            ("organization_id", &previous.organization_id, &spec.organization_id),
            ("workspace_id", &previous.workspace_id, &spec.workspace_id),
        ] {
            if old != new {
                p.refuse(&rule::IDENTITY_IMMUTABLE, field, format!("cannot change (is {old:?})"));
            }
        }
        if previous.kind != spec.kind {
            let detail = format!("cannot change (is {:?})", previous.kind);
            p.refuse(&rule::IDENTITY_IMMUTABLE, "kind", detail);
        }
    }
    match spec.kind {
        DataPlaneKind::Hybrid => {
            if spec.executor == Executor::Astro {
                p.refuse(
                    &rule::HYBRID_EXECUTOR,
                    "executor",
                    "ASTRO is not available on HYBRID data planes",
                );
            }
            match spec.scheduler {
                None => p.refuse(
                    &rule::HYBRID_SCHEDULER,
                    "scheduler",
                    "required for HYBRID deployments",
                ),
                Some(s) => {
                    bound(p, rules::SCHEDULER_AU, rules::SCHEDULER_AU.field, s.au.into());
                    bound(
                        p,
                        rules::SCHEDULER_REPLICAS,
                        rules::SCHEDULER_REPLICAS.field,
                        s.replicas.into(),
                    );
                }
            }
            if spec.scheduler_size.is_some() {
                p.refuse(&rule::HYBRID_SCHEDULER, "scheduler_size", "HOSTED deployments only");
            }
            if spec.is_high_availability {
                p.refuse(
                    &rule::HYBRID_SCHEDULER,
                    "is_high_availability",
                    "HOSTED deployments only",
                );
            }
        }
        DataPlaneKind::Hosted => {
            if spec.scheduler_size.is_none() {
                p.refuse(
                    &rule::HOSTED_SCHEDULER,
                    "scheduler_size",
                    "required for HOSTED deployments",
                );
            }
            if spec.scheduler.is_some() {
                p.refuse(&rule::HOSTED_SCHEDULER, "scheduler", "HYBRID deployments only");
            }
        }
    }
    let mut names = BTreeSet::new();
    let defaults = spec.worker_queues.iter().filter(|q| q.is_default).count();
    if defaults != 1 {
        let detail = format!("exactly one default queue required, found {defaults}");
        p.refuse(&rule::ONE_DEFAULT_QUEUE, "worker_queues", detail);
    }
    if spec.executor == Executor::Kubernetes && spec.worker_queues.len() > 1 {
        p.refuse(
            &rule::KUBERNETES_ONE_QUEUE,
            "worker_queues",
            "the KUBERNETES executor takes only the default queue",
        );
    }
    let parallelism = rules::parallelism(
        spec.worker_queues.iter().map(|q| (q.max_worker_count.into(), q.worker_concurrency.into())),
    );
    if parallelism > rules::MAX_PARALLELISM {
        p.refuse(
            &rule::PARALLELISM,
            "worker_queues",
            format!(
                "the sum of max_worker_count x worker_concurrency (Airflow's parallelism) must \
                 be at most {}, got {parallelism}",
                rules::MAX_PARALLELISM
            ),
        );
    }
    for (i, q) in spec.worker_queues.iter().enumerate() {
        let field = format!("worker_queues[{i}]");
        check_dns_label(p, &rule::QUEUE_NAME, &format!("{field}.name"), &q.name);
        if !names.insert(q.name.as_str()) {
            let detail = format!("duplicate queue name {:?}", q.name);
            p.refuse(&rule::QUEUE_NAMES_UNIQUE, format!("{field}.name"), detail);
        }
        if q.is_default && q.name != "default" {
            let detail = "the default queue must be named \"default\"";
            p.refuse(&rule::ONE_DEFAULT_QUEUE, format!("{field}.name"), detail);
        }
        for (bound_, name, value) in [
            (rules::MAX_WORKER_COUNT, "max_worker_count", q.max_worker_count),
            (rules::MIN_WORKER_COUNT, "min_worker_count", q.min_worker_count),
            (rules::WORKER_CONCURRENCY, "worker_concurrency", q.worker_concurrency),
        ] {
            bound(p, bound_, &format!("{field}.{name}"), value.into());
        }
        if q.min_worker_count > q.max_worker_count {
            let detail = "must not exceed max_worker_count";
            p.refuse(&rule::WORKER_COUNT_ORDER, format!("{field}.min_worker_count"), detail);
        }
        match spec.kind {
            DataPlaneKind::Hosted => {
                if q.astro_machine.is_none() {
                    let detail = "required on HOSTED queues";
                    p.refuse(&rule::HOSTED_QUEUE, format!("{field}.astro_machine"), detail);
                }
                if q.node_pool_id.is_some() {
                    let detail = "HYBRID queues only";
                    p.refuse(&rule::HOSTED_QUEUE, format!("{field}.node_pool_id"), detail);
                }
            }
            DataPlaneKind::Hybrid => {
                match q.node_pool_id.as_deref() {
                    None | Some("") => p.refuse(
                        &rule::HYBRID_QUEUE,
                        format!("{field}.node_pool_id"),
                        "required on HYBRID queues",
                    ),
                    Some(pool) => p.check(
                        &rule::NODE_POOL_ID,
                        format!("{field}.node_pool_id"),
                        rules::node_pool_id(pool),
                    ),
                }
                if q.astro_machine.is_some() {
                    let detail = "HOSTED queues only";
                    p.refuse(&rule::HYBRID_QUEUE, format!("{field}.astro_machine"), detail);
                }
            }
        }
    }
    let mut keys = BTreeSet::new();
    let sizes = spec
        .environment_variables
        .iter()
        .map(|v| (v.key.as_str(), v.value.as_deref().map_or(0, str::len)));
    for (i, problem) in rules::environment_sizes(sizes) {
        match i {
            Some(i) => p.refuse(
                &rule::ENVIRONMENT_SIZE,
                format!("environment_variables[{i}].value"),
                problem.strip_prefix("value: ").unwrap_or(&problem),
            ),
            None => p.refuse(&rule::ENVIRONMENT_SIZE, "environment_variables", problem),
        }
    }
    for (i, var) in spec.environment_variables.iter().enumerate() {
        let field = format!("environment_variables[{i}].key");
        p.check(&rule::ENVIRONMENT_KEY, field.clone(), rules::environment_key(&var.key));
        if !keys.insert(var.key.as_str()) {
            p.refuse(
                &rule::ENVIRONMENT_KEYS_UNIQUE,
                field.clone(),
                format!("duplicate key {:?}", var.key),
            );
        }
        // From 4.0.0 a key the platform sets is refused; older versions'
        // requests keep carrying it, and it is not rendered (`render`).
        if p.applies(&rule::PLATFORM_KEYS) && rules::platform_key(&var.key) {
            let detail =
                format!("{:?} is set by the platform for every Airflow container", var.key);
            p.refuse(&rule::PLATFORM_KEYS, field, detail);
        }
    }
    // From 4.0.0 (older versions' specs carry none: absent, as they are).
    let emails = spec.contact_emails.as_deref().unwrap_or_default();
    for problem in rules::contact_email_problems(emails) {
        use rules::ContactEmailProblem as E;
        match problem {
            E::TooMany(n) => {
                let detail = format!("{n} addresses; at most {}", rules::MAX_CONTACT_EMAILS);
                p.refuse(&rule::CONTACT_EMAILS_COUNT, "contact_emails", detail);
            }
            E::Grammar(i, why) => {
                p.refuse(&rule::CONTACT_EMAIL, format!("contact_emails[{i}]"), why)
            }
            E::Repeated(i) => p.refuse(
                &rule::CONTACT_EMAILS_UNIQUE,
                format!("contact_emails[{i}]"),
                "listed twice",
            ),
        }
    }
    refusals.into_result().map_err(HarmonyError::Invalid)
}

/// A numeric bound of `deployment_rules::BOUNDS`, refused by its rule.
fn bound(p: &mut Refusals, bound: deployment_rules::Bound, field: &str, value: u64) {
    if let Err(detail) = bound.check(value) {
        p.refuse(bound.rule, field, detail);
    }
}

/// Text that must say something: not blank, no control characters
/// (`deployment_rules::written_text`, which 4.0.0 schemas state).
pub(crate) fn check_written(p: &mut Refusals, rule: &'static Rule, field: &str, value: &str) {
    p.check(rule, field, deployment_rules::written_text(value));
}

/// Kubernetes names: lowercase alphanumerics and '-', 1 to 63 characters,
/// starting and ending with an alphanumeric.
pub(crate) fn is_dns_label(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 63
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-')
}

pub(crate) fn check_dns_label(p: &mut Refusals, rule: &'static Rule, field: &str, value: &str) {
    if !is_dns_label(value) {
        p.refuse(
            rule,
            field,
            format!(
                "must be 1 to 63 lowercase letters, digits or '-', starting and ending with a \
                 letter or digit; got {value:?}"
            ),
        );
    }
}
