//! What a deployment spec must be before Harmony stores it: each rule
//! named with its field, every problem reported at once (a 400 names them
//! all), and the small checks the rest of the application shares.

use super::{HarmonyError, OWNER_LABEL};
use harmony_api::latest::{DataPlane, DataPlaneKind, DeploymentSpec, Executor};
use std::collections::BTreeSet;

pub(super) fn validate_spec(
    spec: &DeploymentSpec,
    plane: Option<&DataPlane>,
    previous: Option<&DeploymentSpec>,
) -> Result<(), HarmonyError> {
    let mut problems = Vec::new();
    let p = &mut problems;
    use deployment_rules as rules;
    let mut rule = |field: &str, checked: Result<(), &str>| {
        if let Err(rule) = checked {
            p.push(format!("{field}: {rule}"));
        }
    };
    rule("name", rules::free_text(&spec.name));
    rule("image_tag", rules::image_tag(&spec.image_tag));
    if let Some(version) = &spec.dag_bundle_version {
        rule("dag_bundle_version", rules::bundle_version(version));
    }
    if spec.generation == 0 || spec.generation > rules::MAX_GENERATION {
        p.push(format!("generation: must be 1 to {}", rules::MAX_GENERATION));
    }
    if let Err(rule) = rules::NAME_LENGTH.check(spec.name.chars().count() as u64) {
        p.push(format!("name: {rule} characters"));
    }
    check_dns_label(p, "data_plane_id", &spec.data_plane_id);
    check_written(p, "organization_id", &spec.organization_id);
    check_written(p, "workspace_id", &spec.workspace_id);
    check_written(p, "runtime_version", &spec.runtime_version);
    if spec.worker_queues.len() > rules::MAX_WORKER_QUEUES {
        p.push(format!("worker_queues: at most {} queues", rules::MAX_WORKER_QUEUES));
    }
    match plane {
        None => {}
        Some(plane) if plane.kind != spec.kind => p.push(format!(
            "kind: {:?} deployment cannot run on {:?} data plane {}",
            spec.kind, plane.kind, plane.id
        )),
        Some(plane) => {
            // A data plane registered with an owner takes only its owner's
            // deployments, whatever a caller says (astro-api checks first).
            if let Some(owner) = plane.labels.get(OWNER_LABEL)
                && *owner != spec.organization_id
            {
                p.push(format!(
                    "organization_id: data plane {} belongs to another organization",
                    plane.id
                ));
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
                p.push(format!("{field}: cannot change (is {old:?})"));
            }
        }
        if previous.kind != spec.kind {
            p.push(format!("kind: cannot change (is {:?})", previous.kind));
        }
    }
    match spec.kind {
        DataPlaneKind::Hybrid => {
            if spec.executor == Executor::Astro {
                p.push("executor: ASTRO is not available on HYBRID data planes".to_owned());
            }
            match spec.scheduler {
                None => p.push("scheduler: required for HYBRID deployments".to_owned()),
                Some(s) => {
                    for (bound, value) in
                        [(rules::SCHEDULER_AU, s.au), (rules::SCHEDULER_REPLICAS, s.replicas)]
                    {
                        if let Err(rule) = bound.check(value.into()) {
                            p.push(format!("{}: {rule}", bound.field));
                        }
                    }
                }
            }
            if spec.scheduler_size.is_some() {
                p.push("scheduler_size: HOSTED deployments only".to_owned());
            }
            if spec.is_high_availability {
                p.push("is_high_availability: HOSTED deployments only".to_owned());
            }
        }
        DataPlaneKind::Hosted => {
            if spec.scheduler_size.is_none() {
                p.push("scheduler_size: required for HOSTED deployments".to_owned());
            }
            if spec.scheduler.is_some() {
                p.push("scheduler: HYBRID deployments only".to_owned());
            }
        }
    }
    let mut names = BTreeSet::new();
    let defaults = spec.worker_queues.iter().filter(|q| q.is_default).count();
    if defaults != 1 {
        p.push(format!("worker_queues: exactly one default queue required, found {defaults}"));
    }
    if spec.executor == Executor::Kubernetes && spec.worker_queues.len() > 1 {
        p.push("worker_queues: the KUBERNETES executor takes only the default queue".to_owned());
    }
    let parallelism = rules::parallelism(
        spec.worker_queues.iter().map(|q| (q.max_worker_count.into(), q.worker_concurrency.into())),
    );
    if parallelism > rules::MAX_PARALLELISM {
        p.push(format!(
            "worker_queues: the sum of max_worker_count x worker_concurrency (Airflow's \
             parallelism) must be at most {}, got {parallelism}",
            rules::MAX_PARALLELISM
        ));
    }
    for (i, q) in spec.worker_queues.iter().enumerate() {
        let field = format!("worker_queues[{i}]");
        check_dns_label(p, &format!("{field}.name"), &q.name);
        if !names.insert(q.name.as_str()) {
            p.push(format!("{field}.name: duplicate queue name {:?}", q.name));
        }
        if q.is_default && q.name != "default" {
            p.push(format!("{field}.name: the default queue must be named \"default\""));
        }
        for (bound, name, value) in [
            (rules::MAX_WORKER_COUNT, "max_worker_count", q.max_worker_count),
            (rules::MIN_WORKER_COUNT, "min_worker_count", q.min_worker_count),
            (rules::WORKER_CONCURRENCY, "worker_concurrency", q.worker_concurrency),
        ] {
            if let Err(rule) = bound.check(value.into()) {
                p.push(format!("{field}.{name}: {rule}"));
            }
        }
        if q.min_worker_count > q.max_worker_count {
            p.push(format!("{field}.min_worker_count: must not exceed max_worker_count"));
        }
        match spec.kind {
            DataPlaneKind::Hosted => {
                if q.astro_machine.is_none() {
                    p.push(format!("{field}.astro_machine: required on HOSTED queues"));
                }
                if q.node_pool_id.is_some() {
                    p.push(format!("{field}.node_pool_id: HYBRID queues only"));
                }
            }
            DataPlaneKind::Hybrid => {
                match q.node_pool_id.as_deref() {
                    None | Some("") => {
                        p.push(format!("{field}.node_pool_id: required on HYBRID queues"))
                    }
                    Some(pool) => {
                        if let Err(rule) = rules::node_pool_id(pool) {
                            p.push(format!("{field}.node_pool_id: {rule}"));
                        }
                    }
                }
                if q.astro_machine.is_some() {
                    p.push(format!("{field}.astro_machine: HOSTED queues only"));
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
            Some(i) => p.push(format!("environment_variables[{i}].{problem}")),
            None => p.push(format!("environment_variables: {problem}")),
        }
    }
    for (i, var) in spec.environment_variables.iter().enumerate() {
        if let Err(rule) = rules::environment_key(&var.key) {
            p.push(format!("environment_variables[{i}].key: {rule}"));
        }
        if !keys.insert(var.key.as_str()) {
            p.push(format!("environment_variables[{i}].key: duplicate key {:?}", var.key));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(HarmonyError::Invalid(problems)) }
}

/// Text that must say something: not blank, no control characters
/// (`deployment_rules::written_text`, which 4.0.0 schemas state).
pub(crate) fn check_written(p: &mut Vec<String>, field: &str, value: &str) {
    if let Err(rule) = deployment_rules::written_text(value) {
        p.push(format!("{field}: {rule}"));
    }
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

pub(crate) fn check_dns_label(p: &mut Vec<String>, field: &str, value: &str) {
    if !is_dns_label(value) {
        p.push(format!(
            "{field}: must be 1 to 63 lowercase letters, digits or '-', \
             starting and ending with a letter or digit; got {value:?}"
        ));
    }
}
