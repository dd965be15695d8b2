//! A secret environment variable's value never appears in a response body,
//! a log line (both servers, debug level, every path: success, validation
//! error, conflict, Harmony down and retried) or a ConfigMap Harmony renders.

use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};

const FIRST: &str = "s3cret-first-value-7f1c";
const SECOND: &str = "s3cret-second-value-9a2d";

fn with_secret(name: &str, value: Option<&str>) -> Value {
    let mut body = standard();
    body["name"] = json!(name);
    let mut secret = json!({"key": "DB_PASSWORD", "is_secret": true});
    if let Some(value) = value {
        secret["value"] = json!(value);
    }
    body["environment_variables"] = json!([{"key": "PLAIN", "value": "visible"}, secret]);
    body
}

#[tokio::test]
async fn secret_values_appear_in_no_response_log_or_configmap() {
    let logs = tempfile::tempdir().unwrap();
    let mut stack = Stack::start_logging_to(logs.path()).await;
    let mut bodies = Vec::new();

    let (status, created) = stack.create(&with_secret("etl", Some(FIRST))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/organizations/org-1/deployments/{id}");
    bodies.push(created);
    // A conflict and a validation error, each carrying a secret value.
    bodies.push(stack.create(&with_secret("etl", Some(FIRST))).await.1);
    let mut invalid = with_secret("", Some(SECOND));
    invalid["worker_queues"] = json!([]);
    bodies.push(stack.create(&invalid).await.1);
    // An update keeping the value, one replacing it, and one made while
    // Harmony is down (its first attempt, made before the answer, is
    // logged as a warning; retried and delivered later).
    bodies.push(stack.call(Method::POST, &path, Some(&with_secret("etl", None))).await.1);
    bodies.push(stack.call(Method::POST, &path, Some(&with_secret("etl", Some(SECOND)))).await.1);
    stack.stop_harmony().await;
    let mut changed = with_secret("etl", Some(FIRST));
    changed["worker_queues"][0]["max_worker_count"] = json!(5);
    bodies.push(stack.call(Method::POST, &path, Some(&changed)).await.1);
    stack.restart_harmony();
    stack.wait_until_delivered().await;
    bodies.push(stack.call(Method::GET, &path, None).await.1);
    bodies.push(json!(stack.list().await));

    // Harmony kept the newest value (it renders it into the Secret object,
    // which is never returned), and its manifests show no value at all.
    let client =
        harmony_client::latest::Client::new_with_client(&stack.harmony_url, harmony_http());
    let manifests =
        client.deployment_manifests_get(&id.parse().unwrap(), None).await.unwrap().into_inner();
    let manifests = serde_json::to_value(&manifests).unwrap();
    let config_maps: Vec<&Value> = manifests["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "ConfigMap")
        .collect();
    assert!(!config_maps.is_empty(), "a ConfigMap was rendered: {manifests}");
    bodies.push(manifests.clone());
    let at_harmony = stack.harmony_deployment(&id).await.unwrap();
    bodies.push(serde_json::to_value(&at_harmony).unwrap());

    for body in &bodies {
        let text = body.to_string();
        for secret in [FIRST, SECOND] {
            assert!(!text.contains(secret), "a secret value in a response: {text}");
        }
    }
    let mut logged = 0;
    for file in ["harmony.log", "astro-api.log"] {
        let text = std::fs::read_to_string(logs.path().join(file)).unwrap();
        logged += text.lines().count();
        for secret in [FIRST, SECOND] {
            assert!(!text.contains(secret), "a secret value in {file}");
        }
    }
    assert!(logged > 20, "the servers logged ({logged} lines)");
}

sql_store::on_both_backends!(
    a_secret_value_waiting_in_the_outbox_is_sealed,
    a_rotated_key_with_a_change_queued_refuses_to_start_naming_it,
);

/// A secret value waits in astro-api's outbox until Harmony has it (here:
/// Harmony is down). Nothing astro-api writes holds it in clear: not the
/// SQLite files (database, log), not a PostgreSQL row, and not after it
/// was delivered and its entry deleted; the value Harmony finally gets is
/// the one sent.
async fn a_secret_value_waiting_in_the_outbox_is_sealed(backend: sql_store::Backend) {
    let Some(mut stack) = Stack::on(backend).await else { return };
    // Placed once while Harmony is up, so a create can be queued without it.
    let (status, _) = stack.create(&with_secret("seed", Some(SECOND))).await;
    assert_eq!(status, 201);
    stack.stop_harmony().await;
    let (status, created) = stack.create(&with_secret("etl", Some(FIRST))).await;
    assert_eq!(status, 201, "{created}");
    let on_disk = |stack: &Stack| -> bool {
        let mut found = false;
        for file in std::fs::read_dir(stack.astro_data.path()).unwrap() {
            let bytes = std::fs::read(file.unwrap().path()).unwrap();
            found |= bytes.windows(FIRST.len()).any(|w| w == FIRST.as_bytes());
        }
        found || stack.astro_dump().is_some_and(|rows| rows.contains(FIRST))
    };
    assert!(!on_disk(&stack), "a secret value in clear while it waits in the outbox");
    stack.restart_harmony();
    stack.wait_until_delivered().await;
    assert!(!on_disk(&stack), "a secret value in clear after its delivery");
    // Delivered as sent: the Secret Harmony renders for the data plane's
    // agent holds the value itself, not its sealed form.
    let id: uuid::Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let harmony = &stack.harmony.as_ref().unwrap().app_private().harmony;
    let state = harmony.desired_state("hosted-aws-us-east-1", 0).unwrap();
    let objects = &state.deployments.iter().find(|d| d.deployment_id == id).unwrap().objects;
    let objects: Vec<serde_json::Value> =
        objects.iter().map(|o| serde_json::from_str(o.get()).unwrap()).collect();
    let secrets: Vec<_> = objects.iter().filter(|o| o["kind"] == "Secret").collect();
    assert!(
        secrets.iter().any(|s| s["stringData"]["DB_PASSWORD"] == FIRST),
        "the value reached Harmony as sent: {secrets:?}"
    );
}

/// Issue 34: astro-api started with another key while a change with a
/// secret waited in its outbox, then showed "Harmony is unavailable" for
/// that change for ever (and a later DELETE queued behind it). Now it
/// refuses to start, naming the entry and its own key's fingerprint, and
/// starts again with the key the change was sealed with.
async fn a_rotated_key_with_a_change_queued_refuses_to_start_naming_it(
    backend: sql_store::Backend,
) {
    let Some(mut stack) = Stack::on(backend).await else { return };
    let (status, _) = stack.create(&with_secret("seed", Some(SECOND))).await;
    assert_eq!(status, 201);
    stack.stop_harmony().await;
    let (status, created) = stack.create(&with_secret("etl", Some(FIRST))).await;
    assert_eq!(status, 201, "{created}");
    let mut rotated = stack.astro_config.clone();
    let other = astro_api::seal::Sealer::new([7; 32]);
    let fingerprint = other.fingerprint().to_owned();
    rotated.secret_key = Some(other);
    let refused = astro_api::start(&rotated, &log()).err().expect("it refuses to start");
    let message = format!("{refused:#}");
    assert!(message.contains(created["id"].as_str().unwrap()), "{message}");
    assert!(message.contains(&fingerprint) && message.contains("--secret-key-file"), "{message}");
    assert!(!message.contains(FIRST), "{message}");
    // The key it was sealed with: a replica starts, and the change arrives.
    let replica = stack.replica();
    drop(replica);
    stack.restart_harmony();
    stack.wait_until_delivered().await;
}
