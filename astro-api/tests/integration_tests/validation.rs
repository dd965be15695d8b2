//! The domain's bad-input cases: each is a 400 naming every bad field.

use crate::common::*;
use serde_json::{Value, json};

fn with(mut body: Value, changes: &[(&str, Value)]) -> Value {
    for (pointer, value) in changes {
        // Sets the field, adding it to its parent object when absent.
        let (parent, key) = pointer.rsplit_once('/').expect("a JSON pointer");
        let parent = body.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent}"));
        match parent {
            Value::Array(items) => items[key.parse::<usize>().unwrap()] = value.clone(),
            object => object[key] = value.clone(),
        }
    }
    body
}

#[tokio::test]
async fn bad_input_names_every_field() {
    let stack = Stack::start().await;
    let queue = |name: &str, default: bool| {
        json!({"name": name, "is_default": default, "min_worker_count": 0,
               "max_worker_count": 2, "worker_concurrency": 4, "astro_machine": "A5"})
    };
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "STANDARD with a cluster",
            with(standard(), &[("/cluster_id", json!("c-1"))]),
            vec!["cluster_id"],
        ),
        (
            "HYBRID without scheduler, with ASTRO and a machine",
            with(
                hybrid(),
                &[
                    ("/scheduler", Value::Null),
                    ("/executor", json!("ASTRO")),
                    ("/worker_queues/0/astro_machine", json!("A5")),
                ],
            ),
            vec!["executor", "scheduler", "worker_queues[0].astro_machine"],
        ),
        (
            "no default queue",
            with(standard(), &[("/worker_queues", json!([queue("a", false)]))]),
            vec!["worker_queues"],
        ),
        (
            "two defaults",
            with(
                standard(),
                &[("/worker_queues", json!([queue("default", true), queue("b", true)]))],
            ),
            vec!["worker_queues", "worker_queues[1].name"],
        ),
        (
            "duplicate and over-long queue names",
            with(
                standard(),
                &[(
                    "/worker_queues",
                    json!([
                        queue("default", true),
                        queue("x", false),
                        queue("x", false),
                        queue(&"q".repeat(64), false)
                    ]),
                )],
            ),
            vec!["worker_queues[2].name", "worker_queues[3].name"],
        ),
        (
            "min over max, concurrency over the ceiling",
            with(
                standard(),
                &[
                    ("/worker_queues/0/min_worker_count", json!(11)),
                    ("/worker_queues/0/worker_concurrency", json!(1000)),
                ],
            ),
            vec!["worker_queues[0].min_worker_count", "worker_queues[0].worker_concurrency"],
        ),
        (
            "scheduler AU out of range, unknown runtime",
            with(hybrid(), &[("/scheduler/au", json!(30)), ("/runtime_version", json!("9.9.9"))]),
            vec!["runtime_version", "scheduler.au"],
        ),
        (
            "KUBERNETES with two queues",
            with(
                hybrid(),
                &[(
                    "/worker_queues",
                    json!([
                        {"name": "default", "is_default": true, "min_worker_count": 0, "max_worker_count": 1, "worker_concurrency": 1, "node_pool_id": "p"},
                        {"name": "extra", "is_default": false, "min_worker_count": 0, "max_worker_count": 1, "worker_concurrency": 1, "node_pool_id": "p"}
                    ]),
                )],
            ),
            vec!["worker_queues"],
        ),
        (
            "duplicate env keys, a new secret without value",
            with(
                standard(),
                &[(
                    "/environment_variables",
                    json!([{"key": "A", "value": "1"}, {"key": "A", "value": "2"}, {"key": "S", "is_secret": true}]),
                )],
            ),
            vec!["environment_variables[1].key", "environment_variables[2].value"],
        ),
        (
            "memory not twice the cpu, for the quota and the default pod",
            with(
                standard(),
                &[
                    ("/resource_quota_cpu", json!("4")),
                    ("/resource_quota_memory", json!("4Gi")),
                    ("/default_task_pod_cpu", json!("500m")),
                    ("/default_task_pod_memory", json!("512Mi")),
                ],
            ),
            vec!["default_task_pod_memory", "resource_quota_memory"],
        ),
        (
            "malformed quantity",
            with(standard(), &[("/resource_quota_cpu", json!("1.5.0"))]),
            vec!["resource_quota_cpu"],
        ),
        (
            "default task pod over the quota",
            with(
                standard(),
                &[
                    ("/resource_quota_cpu", json!("1")),
                    ("/resource_quota_memory", json!("2Gi")),
                    ("/default_task_pod_cpu", json!("2")),
                    ("/default_task_pod_memory", json!("4Gi")),
                ],
            ),
            vec!["default_task_pod_cpu", "default_task_pod_memory"],
        ),
        (
            "quotas on HYBRID, HA and dev mode on HYBRID",
            with(
                hybrid(),
                &[
                    ("/resource_quota_cpu", json!("2")),
                    ("/is_high_availability", json!(true)),
                    ("/is_development_mode", json!(true)),
                ],
            ),
            vec!["is_development_mode", "is_high_availability", "resource_quota_cpu"],
        ),
        ("64-character name", with(standard(), &[("/name", json!("n".repeat(64)))]), vec!["name"]),
        (
            "unknown cluster",
            with(hybrid(), &[("/cluster_id", json!("no-such-cluster"))]),
            vec!["cluster_id"],
        ),
        (
            "HYBRID on a Hosted cluster",
            with(hybrid(), &[("/cluster_id", json!("hosted-aws-us-east-1"))]),
            vec!["cluster_id"],
        ),
        (
            "no shared cluster in the region",
            with(standard(), &[("/region", json!("eu-north-1"))]),
            vec!["region"],
        ),
    ];
    for (name, body, expected) in cases {
        let (status, error) = stack.create(&body).await;
        assert_eq!(status, 400, "{name}: {error}");
        assert_eq!(error["error_code"], "InvalidRequest", "{name}");
        let mut got = fields(&error);
        got.sort();
        got.dedup();
        let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(got, expected, "{name}: {error}");
    }
    assert!(stack.list().await.is_empty(), "no bad input was stored");
}

#[tokio::test]
async fn malformed_bodies_are_400_not_500() {
    let stack = Stack::start().await;
    let client = authorized(&stack.token);
    for body in ["{", "[]", r#"{"workspace_id": 5}"#] {
        let response = client
            .post(format!("{}/organizations/org-1/deployments", stack.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "{body}");
    }
    let (status, error) = stack.create(&with(standard(), &[("/surprise", json!(1))])).await;
    assert_eq!(status, 400);
    assert!(error["message"].as_str().unwrap().contains("surprise"), "{error}");

    // Over the 256 KiB body limit: refused before it is read in full.
    let huge = with(standard(), &[("/description", json!("d".repeat(300 * 1024)))]);
    let (status, error) = stack.create(&huge).await;
    assert!((400..500).contains(&status), "{status} {error}");
    assert!(error["message"].as_str().unwrap().contains("exceeded maximum size"), "{error}");
    assert!(stack.list().await.is_empty(), "nothing stored");
}

/// Issue 34: bidirectional overrides and zero-width characters were kept
/// in names and descriptions (and so shown to other users as something
/// else). A name refuses both, a description the bidi controls; text in
/// other scripts, and the joiners they and emoji need, is taken.
#[tokio::test]
async fn names_refuse_bidi_controls_and_invisible_characters() {
    let stack = Stack::start().await;
    for (field, value, status) in [
        ("name", json!("prod\u{202e}lte"), 400),
        ("name", json!("etl\u{200b}"), 400),
        ("name", json!("\u{2066}etl\u{2069}"), 400),
        ("description", json!("nightly \u{202e}gnol"), 400),
        ("description", json!("nightly\u{200b} load"), 201),
        ("name", json!("می\u{200c}خواهم"), 201),
        ("name", json!("👩\u{200d}💻"), 201),
    ] {
        let mut body = standard();
        body["name"] = json!(format!("n-{}", uuid::Uuid::new_v4().simple()));
        body[field] = value.clone();
        let (got, answer) = stack.create(&body).await;
        assert_eq!(got, status, "{field} {value}: {answer}");
        if status == 400 {
            assert_eq!(fields(&answer), [field], "{answer}");
        }
    }
    for (path, body) in [
        ("/organizations/org-1/workspaces", json!({"name": "w\u{202e}"})),
        ("/organizations/org-1/workspaces", json!({"name": "w", "description": "\u{2067}x"})),
        ("/organizations/org-1/tokens", json!({"name": "t\u{200b}", "role": "READ_ONLY"})),
    ] {
        let (status, answer) = stack.call(reqwest::Method::POST, path, Some(&body)).await;
        assert_eq!(status, 400, "{path} {body}: {answer}");
    }
}

/// Issue 34: worker counts of up to 2^32-1 were taken and rendered as an
/// int32 `replicas`, and Airflow's parallelism reached 10^12. The bounds
/// are Kubernetes' and Airflow's now, stated in the public document and
/// refused naming the field.
#[tokio::test]
async fn numbers_are_held_to_what_kubernetes_and_airflow_hold() {
    let stack = Stack::start().await;
    let document: Value =
        serde_json::from_str(include_str!("../../../openapi/astro.json")).unwrap();
    let queue = &document["components"]["schemas"]["WorkerQueue"]["properties"];
    for field in ["min_worker_count", "max_worker_count"] {
        assert_eq!(queue[field]["maximum"], 2147483647, "{field} states its bound");
    }
    let past = 2147483648u64;
    for (changes, field) in [
        (
            json!({"min_worker_count": 0, "max_worker_count": past}),
            "worker_queues[0].max_worker_count",
        ),
        (
            json!({"min_worker_count": past, "max_worker_count": past}),
            "worker_queues[0].min_worker_count",
        ),
        (json!({"max_worker_count": 10_000_000, "worker_concurrency": 256}), "worker_queues"),
    ] {
        let mut body = standard();
        for (k, v) in changes.as_object().unwrap() {
            body["worker_queues"][0][k] = v.clone();
        }
        let (status, answer) = stack.create(&body).await;
        assert_eq!(status, 400, "{changes}: {answer}");
        assert!(fields(&answer).iter().any(|f| f == field), "{field} not named: {answer}");
    }
    let mut body = standard();
    body["worker_queues"][0]["min_worker_count"] = json!(0);
    body["worker_queues"][0]["max_worker_count"] = json!(2147483647u64 / 256);
    body["worker_queues"][0]["worker_concurrency"] = json!(256);
    assert_eq!(stack.create(&body).await.0, 201, "parallelism at its limit is taken");
}

/// Issue 38: a key the platform sets (`AIRFLOW__CORE__FERNET_KEY`) was
/// taken and rendered over the platform's value. astro-api refuses it now,
/// naming the field (Harmony 4.0.0 declares the same rule,
/// platform_environment_keys); other keys are taken as before.
#[tokio::test]
async fn keys_the_platform_sets_are_refused() {
    let stack = Stack::start().await;
    for (key, status) in [
        ("AIRFLOW__CORE__FERNET_KEY", 400),
        ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", 400),
        ("AIRFLOW__CORE__PARALLELISM", 201),
    ] {
        let mut body = standard();
        body["name"] = json!(format!("n-{}", uuid::Uuid::new_v4().simple()));
        body["environment_variables"] =
            json!([{ "key": key, "value": "mine", "is_secret": false }]);
        let (got, answer) = stack.create(&body).await;
        assert_eq!(got, status, "{key}: {answer}");
        if status == 400 {
            assert_eq!(fields(&answer), ["environment_variables[0].key"], "{answer}");
        }
    }
}
