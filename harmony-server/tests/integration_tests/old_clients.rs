//! Old consumer, new provider: the 1.0.0 client against today's server.

use crate::common::*;
use harmony_client::v1::types as v1;
use harmony_client::v2::types::DataPlaneKind;

fn v1_spec(data_plane_id: &str, generation: u64) -> v1::DeploymentSpec {
    v1::DeploymentSpec {
        organization_id: "org-1".into(),
        workspace_id: "ws-1".into(),
        data_plane_id: data_plane_id.into(),
        name: "legacy".into(),
        runtime_version: "12.9.0".into(),
        executor: v1::Executor::Kubernetes,
        scheduler: v1::HybridScheduler { au: 10, replicas: 2 },
        worker_queues: vec![v1::WorkerQueue {
            name: "default".into(),
            is_default: true,
            min_worker_count: 0,
            max_worker_count: 4,
            worker_concurrency: 8,
            node_pool_id: "pool-b".into(),
        }],
        environment_variables: vec![],
        image_tag: "old".into(),
        dag_bundle_version: None,
        generation,
    }
}

#[tokio::test]
async fn v1_client_works_against_the_current_server() {
    let h = TestHarmony::start();
    let old = h.v1();
    let mut registration = v1::DataPlaneRegistration {
        cloud_provider: v1::CloudProvider::Gcp,
        region: "europe-west1".into(),
        labels: Default::default(),
        kubernetes_version: "1.29".into(),
        agent_version: "0.9.0".into(),
        platform_release: "2026.10.0".into(),
    };
    // A Hybrid data plane names the organization it belongs to, at every
    // version (issue 19: an unowned plane could take anyone's deployments).
    let refused = old.data_plane_put("hybrid-legacy", &registration).await.unwrap_err();
    assert_eq!(refused.status(), Some(reqwest::StatusCode::BAD_REQUEST));
    assert!(format!("{refused:?}").contains("astronomer.io/organization"), "{refused:?}");
    registration.labels.insert("astronomer.io/organization".into(), "org-1".into());
    let plane = old
        .data_plane_put("hybrid-legacy", &registration)
        .await
        .expect("a 1.0.0 registration is accepted")
        .into_inner();
    assert_eq!(plane.id, "hybrid-legacy");
    // The newest client sees what the old one registered, as HYBRID.
    let seen = h.v2().data_plane_get("hybrid-legacy").await.unwrap().into_inner();
    assert_eq!(seen.kind, DataPlaneKind::Hybrid);

    let d = id();
    let created = old.deployment_put(&d, &v1_spec("hybrid-legacy", 1)).await.unwrap().into_inner();
    assert_eq!((created.generation, created.revision), (1, 1));
    assert_eq!(old.deployment_get(&d).await.unwrap().into_inner(), created);
    let manifests = old.deployment_manifests_get(&d, None).await.unwrap().into_inner();
    assert!(manifests.objects.iter().any(|o| o.kind == "Namespace"));
    // Idempotent retry through 1.0.0 as well.
    let retry = old.deployment_put(&d, &v1_spec("hybrid-legacy", 1)).await.unwrap().into_inner();
    assert_eq!(retry, created);
    old.deployment_delete(&d).await.unwrap();
}

#[tokio::test]
async fn v1_client_never_sees_hosted_resources() {
    let h = TestHarmony::start();
    two_planes(&h).await;
    let hosted = id();
    h.v2().deployment_put(&hosted, &hosted_spec("hosted-1", 1)).await.unwrap();
    let hybrid = id();
    h.v2().deployment_put(&hybrid, &hybrid_spec("hybrid-1", 1)).await.unwrap();

    let old = h.v1();
    let planes = old.data_plane_list(None, None).await.unwrap().into_inner();
    let ids: Vec<_> = planes.items.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["hybrid-1"]);
    let deployments = old.deployment_list(None, None).await.unwrap().into_inner();
    assert_eq!(deployments.items.iter().map(|d| d.id).collect::<Vec<_>>(), [hybrid]);

    match old.deployment_get(&hosted).await {
        Err(harmony_client::Error::ErrorResponse(rv)) => {
            assert_eq!(rv.status().as_u16(), 404);
            assert_eq!(rv.error_code.as_deref(), Some(harmony_api::NOT_VISIBLE_AT_VERSION));
            assert!(rv.message.contains("2.0.0"), "{}", rv.message);
        }
        other => panic!("expected 404, got {other:?}"),
    }
    // A 1.0.0 write to a Hosted data plane is refused as a kind mismatch.
    let (status, _, message) = failure_v1(old.deployment_put(&id(), &v1_spec("hosted-1", 1)).await);
    assert_eq!(status, 400, "{message}");
}

fn failure_v1<T: std::fmt::Debug>(
    result: Result<T, harmony_client::Error<v1::Error>>,
) -> (u16, String, String) {
    match result {
        Err(harmony_client::Error::ErrorResponse(rv)) => {
            let status = rv.status().as_u16();
            let body = rv.into_inner();
            (status, body.error_code.unwrap_or_default(), body.message)
        }
        other => panic!("expected an error response, got {other:?}"),
    }
}
