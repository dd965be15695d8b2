//! A change can be followed from astro-api into Harmony: the id astro-api
//! answers a request with (`x-request-id`) is the one Harmony logs for the
//! calls that request made (`hdr_x_request_id`), whether the change was
//! delivered while the request waited or later by the outbox's worker.

use crate::common::*;
use serde_json::Value;
use sql_store::{Backend, on_both_backends};

on_both_backends!(harmony_logs_the_request_id_of_the_astro_request_that_made_each_change);

/// Harmony's "request completed" records for `method` on `uri`, as JSON.
fn harmony_records(logs: &std::path::Path, method: &str, uri: &str) -> Vec<Value> {
    std::fs::read_to_string(logs.join("harmony.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|r| r["msg"] == "request completed" && r["method"] == method && r["uri"] == uri)
        .collect()
}

/// Sends `body` with `method` to astro-api; its answer and request id.
async fn send(
    stack: &Stack,
    method: reqwest::Method,
    path: &str,
    body: &Value,
) -> (u16, Value, String) {
    let response = authorized(&stack.token)
        .request(method, format!("{}{path}", stack.url))
        .json(body)
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap(), id)
}

async fn harmony_logs_the_request_id_of_the_astro_request_that_made_each_change(backend: Backend) {
    let logs = tempfile::tempdir().unwrap();
    let Some(mut stack) = Stack::on_logging_to(backend, logs.path()).await else { return };
    let (status, created, first) =
        send(&stack, reqwest::Method::POST, "/organizations/org-1/deployments", &hybrid()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/organizations/org-1/deployments/{id}");
    wait_delivered(&authorized(&stack.token), &format!("{}{path}", stack.url), 1).await;
    let uri = format!("/deployments/{id}");
    let puts = harmony_records(logs.path(), "PUT", &uri);
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert_eq!(puts[0]["hdr_x_request_id"], first.as_str(), "{:?}", puts[0]);

    // Harmony down: the update is queued, and the outbox's worker delivers
    // it once Harmony is back, still carrying the update's request id.
    stack.stop_harmony().await;
    let mut update = hybrid();
    update["worker_queues"][0]["worker_concurrency"] = serde_json::json!(12);
    let (status, pending, second) = send(&stack, reqwest::Method::POST, &path, &update).await;
    assert!(status == 200 || status == 202, "{status} {pending}");
    assert_ne!(first, second);
    stack.restart_harmony();
    wait_delivered(&authorized(&stack.token), &format!("{}{path}", stack.url), 2).await;
    let puts = harmony_records(logs.path(), "PUT", &uri);
    let delivered: Vec<&Value> = puts.iter().filter(|r| r["response_code"] == 200).collect();
    assert_eq!(delivered.len(), 2, "{puts:?}");
    assert_eq!(delivered[1]["hdr_x_request_id"], second.as_str(), "{:?}", delivered[1]);
}
