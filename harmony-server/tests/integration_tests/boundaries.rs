//! Boundary contract tests: every numeric rule Harmony enforces on a
//! deployment (`deployment_rules::BOUNDS`, the list its validation runs) is
//! sent at each limit and just past it, through the generated client of
//! every served version that carries deployments. At a limit: taken (2xx).
//! Past it: a 400 naming the field. A rule tightened by hand somewhere
//! else (a check in a handler, not in the list) fails here, because a value
//! the list allows is then refused; a rule loosened fails because a value
//! past it is taken.
//!
//! From 4.0.0 the document states the rules (`v4::RuledDeploymentSpec`):
//! there a value past a limit cannot even be built with the generated
//! client, and the same JSON sent without it is still a 400 naming the
//! field. `every_bound_is_stated_in_the_newest_document` holds the
//! document to the list.

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
        // The other factor of Airflow's parallelism (max_worker_count x
        // worker_concurrency, itself bounded) at its least, so that only
        // the bound under test is at its limit.
        "worker_queues[].max_worker_count" => {
            queue["min_worker_count"] = json!(0);
            queue["max_worker_count"] = json!(value);
            queue["worker_concurrency"] = json!(1);
        }
        "worker_queues[].min_worker_count" => {
            queue["max_worker_count"] = json!(deployment_rules::MAX_WORKER_COUNT_MAX);
            queue["min_worker_count"] = json!(value);
            queue["worker_concurrency"] = json!(1);
        }
        "worker_queues[].worker_concurrency" => {
            queue["min_worker_count"] = json!(0);
            queue["max_worker_count"] = json!(1);
            queue["worker_concurrency"] = json!(value);
        }
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
            match serde_json::from_value(spec.clone()) {
                Ok(typed) => answer(c.deployment_put(&id, &typed).await, |e| e.message.clone()),
                Err(refused) => {
                    // The document states the rule, so the generated client
                    // cannot build the request; without it, Harmony still
                    // refuses it.
                    let response = http()
                        .put(format!("{}/deployments/{id}", h.url))
                        .header("api-version", "4.0.0")
                        .json(&spec)
                        .send()
                        .await
                        .unwrap();
                    let status = response.status().as_u16();
                    let body: Value = response.json().await.unwrap();
                    assert_eq!(
                        status, 400,
                        "the 4.0.0 client refused ({refused}), Harmony took it"
                    );
                    (status, body["message"].as_str().unwrap_or_default().to_owned())
                }
            }
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

/// The newest document states every bound of the list Harmony runs, at
/// the same numbers: a bound tightened in the list without the document
/// (or the other way round) fails here or, since the document is generated
/// from the same constants, in `cargo xtask check`.
#[test]
fn every_bound_is_stated_in_the_newest_document() {
    let newest =
        harmony_api::supported_versions().iter().map(|v| v.semver().clone()).max().unwrap();
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(document(&newest)).unwrap()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let resolve = |schema: &Value| -> Value {
        let mut schema = schema.clone();
        if let Some(reference) = schema["allOf"][0]["$ref"].as_str().or(schema["$ref"].as_str()) {
            schema = schemas[reference.rsplit('/').next().unwrap()].clone();
        }
        schema
    };
    for bound in BOUNDS {
        // `a.b` is a property of a property; `a[].b` of an item of a list.
        let mut schema = schemas["DeploymentSpec"].clone();
        for part in bound.field.split('.') {
            let (name, list) = match part.strip_suffix("[]") {
                Some(name) => (name, true),
                None => (part, false),
            };
            schema = resolve(&schema["properties"][name]);
            if list {
                schema = resolve(&schema["items"]);
            }
        }
        let (min, max) = match schema["type"].as_str() {
            Some("array") => ("minItems", "maxItems"),
            Some("string") => ("minLength", "maxLength"),
            _ => ("minimum", "maximum"),
        };
        let stated = |key: &str| schema[key].as_u64();
        let type_max = match schema["format"].as_str() {
            Some("uint8") => Some(u64::from(u8::MAX)),
            Some("uint32") => Some(u64::from(u32::MAX)),
            _ => None,
        };
        assert_eq!(
            stated(min).unwrap_or(0),
            bound.min,
            "{}: the {newest} document states {min} {:?}: {schema}",
            bound.field,
            stated(min)
        );
        assert_eq!(
            stated(max).or(type_max),
            Some(bound.max),
            "{}: the {newest} document states {max} {:?}: {schema}",
            bound.field,
            stated(max)
        );
    }
}
