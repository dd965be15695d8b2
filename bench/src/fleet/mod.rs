//! The fleet: N agents, each long-polling its own data plane through the
//! generated agent client, against Harmony running in processes of its own
//! (this binary as `fleet-harmony`), so the figures are the server's alone:
//! one Harmony on SQLite, and two replicas sharing one PostgreSQL schema,
//! with `LISTEN` (as shipped) and without it (every waiting poll reads the
//! store again each second: the baseline).
//!
//! Each setup registers N Hybrid data planes with one deployment each
//! through Harmony's API, issues their agents' credentials, and starts N
//! agents spread over the replicas. Once every agent holds a long poll:
//! - idle: store reads per second and the servers' CPU over one whole wait
//!   (each agent renews its poll once in it, two reads; waiting itself
//!   should cost nothing);
//! - memory: the servers' resident memory with the agents waiting, less
//!   before they came, per agent;
//! - propagation: a change to one sampled plane at a time through the
//!   first replica's API, from sending it to its agent's answer (the agent
//!   may be on the other replica), against the change's own response time;
//! - heartbeats: every agent reports after each poll, as the shipped agent
//!   does; the servers' disk syncs over a whole wait with complete reports
//!   (redoable writes) against incomplete ones (durable).
//!
//! The child speaks over stdin/stdout: `credential PLANE` answers the
//! credential, `stats` a JSON line of its counters; it exits when stdin
//! closes.

pub mod rollout;

use crate::Line;
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};
use test_support::fixtures;

/// The long poll each agent holds (the agent API's longest).
pub(super) const WAIT_SECONDS: u32 = 30;
/// The idle window: one whole wait, so every agent renews its poll and
/// reports once in it (three reads: its credential for each request, its
/// plane's revision when the poll arrives) and otherwise only waits: what
/// an idle fleet costs in steady state.
const IDLE: Duration = Duration::from_secs(WAIT_SECONDS as u64);
/// Changes sent, one at a time, for the propagation figures.
const SAMPLES: usize = 200;
pub(super) const SERVICE_TOKEN: &str = "fleet-bench-service-credential-0123456789";

/// What one Harmony process reports.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Stats {
    reads: u64,
    /// Write groups committed, and those that waited for the disk.
    groups: u64,
    durable_groups: u64,
    wakeups: u64,
    polls_waiting: usize,
    pub(super) rss_kib: u64,
    /// Peak resident memory since start or the last `reset-peak`.
    #[serde(default)]
    pub(super) hwm_kib: u64,
    pub(super) cpu_seconds: f64,
}

impl std::ops::Add for Stats {
    type Output = Stats;
    fn add(self, o: Stats) -> Stats {
        Stats {
            reads: self.reads + o.reads,
            groups: self.groups + o.groups,
            durable_groups: self.durable_groups + o.durable_groups,
            wakeups: self.wakeups + o.wakeups,
            polls_waiting: self.polls_waiting + o.polls_waiting,
            rss_kib: self.rss_kib + o.rss_kib,
            hwm_kib: self.hwm_kib + o.hwm_kib,
            cpu_seconds: self.cpu_seconds + o.cpu_seconds,
        }
    }
}

/// `fleet-harmony DATA_DIR [DATABASE_URL] [--no-listen] [--rollout]
/// [--roomy]`: a Harmony and its agent API, answering the parent's
/// commands. `--roomy`: no plane budget stops a change.
/// `--rollout`: the production rollout policy on a manual clock, which
/// `clock RFC3339` sets; `tick RENDERS` steps the rollouts with that many
/// renders per transaction and answers `{"stepped", "micros"}`; `longest`
/// answers the longest write wait and transaction since it was last asked.
pub fn child(args: &[String]) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let _entered = runtime.enter();
    let data_dir =
        args.first().context("fleet-harmony DATA_DIR [URL] [--no-listen] [--rollout]")?;
    let mut config =
        harmony_server::Config::new("127.0.0.1:0".parse()?, std::path::PathBuf::from(data_dir));
    config.database_url = args.get(1).filter(|a| !a.starts_with("--")).cloned();
    config.listen = !args.iter().any(|a| a == "--no-listen");
    config.secret_key = Some(harmony_server::render::SecretKey::development());
    config.service_token = Some(SERVICE_TOKEN.to_owned());
    config.rollout_tick = None;
    if args.iter().any(|a| a == "--roomy") {
        // The shared-plane measurement: one plane as large as it asks for.
        config.budgets = harmony_server::budget::PlaneBudgets {
            shared_plane_bytes: u64::MAX / 4,
            organization_bytes_on_shared_plane: u64::MAX / 4,
            owned_plane_bytes: u64::MAX / 4,
        };
    }
    let quiet = slog::Logger::root(slog::Discard, slog::o!());
    let clock = std::sync::Arc::new(harmony_server::app::ManualClock::new(sql_store::now()));
    let server = if args.iter().any(|a| a == "--rollout") {
        config.environment = "production".to_owned();
        harmony_server::start_with_clock(&config, &quiet, clock.clone())?
    } else {
        harmony_server::start(&config, &quiet)?
    };
    let harmony = server.app_private().harmony.clone();
    let agents = harmony_server::start_agent_api("127.0.0.1:0".parse()?, &harmony, &quiet)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY http://{} http://{}", server.local_addr(), agents.local_addr())?;
    out.flush()?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        match line.split_once(' ') {
            Some(("credential", plane)) => {
                let credential = harmony
                    .issue_agent_credential(plane)
                    .map_err(|e| anyhow::anyhow!("credential for {plane}: {e}"))?;
                writeln!(out, "{credential}")?;
            }
            Some(("clock", at)) => {
                clock.set(chrono::DateTime::parse_from_rfc3339(at)?.to_utc());
                writeln!(out, "ok")?;
            }
            Some(("tick", renders)) => {
                let stepper = harmony.clone().with_rollout_renders_per_commit(renders.parse()?);
                let started = Instant::now();
                let stepped =
                    stepper.rollout_tick().map_err(|e| anyhow::anyhow!("rollout tick: {e}"))?;
                let micros = started.elapsed().as_micros() as u64;
                writeln!(out, "{}", serde_json::json!({"stepped": stepped, "micros": micros}))?;
            }
            _ if line == "longest" => {
                let longest = harmony.take_longest_writes();
                let answer = serde_json::json!({
                    "wait_micros": longest.wait_micros,
                    "group_micros": longest.group_micros,
                    "write_micros": longest.write_micros,
                });
                writeln!(out, "{answer}")?;
            }
            _ if line == "reset-peak" => {
                crate::usage::reset_peak();
                writeln!(out, "ok")?;
            }
            _ if line == "stats" => {
                let stats = Stats {
                    reads: harmony.store_reads(),
                    groups: harmony.write_counts().groups,
                    durable_groups: harmony.write_counts().durable_groups,
                    wakeups: harmony.poll_wakeups(),
                    polls_waiting: harmony.polls_waiting(),
                    rss_kib: crate::usage::status_kib("VmRSS"),
                    hwm_kib: crate::usage::status_kib("VmHWM"),
                    cpu_seconds: crate::usage::Usage::now().cpu_seconds,
                };
                writeln!(out, "{}", serde_json::to_string(&stats)?)?;
            }
            _ => bail!("unknown command {line:?}"),
        }
        out.flush()?;
    }
    drop((server, agents));
    Ok(())
}

/// A process of this binary driven over its stdin: one command a line, one
/// answer a line; killed when dropped.
pub(super) struct Driven {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// What it runs as (`fleet-harmony`), for errors.
    name: String,
}

impl Driven {
    /// Starts `command` and reads the first line it prints (its READY line).
    pub(super) fn start(mut command: Command, name: &str) -> Result<(Driven, String)> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take().context("stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().context("stdout")?);
        let mut ready = String::new();
        stdout.read_line(&mut ready)?;
        Ok((Driven { child, stdin, stdout, name: name.to_owned() }, ready))
    }

    pub(super) fn ask(&mut self, command: &str) -> Result<String> {
        self.send(command)?;
        self.answer(command)
    }

    /// Sends `command` without waiting for its answer ([`Driven::answer`]).
    pub(super) fn send(&mut self, command: &str) -> Result<()> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        Ok(())
    }

    /// The answer to the command last sent.
    pub(super) fn answer(&mut self, command: &str) -> Result<String> {
        let mut answer = String::new();
        self.stdout.read_line(&mut answer)?;
        if answer.is_empty() {
            bail!("{} ended (asked {command:?})", self.name);
        }
        Ok(answer.trim().to_owned())
    }
}

impl Drop for Driven {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One Harmony process, driven over its stdin.
pub(super) struct Replica {
    process: Driven,
    api: String,
    agents: String,
}

impl Replica {
    pub(super) fn start(
        data_dir: &std::path::Path,
        url: Option<&str>,
        flags: &[&str],
    ) -> Result<Replica> {
        let mut command = Command::new(std::env::current_exe()?);
        command.arg("fleet-harmony").arg(data_dir);
        if let Some(url) = url {
            command.arg(url);
        }
        command.args(flags);
        let (process, ready) = Driven::start(command, "fleet-harmony")?;
        let mut words = ready.split_whitespace();
        let (Some("READY"), Some(api), Some(agents)) = (words.next(), words.next(), words.next())
        else {
            bail!("fleet-harmony did not start: {ready:?}");
        };
        let (api, agents) = (api.to_owned(), agents.to_owned());
        Ok(Replica { process, api, agents })
    }

    pub(super) fn api(&self) -> &str {
        &self.api
    }

    pub(super) fn agents(&self) -> &str {
        &self.agents
    }

    pub(super) fn ask(&mut self, command: &str) -> Result<String> {
        self.process.ask(command)
    }

    /// Sends `command` without waiting for its answer ([`Replica::answer`]).
    pub(super) fn send(&mut self, command: &str) -> Result<()> {
        self.process.send(command)
    }

    /// The answer to the command last sent.
    pub(super) fn answer(&mut self, command: &str) -> Result<String> {
        self.process.answer(command)
    }

    pub(super) fn stats(&mut self) -> Result<Stats> {
        Ok(serde_json::from_str(&self.ask("stats")?)?)
    }
}

fn total(replicas: &mut [Replica]) -> Result<Stats> {
    let mut sum = Stats::default();
    for r in replicas.iter_mut() {
        sum = sum + r.stats()?;
    }
    Ok(sum)
}

pub(super) fn plane(i: usize) -> String {
    format!("fleet-{i:05}")
}

pub(super) fn registration() -> harmony_client::v2::types::DataPlaneRegistration {
    fixtures::typed(fixtures::registration("HYBRID", Some("org-fleet")))
}

/// The fleet's deployment on `plane` (`test_support::fixtures`, its own
/// organization, no secret), each generation with its own concurrency.
pub(super) fn spec(plane: &str, generation: u64) -> harmony_client::v2::types::DeploymentSpec {
    let mut spec = fixtures::hybrid_spec(plane, generation);
    spec["organization_id"] = serde_json::json!("org-fleet");
    spec["workspace_id"] = serde_json::json!("ws-fleet");
    spec["worker_queues"][0]["worker_concurrency"] = serde_json::json!(generation);
    spec["environment_variables"] =
        serde_json::json!([{ "key": "MODE", "value": "batch", "is_secret": false }]);
    fixtures::typed(spec)
}

pub(super) fn deployment_id(i: usize) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x000f_1ee7_0000_0000_0000_0000_0000_0000 + i as u128)
}

pub(super) fn authorized(token: &str) -> Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse()?);
    Ok(reqwest::Client::builder().default_headers(headers).build()?)
}

/// An agent's client: its credential, and room for the longest poll.
pub(super) fn agent_client(url: &str, credential: &str) -> Result<harmony_client::agent::Client> {
    let bearer = format!("Bearer {credential}").parse()?;
    let http = reqwest::Client::builder()
        .default_headers([(reqwest::header::AUTHORIZATION, bearer)].into_iter().collect())
        .timeout(Duration::from_secs(u64::from(WAIT_SECONDS) + 15))
        .build()?;
    Ok(harmony_client::agent::Client::new_with_client(url, http))
}

/// Every deployment of a desired state, reported healthy at its revision
/// (the bench's agents apply everything and it all runs).
pub(super) fn healthy(
    deployments: &[harmony_client::agent::types::DesiredDeployment],
) -> Vec<harmony_client::agent::types::DeploymentReport> {
    deployments
        .iter()
        .map(|d| harmony_client::agent::types::DeploymentReport {
            deployment_id: d.deployment_id,
            manifest_revision: d.manifest_revision,
            health: harmony_client::agent::types::Health::Healthy,
            message: None,
        })
        .collect()
}

/// An agent's answer that carried a change: which plane, when.
struct Arrival {
    plane: usize,
    at: Instant,
}

/// What one setup measured.
struct Measured {
    idle_reads_per_second: f64,
    idle_cpu_micros_per_agent_second: f64,
    memory_kib_per_agent: f64,
    memory_before_kib: f64,
    propagation: Vec<f64>,
    put: Vec<f64>,
    wakeups_per_change: f64,
    agent_errors: usize,
    /// Disk syncs per second over a whole wait with every agent reporting
    /// complete reports each round, and with incomplete ones.
    syncs_complete: f64,
    syncs_incomplete: f64,
}

async fn measure(agents: usize, url: Option<&str>, listen: bool) -> Result<Measured> {
    let replica_count = if url.is_some() { 2 } else { 1 };
    let dirs: Vec<tempfile::TempDir> =
        (0..replica_count).map(|_| tempfile::tempdir()).collect::<Result<_, _>>()?;
    let mut replicas: Vec<Replica> = dirs
        .iter()
        .map(|d| Replica::start(d.path(), url, if listen { &[] } else { &["--no-listen"] }))
        .collect::<Result<_>>()?;
    let api =
        harmony_client::v2::Client::new_with_client(&replicas[0].api, authorized(SERVICE_TOKEN)?);

    // The fleet's data planes, one deployment each, 32 requests at a time.
    let started = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..32 {
        let (api, next) = (api.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= agents {
                    return Ok::<_, anyhow::Error>(());
                }
                api.data_plane_put(&plane(i), &registration()).await?;
                api.deployment_put(&deployment_id(i), &spec(&plane(i), 1)).await?;
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    let credentials: Vec<String> = (0..agents)
        .map(|i| replicas[0].ask(&format!("credential {}", plane(i))))
        .collect::<Result<_>>()?;
    eprintln!(
        "  fleet: {agents} data planes registered in {:.1} s; starting their agents",
        started.elapsed().as_secs_f64()
    );
    let before_agents = total(&mut replicas)?;

    // The agents, spread over the replicas, each answering on the channel
    // when its poll brings a change.
    let (arrived, mut arrivals) = tokio::sync::mpsc::unbounded_channel::<Arrival>();
    let errors = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // Whether agents' reports say they are complete (as the shipped agent's
    // are); switched off for the baseline window.
    let complete = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut tasks = Vec::new();
    for (i, credential) in credentials.into_iter().enumerate() {
        let url = replicas[i % replica_count].agents.clone();
        let client = agent_client(&url, &credential)?;
        let (arrived, errors, complete) = (arrived.clone(), errors.clone(), complete.clone());
        tasks.push(tokio::spawn(async move {
            use harmony_client::agent::types::{Observes, StatusReport};
            let mut known = 0;
            let mut reports = Vec::new();
            loop {
                match client.desired_state_get(Some(known), Some(WAIT_SECONDS)).await {
                    Ok(state) => {
                        let state = state.into_inner();
                        if state.changed {
                            known = state.revision;
                            let _ = arrived.send(Arrival { plane: i, at: Instant::now() });
                            reports = healthy(&state.deployments);
                        }
                        // Every round reports, as the shipped agent does.
                        let report = StatusReport {
                            applied_revision: known,
                            agent_version: "fleet".into(),
                            deployments: reports.clone(),
                            complete: complete.load(std::sync::atomic::Ordering::Relaxed),
                            observes: Some(Observes { health: true }),
                        };
                        if client.status_report(&report).await.is_err() {
                            errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                    Err(_) => {
                        errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        }));
    }
    let _abort = AbortOnDrop(tasks);
    // Every agent has its first state and holds its next poll.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut first = 0;
    while first < agents {
        let wait = deadline.saturating_duration_since(Instant::now());
        tokio::time::timeout(wait, arrivals.recv())
            .await
            .context("agents never got their state")?;
        first += 1;
    }
    while total(&mut replicas)?.polls_waiting < agents {
        anyhow::ensure!(Instant::now() < deadline, "the agents never all waited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Idle.
    let idle_start = total(&mut replicas)?;
    tokio::time::sleep(IDLE).await;
    let idle_end = total(&mut replicas)?;
    let seconds = IDLE.as_secs_f64();

    // Propagation: one change at a time, through the first replica.
    let mut propagation = Vec::new();
    let mut put = Vec::new();
    let wakeups_before = total(&mut replicas)?.wakeups;
    for k in 0..SAMPLES.min(agents) {
        // Spread over the fleet, and alternating between the replicas the
        // agents are spread over (agent i polls replica i % replicas).
        let i = (k * agents / SAMPLES.min(agents) + k % replica_count) % agents;
        let sent = Instant::now();
        api.deployment_put(&deployment_id(i), &spec(&plane(i), 2 + k as u64)).await?;
        put.push(sent.elapsed().as_secs_f64() * 1e3);
        loop {
            let arrival = tokio::time::timeout(Duration::from_secs(45), arrivals.recv())
                .await
                .context("a change never reached its agent")?
                .context("agents ended")?;
            if arrival.plane == i {
                propagation.push(arrival.at.duration_since(sent).as_secs_f64() * 1e3);
                break;
            }
        }
    }
    let wakeups = total(&mut replicas)?.wakeups - wakeups_before;

    // The disk syncs the reports cost over a whole wait (each agent reports
    // once in it), complete reports against incomplete ones.
    let complete_start = total(&mut replicas)?;
    tokio::time::sleep(IDLE).await;
    complete.store(false, std::sync::atomic::Ordering::Relaxed);
    let incomplete_start = total(&mut replicas)?;
    tokio::time::sleep(IDLE).await;
    let incomplete_end = total(&mut replicas)?;
    Ok(Measured {
        idle_reads_per_second: (idle_end.reads - idle_start.reads) as f64 / seconds,
        idle_cpu_micros_per_agent_second: (idle_end.cpu_seconds - idle_start.cpu_seconds) * 1e6
            / seconds
            / agents as f64,
        memory_kib_per_agent: (idle_start.rss_kib as f64 - before_agents.rss_kib as f64)
            / agents as f64,
        memory_before_kib: before_agents.rss_kib as f64,
        propagation,
        put,
        wakeups_per_change: wakeups as f64 / SAMPLES.min(agents) as f64,
        agent_errors: errors.load(std::sync::atomic::Ordering::Relaxed),
        syncs_complete: (incomplete_start.durable_groups - complete_start.durable_groups) as f64
            / seconds,
        syncs_incomplete: (incomplete_end.durable_groups - incomplete_start.durable_groups) as f64
            / seconds,
    })
}

pub(super) struct AbortOnDrop(pub(super) Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

pub(super) fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(f64::NAN)
}

/// The fleet lines for `agents` agents.
pub async fn run(agents: usize) -> Result<Vec<Line>> {
    let mut lines = Vec::new();
    let mut setups: Vec<(String, Measured)> = Vec::new();
    eprintln!("fleet: {agents} agents against one Harmony on SQLite");
    setups.push(("SQLite, 1 Harmony".to_owned(), measure(agents, None, true).await?));
    let schemas =
        (sql_store::testing::TestSchema::create(), sql_store::testing::TestSchema::create());
    if let (Some(listening), Some(polling)) = &schemas {
        eprintln!("fleet: {agents} agents against two replicas on PostgreSQL, LISTEN");
        setups.push((
            "PostgreSQL, 2 replicas, LISTEN".to_owned(),
            measure(agents, Some(&listening.url()), true).await?,
        ));
        eprintln!(
            "fleet: {agents} agents against two replicas on PostgreSQL, re-reading each second"
        );
        setups.push((
            "PostgreSQL, 2 replicas, no LISTEN".to_owned(),
            measure(agents, Some(&polling.url()), false).await?,
        ));
    } else {
        eprintln!("fleet: no PostgreSQL server on 127.0.0.1:5432; SQLite only");
    }
    // The baseline for idle cost: replicas re-reading every second, as
    // before LISTEN (measured where PostgreSQL answers; otherwise its
    // expected rate, one read per agent per second).
    let (baseline_reads, baseline_cpu) = setups
        .iter()
        .find(|(name, _)| name.ends_with("no LISTEN"))
        .map(|(_, m)| (m.idle_reads_per_second, m.idle_cpu_micros_per_agent_second))
        .unwrap_or((agents as f64, f64::NAN));
    for (name, m) in &setups {
        let errors = format!("{} agent request errors", m.agent_errors);
        lines.push(Line::new(
            format!("fleet, {name}, {agents} agents: idle store reads"),
            m.idle_reads_per_second,
            "/s",
            "re-reading each second (no LISTEN)",
            baseline_reads,
            format!(
                "over {} s, each agent renewing its {WAIT_SECONDS} s poll and reporting once \
                 (3 reads: its credential for each request, its plane's revision when the poll \
                 arrives; {:.0}/s); {errors}",
                IDLE.as_secs(),
                3.0 * agents as f64 / f64::from(WAIT_SECONDS)
            ),
        ));
        lines.push(Line::new(
            format!("fleet, {name}: server CPU per idle agent"),
            m.idle_cpu_micros_per_agent_second,
            "µs/s",
            "re-reading each second (no LISTEN)",
            baseline_cpu,
            String::new(),
        ));
        lines.push(Line::new(
            format!("fleet, {name}: server memory per agent"),
            m.memory_kib_per_agent,
            "KiB",
            "the servers before the agents came",
            m.memory_before_kib,
            "resident memory with every agent waiting, less before, per agent",
        ));
        let per_thousand = 1000.0 / agents as f64;
        lines.push(Line::new(
            format!("fleet, {name}: disk syncs per 1,000 agents, complete reports"),
            m.syncs_complete * per_thousand,
            "/s",
            "incomplete reports (durable writes)",
            m.syncs_incomplete * per_thousand,
            format!(
                "every agent reporting once per {WAIT_SECONDS} s round: {:.1} syncs/s saved per 1,000 agents",
                (m.syncs_incomplete - m.syncs_complete) * per_thousand
            ),
        ));
        for (label, p) in [("p50", 0.50), ("p99", 0.99)] {
            lines.push(Line::new(
                format!("fleet, {name}: change to its agent's answer, {label}"),
                percentile(&m.propagation, p),
                "ms",
                format!("the change's own PUT, {label}"),
                percentile(&m.put, p),
                if label == "p99" {
                    format!(
                        "{} changes one at a time through the first replica; {:.2} polls woken per change",
                        m.propagation.len(),
                        m.wakeups_per_change
                    )
                } else {
                    String::new()
                },
            ));
        }
    }
    drop(schemas);
    Ok(lines)
}
