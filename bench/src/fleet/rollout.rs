//! A rollout through the real store: Harmony's controller, its store and
//! its agent API, with the bench's agents (not the simulator), over
//! [`PLANES`] data planes (or as many as asked) of [`DEPLOYMENTS`]
//! deployments each, through the
//! committed policy's four waves with production parameters (the canary's
//! manual approval given through the API). Harmony runs on a manual clock
//! ([`harmony_server::app::ManualClock`]) that the parent moves: 30 s per
//! step while a wave progresses, straight to the end of a bake, so hours of
//! bakes take moments and nothing else is shortened.
//!
//! Each cycle: the clock moves on every replica; when a minute or more has
//! passed since their last report, every agent reports once (as each would
//! have in the meantime: heartbeats stay fresh); then the controller ticks
//! on the first replica while a probe, one write at a time, sends agents'
//! reports: the probe's latency, against the same probe with no tick
//! running, is what a step costs the other writers. The agents the step
//! moved take their new state (woken by the change) and report it before
//! the next cycle.
//!
//! The fleet goes through two rollouts: first with each step's transaction
//! unbounded (the baseline: a step re-renders every data plane it moves in
//! one commit), then as shipped ([`harmony_server::app::RENDERS_PER_COMMIT`]).
//! Figures: wall time, the longest write (a step's transaction) and the
//! longest any write waited while the controller stepped (the store's own
//! measures, every replica), the probe's latency while stepping, and
//! renders per second of the ticks' time.

use super::{
    AbortOnDrop, Replica, SERVICE_TOKEN, WAIT_SECONDS, agent_client, authorized, deployment_id,
    healthy, percentile, plane, registration, spec,
};
use crate::Line;
use anyhow::{Context, Result, bail};
use harmony_client::agent::types::{DeploymentReport, Observes, StatusReport};
use harmony_client::v4::types as v4;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const PLANES: usize = 1000;
pub const DEPLOYMENTS: usize = 5;
const RELEASES: [&str; 3] = ["2026.11.0", "2026.12.0", "2026.13.0"];
/// The clock's move per cycle while a wave progresses: one agent round.
const STEP: chrono::Duration = chrono::Duration::seconds(30);

/// The committed policy's ring label: 1% canary, 10% early, 40% main, the
/// rest by remainder (as the simulator spreads them).
fn ring(i: usize, planes: usize) -> Option<&'static str> {
    let canary = (planes / 100).max(1);
    let early = canary + planes / 10;
    let main = early + planes * 4 / 10;
    match i {
        i if i < canary => Some("canary"),
        i if i < early => Some("early"),
        i if i < main => Some("main"),
        _ => None,
    }
}

/// One agent's state, shared between its poller and its reporter.
struct Agent {
    /// The revision applied and the deployments in it, all healthy.
    applied: std::sync::Mutex<(u64, Vec<DeploymentReport>)>,
}

impl Agent {
    fn report(&self) -> StatusReport {
        let (revision, deployments) =
            self.applied.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        StatusReport {
            applied_revision: revision,
            agent_version: "fleet".into(),
            deployments,
            complete: true,
            observes: Some(Observes { health: true }),
        }
    }
}

/// What one rollout measured.
struct Measured {
    wall: Duration,
    cycles: usize,
    tick_micros: u64,
    /// Over the ticks: the longest write, the longest group (the write lock
    /// held), the longest any write waited (ms).
    longest: Longest,
    /// Each tick's longest write (ms), for ticks that moved data planes.
    moving_ticks: Vec<f64>,
    /// The probe's write latencies (ms) while the controller stepped, and
    /// with nothing else running.
    probe_stepping: Vec<f64>,
    probe_quiet: Vec<f64>,
    renders: u64,
}

/// Maxima of the store's writer, in milliseconds.
#[derive(Clone, Copy, Default)]
struct Longest {
    write: f64,
    group: f64,
    wait: f64,
}

/// The fleet: replicas, the main API, and agents driven by rounds.
struct Fleet {
    replicas: Vec<Replica>,
    api: harmony_client::v4::Client,
    /// Bumped to make every agent report once; each answers its latency.
    round: tokio::sync::watch::Sender<u64>,
    reported: tokio::sync::mpsc::UnboundedReceiver<f64>,
    /// New states the agents took, over all of them.
    changes: Arc<AtomicUsize>,
    errors: Arc<AtomicUsize>,
    now: chrono::DateTime<chrono::Utc>,
    /// When every agent last reported.
    last_round: chrono::DateTime<chrono::Utc>,
    /// Each agent's client and state, for the probe.
    agents: Vec<(harmony_client::agent::Client, Arc<Agent>)>,
    _tasks: AbortOnDrop,
}

impl Fleet {
    async fn start(dirs: &[tempfile::TempDir], url: Option<&str>, planes: usize) -> Result<Fleet> {
        let mut replicas: Vec<Replica> = dirs
            .iter()
            .map(|d| Replica::start(d.path(), url, &["--rollout"]))
            .collect::<Result<_>>()?;
        let api = harmony_client::v4::Client::new_with_client(
            &replicas[0].api,
            authorized(SERVICE_TOKEN)?,
        );
        let v2 = harmony_client::v2::Client::new_with_client(
            &replicas[0].api,
            authorized(SERVICE_TOKEN)?,
        );
        let started = Instant::now();
        let next = Arc::new(AtomicUsize::new(0));
        let mut workers = Vec::new();
        for _ in 0..32 {
            let (v2, next) = (v2.clone(), next.clone());
            workers.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= planes {
                        return Ok::<_, anyhow::Error>(());
                    }
                    let mut registration = registration();
                    registration.platform_release = RELEASES[0].into();
                    if let Some(ring) = ring(i, planes) {
                        registration
                            .labels
                            .insert("astronomer.io/rollout-ring".to_owned(), ring.to_owned());
                    }
                    v2.data_plane_put(&plane(i), &registration).await?;
                    for k in 0..DEPLOYMENTS {
                        let mut spec = spec(&plane(i), 1);
                        spec.name = format!("etl-{k}");
                        v2.deployment_put(&deployment_id(i * DEPLOYMENTS + k), &spec).await?;
                    }
                }
            }));
        }
        for w in workers {
            w.await??;
        }
        for release in &RELEASES[1..] {
            let spec = v4::PlatformReleaseSpec {
                kubernetes_min: "1.29".parse()?,
                kubernetes_max: "1.33".parse()?,
                runtimes: vec![],
            };
            api.platform_release_put(&release.parse()?, &spec).await?;
        }
        let credentials: Vec<String> = (0..planes)
            .map(|i| replicas[0].ask(&format!("credential {}", plane(i))))
            .collect::<Result<_>>()?;
        eprintln!(
            "  fleet rollout: {planes} data planes x {DEPLOYMENTS} deployments registered in \
             {:.1} s; starting their agents",
            started.elapsed().as_secs_f64()
        );

        let (round, rounds) = tokio::sync::watch::channel(0u64);
        let (done, reported) = tokio::sync::mpsc::unbounded_channel();
        let changes = Arc::new(AtomicUsize::new(0));
        let errors = Arc::new(AtomicUsize::new(0));
        let (mut tasks, mut agents) = (Vec::new(), Vec::new());
        for (i, credential) in credentials.into_iter().enumerate() {
            let client = agent_client(&replicas[i % replicas.len()].agents, &credential)?;
            let agent = Arc::new(Agent { applied: Default::default() });
            agents.push((client.clone(), agent.clone()));
            // The poller: takes each new state, and reports it at once.
            let (poller, agent_p, changes, errors_p) =
                (client.clone(), agent.clone(), changes.clone(), errors.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let known = agent_p.report().applied_revision;
                    match poller.desired_state_get(Some(known), Some(WAIT_SECONDS)).await {
                        Ok(state) => {
                            let state = state.into_inner();
                            if !state.changed {
                                continue;
                            }
                            let reports = healthy(&state.deployments);
                            *agent_p.applied.lock().unwrap_or_else(|e| e.into_inner()) =
                                (state.revision, reports);
                            if poller.status_report(&agent_p.report()).await.is_err() {
                                errors_p.fetch_add(1, Ordering::Relaxed);
                            }
                            changes.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(_) => {
                            errors_p.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
            }));
            // The reporter: one report per round, its latency answered.
            let (mut rounds, done, errors) = (rounds.clone(), done.clone(), errors.clone());
            tasks.push(tokio::spawn(async move {
                while rounds.changed().await.is_ok() {
                    let sent = Instant::now();
                    if client.status_report(&agent.report()).await.is_err() {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    let _ = done.send(sent.elapsed().as_secs_f64() * 1e3);
                }
            }));
        }
        let fleet = Fleet {
            replicas,
            api,
            round,
            reported,
            changes,
            errors,
            now: sql_store::now(),
            last_round: sql_store::now(),
            agents,
            _tasks: AbortOnDrop(tasks),
        };
        fleet.arrivals(planes).await.context("agents never got their first state")?;
        Ok(fleet)
    }

    /// Waits until the agents have taken `total` new states in all.
    async fn arrivals(&self, total: usize) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.changes.load(Ordering::SeqCst) < total {
            anyhow::ensure!(
                Instant::now() < deadline,
                "agents took {} of {total} states",
                self.changes.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }

    /// Every agent reports once.
    async fn round(&mut self) -> Result<()> {
        self.round.send_modify(|n| *n += 1);
        for _ in 0..self.agents.len() {
            tokio::time::timeout(Duration::from_secs(60), self.reported.recv())
                .await
                .context("a report round never finished")?
                .context("agents ended")?;
        }
        self.last_round = self.now;
        Ok(())
    }

    /// Agents' reports, one at a time (each agent in turn), until `stop`
    /// (or `count` of them); their latencies in ms.
    fn probe(
        &self,
        stop: Arc<std::sync::atomic::AtomicBool>,
        count: usize,
    ) -> tokio::task::JoinHandle<Vec<f64>> {
        let (agents, errors) = (self.agents.clone(), self.errors.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            for (client, agent) in agents.iter().cycle().take(count) {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let sent = Instant::now();
                if client.status_report(&agent.report()).await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                latencies.push(sent.elapsed().as_secs_f64() * 1e3);
            }
            latencies
        })
    }

    fn set_clock(&mut self, at: chrono::DateTime<chrono::Utc>) -> Result<()> {
        self.now = at;
        let at = at.to_rfc3339();
        for r in &mut self.replicas {
            anyhow::ensure!(r.ask(&format!("clock {at}"))? == "ok", "the clock was not set");
        }
        Ok(())
    }

    /// The writers' maxima since last asked, over every replica.
    fn take_longest(&mut self) -> Result<Longest> {
        let mut longest = Longest::default();
        for r in &mut self.replicas {
            let answer: serde_json::Value = serde_json::from_str(&r.ask("longest")?)?;
            let ms = |field: &str| answer[field].as_u64().unwrap_or_default() as f64 / 1e3;
            longest.write = longest.write.max(ms("write_micros"));
            longest.group = longest.group.max(ms("group_micros"));
            longest.wait = longest.wait.max(ms("wait_micros"));
        }
        Ok(longest)
    }

    /// Rolls every data plane from `from` to `to`, each step re-rendering
    /// at most `renders` deployments in one transaction.
    async fn rollout(&mut self, from: &str, to: &str, renders: usize) -> Result<Measured> {
        let started = Instant::now();
        let changes_before = self.changes.load(Ordering::SeqCst);
        let now = sql_store::now().max(self.now + STEP);
        self.set_clock(now)?;
        self.round().await?;
        let quiet = self.probe(Arc::default(), 200).await?;
        let mut m = Measured {
            wall: Duration::ZERO,
            cycles: 0,
            tick_micros: 0,
            longest: Longest::default(),
            moving_ticks: Vec::new(),
            probe_stepping: Vec::new(),
            probe_quiet: quiet,
            renders: 0,
        };
        let create = v4::RolloutCreate { from_release: from.parse()?, to_release: to.parse()? };
        let mut rollout = self.api.rollout_create(&create).await?.into_inner();
        loop {
            // The agents the last step (or command) moved take their state.
            let moved: u64 = rollout.waves.iter().map(|w| w.updating + w.updated + w.failed).sum();
            self.arrivals(changes_before + moved as usize).await?;
            match rollout.state {
                v4::RolloutState::Succeeded => break,
                v4::RolloutState::Paused
                    if rollout
                        .decisions
                        .last()
                        .is_some_and(|d| d.kind == v4::RolloutDecisionKind::AwaitingApproval) =>
                {
                    let approve = v4::RolloutCommand {
                        action: v4::RolloutAction::Approve,
                        actor: "fleet-bench".into(),
                        reason: None,
                    };
                    rollout = self.api.rollout_command(&rollout.id, &approve).await?.into_inner();
                    continue;
                }
                v4::RolloutState::Progressing | v4::RolloutState::Baking => {}
                state => bail!("the rollout ended {state:?}: {}", rollout.reason),
            }
            anyhow::ensure!(m.cycles < 500, "the rollout is stuck: {}", rollout.reason);
            m.cycles += 1;
            let next = match rollout.bake_until {
                Some(until) if rollout.state == v4::RolloutState::Baking => {
                    until.max(self.now + STEP)
                }
                _ => self.now + STEP,
            };
            self.set_clock(next)?;
            if next - self.last_round >= chrono::Duration::seconds(60) {
                // Every agent would have reported in the meantime.
                self.round().await?;
            }
            self.take_longest()?;
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            self.replicas[0].send(&format!("tick {renders}"))?;
            let probe = self.probe(stop.clone(), usize::MAX);
            let answer = tokio::task::block_in_place(|| self.replicas[0].answer("tick"))?;
            stop.store(true, Ordering::SeqCst);
            m.probe_stepping.extend(probe.await?);
            let longest = self.take_longest()?;
            m.longest.write = m.longest.write.max(longest.write);
            m.longest.group = m.longest.group.max(longest.group);
            m.longest.wait = m.longest.wait.max(longest.wait);
            let answer: serde_json::Value = serde_json::from_str(&answer)?;
            m.tick_micros += answer["micros"].as_u64().context("tick answer")?;
            let moved_before = moved;
            rollout = self.api.rollout_get(&rollout.id).await?.into_inner();
            let moved: u64 = rollout.waves.iter().map(|w| w.updating + w.updated + w.failed).sum();
            if moved > moved_before {
                m.moving_ticks.push(longest.write);
            }
        }
        m.wall = started.elapsed();
        let updated: u64 = rollout.waves.iter().map(|w| w.updated).sum();
        let planes = self.agents.len();
        anyhow::ensure!(updated as usize == planes, "{updated} of {planes} data planes updated");
        m.renders = updated * DEPLOYMENTS as u64;
        Ok(m)
    }
}

async fn measure(url: Option<&str>, planes: usize) -> Result<(Measured, Measured, usize)> {
    let replica_count = if url.is_some() { 2 } else { 1 };
    let dirs: Vec<tempfile::TempDir> =
        (0..replica_count).map(|_| tempfile::tempdir()).collect::<Result<_, _>>()?;
    let mut fleet = Fleet::start(&dirs, url, planes).await?;
    eprintln!("  fleet rollout: {} to {}, each step in one transaction", RELEASES[0], RELEASES[1]);
    let unbounded = fleet.rollout(RELEASES[0], RELEASES[1], usize::MAX).await?;
    eprintln!(
        "  fleet rollout: {} to {}, {} renders per transaction (as shipped)",
        RELEASES[1],
        RELEASES[2],
        harmony_server::app::RENDERS_PER_COMMIT
    );
    let shipped =
        fleet.rollout(RELEASES[1], RELEASES[2], harmony_server::app::RENDERS_PER_COMMIT).await?;
    Ok((shipped, unbounded, fleet.errors.load(Ordering::Relaxed)))
}

/// The fleet rollout lines, for `planes` data planes.
pub async fn run(planes: usize) -> Result<Vec<Line>> {
    let mut setups = Vec::new();
    eprintln!("fleet rollout: {planes} data planes through one Harmony on SQLite");
    setups.push(("SQLite, 1 Harmony", measure(None, planes).await?));
    let schema = sql_store::testing::TestSchema::create();
    if let Some(schema) = &schema {
        eprintln!("fleet rollout: {planes} data planes through two replicas on PostgreSQL");
        setups.push(("PostgreSQL, 2 replicas", measure(Some(&schema.url()), planes).await?));
    } else {
        eprintln!("fleet rollout: no PostgreSQL server on 127.0.0.1:5432; SQLite only");
    }
    let mut lines = Vec::new();
    let unbounded_what = "each step one transaction";
    for (name, (m, base, errors)) in &setups {
        let what = |figure: &str| format!("fleet rollout, {name}: {figure}");
        lines.push(Line::new(
            what("wall"),
            m.wall.as_secs_f64(),
            "s",
            unbounded_what,
            base.wall.as_secs_f64(),
            format!(
                "{planes} data planes x {DEPLOYMENTS} deployments, 4 waves, production \
                 parameters on a manual clock; {} cycles; {errors} agent request errors",
                m.cycles
            ),
        ));
        lines.push(Line::new(
            what("longest write while stepping"),
            m.longest.write,
            "ms",
            unbounded_what,
            base.longest.write,
            format!(
                "a step's transaction, at most {} re-rendered deployments; the longest group \
                 (write lock held) {:.1} ms against {:.1} ms",
                harmony_server::app::RENDERS_PER_COMMIT,
                m.longest.group,
                base.longest.group
            ),
        ));
        lines.push(Line::new(
            what("median tick's longest write, ticks moving data planes"),
            percentile(&m.moving_ticks, 0.5),
            "ms",
            unbounded_what,
            percentile(&base.moving_ticks, 0.5),
            format!(
                "{} such ticks; the baseline's {}",
                m.moving_ticks.len(),
                base.moving_ticks.len()
            ),
        ));
        lines.push(Line::new(
            what("longest wait of a write while stepping"),
            m.longest.wait,
            "ms",
            unbounded_what,
            base.longest.wait,
            "queued until run: behind the writer's groups and other replicas' write lock",
        ));
        for (label, p) in [("p99", 0.99), ("max", 1.0)] {
            lines.push(Line::new(
                what(&format!("another writer's latency while stepping, {label}")),
                percentile(&m.probe_stepping, p),
                "ms",
                unbounded_what,
                percentile(&base.probe_stepping, p),
                if label == "p99" {
                    format!(
                        "{} agent reports one at a time during the ticks; with nothing else \
                         running p99 {:.1} ms",
                        m.probe_stepping.len(),
                        percentile(&m.probe_quiet, 0.99)
                    )
                } else {
                    String::new()
                },
            ));
        }
        let rate = |m: &Measured| m.renders as f64 / (m.tick_micros as f64 / 1e6);
        lines.push(Line::new(
            what("renders per second of stepping"),
            rate(m),
            "/s",
            unbounded_what,
            rate(base),
            format!("{} deployments re-rendered over the ticks' own time", m.renders),
        ));
    }
    Ok(lines)
}
