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
    let path = format!("/organizations/org-1/deployments/{}", created["id"].as_str().unwrap());
    stack.stop_harmony().await;
    let mut update = standard();
    update["name"] = serde_json::json!("renamed");
    let (status, body) = stack.call(Method::POST, &path, Some(&update)).await;
    assert_eq!((status, body["error_code"].as_str()), (503, Some("HarmonyUnavailable")));
    let (status, _) = stack.call(Method::DELETE, &path, None).await;
    assert_eq!(status, 503);
    let (_, still) = stack.call(Method::GET, &path, None).await;
    assert_eq!(still, created);
}

#[tokio::test]
async fn an_old_harmony_does_hybrid_work_through_1_0_0_and_names_the_gap_for_the_rest() {
    let stack = Stack::start_with_harmony_version(Some(semver::Version::new(1, 0, 0)));
    // Hybrid work has a 1.0.0 form: done through the old version.
    let (status, body) = stack.create(&hybrid()).await;
    assert_eq!(status, 201, "{body}");
    let at_harmony = stack.harmony_deployment_v1(body["id"].as_str().unwrap()).await;
    assert_eq!(at_harmony.expect("Harmony has it").name, "customer-etl");

    // Hosted work has none: a 503 naming the cell and the gap.
    let (status, body) = stack.create(&standard()).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error_code"], "HarmonyVersionUnsupported");
    assert_eq!(
        body["version_gap"],
        serde_json::json!({"cell": "default", "required": ["2.0.0"], "available": ["1.0.0"]})
    );
    assert_eq!(body["retry_after_seconds"], 5);
    assert_eq!(stack.list().await.len(), 1, "only the Hybrid deployment was stored");

    let (_, ready) = stack.call(Method::GET, "/readyz", None).await;
    assert_eq!(ready["cells"][0]["api_version"], "1.0.0");
    assert_eq!(ready["cells"][0]["degraded"], true);
}
