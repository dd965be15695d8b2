//! Renders a deployment's desired state into Kubernetes objects.
//!
//! Rendering is a pure function of its input (the spec without its
//! generation, the data plane's kind and platform release, [`RENDERER`], and
//! the server's secret key), so the same input always gives byte-identical
//! objects and the same [`Rendered::input_hash`]; the caller makes no new
//! revision for an unchanged hash. Objects are built as typed Kubernetes
//! objects ([`crate::k8s`]) and kept as JSON; [`k8s_yaml`] writes them as
//! a multi-document stream `kubectl apply -f` reads.
//!
//! The set, after the Apache Airflow Helm chart: Namespace; ServiceAccounts;
//! Secrets (Fernet key, metadata database connection, API JWT secret, the
//! secret environment variables, and with Celery the broker URL); ConfigMap
//! with `airflow.cfg`; ResourceQuota and LimitRange; NetworkPolicies
//! (default-deny ingress, same-namespace traffic, ingress to the API server);
//! Services; a database migration Job; Deployments for the scheduler (two
//! replicas and a PodDisruptionBudget when highly available), API server,
//! triggerer, DAG processor, statsd and pgbouncer; with CELERY or ASTRO a
//! worker Deployment per queue plus redis; with KUBERNETES a pod template and
//! a pod-launcher Role and RoleBinding instead. Hybrid workers select their
//! node pool; Hosted workers select their machine type.
//!
//! Secret values appear only in Secret objects, never in a ConfigMap or a
//! pod spec (pods reference them with `secretKeyRef`). The generated secrets
//! (Fernet key, passwords) are derived from the server's key and the
//! deployment id, so re-rendering does not rotate them; hashes are HMACs
//! under that key, so a hash handed out reveals nothing about a secret.

use crate::k8s::{self, EnvVar, Map, Object, ObjectMeta};
use crate::store::StoredSpec;
use deployment_rules::platform_key;
use harmony_api::latest::{
    AstroMachine, DataPlane, DataPlaneKind, DeploymentSpec, Executor, ManifestObject,
    SchedulerSize, WorkerQueue,
};
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write as _;
use uuid::Uuid;

/// Version of the rendering code; part of every input hash, so a change to
/// the templates makes a new revision even for an unchanged spec.
pub const RENDERER: &str = "harmony-render/2";

pub use crate::store::RenderedObject;

const CONFIG_NAME: &str = "airflow-config";
const ENV_SECRET: &str = "airflow-env-secrets";
const FERNET_SECRET: &str = "airflow-fernet-key";
const METADATA_SECRET: &str = "airflow-metadata";
const API_SECRET: &str = "airflow-api";
const BROKER_SECRET: &str = "airflow-broker";
const AIRFLOW_UID: u32 = 50000;

pub use crate::crypto::SecretKey;

/// URL-safe base64 with padding, as a Fernet key is written.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub struct Rendered {
    pub input_hash: String,
    pub objects: Vec<RenderedObject>,
}

/// The namespace a deployment's objects live in.
pub fn namespace(id: Uuid) -> String {
    format!("airflow-{}", id.simple())
}

/// Keyed hash of everything rendering depends on. The generation is left
/// out: a re-sent or bumped generation with an unchanged spec renders the
/// same.
pub fn input_hash(key: &SecretKey, id: Uuid, spec: &DeploymentSpec, plane: &DataPlane) -> String {
    #[derive(Serialize)]
    struct Input<'a> {
        renderer: &'static str,
        deployment_id: Uuid,
        data_plane_kind: DataPlaneKind,
        platform_release: &'a str,
        spec: &'a StoredSpec,
    }
    // Over the store's own type: a new API version does not move it.
    let mut spec = StoredSpec::from(spec.clone());
    spec.generation = 0;
    let input = Input {
        renderer: RENDERER,
        deployment_id: id,
        data_plane_kind: plane.kind,
        platform_release: &plane.platform_release,
        spec: &spec,
    };
    // Serializing a plain struct cannot fail.
    key.mac_hex(&[&serde_json::to_vec(&input).unwrap_or_default()])
}

/// What every object of one deployment shares.
struct Context<'a> {
    id: Uuid,
    ns: String,
    labels: Map,
    spec: &'a DeploymentSpec,
    plane: &'a DataPlane,
    key: &'a SecretKey,
    image: String,
    celery: bool,
}

impl Context<'_> {
    fn meta(&self, name: &str) -> ObjectMeta {
        ObjectMeta {
            name: name.to_owned(),
            namespace: Some(self.ns.clone()),
            labels: self.labels.clone(),
            annotations: Map::new(),
        }
    }

    fn component_labels(&self, component: &str) -> Map {
        let mut labels = self.labels.clone();
        labels.insert("component".into(), component.into());
        labels
    }

    /// A secret of `len` hex characters derived for `purpose`.
    fn derived(&self, purpose: &str, len: usize) -> String {
        let mut text =
            self.key.mac_hex(&[b"derived-secret", self.id.as_bytes(), purpose.as_bytes()]);
        text.truncate(len);
        text
    }

    /// The environment every Airflow container gets.
    fn airflow_env(&self) -> Vec<EnvVar> {
        let mut env = vec![
            EnvVar::secret("AIRFLOW__CORE__FERNET_KEY", FERNET_SECRET, "fernet-key"),
            EnvVar::secret("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", METADATA_SECRET, "connection"),
            EnvVar::secret("AIRFLOW__API_AUTH__JWT_SECRET", API_SECRET, "jwt-secret"),
        ];
        if self.celery {
            env.push(EnvVar::secret("AIRFLOW__CELERY__BROKER_URL", BROKER_SECRET, "url"));
        }
        // A key the platform sets is never rendered over: clients older
        // than 4.0.0 may still send one (rule platform_environment_keys),
        // and deployments stored before it may carry one.
        let users = self.spec.environment_variables.iter().filter(|v| !platform_key(&v.key));
        for var in users {
            env.push(if var.is_secret {
                EnvVar::secret(&var.key, ENV_SECRET, &var.key)
            } else {
                EnvVar::value(&var.key, var.value.clone().unwrap_or_default())
            });
        }
        env
    }
}

/// Where rendered objects collect: each serialized once, to the bytes that
/// are hashed, stored and handed out.
struct Objects<'k> {
    key: &'k SecretKey,
    list: Vec<RenderedObject>,
}

fn push<T: Serialize>(objects: &mut Objects<'_>, object: Object<T>) {
    // Serializing plain structs with string keys cannot fail. (to_raw_value
    // wraps the text without parsing it again, as RawValue::from_string would.)
    let body = serde_json::value::to_raw_value(&object)
        .unwrap_or_else(|_| serde_json::value::to_raw_value(&Value::Null).expect("null"));
    let text = body.get();
    let meta = ManifestObject {
        api_version: object.api_version.to_owned(),
        kind: object.kind.to_owned(),
        namespace: object.metadata.namespace.clone(),
        name: object.metadata.name.clone(),
        hash: objects.key.mac_hex(&[text.as_bytes()]),
        // Filled in per response; a Secret's body is never handed out here.
        manifest: None,
    };
    objects.list.push(RenderedObject { meta, body });
}

pub fn render(key: &SecretKey, id: Uuid, spec: &DeploymentSpec, plane: &DataPlane) -> Rendered {
    Rendered {
        input_hash: input_hash(key, id, spec, plane),
        objects: objects(key, id, spec, plane),
    }
}

/// [`render`]'s objects alone, for a caller that has the input hash.
pub fn objects(
    key: &SecretKey,
    id: Uuid,
    spec: &DeploymentSpec,
    plane: &DataPlane,
) -> Vec<RenderedObject> {
    let labels: Map = [
        ("app.kubernetes.io/part-of", "airflow".to_owned()),
        ("app.kubernetes.io/managed-by", "harmony".to_owned()),
        ("astronomer.io/deployment-id", id.to_string()),
        ("astronomer.io/platform-release", plane.platform_release.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let cx = Context {
        id,
        ns: namespace(id),
        labels,
        spec,
        plane,
        key,
        image: format!("images.astronomer.internal/{}/airflow:{}", id.simple(), spec.image_tag),
        celery: spec.executor != Executor::Kubernetes,
    };
    let mut objects = Objects { key, list: Vec::with_capacity(32) };
    let o = &mut objects;

    let mut ns_labels = cx.labels.clone();
    ns_labels.insert("kubernetes.io/metadata.name".into(), cx.ns.clone());
    push(
        o,
        Object {
            api_version: "v1",
            kind: "Namespace",
            metadata: ObjectMeta { name: cx.ns.clone(), labels: ns_labels, ..Default::default() },
            body: k8s::Empty {},
        },
    );
    for (name, automount) in [
        ("airflow", false),
        // Launches task pods under the KUBERNETES executor.
        ("airflow-scheduler", spec.executor == Executor::Kubernetes),
        ("airflow-task", false),
    ] {
        push(
            o,
            Object {
                api_version: "v1",
                kind: "ServiceAccount",
                metadata: cx.meta(name),
                body: k8s::ServiceAccount { automount_service_account_token: automount },
            },
        );
    }
    secrets(&cx, o);
    config_maps(&cx, o);
    limits(&cx, o);
    network_policies(&cx, o);
    if spec.executor == Executor::Kubernetes {
        pod_launcher(&cx, o);
    }
    services(&cx, o);
    migration_job(&cx, o);
    workloads(&cx, o);

    objects.list
}

fn secret(cx: &Context<'_>, name: &str, data: Map) -> Object<k8s::Secret> {
    Object {
        api_version: "v1",
        kind: "Secret",
        metadata: cx.meta(name),
        body: k8s::Secret { type_: "Opaque", string_data: data },
    }
}

fn one(key: &str, value: String) -> Map {
    [(key.to_owned(), value)].into()
}

fn secrets(cx: &Context<'_>, o: &mut Objects<'_>) {
    let fernet = base64url(&cx.key.mac(&[b"fernet", cx.id.as_bytes()]));
    push(o, secret(cx, FERNET_SECRET, one("fernet-key", fernet)));
    let user = format!("airflow_{}", cx.id.simple());
    let connection = format!(
        "postgresql://{user}:{}@pgbouncer.{}.svc.cluster.local:6543/{user}",
        cx.derived("metadata-db", 32),
        cx.ns
    );
    push(o, secret(cx, METADATA_SECRET, one("connection", connection)));
    push(o, secret(cx, API_SECRET, one("jwt-secret", cx.derived("jwt", 64))));
    if cx.celery {
        let url = format!(
            "redis://:{}@redis.{}.svc.cluster.local:6379/0",
            cx.derived("redis", 32),
            cx.ns
        );
        push(o, secret(cx, BROKER_SECRET, one("url", url)));
    }
    let env: Map = cx
        .spec
        .environment_variables
        .iter()
        .filter(|v| v.is_secret && !platform_key(&v.key))
        .map(|v| (v.key.clone(), v.value.clone().unwrap_or_default()))
        .collect();
    if !env.is_empty() {
        push(o, secret(cx, ENV_SECRET, env));
    }
}

fn config_maps(cx: &Context<'_>, o: &mut Objects<'_>) {
    push(
        o,
        Object {
            api_version: "v1",
            kind: "ConfigMap",
            metadata: cx.meta(CONFIG_NAME),
            body: k8s::ConfigMap { data: one("airflow.cfg", airflow_cfg(cx.spec, &cx.ns)) },
        },
    );
    if cx.spec.executor == Executor::Kubernetes {
        let template = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "task", "labels": cx.component_labels("task")},
            "spec": pod_spec("airflow-task", None, k8s::Container {
                name: "base".into(),
                image: cx.image.clone(),
                env: cx.airflow_env(),
                resources: k8s::Resources::exactly("250m", "512Mi"),
                volume_mounts: vec![config_mount()],
                ..Default::default()
            }),
        });
        let mut text = String::new();
        k8s_yaml::document(&template, &mut text);
        push(
            o,
            Object {
                api_version: "v1",
                kind: "ConfigMap",
                metadata: cx.meta("airflow-pod-template"),
                body: k8s::ConfigMap { data: one("pod_template_file.yaml", text) },
            },
        );
    }
}

fn limits(cx: &Context<'_>, o: &mut Objects<'_>) {
    // Hosted: the platform's quota; Hybrid: the customer's cluster is
    // theirs, so only a cap on the number of pods.
    let hard: Map = match cx.plane.kind {
        DataPlaneKind::Hosted => [
            ("requests.cpu", "10"),
            ("requests.memory", "20Gi"),
            ("limits.cpu", "20"),
            ("limits.memory", "40Gi"),
            ("pods", "200"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect(),
        DataPlaneKind::Hybrid => one("pods", "500".to_owned()),
    };
    push(
        o,
        Object {
            api_version: "v1",
            kind: "ResourceQuota",
            metadata: cx.meta("airflow-quota"),
            body: k8s::Spec { spec: k8s::ResourceQuotaSpec { hard } },
        },
    );
    let cpu_memory = |cpu: &str, memory: &str| -> Map {
        [("cpu".to_owned(), cpu.to_owned()), ("memory".to_owned(), memory.to_owned())].into()
    };
    push(
        o,
        Object {
            api_version: "v1",
            kind: "LimitRange",
            metadata: cx.meta("airflow-limits"),
            body: k8s::Spec {
                spec: k8s::LimitRangeSpec {
                    limits: vec![k8s::LimitRangeItem {
                        type_: "Container",
                        default: cpu_memory("250m", "512Mi"),
                        default_request: cpu_memory("250m", "512Mi"),
                    }],
                },
            },
        },
    );
}

fn selector(labels: Map) -> k8s::LabelSelector {
    k8s::LabelSelector { match_labels: labels }
}

fn network_policies(cx: &Context<'_>, o: &mut Objects<'_>) {
    let policy = |name: &str, pod_selector: Map, ingress: Vec<k8s::NetworkPolicyIngress>| Object {
        api_version: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: cx.meta(name),
        body: k8s::Spec {
            spec: k8s::NetworkPolicySpec {
                pod_selector: selector(pod_selector),
                policy_types: vec!["Ingress"],
                ingress,
            },
        },
    };
    push(o, policy("default-deny-ingress", Map::new(), Vec::new()));
    push(
        o,
        policy(
            "allow-same-namespace",
            Map::new(),
            vec![k8s::NetworkPolicyIngress {
                from: vec![k8s::NetworkPolicyPeer {
                    pod_selector: Some(selector(Map::new())),
                    namespace_selector: None,
                }],
                ports: Vec::new(),
            }],
        ),
    );
    push(
        o,
        policy(
            "allow-api-server-ingress",
            one("component", "api-server".into()),
            vec![k8s::NetworkPolicyIngress {
                from: vec![k8s::NetworkPolicyPeer {
                    pod_selector: None,
                    namespace_selector: Some(selector(one(
                        "kubernetes.io/metadata.name",
                        "astronomer-ingress".into(),
                    ))),
                }],
                ports: vec![k8s::NetworkPolicyPort { protocol: "TCP", port: 8080 }],
            }],
        ),
    );
}

fn pod_launcher(cx: &Context<'_>, o: &mut Objects<'_>) {
    let rule = |resources, verbs| k8s::PolicyRule { api_groups: vec![""], resources, verbs };
    push(
        o,
        Object {
            api_version: "rbac.authorization.k8s.io/v1",
            kind: "Role",
            metadata: cx.meta("pod-launcher"),
            body: k8s::Rules {
                rules: vec![
                    rule(vec!["pods"], vec!["create", "delete", "get", "list", "patch", "watch"]),
                    rule(vec!["pods/log"], vec!["get"]),
                    rule(vec!["events"], vec!["list"]),
                ],
            },
        },
    );
    push(
        o,
        Object {
            api_version: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            metadata: cx.meta("pod-launcher"),
            body: k8s::RoleBinding {
                role_ref: k8s::RoleRef {
                    api_group: "rbac.authorization.k8s.io",
                    kind: "Role",
                    name: "pod-launcher".into(),
                },
                subjects: vec![k8s::Subject {
                    kind: "ServiceAccount",
                    name: "airflow-scheduler".into(),
                    namespace: cx.ns.clone(),
                }],
            },
        },
    );
}

fn services(cx: &Context<'_>, o: &mut Objects<'_>) {
    let mut list = vec![
        ("api-server", vec![("http", "TCP", 8080)]),
        ("pgbouncer", vec![("pgbouncer", "TCP", 6543)]),
        ("statsd", vec![("statsd-ingest", "UDP", 9125), ("metrics", "TCP", 9102)]),
    ];
    if cx.celery {
        list.push(("redis", vec![("redis", "TCP", 6379)]));
    }
    for (component, ports) in list {
        push(
            o,
            Object {
                api_version: "v1",
                kind: "Service",
                metadata: cx.meta(component),
                body: k8s::Spec {
                    spec: k8s::ServiceSpec {
                        selector: one("component", component.into()),
                        ports: ports
                            .into_iter()
                            .map(|(name, protocol, port)| k8s::ServicePort {
                                name: name.into(),
                                protocol,
                                port,
                                target_port: port,
                            })
                            .collect(),
                    },
                },
            },
        );
    }
}

fn config_mount() -> k8s::VolumeMount {
    k8s::VolumeMount {
        name: "config".into(),
        mount_path: "/usr/local/airflow/airflow.cfg".into(),
        sub_path: Some("airflow.cfg".into()),
        read_only: true,
    }
}

fn pod_spec(
    service_account: &str,
    restart_policy: Option<&'static str>,
    container: k8s::Container,
) -> k8s::PodSpec {
    let mounts_config = !container.volume_mounts.is_empty();
    k8s::PodSpec {
        service_account_name: service_account.into(),
        restart_policy,
        security_context: k8s::PodSecurityContext {
            run_as_non_root: true,
            run_as_user: AIRFLOW_UID,
            fs_group: 0,
        },
        node_selector: Map::new(),
        tolerations: Vec::new(),
        containers: vec![k8s::Container {
            security_context: k8s::ContainerSecurityContext {
                allow_privilege_escalation: false,
                read_only_root_filesystem: false,
            },
            ..container
        }],
        volumes: if mounts_config {
            vec![k8s::Volume {
                name: "config".into(),
                config_map: k8s::ConfigMapVolume { name: CONFIG_NAME.into() },
            }]
        } else {
            Vec::new()
        },
    }
}

fn migration_job(cx: &Context<'_>, o: &mut Objects<'_>) {
    // A Job's pod template cannot change: a new image is a new Job.
    let suffix = &cx.key.mac_hex(&[b"migration", cx.image.as_bytes()])[..10];
    let labels = cx.component_labels("db-migration");
    push(
        o,
        Object {
            api_version: "batch/v1",
            kind: "Job",
            metadata: cx.meta(&format!("db-migrate-{suffix}")),
            body: k8s::Spec {
                spec: k8s::JobSpec {
                    backoff_limit: 3,
                    ttl_seconds_after_finished: 3600,
                    template: k8s::PodTemplateSpec {
                        metadata: k8s::PodMeta { labels },
                        spec: pod_spec(
                            "airflow",
                            Some("Never"),
                            k8s::Container {
                                name: "migrate".into(),
                                image: cx.image.clone(),
                                args: vec!["airflow".into(), "db".into(), "migrate".into()],
                                env: cx.airflow_env(),
                                resources: k8s::Resources::exactly("500m", "1Gi"),
                                volume_mounts: vec![config_mount()],
                                ..Default::default()
                            },
                        ),
                    },
                },
            },
        },
    );
}

/// One Deployment of the set.
struct Workload<'a> {
    name: String,
    component: &'a str,
    replicas: u32,
    service_account: &'a str,
    container: k8s::Container,
    node_selector: Map,
    tolerations: Vec<k8s::Toleration>,
    extra_labels: Map,
}

fn workloads(cx: &Context<'_>, o: &mut Objects<'_>) {
    let spec = cx.spec;
    let airflow =
        |name: &str, args: &[&str], cpu: &str, memory: &str, ports: Vec<k8s::ContainerPort>| {
            k8s::Container {
                name: name.into(),
                image: cx.image.clone(),
                args: args.iter().map(|a| (*a).to_owned()).collect(),
                env: cx.airflow_env(),
                ports,
                resources: k8s::Resources::exactly(cpu, memory),
                volume_mounts: vec![config_mount()],
                ..Default::default()
            }
        };
    let port = |name: &str, container_port, protocol| k8s::ContainerPort {
        name: name.into(),
        container_port,
        protocol,
    };
    let (cpu, memory) = scheduler_resources(spec);
    let scheduler_replicas = match (cx.plane.kind, spec.scheduler) {
        (DataPlaneKind::Hybrid, Some(s)) => u32::from(s.replicas),
        _ if spec.is_high_availability => 2,
        _ => 1,
    };
    let api_replicas = if spec.is_high_availability { 2 } else { 1 };
    let mut list = vec![
        Workload::plain(
            "scheduler",
            scheduler_replicas,
            "airflow-scheduler",
            airflow("scheduler", &["airflow", "scheduler"], &cpu, &memory, Vec::new()),
        ),
        Workload::plain(
            "api-server",
            api_replicas,
            "airflow",
            airflow(
                "api-server",
                &["airflow", "api-server"],
                "500m",
                "1Gi",
                vec![port("http", 8080, "TCP")],
            ),
        ),
        Workload::plain(
            "triggerer",
            1,
            "airflow",
            airflow("triggerer", &["airflow", "triggerer"], "500m", "1Gi", Vec::new()),
        ),
        Workload::plain(
            "dag-processor",
            1,
            "airflow",
            airflow("dag-processor", &["airflow", "dag-processor"], "1", "2Gi", Vec::new()),
        ),
        Workload::plain(
            "statsd",
            1,
            "airflow",
            k8s::Container {
                name: "statsd".into(),
                image: "quay.io/prometheus/statsd-exporter:v0.28.0".into(),
                ports: vec![port("statsd-ingest", 9125, "UDP"), port("metrics", 9102, "TCP")],
                resources: k8s::Resources::exactly("100m", "256Mi"),
                ..Default::default()
            },
        ),
        Workload::plain(
            "pgbouncer",
            1,
            "airflow",
            k8s::Container {
                name: "pgbouncer".into(),
                image: "quay.io/astronomer/ap-pgbouncer:1.24.1".into(),
                env: vec![EnvVar::secret("DATABASE_URL", METADATA_SECRET, "connection")],
                ports: vec![port("pgbouncer", 6543, "TCP")],
                resources: k8s::Resources::exactly("250m", "512Mi"),
                ..Default::default()
            },
        ),
    ];
    if cx.celery {
        list.push(Workload::plain(
            "redis",
            1,
            "airflow",
            k8s::Container {
                name: "redis".into(),
                image: "quay.io/astronomer/ap-redis:7.4.2".into(),
                env: vec![EnvVar::secret("REDIS_URL", BROKER_SECRET, "url")],
                ports: vec![port("redis", 6379, "TCP")],
                resources: k8s::Resources::exactly("250m", "512Mi"),
                ..Default::default()
            },
        ));
        for queue in &spec.worker_queues {
            let (cpu, memory) = worker_resources(queue);
            let mut container = airflow(
                "worker",
                &["airflow", "celery", "worker", "--queues", &queue.name],
                &cpu,
                &memory,
                Vec::new(),
            );
            container.env.push(EnvVar::value(
                "AIRFLOW__CELERY__WORKER_CONCURRENCY",
                queue.worker_concurrency.to_string(),
            ));
            let (node_selector, tolerations) = placement(queue);
            list.push(Workload {
                name: format!("worker-{}", queue.name),
                component: "worker",
                // The autoscaler moves between min and max; this is its floor.
                replicas: queue.min_worker_count,
                service_account: "airflow",
                container,
                node_selector,
                tolerations,
                extra_labels: one("astronomer.io/queue", queue.name.clone()),
            });
        }
    }
    for w in list {
        let mut labels = cx.component_labels(w.component);
        labels.extend(w.extra_labels);
        let mut selector_labels = one("component", w.component.to_owned());
        if let Some(queue) = labels.get("astronomer.io/queue") {
            selector_labels.insert("astronomer.io/queue".into(), queue.clone());
        }
        let mut pod = pod_spec(w.service_account, None, w.container);
        pod.node_selector = w.node_selector;
        pod.tolerations = w.tolerations;
        let replicas = w.replicas;
        push(
            o,
            Object {
                api_version: "apps/v1",
                kind: "Deployment",
                metadata: ObjectMeta { labels: labels.clone(), ..cx.meta(&w.name) },
                body: k8s::Spec {
                    spec: k8s::DeploymentSpec {
                        replicas,
                        revision_history_limit: 3,
                        selector: selector(selector_labels.clone()),
                        template: k8s::PodTemplateSpec {
                            metadata: k8s::PodMeta { labels },
                            spec: pod,
                        },
                    },
                },
            },
        );
        if w.component == "scheduler" && replicas >= 2 {
            push(
                o,
                Object {
                    api_version: "policy/v1",
                    kind: "PodDisruptionBudget",
                    metadata: cx.meta("scheduler"),
                    body: k8s::Spec {
                        spec: k8s::PodDisruptionBudgetSpec {
                            min_available: 1,
                            selector: selector(selector_labels),
                        },
                    },
                },
            );
        }
    }
}

impl<'a> Workload<'a> {
    fn plain(
        component: &'a str,
        replicas: u32,
        service_account: &'a str,
        container: k8s::Container,
    ) -> Workload<'a> {
        Workload {
            name: component.to_owned(),
            component,
            replicas,
            service_account,
            container,
            node_selector: Map::new(),
            tolerations: Vec::new(),
            extra_labels: Map::new(),
        }
    }
}

/// Where a queue's workers run: a Hybrid queue on its node pool; a Hosted
/// queue on nodes of its machine type, which are tainted for it.
fn placement(queue: &WorkerQueue) -> (Map, Vec<k8s::Toleration>) {
    match (&queue.node_pool_id, queue.astro_machine) {
        (Some(pool), _) => (one("astronomer.io/node-pool", pool.clone()), Vec::new()),
        (None, Some(machine)) => {
            let machine = format!("{machine:?}").to_lowercase();
            (
                one("astronomer.io/machine", machine.clone()),
                vec![k8s::Toleration {
                    key: "astronomer.io/machine".into(),
                    operator: "Equal",
                    value: machine,
                    effect: "NoSchedule",
                }],
            )
        }
        (None, None) => (Map::new(), Vec::new()),
    }
}

/// The objects as a multi-document YAML stream, in render order.
pub fn yaml(objects: &[RenderedObject]) -> String {
    let values: Vec<Value> = objects.iter().map(RenderedObject::value).collect();
    k8s_yaml::documents(&values)
}

fn executor_class(executor: Executor) -> &'static str {
    match executor {
        Executor::Celery => "CeleryExecutor",
        Executor::Kubernetes => "KubernetesExecutor",
        Executor::Astro => "astronomer.executors.AstroExecutor",
    }
}

fn airflow_cfg(spec: &DeploymentSpec, namespace: &str) -> String {
    // Validation holds it to deployment_rules::MAX_PARALLELISM.
    let parallelism = deployment_rules::parallelism(
        spec.worker_queues.iter().map(|q| (q.max_worker_count.into(), q.worker_concurrency.into())),
    );
    let mut cfg = String::new();
    let _ = writeln!(cfg, "[core]");
    let _ = writeln!(cfg, "executor = {}", executor_class(spec.executor));
    let _ = writeln!(cfg, "dags_folder = /usr/local/airflow/dags");
    let _ = writeln!(cfg, "parallelism = {parallelism}");
    let _ = writeln!(cfg, "load_examples = False");
    let _ = writeln!(cfg);
    let _ = writeln!(cfg, "[scheduler]");
    let _ = writeln!(cfg, "standalone_dag_processor = True");
    if let Some(version) = &spec.dag_bundle_version {
        let _ = writeln!(cfg);
        let _ = writeln!(cfg, "[dag_processor]");
        let _ = writeln!(cfg, "bundle_version = {}", ini_value(version));
    }
    if spec.executor != Executor::Kubernetes {
        let default = spec.worker_queues.iter().find(|q| q.is_default);
        let _ = writeln!(cfg);
        let _ = writeln!(cfg, "[celery]");
        let _ = writeln!(cfg, "broker_url_secret = airflow-broker");
        if let Some(queue) = default {
            let _ = writeln!(cfg, "default_queue = {}", ini_value(&queue.name));
            let _ = writeln!(cfg, "worker_concurrency = {}", queue.worker_concurrency);
        }
    } else {
        let _ = writeln!(cfg);
        let _ = writeln!(cfg, "[kubernetes_executor]");
        let _ = writeln!(cfg, "namespace = {}", ini_value(namespace));
    }
    cfg
}

/// `value` as one `airflow.cfg` value, as Airflow's `configparser` (with
/// its `%` interpolation) reads it back: `%` doubled, and every character
/// Python could read as a line break or that is no text (controls, U+2028,
/// U+2029, the byte-order mark) replaced by U+FFFD, so no value can end
/// its line and start a section or key of its own. Validation already
/// refuses such values (`deployment_rules`); this keeps the file sound
/// whatever reaches the renderer. Leading and trailing spaces, which
/// `configparser` strips, are kept out by the same rules.
fn ini_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '%' => out.push_str("%%"),
            c if deployment_rules::is_control(c) || matches!(c, '\u{1c}'..='\u{1e}') => {
                out.push('\u{fffd}')
            }
            c => out.push(c),
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use harmony_api::latest::{EnvironmentVariable, HybridScheduler, WorkerQueue};

    fn plane() -> DataPlane {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        test_support::fixtures::typed(test_support::fixtures::data_plane("hybrid-1", "HYBRID", at))
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

    /// The render's input hash is a stored value: every deployment's row
    /// holds one, and a change to it re-renders every deployment of the
    /// fleet at the next write. It is computed over the store's own spec
    /// type, so a new API version does not move it; this pins its value.
    #[test]
    fn the_input_hash_does_not_move() {
        let id = Uuid::from_u128(0x1234);
        let hash = input_hash(&SecretKey::development(), id, &spec(), &plane());
        assert_eq!(hash, "3de66ae646e5356075d3d76b57c13dbc01eca64170340256ad248747eb9972da");
        let hosted = DeploymentSpec {
            kind: DataPlaneKind::Hosted,
            scheduler: None,
            scheduler_size: Some(harmony_api::latest::SchedulerSize::Medium),
            dag_bundle_version: Some("b-1".into()),
            ..spec()
        };
        assert_eq!(
            input_hash(&SecretKey::development(), id, &hosted, &plane()),
            "bf745a66d0715a9cae82470f92c8a368b6ce83995ccfb33d6aa28859d2cfe526"
        );
    }

    /// `airflow.cfg` read by Python's `configparser` (what Airflow reads it
    /// with, interpolation on) for a bundle version of arbitrary text: the
    /// sections and keys are always exactly the rendered ones, and a
    /// version the grammar admits reads back as itself. Skipped, loudly,
    /// without python3.
    #[test]
    fn airflow_cfg_holds_its_structure_for_arbitrary_values() {
        use proptest::strategy::{Strategy as _, ValueTree as _};
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let hostile = proptest::collection::vec(
            proptest::sample::select(vec![
                '\n', '\r', '\u{b}', '\u{c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}',
                '\u{2029}', '%', '[', ']', '=', ':', ';', '#', ' ', 'a', '\u{feff}', '\u{0}',
            ]),
            0..16,
        )
        .prop_map(|chars| chars.into_iter().collect::<String>());
        let mut versions: Vec<String> = vec!["2026-12-02T01:02:03Z".into(), "sha256:ab+1".into()];
        for _ in 0..200 {
            versions.push(
                proptest::arbitrary::any::<String>().new_tree(&mut runner).unwrap().current(),
            );
            versions.push(hostile.new_tree(&mut runner).unwrap().current());
        }
        let files: Vec<String> = versions
            .iter()
            .map(|v| {
                airflow_cfg(&DeploymentSpec { dag_bundle_version: Some(v.clone()), ..spec() }, "ns")
            })
            .collect();
        let script = "import sys, json, configparser\n\
            out = []\n\
            for text in json.load(sys.stdin):\n\
            \x20   p = configparser.ConfigParser()\n\
            \x20   p.read_string(text)\n\
            \x20   out.append({s: {k: p.get(s, k) for k in p[s]} for s in p.sections()})\n\
            print(json.dumps(out))\n";
        let Ok(mut child) = std::process::Command::new("python3")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
        else {
            test_support::skip("REQUIRE_PYTHON", "no python3: the airflow.cfg round trip");
            return;
        };
        use std::io::Write as _;
        let input = serde_json::to_vec(&files).unwrap();
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let read: Vec<serde_json::Map<String, Value>> =
            serde_json::from_slice(&out.stdout).unwrap();
        let sections = ["celery", "core", "dag_processor", "scheduler"]; // sorted, as read
        for (version, cfg) in versions.iter().zip(&read) {
            assert_eq!(cfg.keys().collect::<Vec<_>>(), sections, "{version:?}");
            let bundle = cfg["dag_processor"].as_object().unwrap();
            assert_eq!(bundle.keys().collect::<Vec<_>>(), ["bundle_version"], "{version:?}");
            if deployment_rules::bundle_version(version).is_ok() {
                assert_eq!(bundle["bundle_version"], *version.as_str());
            }
            assert_eq!(cfg["celery"]["default_queue"], spec().worker_queues[0].name.as_str());
        }
    }

    #[test]
    fn rendering_is_deterministic_and_ignores_the_generation() {
        let id = Uuid::from_u128(7);
        let a = render(&SecretKey::development(), id, &spec(), &plane());
        let b = render(&SecretKey::development(), id, &spec(), &plane());
        assert_eq!(a.input_hash, b.input_hash);
        let bytes = |r: &Rendered| {
            r.objects.iter().map(|o| o.body.get().to_owned()).collect::<Vec<_>>().concat()
        };
        assert_eq!(bytes(&a), bytes(&b));
        let mut later = spec();
        later.generation = 9;
        assert_eq!(
            render(&SecretKey::development(), id, &later, &plane()).input_hash,
            a.input_hash
        );
        let mut changed = spec();
        changed.image_tag = "v2".into();
        assert_ne!(
            render(&SecretKey::development(), id, &changed, &plane()).input_hash,
            a.input_hash
        );
    }

    /// Issue 38: a key the platform sets, sent by a client older than
    /// 4.0.0 or stored before the rule, is not rendered over the
    /// platform's value, as a plain variable or as a secret.
    #[test]
    fn a_platform_key_from_a_user_is_never_rendered() {
        let mut with_keys = spec();
        for (i, key) in deployment_rules::rule::PLATFORM_ENVIRONMENT_KEYS.iter().enumerate() {
            with_keys.environment_variables.push(EnvironmentVariable {
                key: (*key).into(),
                value: Some(format!("users-own-{i}")),
                is_secret: i % 2 == 0,
            });
        }
        let rendered = render(&SecretKey::development(), Uuid::from_u128(7), &with_keys, &plane());
        let mut platform_keys_seen = 0;
        for object in &rendered.objects {
            let text = object.body.get();
            assert!(
                !text.contains("users-own-"),
                "{} {}: {text}",
                object.meta.kind,
                object.meta.name
            );
            for key in deployment_rules::rule::PLATFORM_ENVIRONMENT_KEYS {
                platform_keys_seen += text.matches(&format!("\"name\":\"{key}\"")).count();
            }
        }
        let plain = render(&SecretKey::development(), Uuid::from_u128(7), &spec(), &plane());
        let mut platform_keys_plain = 0;
        for object in &plain.objects {
            for key in deployment_rules::rule::PLATFORM_ENVIRONMENT_KEYS {
                platform_keys_plain +=
                    object.body.get().matches(&format!("\"name\":\"{key}\"")).count();
            }
        }
        assert!(platform_keys_plain > 0);
        assert_eq!(platform_keys_seen, platform_keys_plain, "each platform key once per container");
    }

    #[test]
    fn secrets_live_only_in_the_secret_object() {
        let rendered = render(&SecretKey::development(), Uuid::from_u128(7), &spec(), &plane());
        for object in &rendered.objects {
            let text = object.body.get();
            if text.contains("do-not-leak") {
                assert_eq!(object.meta.kind, "Secret", "{text}");
                assert_eq!(object.meta.name, ENV_SECRET);
            }
        }
    }

    #[test]
    fn label_values_fit_kubernetes_limits() {
        let rendered = render(&SecretKey::development(), Uuid::from_u128(7), &spec(), &plane());
        for object in &rendered.objects {
            assert!(object.meta.name.len() <= 253);
            if let Some(labels) =
                object.value().pointer("/metadata/labels").and_then(Value::as_object).cloned()
            {
                for value in labels.values() {
                    assert!(value.as_str().unwrap().len() <= 63, "{value}");
                }
            }
        }
    }
}
