//! The example data plane and deployments the tests and benchmarks send to
//! Harmony, written once. Each is JSON in Harmony's 2.0.0 shape: a caller
//! decodes it into the types it speaks ([`typed`]: a generated client's,
//! the API's own) and changes only what its case is about.

use serde_json::{Value, json};

/// A data plane registration of `kind` (`HYBRID` or `HOSTED`), in AWS
/// us-east-1 on Kubernetes 1.31, owned by `owner` when given (its
/// `astronomer.io/organization` label).
pub fn registration(kind: &str, owner: Option<&str>) -> Value {
    let mut labels = serde_json::Map::new();
    if let Some(owner) = owner {
        labels.insert("astronomer.io/organization".into(), json!(owner));
    }
    json!({
        "kind": kind, "cloud_provider": "AWS", "region": "us-east-1", "labels": labels,
        "kubernetes_version": "1.31", "agent_version": "1.0.0", "platform_release": "2026.11.0",
    })
}

/// A data plane as Harmony shows it: a [`registration`] of `kind` without
/// an owner, `id`, ready, never heard from, created and updated `at` (a
/// timestamp, written as JSON writes it).
pub fn data_plane(id: &str, kind: &str, at: impl serde::Serialize) -> Value {
    let mut plane = registration(kind, None);
    let fields = plane.as_object_mut().expect("an object");
    fields.insert("id".into(), json!(id));
    fields.insert("status".into(), json!("READY"));
    fields.insert("last_heartbeat".into(), Value::Null);
    fields.insert("created_at".into(), json!(at));
    fields.insert("updated_at".into(), json!(at));
    plane
}

/// A Hybrid deployment `etl` of org-1's ws-1 on `data_plane_id`: Celery,
/// one worker queue on node pool `pool-a`, a plain and a secret variable.
pub fn hybrid_spec(data_plane_id: &str, generation: u64) -> Value {
    json!({
        "kind": "HYBRID",
        "organization_id": "org-1",
        "workspace_id": "ws-1",
        "data_plane_id": data_plane_id,
        "name": "etl",
        "runtime_version": "13.1.0",
        "executor": "CELERY",
        "scheduler": { "au": 5, "replicas": 1 },
        "is_high_availability": false,
        "worker_queues": [{
            "name": "default", "is_default": true, "min_worker_count": 1,
            "max_worker_count": 10, "worker_concurrency": 16, "node_pool_id": "pool-a",
        }],
        "environment_variables": [
            { "key": "PLAIN", "value": "visible", "is_secret": false },
            { "key": "API_TOKEN", "value": "hunter2-secret-value", "is_secret": true },
        ],
        "image_tag": "v1",
        "generation": generation,
    })
}

/// [`hybrid_spec`] as a Hosted deployment: the Astro executor, a medium
/// scheduler in high availability, one A10 worker queue.
pub fn hosted_spec(data_plane_id: &str, generation: u64) -> Value {
    let mut spec = hybrid_spec(data_plane_id, generation);
    let fields = spec.as_object_mut().expect("an object");
    fields.remove("scheduler");
    fields.insert("kind".into(), json!("HOSTED"));
    fields.insert("executor".into(), json!("ASTRO"));
    fields.insert("scheduler_size".into(), json!("MEDIUM"));
    fields.insert("is_high_availability".into(), json!(true));
    fields.insert(
        "worker_queues".into(),
        json!([{
            "name": "default", "is_default": true, "min_worker_count": 0,
            "max_worker_count": 5, "worker_concurrency": 8, "astro_machine": "A10",
        }]),
    );
    spec
}

/// `value` as a `T`; panics naming `T` when it does not decode (a fixture
/// that no longer fits the type it is read as).
pub fn typed<T: serde::de::DeserializeOwned>(value: Value) -> T {
    T::deserialize(&value).unwrap_or_else(|e| {
        panic!("the fixture does not decode as {}: {e}\n{value:#}", std::any::type_name::<T>())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hosted_spec_is_the_hybrid_one_with_hosted_settings() {
        let hosted = hosted_spec("p", 2);
        assert_eq!(hosted["kind"], "HOSTED");
        assert!(hosted.get("scheduler").is_none(), "{hosted}");
        assert_eq!(hosted["environment_variables"], hybrid_spec("p", 2)["environment_variables"]);
    }
}
