//! Boundary contract tests: every numeric rule Harmony enforces on a
//! deployment (`deployment_rules::BOUNDS`, the list its validation runs) is
//! sent at each limit and just past it, through the generated client of
//! every served version that carries deployments. At a limit: taken (2xx).
//! Past it: a 400 naming the field. A rule tightened by hand somewhere
//! else (a check in a handler, not in the list) fails here, because a value
//! the list allows is then refused; a rule loosened fails because a value
//! past it is taken.

use crate::common::*;
use deployment_rules::{BOUNDS, Bound};
use serde_json::{Value, json};

/// A hybrid spec (JSON, 2.0.0's shape) with `bound`'s field set to `value`.
fn at(bound: &Bound, value: u64, generation: u64) -> Value {
    let mut spec = serde_json::to_value(hybrid_spec("hybrid-1", generation)).unwrap();
    let queue = &mut spec["worker_queues"][0];
    match bound.field {
        "scheduler.au" => spec["scheduler"]["au"] = json!(value),
        "scheduler.replicas" => spec["scheduler"]["replicas"] = json!(value),
        "worker_queues[].max_worker_count" => {
            queue["min_worker_count"] = json!(0);
            queue["max_worker_count"] = json!(value);
        }
        "worker_queues[].min_worker_count" => {
            queue["max_worker_count"] = json!(u32::MAX);
            queue["min_worker_count"] = json!(value);
        }
        "worker_queues[].worker_concurrency" => queue["worker_concurrency"] = json!(value),
        "name" => spec["name"] = json!("n".repeat(value as usize)),
        "worker_queues" => {
            let first = queue.clone();
            spec["worker_queues"] = (0..value)
                .map(|i| {
                    let mut q = first.clone();
                    if i > 0 {
                        q["name"] = json!(format!("q{i}"));
                        q["is_default"] = json!(false);
                    }
                    q
                })
                .collect();
        }
        other => panic!("no way to set {other}: add it here when a bound is added"),
    }
    spec
}

/// The 1.0.0 shape of a 2.0.0 hybrid spec.
fn v1(mut spec: Value) -> Value {
    for field in ["kind", "scheduler_size", "is_high_availability"] {
        spec.as_object_mut().unwrap().remove(field);
    }
    for queue in spec["worker_queues"].as_array_mut().unwrap() {
        queue.as_object_mut().unwrap().remove("astro_machine");
    }
    spec
}

/// Sends `spec` through the generated client of `version`; the status and,
/// for a refusal, the message.
async fn put(h: &TestHarmony, version: &str, id: uuid::Uuid, spec: Value) -> (u16, String) {
    fn answer<T, E: std::fmt::Debug>(
        r: Result<T, harmony_client::Error<E>>,
        message: impl Fn(&E) -> String,
    ) -> (u16, String) {
        match r {
            Ok(_) => (200, String::new()),
            Err(harmony_client::Error::ErrorResponse(e)) => (e.status().as_u16(), message(&e)),
            Err(other) => panic!("{other:?}"),
        }
    }
    match version {
        "1.0.0" => {
            let c = harmony_client::v1::Client::new_with_client(&h.url, http());
            let spec = serde_json::from_value(v1(spec)).unwrap();
            answer(c.deployment_put(&id, &spec).await, |e| e.message.clone())
        }
        "2.0.0" => {
            let spec = serde_json::from_value(spec).unwrap();
            answer(h.v2().deployment_put(&id, &spec).await, |e| e.message.clone())
        }
        "3.0.0" => {
            let c = harmony_client::v3::Client::new_with_client(&h.url, http());
            let spec = serde_json::from_value(spec).unwrap();
            answer(c.deployment_put(&id, &spec).await, |e| e.message.clone())
        }
        "4.0.0" => {
            let c = harmony_client::v4::Client::new_with_client(&h.url, http());
            let spec = serde_json::from_value(spec).unwrap();
            answer(c.deployment_put(&id, &spec).await, |e| e.message.clone())
        }
        other => panic!("no client for {other}: add it when a version is added"),
    }
}

#[tokio::test]
async fn every_bound_holds_at_its_limits_at_every_served_version() {
    let h = TestHarmony::start();
    two_planes(&h).await;
    let served: Vec<String> =
        harmony_api::supported_versions().iter().map(|v| v.semver().to_string()).collect();
    let mut sent = 0;
    for version in &served {
        for bound in BOUNDS {
            let fits_u32 = |v: u64| v <= u64::from(u32::MAX);
            let fits = |v: u64| match bound.field {
                "scheduler.au" | "scheduler.replicas" => v <= u64::from(u8::MAX),
                _ => fits_u32(v),
            };
            for value in [bound.min, bound.max] {
                let id = uuid::Uuid::new_v4();
                let (status, message) = put(&h, version, id, at(bound, value, 1)).await;
                sent += 1;
                assert_eq!(
                    status, 200,
                    "{} = {value} at {version} is within the rule: {message}",
                    bound.field
                );
            }
            let past = [bound.min.checked_sub(1), bound.max.checked_add(1).filter(|v| fits(*v))];
            for value in past.into_iter().flatten() {
                let id = uuid::Uuid::new_v4();
                let (status, message) = put(&h, version, id, at(bound, value, 1)).await;
                sent += 1;
                let field = bound.field.replace("[]", "[0]");
                assert_eq!(status, 400, "{} = {value} at {version} is past the rule", bound.field);
                assert!(message.contains(&format!("{field}: ")), "{field} at {version}: {message}");
            }
        }
    }
    eprintln!(
        "boundaries: {sent} requests over {} bounds at {} versions",
        BOUNDS.len(),
        served.len()
    );
}
