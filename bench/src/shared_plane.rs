//! `shared-plane [N]`: one shared data plane with N deployments (default
//! 5,000), and its agents on each agent API protocol: the changes protocol
//! (2.0.0) and the whole state (1.0.0, the baseline), measured in the same
//! run, and the changes protocol again at N = 50 to show that what an
//! update costs does not follow the size of the plane.
//!
//! Harmony runs as `fleet-harmony` children and each agent as a
//! `shared-agent` child (this binary), so CPU and peak memory are each
//! process's own. The mix of deployments: most small (three variables),
//! one in ten with 8 KiB of variables, one in fifty at the per-deployment
//! limit of 64 KiB of variables (with room for the update), spread over 40 organizations. The plane
//! is a shared Hosted one whose budgets are lifted (`fleet-harmony
//! --roomy`), so no quota stops N.
//!
//! Measured:
//! - the first full sync: its duration, and the peak resident memory of a
//!   fresh Harmony and of a fresh agent above their idle;
//! - a 1 KB update to one deployment (a variable's value), one at a time:
//!   bytes the agent received, Harmony's and the agent's CPU per update,
//!   and the time from sending the update to the agent having applied and
//!   reported it (the agent long-polls), p50 and p99 over 200 updates (20
//!   for the whole state at N = 5,000, each of which moves the plane
//!   whole).

use crate::Line;
use crate::fleet::{Driven, Replica, SERVICE_TOKEN, authorized};
use anyhow::{Context, Result, bail};
use std::io::{BufRead, Write};
use std::process::Command;
use std::time::{Duration, Instant};
use test_support::fixtures;

const PLANE: &str = "shared-00001";
const UPDATES: usize = 200;
const WHOLE_UPDATES_LARGE: usize = 20;

/// `shared-agent URL CREDENTIAL_FILE DIR changes|whole`: one agent,
/// answering `round WAIT` (`{"applied", "revision", "bytes"}`), `stats`
/// (`{"rss_kib", "hwm_kib", "cpu_seconds"}`) and `reset-peak`.
pub fn agent_child(args: &[String]) -> Result<()> {
    let [url, credential, dir, protocol] = args else {
        bail!("shared-agent URL CREDENTIAL_FILE DIR changes|whole");
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let credential = std::fs::read_to_string(credential)?;
    let mut agent = harmony_agent::Agent::new(url, &credential, harmony_agent::ApplyDir::new(dir))?;
    if protocol == "whole" {
        agent = agent.speaking(harmony_agent::Protocol::Whole);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY")?;
    out.flush()?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let answer = match line.split_once(' ') {
            Some(("round", wait)) => {
                let round = runtime.block_on(agent.round(wait.parse()?))?;
                let (applied, revision) = match round {
                    harmony_agent::Round::Applied(r) => (true, r),
                    harmony_agent::Round::Unchanged(r) => (false, r),
                };
                serde_json::json!({"applied": applied, "revision": revision,
                                   "bytes": agent.bytes_received()})
            }
            _ if line == "reset-peak" => {
                crate::usage::reset_peak();
                serde_json::json!("ok")
            }
            _ if line == "stats" => serde_json::json!({
                "rss_kib": crate::usage::status_kib("VmRSS"),
                "hwm_kib": crate::usage::status_kib("VmHWM"),
                "cpu_seconds": crate::usage::Usage::now().cpu_seconds,
            }),
            _ => bail!("unknown command {line:?}"),
        };
        writeln!(out, "{answer}")?;
        out.flush()?;
    }
    Ok(())
}

/// One agent process, driven over its stdin; its answers are JSON.
struct AgentProcess(Driven);

impl AgentProcess {
    fn start(
        url: &str,
        credential: &std::path::Path,
        dir: &std::path::Path,
        protocol: &str,
    ) -> Result<AgentProcess> {
        let mut command = Command::new(std::env::current_exe()?);
        command.arg("shared-agent").arg(url).arg(credential).arg(dir).arg(protocol);
        let (process, ready) = Driven::start(command, "shared-agent")?;
        if ready.trim() != "READY" {
            bail!("shared-agent did not start: {ready:?}");
        }
        Ok(AgentProcess(process))
    }

    fn send(&mut self, command: &str) -> Result<()> {
        self.0.send(command)
    }

    fn answer(&mut self, command: &str) -> Result<serde_json::Value> {
        Ok(serde_json::from_str(&self.0.answer(command)?)?)
    }

    fn ask(&mut self, command: &str) -> Result<serde_json::Value> {
        self.send(command)?;
        self.answer(command)
    }

    fn number(&mut self, command: &str, field: &str) -> Result<f64> {
        self.ask(command)?[field].as_f64().with_context(|| format!("{field} of {command}"))
    }
}

fn spec(
    n: usize,
    generation: u64,
    update: Option<usize>,
) -> harmony_client::v2::types::DeploymentSpec {
    let mut spec = fixtures::hosted_spec(PLANE, generation);
    spec["organization_id"] = serde_json::json!(format!("org-{}", n % 40));
    spec["workspace_id"] = serde_json::json!("ws-shared");
    spec["name"] = serde_json::json!(format!("shared-{n}"));
    let mut variables = vec![
        serde_json::json!({"key": "MODE", "value": "batch", "is_secret": false}),
        serde_json::json!({"key": "TEAM", "value": format!("team-{}", n % 17), "is_secret": false}),
        serde_json::json!({"key": "API_TOKEN", "value": "s3cret", "is_secret": true}),
    ];
    let large = |count: usize| {
        (0..count).map(move |k| {
            // Room left for the 1 KB update under the 64 KiB limit.
            serde_json::json!({"key": format!("BLOB_{k}"), "value": "x".repeat(16 * 1024 - 364),
                               "is_secret": false})
        })
    };
    if n.is_multiple_of(50) {
        variables.extend(large(4)); // 1.3 KB under the 64 KiB limit
    } else if n.is_multiple_of(10) {
        variables.push(serde_json::json!({"key": "CONFIG", "value": "c".repeat(8 * 1024),
                                          "is_secret": false}));
    }
    if let Some(k) = update {
        // The 1 KB change.
        variables.push(serde_json::json!({"key": "CHANGE", "value": format!("{k:0>1024}"),
                                          "is_secret": false}));
    }
    spec["environment_variables"] = serde_json::Value::Array(variables);
    fixtures::typed(spec)
}

fn deployment_id(n: usize) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x5a4e_d000_0000_0000_0000_0000_0000_0000 + n as u128)
}

/// What one protocol measured on one plane.
#[derive(Default)]
struct Measured {
    sync_seconds: f64,
    harmony_peak_mib: f64,
    agent_peak_mib: f64,
    bytes_per_update: f64,
    harmony_cpu_ms: f64,
    agent_cpu_ms: f64,
    p50_ms: f64,
    p99_ms: f64,
    updates: usize,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Creates the plane and its `n` deployments through Harmony's API.
async fn populate(harmony: &Replica, n: usize) -> Result<()> {
    let api =
        harmony_client::v2::Client::new_with_client(harmony.api(), authorized(SERVICE_TOKEN)?);
    let shared: harmony_client::v2::types::DataPlaneRegistration =
        fixtures::typed(fixtures::registration("HOSTED", None));
    api.data_plane_put(PLANE, &shared)
        .await
        .map_err(|e| anyhow::anyhow!("registering {PLANE}: {e}"))?;
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (api, next) = (api.clone(), next.clone());
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(());
                }
                api.deployment_put(&deployment_id(i), &spec(i, 1, None))
                    .await
                    .map_err(|e| anyhow::anyhow!("creating deployment {i}: {e}"))?;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    Ok(())
}

/// The plane with `n` deployments, measured on each protocol in `protocols`.
async fn measure(n: usize, protocols: &[&'static str]) -> Result<Vec<(&'static str, Measured)>> {
    let data = tempfile::tempdir()?;
    {
        let mut harmony = Replica::start(data.path(), None, &["--roomy"])?;
        let started = Instant::now();
        populate(&harmony, n).await?;
        eprintln!(
            "shared-plane: {n} deployments created in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let credential = harmony.ask(&format!("credential {PLANE}"))?;
        std::fs::write(data.path().join("credential"), credential)?;
    }
    let credential = data.path().join("credential");
    let mut results = Vec::new();
    // Across protocols: every update is a new generation with a new value.
    let mut generations = std::collections::HashMap::new();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut sent_updates = 0usize;
    for protocol in protocols {
        // A fresh Harmony and a fresh agent: their idle memory, then the
        // first sync's peak above it.
        let mut harmony = Replica::start(data.path(), None, &["--roomy"])?;
        let tree = tempfile::tempdir()?;
        let mut agent = AgentProcess::start(harmony.agents(), &credential, tree.path(), protocol)?;
        // One request warms Harmony's connections and caches up.
        agent.ask("stats")?;
        let harmony_idle = harmony.stats()?.rss_kib as f64;
        harmony.ask("reset-peak")?;
        let agent_idle = agent.number("stats", "rss_kib")?;
        agent.ask("reset-peak")?;
        let started = Instant::now();
        let first = agent.ask("round 0")?;
        let mut measured =
            Measured { sync_seconds: started.elapsed().as_secs_f64(), ..Default::default() };
        if first["applied"] != serde_json::json!(true) {
            bail!("{protocol}: the first sync applied nothing: {first}");
        }
        measured.harmony_peak_mib = (harmony.stats()?.hwm_kib as f64 - harmony_idle) / 1024.0;
        measured.agent_peak_mib = (agent.number("stats", "hwm_kib")? - agent_idle) / 1024.0;

        let api =
            harmony_client::v2::Client::new_with_client(harmony.api(), authorized(SERVICE_TOKEN)?);
        let updates = if *protocol == "whole" && n > 1000 { WHOLE_UPDATES_LARGE } else { UPDATES };
        let mut latencies = Vec::new();
        let (harmony_cpu, agent_cpu) =
            (harmony.stats()?.cpu_seconds, agent.number("stats", "cpu_seconds")?);
        let bytes_before = first["bytes"].as_f64().unwrap_or(0.0);
        let mut bytes_after = bytes_before;
        for k in 0..updates {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let i = (rng % n as u64) as usize;
            let generation = generations.entry(i).or_insert(1u64);
            *generation += 1;
            // The agent waits in a long poll; then the update.
            agent.send("round 30")?;
            tokio::time::sleep(Duration::from_millis(5)).await;
            let sent = Instant::now();
            sent_updates += 1;
            api.deployment_put(&deployment_id(i), &spec(i, *generation, Some(sent_updates)))
                .await
                .map_err(|e| anyhow::anyhow!("update {k}: {e}"))?;
            let answer = agent.answer("round 30")?;
            latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
            if answer["applied"] != serde_json::json!(true) {
                bail!("{protocol}: update {k} did not reach the agent: {answer}");
            }
            bytes_after = answer["bytes"].as_f64().unwrap_or(bytes_after);
        }
        measured.updates = updates;
        measured.harmony_cpu_ms =
            (harmony.stats()?.cpu_seconds - harmony_cpu) * 1000.0 / updates as f64;
        measured.agent_cpu_ms =
            (agent.number("stats", "cpu_seconds")? - agent_cpu) * 1000.0 / updates as f64;
        measured.bytes_per_update = (bytes_after - bytes_before) / updates as f64;
        latencies.sort_by(f64::total_cmp);
        measured.p50_ms = percentile(&latencies, 0.5);
        measured.p99_ms = percentile(&latencies, 0.99);
        eprintln!(
            "shared-plane N={n} {protocol}: first sync {:.1} s, {:.0} bytes and {:.1} ms of Harmony CPU per update",
            measured.sync_seconds, measured.bytes_per_update, measured.harmony_cpu_ms
        );
        results.push((*protocol, measured));
    }
    Ok(results)
}

pub async fn run(n: usize) -> Result<Vec<Line>> {
    let large = measure(n, &["changes", "whole"]).await?;
    let small = measure(50, &["changes"]).await?;
    let (changes, whole, small) = (&large[0].1, &large[1].1, &small[0].1);
    let at = |what: &str| format!("shared plane N={n}, {what}");
    let mut lines = vec![
        Line::new(
            at("1 KB update: bytes to the agent"),
            changes.bytes_per_update,
            "bytes",
            "the same at N=50",
            small.bytes_per_update,
            "target: at most 1.5x",
        ),
        Line::new(
            at("1 KB update: bytes, changes protocol"),
            changes.bytes_per_update,
            "bytes",
            format!("whole state (1.0.0), N={n}"),
            whole.bytes_per_update,
            "",
        ),
        Line::new(
            at("1 KB update: Harmony CPU"),
            changes.harmony_cpu_ms,
            "ms",
            "the same at N=50",
            small.harmony_cpu_ms,
            "target: at most 1.5x; includes the update's own render and write",
        ),
        Line::new(
            at("1 KB update: Harmony CPU, changes protocol"),
            changes.harmony_cpu_ms,
            "ms",
            format!("whole state (1.0.0), N={n}"),
            whole.harmony_cpu_ms,
            format!("whole state over {} updates", whole.updates),
        ),
        Line::new(
            at("1 KB update: agent CPU"),
            changes.agent_cpu_ms,
            "ms",
            format!("whole state (1.0.0), N={n}"),
            whole.agent_cpu_ms,
            "",
        ),
        Line::new(
            at("1 KB update applied, p50"),
            changes.p50_ms,
            "ms",
            format!("whole state (1.0.0), N={n}"),
            whole.p50_ms,
            "from sending the update to the agent having applied and reported it",
        ),
        Line::new(
            at("1 KB update applied, p99"),
            changes.p99_ms,
            "ms",
            format!("whole state (1.0.0), N={n}"),
            whole.p99_ms,
            "target: under 100 ms",
        ),
        Line::new(
            at("1 KB update applied, p99 (vs N=50)"),
            changes.p99_ms,
            "ms",
            "the same at N=50",
            small.p99_ms,
            "",
        ),
        Line::new(
            at("first sync: Harmony peak above idle"),
            changes.harmony_peak_mib,
            "MiB",
            format!("whole state (1.0.0), N={n}"),
            whole.harmony_peak_mib,
            "target: under 64 MiB",
        ),
        Line::new(
            at("first sync: agent peak above idle"),
            changes.agent_peak_mib,
            "MiB",
            format!("whole state (1.0.0), N={n}"),
            whole.agent_peak_mib,
            "target: under 128 MiB",
        ),
        Line::new(
            at("first sync: duration"),
            changes.sync_seconds,
            "s",
            format!("whole state (1.0.0), N={n}"),
            whole.sync_seconds,
            "",
        ),
    ];
    lines.retain(|l| l.figure.is_finite());
    Ok(lines)
}
