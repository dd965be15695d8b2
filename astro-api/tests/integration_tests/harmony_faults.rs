//! Harmony down, or at an older version: a clear 503, never a 500, and
//! nothing half-written.

use crate::common::*;
use reqwest::Method;

#[tokio::test]
async fn harmony_down_is_a_503_and_writes_nothing() {
    let mut stack = Stack::start();
    stack.stop_harmony().await;
    let (status, body) = stack.create(&standard()).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error_code"], "HarmonyUnavailable");
    assert_eq!(body["retry_after_seconds"], 5);
    assert!(!body["request_id"].as_str().unwrap().is_empty());
    assert!(stack.list().await.is_empty(), "nothing half-written");

    // Back up: the same request now succeeds.
    stack.restart_harmony();
    let (status, body) = stack.create(&standard()).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn update_and_delete_with_harmony_down_change_nothing() {
    let mut stack = Stack::start();
    let (_, created) = stack.create(&standard()).await;
    let path = format!(
        "/organizations/org-1/deployments/{}",
        created["id"].as_str().unwrap()
    );
    stack.stop_harmony().await;
    let mut update = standard();
    update["name"] = serde_json::json!("renamed");
    let (status, body) = stack.call(Method::POST, &path, Some(&update)).await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (503, Some("HarmonyUnavailable"))
    );
    let (status, _) = stack.call(Method::DELETE, &path, None).await;
    assert_eq!(status, 503);
    let (_, still) = stack.call(Method::GET, &path, None).await;
    assert_eq!(still, created);
}

#[tokio::test]
async fn an_old_harmony_is_a_named_version_gap_not_a_500() {
    let stack = Stack::start_with_harmony_version(Some(semver::Version::new(1, 0, 0)));
    let (status, body) = stack.create(&hybrid()).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error_code"], "HarmonyVersionUnsupported");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("2.0.0") && message.contains("1.0.0"),
        "{message}"
    );
    assert!(stack.list().await.is_empty());
}
