//! The control-plane path: create-deployment through astro-api to Harmony on
//! SQLite, over loopback, against the two-hop echo under the same load; and
//! the same path on PostgreSQL against SQLite.

use crate::load::{self, Outcome};
use crate::{Line, echo};
use serde_json::json;
use std::time::Duration;

const CONCURRENCY: [usize; 3] = [1, 16, 64];
const REPETITIONS: usize = 3;
const DURATION: Duration = Duration::from_secs(3);
const WARM_UP: Duration = Duration::from_secs(1);

fn body(run: &str, worker: usize, n: usize) -> serde_json::Value {
    json!({
        "workspace_id": "ws-bench",
        "name": format!("{run}-{worker}-{n}"),
        "type": "HYBRID",
        "cluster_id": "hybrid-example",
        "runtime_version": "13.1.0",
        "executor": "CELERY",
        "scheduler": {"au": 10, "replicas": 2},
        "worker_queues": [
            {"name": "default", "is_default": true, "min_worker_count": 1, "max_worker_count": 10,
             "worker_concurrency": 16, "node_pool_id": "pool-a"},
            {"name": "heavy", "is_default": false, "min_worker_count": 0, "max_worker_count": 4,
             "worker_concurrency": 4, "node_pool_id": "pool-b"}
        ],
        "environment_variables": [
            {"key": "MODE", "value": "batch"},
            {"key": "REGION", "value": "us-east-1"},
            {"key": "API_TOKEN", "value": "bench-secret-value", "is_secret": true}
        ]
    })
}

async fn measure(url: &str, workers: usize, token: &str) -> Vec<Outcome> {
    // The echo ignores the token; both paths carry the same header.
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .default_headers(headers)
        .build()
        .unwrap();
    let target = format!("{url}/organizations/bench-org/deployments");
    let mut outcomes = Vec::new();
    for rep in 0..=REPETITIONS {
        let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let (http, target) = (http.clone(), target.clone());
        let outcome = load::run(workers, if rep == 0 { WARM_UP } else { DURATION }, move |w, n| {
            let request = http.post(&target).json(&body(&run, w, n));
            async move { matches!(request.send().await, Ok(r) if r.status().as_u16() == 201) }
        })
        .await;
        if rep > 0 {
            outcomes.push(outcome);
        }
    }
    outcomes
}

fn summary(outcomes: &[Outcome]) -> (f64, f64, f64, usize) {
    let throughput = load::median(outcomes.iter().map(Outcome::throughput).collect());
    let p50 = load::median(outcomes.iter().map(|o| o.percentile(0.50)).collect());
    let p99 = load::median(outcomes.iter().map(|o| o.percentile(0.99)).collect());
    let errors = outcomes.iter().map(|o| o.errors).sum();
    (throughput, p50, p99, errors)
}

/// A Harmony and an astro-api wired as in production (service credential),
/// on SQLite under temporary directories or, with `postgres`, each in a
/// schema of its own on the local PostgreSQL server. Returns astro-api's
/// URL, an owner token, and what must stay alive for the servers to run.
async fn start_path(
    postgres: bool,
) -> anyhow::Result<Option<(String, String, Box<dyn std::any::Any>)>> {
    let quiet = slog::Logger::root(slog::Discard, slog::o!());
    let schemas = if postgres {
        let (Some(h), Some(a)) =
            (sql_store::testing::TestSchema::create(), sql_store::testing::TestSchema::create())
        else {
            return Ok(None);
        };
        Some((h, a))
    } else {
        None
    };
    let harmony_data = tempfile::tempdir()?;
    let mut harmony_config =
        harmony_server::Config::new("127.0.0.1:0".parse()?, harmony_data.path().to_path_buf());
    harmony_config.dev_seed = true;
    harmony_config.database_url = schemas.as_ref().map(|(h, _)| h.url());
    // As in production: astro-api presents its service credential.
    let credential = "bench-service-credential-0123456789abcdef".to_owned();
    harmony_config.service_token = Some(credential.clone());
    let harmony = harmony_server::start(&harmony_config, &quiet)?;
    let astro_data = tempfile::tempdir()?;
    let mut astro_config = astro_api::Config::new(
        "127.0.0.1:0".parse()?,
        astro_data.path().to_path_buf(),
        format!("http://{}", harmony.local_addr()),
    );
    astro_config.harmony_token = Some(credential);
    astro_config.database_url = schemas.as_ref().map(|(_, a)| a.url());
    let astro = astro_api::start(&astro_config, &quiet)?;
    let astro_url = format!("http://{}", astro.local_addr());
    let token = astro
        .app_private()
        .bootstrap("bench-org", "ws-bench")
        .await
        .map_err(|e| anyhow::anyhow!("bootstrap: {e}"))?
        .ok_or_else(|| anyhow::anyhow!("bench-org existed"))?;
    Ok(Some((astro_url, token, Box::new((harmony, astro, harmony_data, astro_data, schemas)))))
}

pub async fn run() -> anyhow::Result<Vec<Line>> {
    let (astro_url, token, _servers) = start_path(false).await?.expect("SQLite is always there");
    let (echo_url, _front, _back) = echo::start()?;

    let mut lines = Vec::new();
    let mut sqlite_at_64 = None;
    for workers in CONCURRENCY {
        let real = summary(&measure(&astro_url, workers, &token).await);
        let base = summary(&measure(&echo_url, workers, &token).await);
        if workers == 64 {
            sqlite_at_64 = Some(real);
        }
        let note = format!(
            "{} failed requests on the real path, {} on the echo ({REPETITIONS} runs of {}s, medians)",
            real.3,
            base.3,
            DURATION.as_secs()
        );
        lines.push(Line::new(
            format!("create-deployment, {workers} clients: throughput"),
            real.0,
            "req/s",
            "two-hop echo, same load",
            base.0,
            note,
        ));
        lines.push(Line::new(
            format!("create-deployment, {workers} clients: p50"),
            real.1,
            "ms",
            "two-hop echo p50",
            base.1,
            "",
        ));
        lines.push(Line::new(
            format!("create-deployment, {workers} clients: p99"),
            real.2,
            "ms",
            "two-hop echo p99",
            base.2,
            "",
        ));
    }
    drop(_servers);

    // Both services on PostgreSQL (local server, a schema each), against the
    // SQLite path measured above in this run.
    match (start_path(true).await?, sqlite_at_64) {
        (Some((url, token, _servers)), Some(sqlite)) => {
            let pg = summary(&measure(&url, 64, &token).await);
            lines.push(Line::new(
                "create-deployment on PostgreSQL, 64 clients: throughput",
                pg.0,
                "req/s",
                "the same on SQLite, this run",
                sqlite.0,
                format!("{} failed requests; local server, a schema per service", pg.3),
            ));
            lines.push(Line::new(
                "create-deployment on PostgreSQL, 64 clients: p99",
                pg.2,
                "ms",
                "the same on SQLite p99",
                sqlite.2,
                "",
            ));
        }
        _ => eprintln!("no PostgreSQL server: the PostgreSQL path lines are left out"),
    }
    Ok(lines)
}
