//! Deploys: create, finalize (once, idempotently), the DAG-only rule, and
//! what reaches Harmony.

use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};

use sql_store::{Backend, on_both_backends};

on_both_backends!(
    finalize_moves_the_deployment_once,
    deploy_rules_name_the_field,
    finalize_after_delete_is_404_and_with_harmony_down_is_delivered_later,
);

async fn deployment(stack: &Stack, body: Value) -> String {
    let (status, created) = stack.create(&body).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

fn deploys(id: &str) -> String {
    format!("/organizations/org-1/deployments/{id}/deploys")
}

async fn finalize_moves_the_deployment_once(backend: Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    let id = deployment(&stack, hybrid()).await;
    let (status, deploy) = stack
        .call(Method::POST, &deploys(&id), Some(&json!({"type": "IMAGE_AND_DAG", "image_tag": "v2.1", "dag_tarball_version": "bundle-7"})))
        .await;
    assert_eq!(status, 201, "{deploy}");
    assert_eq!(deploy["status"], "INITIALIZED");
    let path = format!("{}/{}", deploys(&id), deploy["id"].as_str().unwrap());
    let (status, fetched) = stack.call(Method::GET, &path, None).await;
    assert_eq!((status, &fetched), (200, &deploy));

    let (status, finalized) = stack.call(Method::POST, &format!("{path}/finalize"), None).await;
    assert_eq!(status, 200, "{finalized}");
    assert_eq!(finalized["status"], "DEPLOYED");
    let (_, record) =
        stack.call(Method::GET, &format!("/organizations/org-1/deployments/{id}"), None).await;
    assert_eq!(
        (record["image_tag"].as_str(), record["dag_bundle_version"].as_str()),
        (Some("v2.1"), Some("bundle-7"))
    );
    assert_eq!(record["generation"], 2);
    let at_harmony = stack.harmony_deployment(&id).await.unwrap();
    assert_eq!(
        (at_harmony.image_tag.as_str(), at_harmony.dag_bundle_version.as_deref()),
        ("v2.1", Some("bundle-7"))
    );
    assert_eq!((at_harmony.generation, at_harmony.revision), (2, 2));

    // A second finalize changes nothing.
    let (status, again) = stack.call(Method::POST, &format!("{path}/finalize"), None).await;
    assert_eq!((status, &again), (200, &finalized));
    assert_eq!(stack.harmony_deployment(&id).await.unwrap().generation, 2);

    // A later settings update keeps the deployed image and bundle.
    let mut update = hybrid();
    update["worker_queues"][0]["worker_concurrency"] = json!(9);
    let (status, updated) = stack
        .call(Method::POST, &format!("/organizations/org-1/deployments/{id}"), Some(&update))
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (updated["image_tag"].as_str(), updated["dag_bundle_version"].as_str()),
        (Some("v2.1"), Some("bundle-7"))
    );
}

async fn deploy_rules_name_the_field(backend: Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    let mut body = hybrid();
    body["is_dag_deploy_enabled"] = json!(false);
    let id = deployment(&stack, body).await;
    let cases = [
        (json!({"type": "DAG_ONLY", "dag_tarball_version": "b-1"}), vec!["type"]),
        (json!({"type": "IMAGE_ONLY"}), vec!["image_tag"]),
        (
            json!({"type": "IMAGE_ONLY", "image_tag": "v1", "dag_tarball_version": "b"}),
            vec!["dag_tarball_version"],
        ),
        (
            json!({"type": "IMAGE_AND_DAG", "image_tag": "-bad tag"}),
            vec!["dag_tarball_version", "image_tag"],
        ),
    ];
    for (body, expected) in cases {
        let (status, error) = stack.call(Method::POST, &deploys(&id), Some(&body)).await;
        assert_eq!(status, 400, "{body}: {error}");
        let mut got = fields(&error);
        got.sort();
        assert_eq!(got, expected, "{body}: {error}");
    }
}

async fn finalize_after_delete_is_404_and_with_harmony_down_is_delivered_later(backend: Backend) {
    let Some(mut stack) = Stack::on(backend).await else { return };
    let id = deployment(&stack, hybrid()).await;
    let (_, deploy) = stack
        .call(Method::POST, &deploys(&id), Some(&json!({"type": "IMAGE_ONLY", "image_tag": "v3"})))
        .await;
    let path = format!("{}/{}/finalize", deploys(&id), deploy["id"].as_str().unwrap());

    // Harmony down: the finalize is accepted and reaches Harmony once it is
    // back.
    stack.stop_harmony().await;
    let (status, finalized) = stack.call(Method::POST, &path, None).await;
    assert_eq!((status, finalized["status"].as_str()), (200, Some("DEPLOYED")), "{finalized}");
    stack.restart_harmony();
    stack.wait_until_delivered().await;
    let at_harmony = stack.harmony_deployment(&id).await.expect("Harmony has it");
    assert_eq!((at_harmony.generation, at_harmony.image_tag.as_str()), (2, "v3"));
    let (status, again) = stack.call(Method::POST, &path, None).await;
    assert_eq!((status, &again), (200, &finalized), "a second finalize changes nothing");

    let other = deployment(&stack, {
        let mut b = hybrid();
        b["name"] = json!("other");
        b
    })
    .await;
    let (_, pending) = stack
        .call(
            Method::POST,
            &deploys(&other),
            Some(&json!({"type": "IMAGE_ONLY", "image_tag": "v4"})),
        )
        .await;
    let (status, _) = stack
        .call(Method::DELETE, &format!("/organizations/org-1/deployments/{other}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = stack
        .call(
            Method::POST,
            &format!("{}/{}/finalize", deploys(&other), pending["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 404);
}
