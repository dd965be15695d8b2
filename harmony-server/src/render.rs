//! Renders a deployment's desired state into Kubernetes objects.
//!
//! Rendering is a pure function of its input (the spec without its
//! generation, the data plane's kind and platform release, and
//! [`RENDERER`]), so the same input always gives byte-identical objects and
//! the same [`Rendered::input_hash`]; the caller makes no new revision for an
//! unchanged hash.
//!
//! The set is the minimal realistic one: Namespace, a ConfigMap with
//! `airflow.cfg`, a Secret for secret environment variables, the scheduler
//! and API server Deployments, and with CELERY or ASTRO one worker Deployment
//! per queue. Secret values appear only in the Secret object, never in the
//! ConfigMap or a pod spec (pods reference them with `secretKeyRef`).

use crate::store::StoredObject;
use harmony_api::latest::{
    AstroMachine, DataPlane, DataPlaneKind, DeploymentSpec, Executor, ManifestObject,
    SchedulerSize, WorkerQueue,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use uuid::Uuid;

/// Version of the rendering code; part of every input hash, so a change to
/// the templates makes a new revision even for an unchanged spec.
pub const RENDERER: &str = "harmony-render/1";

const SECRET_NAME: &str = "airflow-env-secrets";
const CONFIG_NAME: &str = "airflow-config";

pub struct Rendered {
    pub input_hash: String,
    pub objects: Vec<StoredObject>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The namespace a deployment's objects live in.
pub fn namespace(id: Uuid) -> String {
    format!("airflow-{}", id.simple())
}

/// Hash of everything rendering depends on. The generation is left out: a
/// re-sent or bumped generation with an unchanged spec renders the same.
pub fn input_hash(id: Uuid, spec: &DeploymentSpec, plane: &DataPlane) -> String {
    #[derive(serde::Serialize)]
    struct Input<'a> {
        renderer: &'static str,
        deployment_id: Uuid,
        data_plane_kind: DataPlaneKind,
        platform_release: &'a str,
        spec: &'a DeploymentSpec,
    }
    let mut spec = spec.clone();
    spec.generation = 0;
    let input = Input {
        renderer: RENDERER,
        deployment_id: id,
        data_plane_kind: plane.kind,
        platform_release: &plane.platform_release,
        spec: &spec,
    };
    // Serializing a plain struct cannot fail.
    sha256_hex(&serde_json::to_vec(&input).unwrap_or_default())
}

pub fn render(id: Uuid, spec: &DeploymentSpec, plane: &DataPlane) -> Rendered {
    let ns = namespace(id);
    let labels = json!({
        "app.kubernetes.io/part-of": "airflow",
        "astronomer.io/deployment-id": id.to_string(),
        "astronomer.io/platform-release": plane.platform_release,
    });
    let image = format!("images.astronomer.internal/{}/airflow:{}", id.simple(), spec.image_tag);
    let env = pod_env(spec);
    let mut objects = vec![
        json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": { "name": ns, "labels": labels },
        }),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": { "name": CONFIG_NAME, "namespace": ns, "labels": labels },
            "data": { "airflow.cfg": airflow_cfg(spec, &ns) },
        }),
    ];
    let secrets: serde_json::Map<String, Value> = spec
        .environment_variables
        .iter()
        .filter(|v| v.is_secret)
        .map(|v| (v.key.clone(), Value::String(v.value.clone().unwrap_or_default())))
        .collect();
    if !secrets.is_empty() {
        objects.push(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": { "name": SECRET_NAME, "namespace": ns, "labels": labels },
            "type": "Opaque",
            "stringData": secrets,
        }));
    }
    let (cpu, memory) = scheduler_resources(spec);
    let scheduler_replicas = match (plane.kind, spec.scheduler) {
        (DataPlaneKind::Hybrid, Some(s)) => u32::from(s.replicas),
        _ if spec.is_high_availability => 2,
        _ => 1,
    };
    objects.push(workload(
        &ns,
        &labels,
        "scheduler",
        scheduler_replicas,
        &image,
        &["airflow", "scheduler"],
        &env,
        &cpu,
        &memory,
        None,
    ));
    objects.push(workload(
        &ns,
        &labels,
        "api-server",
        if spec.is_high_availability { 2 } else { 1 },
        &image,
        &["airflow", "api-server"],
        &env,
        "500m",
        "1Gi",
        None,
    ));
    if spec.executor != Executor::Kubernetes {
        for queue in &spec.worker_queues {
            let (cpu, memory) = worker_resources(queue);
            let mut worker_env = env.clone();
            worker_env.push(json!({
                "name": "AIRFLOW__CELERY__WORKER_CONCURRENCY",
                "value": queue.worker_concurrency.to_string(),
            }));
            let mut queue_labels = labels.clone();
            queue_labels["astronomer.io/queue"] = json!(queue.name);
            objects.push(workload(
                &ns,
                &queue_labels,
                &format!("worker-{}", queue.name),
                queue.min_worker_count,
                &image,
                &["airflow", "celery", "worker", "--queues", &queue.name],
                &worker_env,
                &cpu,
                &memory,
                Some(node_selector(queue)),
            ));
        }
    }
    Rendered {
        input_hash: input_hash(id, spec, plane),
        objects: objects.into_iter().map(describe).collect(),
    }
}

fn describe(body: Value) -> StoredObject {
    let text = |pointer: &str| body.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
    let kind = text("/kind").unwrap_or_default();
    let meta = ManifestObject {
        api_version: text("/apiVersion").unwrap_or_default(),
        namespace: text("/metadata/namespace"),
        name: text("/metadata/name").unwrap_or_default(),
        hash: sha256_hex(&serde_json::to_vec(&body).unwrap_or_default()),
        // Filled in per response; a Secret's body is never handed out here.
        manifest: None,
        kind,
    };
    StoredObject { meta, body }
}

fn pod_env(spec: &DeploymentSpec) -> Vec<Value> {
    spec.environment_variables
        .iter()
        .map(|v| {
            if v.is_secret {
                json!({
                    "name": v.key,
                    "valueFrom": { "secretKeyRef": { "name": SECRET_NAME, "key": v.key } },
                })
            } else {
                json!({ "name": v.key, "value": v.value.clone().unwrap_or_default() })
            }
        })
        .collect()
}

fn executor_class(executor: Executor) -> &'static str {
    match executor {
        Executor::Celery => "CeleryExecutor",
        Executor::Kubernetes => "KubernetesExecutor",
        Executor::Astro => "astronomer.executors.AstroExecutor",
    }
}

fn airflow_cfg(spec: &DeploymentSpec, namespace: &str) -> String {
    let parallelism: u64 = spec
        .worker_queues
        .iter()
        .map(|q| u64::from(q.max_worker_count) * u64::from(q.worker_concurrency))
        .sum();
    let mut cfg = String::new();
    let _ = writeln!(cfg, "[core]");
    let _ = writeln!(cfg, "executor = {}", executor_class(spec.executor));
    let _ = writeln!(cfg, "dags_folder = /usr/local/airflow/dags");
    let _ = writeln!(cfg, "parallelism = {}", parallelism.max(1));
    let _ = writeln!(cfg, "load_examples = False");
    let _ = writeln!(cfg);
    let _ = writeln!(cfg, "[scheduler]");
    let _ = writeln!(cfg, "standalone_dag_processor = True");
    if let Some(version) = &spec.dag_bundle_version {
        let _ = writeln!(cfg);
        let _ = writeln!(cfg, "[dag_processor]");
        let _ = writeln!(cfg, "bundle_version = {version}");
    }
    if spec.executor != Executor::Kubernetes {
        let default = spec.worker_queues.iter().find(|q| q.is_default);
        let _ = writeln!(cfg);
        let _ = writeln!(cfg, "[celery]");
        let _ = writeln!(cfg, "broker_url_secret = airflow-broker");
        if let Some(queue) = default {
            let _ = writeln!(cfg, "default_queue = {}", queue.name);
            let _ = writeln!(cfg, "worker_concurrency = {}", queue.worker_concurrency);
        }
    } else {
        let _ = writeln!(cfg);
        let _ = writeln!(cfg, "[kubernetes_executor]");
        let _ = writeln!(cfg, "namespace = {namespace}");
    }
    cfg
}

fn scheduler_resources(spec: &DeploymentSpec) -> (String, String) {
    if let Some(s) = spec.scheduler {
        // One Astro Unit is 0.1 CPU and 384 MiB.
        return (format!("{}m", u32::from(s.au) * 100), format!("{}Mi", u32::from(s.au) * 384));
    }
    let (cpu, gib) = match spec.scheduler_size.unwrap_or(SchedulerSize::Small) {
        SchedulerSize::Small => (1, 2),
        SchedulerSize::Medium => (2, 4),
        SchedulerSize::Large => (4, 8),
        SchedulerSize::ExtraLarge => (8, 16),
    };
    (cpu.to_string(), format!("{gib}Gi"))
}

fn machine_cpu(machine: AstroMachine) -> u32 {
    match machine {
        AstroMachine::A5 => 1,
        AstroMachine::A10 => 2,
        AstroMachine::A20 => 4,
        AstroMachine::A40 => 8,
        AstroMachine::A60 => 12,
        AstroMachine::A120 => 24,
        AstroMachine::A160 => 32,
    }
}

fn worker_resources(queue: &WorkerQueue) -> (String, String) {
    match queue.astro_machine {
        Some(machine) => {
            let cpu = machine_cpu(machine);
            (cpu.to_string(), format!("{}Gi", cpu * 2))
        }
        None => ("1".to_owned(), "2Gi".to_owned()),
    }
}

fn node_selector(queue: &WorkerQueue) -> Value {
    match (&queue.node_pool_id, queue.astro_machine) {
        (Some(pool), _) => json!({ "astronomer.io/node-pool": pool }),
        (None, Some(machine)) => json!({ "astronomer.io/machine": format!("{machine:?}") }),
        (None, None) => json!({}),
    }
}

#[allow(clippy::too_many_arguments)]
fn workload(
    ns: &str,
    labels: &Value,
    component: &str,
    replicas: u32,
    image: &str,
    args: &[&str],
    env: &[Value],
    cpu: &str,
    memory: &str,
    node_selector: Option<Value>,
) -> Value {
    // Label values are limited to 63 characters: workers share the
    // component label "worker" and carry their queue in its own label.
    let mut pod_labels = labels.clone();
    let component_label = if component.starts_with("worker-") { "worker" } else { component };
    pod_labels["component"] = json!(component_label);
    let mut pod_spec = json!({
        "serviceAccountName": "airflow",
        "containers": [{
            "name": component,
            "image": image,
            "args": args,
            "env": env,
            "volumeMounts": [{ "name": "config", "mountPath": "/usr/local/airflow/airflow.cfg", "subPath": "airflow.cfg" }],
            "resources": {
                "requests": { "cpu": cpu, "memory": memory },
                "limits": { "cpu": cpu, "memory": memory },
            },
        }],
        "volumes": [{ "name": "config", "configMap": { "name": CONFIG_NAME } }],
    });
    if let Some(selector) = node_selector {
        pod_spec["nodeSelector"] = selector;
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": component, "namespace": ns, "labels": pod_labels },
        "spec": {
            "replicas": replicas,
            "selector": { "matchLabels": selector_labels(&pod_labels) },
            "template": { "metadata": { "labels": pod_labels }, "spec": pod_spec },
        },
    })
}

/// The labels a workload's selector matches: its component, and its queue
/// for workers.
fn selector_labels(pod_labels: &Value) -> Value {
    let mut selector = serde_json::Map::new();
    for key in ["component", "astronomer.io/queue"] {
        if let Some(value) = pod_labels.get(key) {
            selector.insert(key.to_owned(), value.clone());
        }
    }
    Value::Object(selector)
}

#[cfg(test)]
mod tests {
    use super::*;
    use harmony_api::latest::{
        CloudProvider, DataPlaneStatus, EnvironmentVariable, HybridScheduler, WorkerQueue,
    };

    fn plane() -> DataPlane {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        DataPlane {
            id: "hybrid-1".into(),
            kind: DataPlaneKind::Hybrid,
            cloud_provider: CloudProvider::Aws,
            region: "us-east-1".into(),
            labels: Default::default(),
            kubernetes_version: "1.31".into(),
            agent_version: "1".into(),
            platform_release: "2026.11.0".into(),
            status: DataPlaneStatus::Ready,
            last_heartbeat: None,
            created_at: at,
            updated_at: at,
        }
    }

    fn spec() -> DeploymentSpec {
        DeploymentSpec {
            kind: DataPlaneKind::Hybrid,
            organization_id: "o".into(),
            workspace_id: "w".into(),
            data_plane_id: "hybrid-1".into(),
            name: "etl".into(),
            runtime_version: "13.1.0".into(),
            executor: Executor::Celery,
            scheduler_size: None,
            scheduler: Some(HybridScheduler { au: 5, replicas: 1 }),
            is_high_availability: false,
            worker_queues: vec![WorkerQueue {
                name: "a-queue-name-that-is-sixty-three-characters-long-xxxxxxxxxxxxxx".into(),
                is_default: true,
                min_worker_count: 1,
                max_worker_count: 2,
                worker_concurrency: 4,
                astro_machine: None,
                node_pool_id: Some("pool".into()),
            }],
            environment_variables: vec![EnvironmentVariable {
                key: "TOKEN".into(),
                value: Some("do-not-leak".into()),
                is_secret: true,
            }],
            image_tag: "v1".into(),
            dag_bundle_version: None,
            generation: 1,
        }
    }

    #[test]
    fn rendering_is_deterministic_and_ignores_the_generation() {
        let id = Uuid::from_u128(7);
        let a = render(id, &spec(), &plane());
        let b = render(id, &spec(), &plane());
        assert_eq!(a.input_hash, b.input_hash);
        let bytes = |r: &Rendered| {
            serde_json::to_vec(&r.objects.iter().map(|o| &o.body).collect::<Vec<_>>()).unwrap()
        };
        assert_eq!(bytes(&a), bytes(&b));
        let mut later = spec();
        later.generation = 9;
        assert_eq!(render(id, &later, &plane()).input_hash, a.input_hash);
        let mut changed = spec();
        changed.image_tag = "v2".into();
        assert_ne!(render(id, &changed, &plane()).input_hash, a.input_hash);
    }

    #[test]
    fn secrets_live_only_in_the_secret_object() {
        let rendered = render(Uuid::from_u128(7), &spec(), &plane());
        for object in &rendered.objects {
            let text = object.body.to_string();
            assert_eq!(text.contains("do-not-leak"), object.meta.kind == "Secret", "{text}");
        }
    }

    #[test]
    fn label_values_fit_kubernetes_limits() {
        let rendered = render(Uuid::from_u128(7), &spec(), &plane());
        for object in &rendered.objects {
            assert!(object.meta.name.len() <= 253);
            if let Some(labels) = object.body.pointer("/metadata/labels").and_then(Value::as_object)
            {
                for value in labels.values() {
                    assert!(value.as_str().unwrap().len() <= 63, "{value}");
                }
            }
        }
    }
}
