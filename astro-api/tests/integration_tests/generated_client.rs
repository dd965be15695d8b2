//! astro-api through its own generated client (astro-client): the typed
//! path other services and tools take.

use crate::common::*;
use astro_client::types;
use futures::TryStreamExt;

fn input(body: serde_json::Value) -> types::DeploymentInput {
    serde_json::from_value(body).expect("the test body fits the generated type")
}

#[tokio::test]
async fn crud_and_errors_through_the_generated_client() {
    let stack = Stack::start().await;
    let client = astro_client::Client::new_with_client(&stack.url, authorized(&stack.token));

    let created = client.deployment_create("org-1", &input(hybrid())).await.unwrap().into_inner();
    assert_eq!(created.status, types::DeploymentStatus::Deploying);
    let fetched = client.deployment_get("org-1", &created.id).await.unwrap().into_inner();
    assert_eq!(fetched, created);

    let mut changed = hybrid();
    changed["worker_queues"][0]["worker_concurrency"] = serde_json::json!(7);
    // Optimistic concurrency: the ETag read is sent back in If-Match.
    let read = client.deployment_get("org-1", &created.id).await.unwrap();
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, "\"1\"");
    let updated = client
        .deployment_update("org-1", &created.id, Some(&etag), &input(changed.clone()))
        .await
        .unwrap();
    assert_eq!(updated.headers()["etag"], "\"2\"");
    let updated = updated.into_inner();
    assert_eq!(updated.generation, 2);
    // The same ETag again is stale now: 412, naming the current one, and
    // nothing changes.
    match client.deployment_update("org-1", &created.id, Some(&etag), &input(changed)).await {
        Err(astro_client::Error::ErrorResponse(error)) => {
            assert_eq!(error.status().as_u16(), 412);
            assert_eq!(error.error_code, "PreconditionFailed");
            assert!(error.message.contains("\"2\""), "{}", error.message);
        }
        other => panic!("expected 412, got {other:?}"),
    }
    assert_eq!(client.deployment_get("org-1", &created.id).await.unwrap().generation, 2);

    let listed: Vec<types::Deployment> =
        client.deployment_list_stream("org-1", None, None, None).try_collect().await.unwrap();
    assert_eq!(listed, vec![updated]);

    // Errors decode into the one public error shape.
    let mut bad = hybrid();
    bad["scheduler"]["au"] = serde_json::json!(99);
    match client.deployment_create("org-1", &input(bad)).await {
        Err(astro_client::Error::ErrorResponse(error)) => {
            assert_eq!(error.status().as_u16(), 400);
            assert_eq!(error.error_code, "InvalidRequest");
            assert_eq!(error.field_errors[0].field, "scheduler.au");
            assert!(!error.request_id.is_empty());
        }
        other => panic!("expected a 400, got {other:?}"),
    }

    client.deployment_delete("org-1", &created.id).await.unwrap();
    assert!(client.deployment_get("org-1", &created.id).await.is_err());
}
