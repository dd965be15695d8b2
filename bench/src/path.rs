//! The control-plane path: create-deployment through astro-api to Harmony on
//! SQLite, over loopback, against the two-hop echo under the same load; and
//! the same path on PostgreSQL against SQLite.

use crate::load::{self, Outcome};
use crate::usage::Usage;
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

/// An HTTP client presenting `token` (the echo ignores it; both paths carry
/// the same header).
fn client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    reqwest::Client::builder().pool_max_idle_per_host(128).default_headers(headers).build().unwrap()
}

/// Creates of deployments with names no other run uses, counted as served
/// when answered 201.
fn creates(
    http: reqwest::Client,
    url: &str,
) -> impl Fn(usize, usize) -> std::pin::Pin<Box<dyn Future<Output = bool> + Send>> + Clone + Send + 'static
{
    let target = format!("{url}/organizations/bench-org/deployments");
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    move |w, n| {
        let request = http.post(&target).json(&body(&run, w, n));
        Box::pin(async move { matches!(request.send().await, Ok(r) if r.status().as_u16() == 201) })
    }
}

/// Medians over the repetitions of one load.
#[derive(Clone)]
struct Summary {
    throughput: f64,
    p50: f64,
    p99: f64,
    errors: usize,
    /// CPU time of the whole process (load generator included) per request
    /// served, microseconds.
    cpu_per_request: f64,
    /// Where that CPU time went: microseconds per request by thread name,
    /// over all repetitions.
    threads: Vec<(String, f64)>,
}

/// Microseconds of CPU per request by thread name, most first.
fn split(used: &Usage, requests: usize) -> Vec<(String, f64)> {
    let mut split: Vec<(String, f64)> = used
        .threads
        .iter()
        .map(|(name, seconds)| (name.clone(), seconds * 1e6 / requests.max(1) as f64))
        .filter(|(_, micros)| *micros >= 1.0)
        .collect();
    split.sort_by(|a, b| b.1.total_cmp(&a.1));
    split
}

async fn measure(url: &str, workers: usize, token: &str) -> Summary {
    let http = client(token);
    let mut runs: Vec<(Outcome, Usage)> = Vec::new();
    for rep in 0..=REPETITIONS {
        let duration = if rep == 0 { WARM_UP } else { DURATION };
        let before = Usage::now();
        let outcome = load::run(workers, duration, creates(http.clone(), url)).await;
        if rep > 0 {
            runs.push((outcome, Usage::now().since(&before)));
        }
    }
    let median = |f: &dyn Fn(&(Outcome, Usage)) -> f64| load::median(runs.iter().map(f).collect());
    let mut total = runs[0].1.clone();
    for (_, used) in &runs[1..] {
        for (name, seconds) in &used.threads {
            *total.threads.entry(name.clone()).or_default() += seconds;
        }
    }
    let requests = runs.iter().map(|(o, _)| o.requests).sum();
    Summary {
        threads: split(&total, requests),
        throughput: median(&|(o, _)| o.throughput()),
        p50: median(&|(o, _)| o.percentile(0.50)),
        p99: median(&|(o, _)| o.percentile(0.99)),
        errors: runs.iter().map(|(o, _)| o.errors).sum(),
        cpu_per_request: median(&|(o, u)| u.cpu_seconds * 1e6 / o.requests.max(1) as f64),
    }
}

/// A Harmony and an astro-api wired as in production (service credential),
/// on SQLite under temporary directories or, with `postgres`, each in a
/// schema of its own on the local PostgreSQL server. Returns astro-api's
/// URL, an owner token, and what must stay alive for the servers to run.
async fn start_path(
    postgres: bool,
) -> anyhow::Result<Option<(String, String, Box<dyn std::any::Any>)>> {
    start_path_with(postgres, false).await
}

/// [`start_path`], each service's API behind a front door (`front-door`) as
/// the binaries serve it when `doors`.
async fn start_path_with(
    postgres: bool,
    doors: bool,
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
    harmony_config.dev_organization = "bench-org".to_owned();
    harmony_config.database_url = schemas.as_ref().map(|(h, _)| h.url());
    // As in production: astro-api presents its service credential.
    let credential = "bench-service-credential-0123456789abcdef".to_owned();
    harmony_config.service_token = Some(credential.clone());
    // The path is measured, not the quotas: tens of thousands of creates
    // by one organization on one plane, as fast as they go.
    harmony_config.budgets = harmony_server::budget::PlaneBudgets {
        shared_plane_bytes: u64::MAX,
        organization_bytes_on_shared_plane: u64::MAX,
        owned_plane_bytes: u64::MAX,
    };
    let harmony = harmony_server::start(&harmony_config, &quiet)?;
    let door = |server: std::net::SocketAddr| {
        let limits = front_door::Limits {
            idle_timeout: front_door::DEFAULT_IDLE_TIMEOUT,
            max_connections: 1024,
        };
        front_door::FrontDoor::open("127.0.0.1:0".parse().unwrap(), server, limits, quiet.clone())
    };
    let harmony_door = if doors { Some(door(harmony.local_addr())?) } else { None };
    let harmony_addr = harmony_door.as_ref().map_or(harmony.local_addr(), |d| d.local_addr());
    let astro_data = tempfile::tempdir()?;
    let mut astro_config = astro_api::Config::new(
        "127.0.0.1:0".parse()?,
        astro_data.path().to_path_buf(),
        format!("http://{harmony_addr}"),
    );
    astro_config.harmony_token = Some(credential);
    astro_config.quotas = astro_api::quota::Quotas {
        deployments_per_organization: u64::MAX,
        deployments_per_workspace: u64::MAX,
        changes_per_minute: u32::MAX,
    };
    astro_config.database_url = schemas.as_ref().map(|(_, a)| a.url());
    let key = astro_api::seal::Sealer::new_key_hex();
    astro_config.secret_key = astro_api::seal::Sealer::from_hex(&key);
    let astro = astro_api::start(&astro_config, &quiet)?;
    let astro_door = if doors { Some(door(astro.local_addr())?) } else { None };
    let astro_url =
        format!("http://{}", astro_door.as_ref().map_or(astro.local_addr(), |d| d.local_addr()));
    let token = astro
        .app_private()
        .bootstrap("bench-org", "ws-bench")
        .await
        .map_err(|e| anyhow::anyhow!("bootstrap: {e}"))?
        .ok_or_else(|| anyhow::anyhow!("bench-org existed"))?;
    let doors = (harmony_door, astro_door);
    Ok(Some((
        astro_url,
        token,
        Box::new((harmony, astro, harmony_data, astro_data, schemas, doors)),
    )))
}

/// Keeps the SQLite path under load for `seconds` (for `perf record -p`),
/// then prints the throughput and latencies.
pub async fn hold(workers: usize, seconds: u64, postgres: bool) -> anyhow::Result<()> {
    let Some((astro_url, token, _servers)) = start_path(postgres).await? else {
        anyhow::bail!("no PostgreSQL server answers on 127.0.0.1:5432");
    };
    eprintln!("pid {}: {workers} clients for {seconds} s", std::process::id());
    let http = client(&token);
    let before = Usage::now();
    let outcome = load::run(workers, Duration::from_secs(seconds), creates(http, &astro_url)).await;
    let used = Usage::now().since(&before);
    let requests = outcome.requests as f64;
    println!(
        "{:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, {} failed; per request: {:.0} µs CPU, {:.1} KB to disk",
        outcome.throughput(),
        outcome.percentile(0.50),
        outcome.percentile(0.99),
        outcome.errors,
        used.cpu_seconds * 1e6 / requests,
        used.disk_bytes as f64 / 1024.0 / requests,
    );
    for (thread, micros) in split(&used, outcome.requests) {
        println!("  {thread:<16} {micros:>6.0} µs CPU per request");
    }
    Ok(())
}

/// Median latency of one durable commit on this disk, in milliseconds:
/// what every create waits for at least twice in a row (astro-api's outbox
/// entry, then Harmony's revision).
fn durable_commit_ms() -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    Ok(load::median(sql_store::testing::durable_commit_millis(dir.path(), 250)?))
}

pub async fn run() -> anyhow::Result<Vec<Line>> {
    let (astro_url, token, _servers) = start_path(false).await?.expect("SQLite is always there");
    let (echo_url, _front, _back) = echo::start()?;

    let mut lines = Vec::new();
    let mut sqlite_at_64 = None;
    for workers in CONCURRENCY {
        let real = measure(&astro_url, workers, &token).await;
        let base = measure(&echo_url, workers, &token).await;
        if workers == 64 {
            sqlite_at_64 = Some(real.clone());
        }
        let note = format!(
            "{} failed requests on the real path, {} on the echo ({REPETITIONS} runs of {}s, medians)",
            real.errors,
            base.errors,
            DURATION.as_secs()
        );
        lines.push(Line::new(
            format!("create-deployment, {workers} clients: throughput"),
            real.throughput,
            "req/s",
            "two-hop echo, same load",
            base.throughput,
            note,
        ));
        lines.push(Line::new(
            format!("create-deployment, {workers} clients: p50"),
            real.p50,
            "ms",
            "two-hop echo p50",
            base.p50,
            "",
        ));
        lines.push(Line::new(
            format!("create-deployment, {workers} clients: p99"),
            real.p99,
            "ms",
            "two-hop echo p99",
            base.p99,
            "",
        ));
        lines.push(Line::new(
            format!("create-deployment, {workers} clients: CPU per request"),
            real.cpu_per_request,
            "µs",
            "two-hop echo CPU per request",
            base.cpu_per_request,
            "whole process: both services (or both echo servers) and the load generator",
        ));
        if workers == 1 {
            let commit = tokio::task::spawn_blocking(durable_commit_ms).await??;
            lines.push(Line::new(
                "create-deployment, 1 client: p50 in durable commits",
                real.p50,
                "ms",
                "one durable SQLite commit on this disk, p50",
                commit,
                "the ratio: how many commits' waits a create takes (at least two in a row)",
            ));
        }
        if workers == 64 {
            // Where the path's CPU goes, each part against the whole echo.
            for (thread, micros) in &real.threads {
                lines.push(Line::new(
                    format!("create-deployment, 64 clients: CPU per request, {thread}"),
                    *micros,
                    "µs",
                    "two-hop echo CPU per request (all threads)",
                    base.cpu_per_request,
                    "",
                ));
            }
        }
    }
    drop(_servers);

    // The front doors every listener of the binaries has (idle timeout,
    // connection cap): the same path with a door in front of each service,
    // back to back with the path without them.
    for workers in [1, 16] {
        let (url, token, servers) = start_path_with(false, true).await?.expect("SQLite");
        let doors = measure(&url, workers, &token).await;
        drop(servers);
        let (url, token, servers) = start_path(false).await?.expect("SQLite");
        let bare = measure(&url, workers, &token).await;
        drop(servers);
        for (what, through, direct) in [
            ("throughput", doors.throughput, bare.throughput),
            ("p50", doors.p50, bare.p50),
            ("p99", doors.p99, bare.p99),
            ("CPU per request", doors.cpu_per_request, bare.cpu_per_request),
        ] {
            let unit = match what {
                "throughput" => "req/s",
                "CPU per request" => "µs",
                _ => "ms",
            };
            lines.push(Line::new(
                format!("create through front doors, {workers} clients: {what}"),
                through,
                unit,
                "the same without them, back to back",
                direct,
                "",
            ));
        }
    }

    // Both services on PostgreSQL (local server, a schema each), against the
    // SQLite path measured above in this run.
    match (start_path(true).await?, sqlite_at_64) {
        (Some((url, token, _servers)), Some(sqlite)) => {
            let pg = measure(&url, 64, &token).await;
            lines.push(Line::new(
                "create-deployment on PostgreSQL, 64 clients: throughput",
                pg.throughput,
                "req/s",
                "the same on SQLite, this run",
                sqlite.throughput,
                format!("{} failed requests; local server, a schema per service", pg.errors),
            ));
            lines.push(Line::new(
                "create-deployment on PostgreSQL, 64 clients: p99",
                pg.p99,
                "ms",
                "the same on SQLite p99",
                sqlite.p99,
                "",
            ));
        }
        _ => eprintln!("no PostgreSQL server: the PostgreSQL path lines are left out"),
    }
    Ok(lines)
}
