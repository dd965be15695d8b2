//! Read-only platform rollout status for organization owners: read through
//! Harmony 3.0.0, and still a clear 200 when a cell is older or down.

use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};

const PATH: &str = "/organizations/org-1/platform-rollouts";

/// Registers a release at the stack's Harmony and starts a rollout to it,
/// through Harmony's own 3.0.0 client (as an operator would).
async fn start_rollout(stack: &Stack) -> uuid::Uuid {
    use harmony_client::v3;
    let harmony = v3::Client::new_with_client(&stack.harmony_url, harmony_http());
    let spec = v3::types::PlatformReleaseSpec {
        kubernetes_min: "1.29".into(),
        kubernetes_max: "1.33".into(),
        runtimes: vec![],
    };
    harmony.platform_release_put("2026.12.0", &spec).await.unwrap();
    let create = v3::types::RolloutCreate {
        from_release: "2026.11.0".into(),
        to_release: "2026.12.0".into(),
    };
    harmony.rollout_create(&create).await.unwrap().into_inner().id
}

#[tokio::test]
async fn owners_see_rollouts_on_their_data_planes_and_nothing_else() {
    let stack = Stack::start().await;
    let (status, empty) = stack.call(Method::GET, PATH, None).await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(
        empty,
        json!({"rollouts": [], "unavailable": []}),
        "no deployments, nothing to show"
    );

    let (status, created) = stack.create(&hybrid()).await;
    assert_eq!(status, 201, "{created}");
    stack.wait_until_delivered().await;
    let id = start_rollout(&stack).await;

    let (status, answer) = stack.call(Method::GET, PATH, None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["unavailable"], json!([]));
    let rollouts = answer["rollouts"].as_array().unwrap();
    assert_eq!(rollouts.len(), 1, "{answer}");
    let rollout = &rollouts[0];
    assert_eq!(rollout["id"], id.to_string());
    assert_eq!(rollout["cell"], "default");
    assert_eq!(rollout["state"], "PROGRESSING");
    assert_eq!(rollout["to_release"], "2026.12.0");
    // Only this organization's data plane (the rollout also moved the
    // shared Hosted one, which this organization does not use), with the
    // release it is on now.
    assert_eq!(
        rollout["data_planes"],
        json!([{"data_plane_id": "hybrid-example", "platform_release": "2026.11.0"}])
    );
    // Harmony's reasons and decisions name other data planes: never here.
    let keys: Vec<&str> = rollout.as_object().unwrap().keys().map(String::as_str).collect();
    assert!(!keys.contains(&"reason") && !keys.contains(&"decisions"), "{keys:?}");
    assert!(!answer.to_string().contains("hosted-aws-us-east-1"), "{answer}");

    // Owners only.
    let (_, reader) = stack
        .call(
            Method::POST,
            "/organizations/org-1/tokens",
            Some(&json!({"name": "r", "role": "READ_ONLY"})),
        )
        .await;
    let reader = authorized(reader["token"].as_str().unwrap());
    let (status, body) = stack.call_as(&reader, Method::GET, PATH, None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().unwrap().contains("owner"), "{body}");
}

#[tokio::test]
async fn a_cell_too_old_or_down_is_reported_not_failed() {
    let mut stack = Stack::start_with_harmony_version(Some(semver::Version::new(2, 0, 0))).await;
    let (status, created) = stack.create(&hybrid()).await;
    assert_eq!(status, 201, "{created}");
    stack.wait_until_delivered().await;

    let (status, answer) = stack.call(Method::GET, PATH, None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["rollouts"], json!([]));
    let gap: &Value = &answer["unavailable"][0];
    assert_eq!(gap["cell"], "default");
    assert_eq!(
        gap["version_gap"],
        json!({"cell": "default", "required": ["3.0.0"], "available": ["1.0.0", "2.0.0"]})
    );
    assert!(gap["reason"].as_str().unwrap().contains("needs 3.0.0"), "{gap}");

    // Deployment work goes on at 2.0.0 meanwhile.
    let path = format!("/organizations/org-1/deployments/{}", created["id"].as_str().unwrap());
    let mut update = hybrid();
    update["image_tag"] = json!("v2");
    let (status, body) = stack.call(Method::POST, &path, Some(&update)).await;
    assert_eq!(status, 200, "{body}");

    stack.stop_harmony().await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, answer) = stack.call(Method::GET, PATH, None).await;
    assert_eq!(status, 200, "{answer}");
    let down = &answer["unavailable"][0];
    assert!(down["reason"].as_str().unwrap().contains("unavailable"), "{down}");
    assert_eq!(down["version_gap"], Value::Null);
}
