//! Configuration: the ConfigMap holding `airflow.cfg` (every value escaped for the INI parser) and the mount that puts it in each pod.

use super::*;

pub(super) fn config_maps(cx: &Context<'_>, o: &mut Objects<'_>) {
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

pub(super) fn config_mount() -> k8s::VolumeMount {
    k8s::VolumeMount {
        name: "config".into(),
        mount_path: "/usr/local/airflow/airflow.cfg".into(),
        sub_path: Some("airflow.cfg".into()),
        read_only: true,
    }
}

pub(super) fn airflow_cfg(spec: &DeploymentSpec, namespace: &str) -> String {
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
pub(super) fn ini_value(value: &str) -> String {
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
