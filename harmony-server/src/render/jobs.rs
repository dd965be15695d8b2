//! Jobs: the database migration that runs before a deployment's components start.

use super::*;

pub(super) fn migration_job(cx: &Context<'_>, o: &mut Objects<'_>) {
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
