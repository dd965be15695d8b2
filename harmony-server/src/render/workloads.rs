//! Workloads: the Deployments and StatefulSets of each Airflow component (scheduler, API server, triggerer, dag processor, each worker queue), their pods' placement and resources, the namespace's limits, and what the KubernetesExecutor needs to launch pods.

use super::*;

pub(super) fn limits(cx: &Context<'_>, o: &mut Objects<'_>) {
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

pub(super) fn pod_launcher(cx: &Context<'_>, o: &mut Objects<'_>) {
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

pub(super) fn pod_spec(
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

/// One Deployment of the set.
pub(super) struct Workload<'a> {
    name: String,
    component: &'a str,
    replicas: u32,
    service_account: &'a str,
    container: k8s::Container,
    node_selector: Map,
    tolerations: Vec<k8s::Toleration>,
    extra_labels: Map,
}

pub(super) fn workloads(cx: &Context<'_>, o: &mut Objects<'_>) {
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
pub(super) fn placement(queue: &WorkerQueue) -> (Map, Vec<k8s::Toleration>) {
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

pub(super) fn executor_class(executor: Executor) -> &'static str {
    match executor {
        Executor::Celery => "CeleryExecutor",
        Executor::Kubernetes => "KubernetesExecutor",
        Executor::Astro => "astronomer.executors.AstroExecutor",
    }
}

pub(super) fn scheduler_resources(spec: &DeploymentSpec) -> (String, String) {
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

pub(super) fn machine_cpu(machine: AstroMachine) -> u32 {
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

pub(super) fn worker_resources(queue: &WorkerQueue) -> (String, String) {
    match queue.astro_machine {
        Some(machine) => {
            let cpu = machine_cpu(machine);
            (cpu.to_string(), format!("{}Gi", cpu * 2))
        }
        None => ("1".to_owned(), "2Gi".to_owned()),
    }
}
