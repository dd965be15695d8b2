//! Render throughput: full manifest sets per second on one core, against
//! plain `serde_json` serialization of the same objects.

use crate::Line;
use harmony_api::latest::*;
use std::time::{Duration, Instant};

fn spec() -> DeploymentSpec {
    let queue = |name: &str, default: bool| WorkerQueue {
        name: name.into(),
        is_default: default,
        min_worker_count: 1,
        max_worker_count: 10,
        worker_concurrency: 16,
        astro_machine: None,
        node_pool_id: Some("pool-a".into()),
    };
    DeploymentSpec {
        kind: DataPlaneKind::Hybrid,
        organization_id: "org".into(),
        workspace_id: "ws".into(),
        data_plane_id: "hybrid-example".into(),
        name: "etl".into(),
        runtime_version: "13.1.0".into(),
        executor: Executor::Celery,
        scheduler_size: None,
        scheduler: Some(HybridScheduler { au: 10, replicas: 2 }),
        is_high_availability: false,
        worker_queues: vec![
            queue("default", true),
            queue("etl", false),
            queue("ml", false),
            queue("reports", false),
        ],
        environment_variables: (0..10)
            .map(|i| EnvironmentVariable {
                key: format!("VAR_{i}"),
                value: Some(format!("value-{i}")),
                is_secret: i % 5 == 0,
            })
            .collect(),
        image_tag: "v1".into(),
        dag_bundle_version: Some("bundle-1".into()),
        generation: 1,
        contact_emails: None,
    }
}

fn plane() -> DataPlane {
    let plane = test_support::fixtures::data_plane("hybrid-example", "HYBRID", chrono::Utc::now());
    test_support::fixtures::typed(plane)
}

/// Runs `f` repeatedly for about `budget`; returns runs per second (median
/// of three).
fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
    let mut rates = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < budget {
            f();
            n += 1;
        }
        rates.push(n as f64 / start.elapsed().as_secs_f64());
    }
    crate::load::median(rates)
}

pub fn run() -> Vec<Line> {
    let (id, spec, plane) = (uuid::Uuid::new_v4(), spec(), plane());
    let key = harmony_server::render::SecretKey::development();
    let rendered = harmony_server::render::render(&key, id, &spec, &plane);
    let objects: Vec<serde_json::Value> = rendered.objects.iter().map(|o| o.value()).collect();
    let count = objects.len();
    let budget = Duration::from_secs(1);
    let mut sink = 0usize;
    let render_rate = rate(budget, || {
        let r = harmony_server::render::render(&key, id, &spec, &plane);
        sink += r.objects.len();
    });
    let yaml_rate = rate(budget, || {
        let r = harmony_server::render::render(&key, id, &spec, &plane);
        sink += harmony_server::render::yaml(&r.objects).len();
    });
    let serialize_rate = rate(budget, || {
        sink += serde_json::to_vec(&objects).map(|v| v.len()).unwrap_or(0);
    });
    std::hint::black_box(sink);
    vec![
        Line::new(
            format!("render: full sets as JSON ({count} objects, 4 queues), 1 core"),
            render_rate,
            "sets/s",
            "serde_json::to_vec of the same objects",
            serialize_rate,
            "typed objects serialized once to JSON text, keyed hash (HMAC-SHA256) of every object and the input",
        ),
        Line::new(
            format!("render: full sets as YAML ({count} objects, 4 queues), 1 core"),
            yaml_rate,
            "sets/s",
            "serde_json::to_vec of the same objects",
            serialize_rate,
            "the JSON render plus the multi-document YAML stream",
        ),
    ]
}
