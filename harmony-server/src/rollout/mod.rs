//! Rollouts of platform releases across data planes.
//!
//! A rollout moves every data plane on `from_release` to `to_release`, wave
//! by wave, under a [`policy::RolloutPolicy`]. The controller is a pure state
//! machine: [`Rollout::plan`] assigns data planes to waves, [`Rollout::step`]
//! looks at the fleet through [`Fleet`] at an instant and returns the
//! [`Action`]s to carry out (set a data plane's desired release), and the
//! commands (pause, resume, approve, abort, rollback, bypass) change state the
//! same way. Nothing in this file reads a clock or does I/O, so the same
//! code runs in Harmony (`app::rollouts`: one store transaction per step;
//! this module only names the store's `StoredRollout`, which it
//! implements), in the fleet
//! simulator ([`sim`]) and in the benchmark, in simulated time.
//!
//! One state machine, in one file on purpose: its transitions read best
//! together, and its tests (`tests/integration_tests/rollout_controller.rs`)
//! hold each invariant below.
//!
//! Invariants (each has a test there):
//! - every targeted data plane is in exactly one wave, or planning fails
//!   naming the data planes no wave selects;
//! - a non-zero percentage never rounds down to zero data planes;
//! - abort and rollback stop progress and restore `from_release` on every
//!   data plane the rollout moved (within a step's budget, the rest by the
//!   next steps); a stopped rollout never moves a data plane forward again;
//! - a data plane outside the release's Kubernetes range, or running a
//!   runtime the release does not support, is held back with a reason;
//! - an unreachable data plane is not moved and stalls its wave with a
//!   reason (the progress deadline then applies `on_failure`);
//! - a gate that fails applies `on_failure`; a gate that cannot decide
//!   (no data, an unreachable data plane) pauses, never passes.

pub mod policy;
pub mod sim;

use chrono::{DateTime, Duration, Utc};
use deployment_rules::rule;
use policy::{Gate, OnFailure, RolloutPolicy};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// A version of the manifest templates, with what it supports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformRelease {
    pub version: String,
    /// Oldest supported Kubernetes minor, `MAJOR.MINOR`.
    pub kubernetes_min: String,
    /// Newest supported Kubernetes minor, `MAJOR.MINOR`.
    pub kubernetes_max: String,
    /// Supported Astro Runtime versions; empty means any.
    pub runtimes: Vec<String>,
}

impl PlatformRelease {
    /// Why a data plane cannot take this release, if it cannot.
    pub fn refuses(&self, plane: &PlaneInfo) -> Option<String> {
        let minor = kubernetes_minor(&plane.kubernetes_version);
        let (min, max) =
            (kubernetes_minor(&self.kubernetes_min), kubernetes_minor(&self.kubernetes_max));
        match (minor, min, max) {
            (Some(v), Some(min), Some(max)) if v < min || v > max => {
                return Some(format!(
                    "Kubernetes {} is outside release {}'s supported range {}–{}",
                    plane.kubernetes_version,
                    self.version,
                    self.kubernetes_min,
                    self.kubernetes_max
                ));
            }
            (None, _, _) => {
                return Some(format!(
                    "Kubernetes version {:?} cannot be compared with release {}'s range",
                    plane.kubernetes_version, self.version
                ));
            }
            _ => {}
        }
        if !self.runtimes.is_empty() {
            let unsupported: BTreeSet<&str> = plane
                .runtimes
                .iter()
                .filter(|r| !self.runtimes.contains(r))
                .map(String::as_str)
                .collect();
            if !unsupported.is_empty() {
                return Some(format!(
                    "runs Astro Runtime {} which release {} does not support",
                    unsupported.into_iter().collect::<Vec<_>>().join(", "),
                    self.version
                ));
            }
        }
        None
    }
}

/// `1.30` or `1.30.4` → (1, 30).
pub fn kubernetes_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// What planning needs to know of a data plane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaneInfo {
    pub id: String,
    pub labels: BTreeMap<String, String>,
    pub kubernetes_version: String,
    pub release: String,
    /// Runtime versions of the deployments on it.
    pub runtimes: Vec<String>,
    /// Its agent said, in its last report, that it cannot observe
    /// workloads' health (it writes files): a HEALTH gate could never pass
    /// on it.
    pub blind_to_health: bool,
}

/// How a data plane looks now, relative to the release it was last given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observation {
    /// Its agent has not reported recently (or ever).
    Unreachable,
    /// Its agent has not yet applied the desired state it was given.
    Converging,
    /// Applied, and every deployment on it reports healthy.
    Healthy,
    /// Applied, and some deployment on it reports unhealthy.
    Unhealthy,
}

/// The controller's window on the fleet.
pub trait Fleet {
    fn observe(&self, plane: &str) -> Observation;
    /// What moving a data plane costs the caller, in the units of
    /// [`Rollout::step_within`]'s budget (for Harmony: the deployments it
    /// re-renders, at least one).
    fn cost(&self, _plane: &str) -> usize {
        1
    }
    /// A metric over these data planes within the window ending now; `None`
    /// when there is no data.
    fn metric(&self, name: &str, planes: &[&str], window: Duration) -> Option<f64>;
}

/// What the caller must carry out for a step or command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    SetRelease { plane: String, release: String },
}

/// What one [`Rollout::step_within`] decided.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stepped {
    pub actions: Vec<Action>,
    /// The budget ran out while the current wave still had room for more
    /// data planes: step again (in another transaction) to move them.
    pub more: bool,
}

/// How much moving one step may still do; at least one data plane moves
/// whatever it costs, so a step always makes progress.
struct Budget {
    left: usize,
    spent: bool,
    ran_out: bool,
}

impl Budget {
    fn new(left: usize) -> Budget {
        Budget { left, spent: false, ran_out: false }
    }

    /// Spends `cost` if it fits (or nothing has been spent yet).
    fn take(&mut self, cost: usize) -> bool {
        if self.spent && cost > self.left {
            self.ran_out = true;
            return false;
        }
        self.left = self.left.saturating_sub(cost);
        self.spent = true;
        true
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RolloutState {
    Pending,
    Progressing,
    Baking,
    Paused,
    Succeeded,
    Aborted,
    RolledBack,
}

impl RolloutState {
    pub fn is_terminal(self) -> bool {
        matches!(self, RolloutState::Succeeded | RolloutState::Aborted | RolloutState::RolledBack)
    }

    /// Ended by an abort or rollback: what it moved is given back.
    pub fn is_stopped(self) -> bool {
        matches!(self, RolloutState::Aborted | RolloutState::RolledBack)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PlaneState {
    /// Not moved yet.
    Waiting,
    /// Will not be moved; `reason` says why.
    HeldBack,
    /// Given the new release, not yet healthy on it.
    Updating,
    /// Healthy on the new release.
    Updated,
    /// Unhealthy on the new release.
    Failed,
    /// Given the previous release back after an abort or rollback.
    Restored,
}

impl PlaneState {
    /// Given `to_release` by the rollout (and not given it back).
    pub fn is_moved(self) -> bool {
        matches!(self, PlaneState::Updating | PlaneState::Updated | PlaneState::Failed)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaneProgress {
    pub id: String,
    pub wave: usize,
    pub state: PlaneState,
    pub reason: Option<String>,
    pub moved_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DecisionKind {
    Started,
    Moved,
    Stalled,
    WaveUpdated,
    GatePassed,
    GateFailed,
    GateInconclusive,
    AwaitingApproval,
    WavePassed,
    Failed,
    Paused,
    Resumed,
    Approved,
    Bypassed,
    Aborted,
    RolledBack,
    Succeeded,
}

/// One decision of the controller or one command, with its reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub at: DateTime<Utc>,
    pub kind: DecisionKind,
    pub wave: Option<String>,
    pub reason: String,
    /// Who, for commands.
    pub actor: Option<String>,
}

/// A command from a person (or a tool acting for one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Command {
    Pause,
    Resume,
    /// Passes the current wave's MANUAL_APPROVAL gate.
    Approve,
    Abort,
    Rollback,
    /// Emergency: the current wave's bake and gates count as passed. Needs
    /// an actor and a reason; recorded like every decision.
    Bypass,
}

/// Why a command or a plan was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RolloutError {
    /// Names each problem: a field and the declared rule it breaks.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<deployment_rules::Objection>),
    #[error("{0}")]
    Conflict(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    pub id: Uuid,
    pub from_release: String,
    pub to_release: PlatformRelease,
    pub policy: RolloutPolicy,
    pub policy_hash: String,
    pub state: RolloutState,
    /// The state a PAUSED rollout resumes into.
    pub paused_from: Option<RolloutState>,
    pub current_wave: usize,
    /// Every targeted data plane, by id.
    pub planes: Vec<PlaneProgress>,
    pub bake_until: Option<DateTime<Utc>>,
    /// Last time a data plane was moved or became healthy or failed, or a
    /// wave started; the progress deadline counts from here.
    pub progressed_at: DateTime<Utc>,
    pub reason: String,
    /// Waves whose MANUAL_APPROVAL gate a person passed.
    pub approved: BTreeSet<usize>,
    /// Waves whose bake and gates were bypassed.
    pub bypassed: BTreeSet<usize>,
    pub decisions: Vec<Decision>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl crate::store::StoredRollout for Rollout {
    type State = RolloutState;

    fn id(&self) -> Uuid {
        self.id
    }

    fn state(&self) -> &RolloutState {
        &self.state
    }

    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
}

/// Counts of one wave's data planes by state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WaveCounts {
    pub targets: usize,
    pub waiting: usize,
    pub updating: usize,
    pub updated: usize,
    pub failed: usize,
    pub held_back: usize,
    pub restored: usize,
}

impl Rollout {
    /// Plans a rollout of every data plane on `from_release` to `to`.
    /// Refused when nothing is on `from_release`, when the releases are the
    /// same, or when some targeted data plane is in no wave (named).
    pub fn plan(
        id: Uuid,
        from_release: &str,
        to: PlatformRelease,
        policy: RolloutPolicy,
        planes: &[PlaneInfo],
        now: DateTime<Utc>,
    ) -> Result<Rollout, RolloutError> {
        if from_release == to.version {
            return Err(RolloutError::Invalid(vec![
                rule::ROLLOUT_TARGET
                    .object("to_release", format!("is the same as from_release ({from_release})")),
            ]));
        }
        let mut targets = Vec::new();
        let mut uncovered = Vec::new();
        for plane in planes.iter().filter(|p| p.release == from_release) {
            match policy.waves.iter().position(|w| w.selects(&plane.labels)) {
                Some(wave) => {
                    let reason = to.refuses(plane);
                    targets.push(PlaneProgress {
                        id: plane.id.clone(),
                        wave,
                        state: if reason.is_some() {
                            PlaneState::HeldBack
                        } else {
                            PlaneState::Waiting
                        },
                        reason,
                        moved_at: None,
                    });
                }
                None => uncovered.push(plane.id.clone()),
            }
        }
        if !uncovered.is_empty() {
            uncovered.sort();
            return Err(RolloutError::Invalid(vec![rule::ROLLOUT_COVERAGE.object(
                "from_release",
                format!(
                    "policy ({}): no wave selects data plane(s) {}; every targeted data plane \
                     must be in exactly one wave (add a selector or a remainder wave)",
                    policy.environment,
                    summarize(&uncovered)
                ),
            )]));
        }
        // A gate needing evidence a data plane's agent cannot give would
        // hold its wave as "inconclusive" for ever: refused now instead.
        let mut blind = Vec::new();
        for (i, wave) in policy.waves.iter().enumerate() {
            if !wave.gates.contains(&Gate::Health) {
                continue;
            }
            let mut names: Vec<String> = targets
                .iter()
                .filter(|t| t.wave == i)
                .filter(|t| planes.iter().any(|p| p.id == t.id && p.blind_to_health))
                .map(|t| t.id.clone())
                .collect();
            if !names.is_empty() {
                names.sort();
                blind.push(rule::ROLLOUT_GATES_OBSERVABLE.object(
                    "from_release",
                    format!(
                        "policy ({}): wave {} gates on HEALTH, but the agents of data plane(s) {} \
                     report that they cannot observe workloads' health (they write files), so \
                     the gate could never pass; gate that wave on METRIC or MANUAL_APPROVAL, or \
                     run agents that observe health there",
                        policy.environment,
                        wave.name,
                        summarize(&names)
                    ),
                ));
            }
        }
        if !blind.is_empty() {
            return Err(RolloutError::Invalid(blind));
        }
        if targets.is_empty() {
            return Err(RolloutError::Invalid(vec![
                rule::ROLLOUT_COVERAGE
                    .object("from_release", format!("no data plane is on release {from_release}")),
            ]));
        }
        targets.sort_by(|a, b| a.id.cmp(&b.id));
        let policy_hash = policy.hash();
        Ok(Rollout {
            id,
            from_release: from_release.to_owned(),
            to_release: to,
            policy,
            policy_hash,
            state: RolloutState::Pending,
            paused_from: None,
            current_wave: 0,
            planes: targets,
            bake_until: None,
            progressed_at: now,
            reason: "created; starts at the next step".to_owned(),
            approved: BTreeSet::new(),
            bypassed: BTreeSet::new(),
            decisions: Vec::new(),
            created_at: now,
            updated_at: now,
        })
    }

    pub fn wave_counts(&self, wave: usize) -> WaveCounts {
        let mut c = WaveCounts::default();
        for p in self.planes.iter().filter(|p| p.wave == wave) {
            c.targets += 1;
            match p.state {
                PlaneState::Waiting => c.waiting += 1,
                PlaneState::Updating => c.updating += 1,
                PlaneState::Updated => c.updated += 1,
                PlaneState::Failed => c.failed += 1,
                PlaneState::HeldBack => c.held_back += 1,
                PlaneState::Restored => c.restored += 1,
            }
        }
        c
    }

    fn wave_name(&self, wave: usize) -> Option<String> {
        self.policy.waves.get(wave).map(|w| w.name.clone())
    }

    fn decide(&mut self, now: DateTime<Utc>, kind: DecisionKind, reason: String) {
        self.decide_as(now, kind, reason, None);
    }

    fn decide_as(
        &mut self,
        now: DateTime<Utc>,
        kind: DecisionKind,
        reason: String,
        actor: Option<&str>,
    ) {
        let wave = self.wave_name(self.current_wave);
        self.reason.clone_from(&reason);
        self.updated_at = now;
        self.decisions.push(Decision {
            at: now,
            kind,
            wave,
            reason,
            actor: actor.map(str::to_owned),
        });
    }

    /// Advances the rollout as far as the fleet allows at `now`.
    pub fn step(&mut self, fleet: &dyn Fleet, now: DateTime<Utc>) -> Vec<Action> {
        self.step_within(fleet, now, usize::MAX).actions
    }

    /// [`Rollout::step`], moving data planes only while their
    /// [`Fleet::cost`] fits in `budget` (at least one moves when any may),
    /// so a caller carrying out each step in one transaction keeps it
    /// short: a wave's `max_parallel` is then reached over several steps,
    /// each decided and carried out whole; so is giving `from_release`
    /// back after an abort or rollback. `more` says to step again.
    pub fn step_within(&mut self, fleet: &dyn Fleet, now: DateTime<Utc>, budget: usize) -> Stepped {
        let mut budget = Budget::new(budget);
        let mut actions = Vec::new();
        // A wave that passes lets the next one start in the same step.
        for _ in 0..=self.policy.waves.len() {
            let before = (self.state, self.current_wave);
            match self.state {
                RolloutState::Pending => {
                    self.state = RolloutState::Progressing;
                    self.progressed_at = now;
                    let waves: Vec<String> = (0..self.policy.waves.len())
                        .map(|w| {
                            let c = self.wave_counts(w);
                            format!(
                                "{} {} ({} held back)",
                                self.policy.waves[w].name, c.targets, c.held_back
                            )
                        })
                        .collect();
                    self.decide(
                        now,
                        DecisionKind::Started,
                        format!(
                            "rolling {} data planes from {} to {} under the {} policy; waves: {}",
                            self.planes.len(),
                            self.from_release,
                            self.to_release.version,
                            self.policy.environment,
                            waves.join(", ")
                        ),
                    );
                }
                RolloutState::Progressing => {
                    self.progress(fleet, now, &mut actions, &mut budget);
                }
                RolloutState::Baking => self.bake(fleet, now),
                RolloutState::Paused
                | RolloutState::Succeeded
                | RolloutState::Aborted
                | RolloutState::RolledBack => {}
            }
            if (self.state, self.current_wave) == before {
                break;
            }
        }
        // Stopped now or before: give back what the budget allows.
        self.restore(&mut budget, &|plane| fleet.cost(plane), &mut actions);
        Stepped { actions, more: budget.ran_out }
    }

    fn progress(
        &mut self,
        fleet: &dyn Fleet,
        now: DateTime<Utc>,
        actions: &mut Vec<Action>,
        budget: &mut Budget,
    ) {
        let w = self.current_wave;
        let wave = self.policy.waves[w].clone();
        let counts = self.wave_counts(w);
        if counts.targets == counts.held_back {
            // Nothing to update, bake or judge: say so and go on.
            return self.pass_wave(
                now,
                &format!(
                    "wave {} has no data plane to update ({} held back); skipped",
                    wave.name, counts.held_back
                ),
            );
        }
        let mut progressed = false;
        let mut unreachable = Vec::new();
        for p in self.planes.iter_mut().filter(|p| p.wave == w && p.state == PlaneState::Updating) {
            match fleet.observe(&p.id) {
                Observation::Healthy => {
                    p.state = PlaneState::Updated;
                    progressed = true;
                }
                Observation::Unhealthy => {
                    p.state = PlaneState::Failed;
                    p.reason = Some(format!("unhealthy on {}", self.to_release.version));
                    progressed = true;
                }
                Observation::Unreachable => unreachable.push(p.id.clone()),
                Observation::Converging => {}
            }
        }
        if self.over_budget(now) {
            return;
        }
        let counts = self.wave_counts(w);
        let limit = wave.max_parallel.of(counts.targets - counts.held_back);
        let mut slots = limit.saturating_sub(counts.updating + counts.failed);
        let mut moved = Vec::new();
        for p in self.planes.iter_mut().filter(|p| p.wave == w && p.state == PlaneState::Waiting) {
            if slots == 0 {
                break;
            }
            if fleet.observe(&p.id) == Observation::Unreachable {
                unreachable.push(p.id.clone());
                continue;
            }
            if !budget.take(fleet.cost(&p.id)) {
                break;
            }
            p.state = PlaneState::Updating;
            p.moved_at = Some(now);
            actions.push(Action::SetRelease {
                plane: p.id.clone(),
                release: self.to_release.version.clone(),
            });
            moved.push(p.id.clone());
            slots -= 1;
        }
        if !moved.is_empty() {
            progressed = true;
            self.decide(
                now,
                DecisionKind::Moved,
                format!(
                    "moved {} data plane(s) of wave {} to {} (at most {} updating at once): {}",
                    moved.len(),
                    wave.name,
                    self.to_release.version,
                    limit,
                    summarize(&moved)
                ),
            );
        }
        if progressed {
            self.progressed_at = now;
        }
        let counts = self.wave_counts(w);
        if counts.waiting == 0 && counts.updating == 0 {
            self.state = RolloutState::Baking;
            self.bake_until = Some(now + Duration::seconds(wave.bake_seconds as i64));
            self.progressed_at = now;
            self.decide(
                now,
                DecisionKind::WaveUpdated,
                format!(
                    "wave {}: {} updated, {} failed (allowed {}), {} held back; baking for {}s",
                    wave.name,
                    counts.updated,
                    counts.failed,
                    wave.max_unavailable.of(counts.targets - counts.held_back),
                    counts.held_back,
                    wave.bake_seconds
                ),
            );
            return;
        }
        unreachable.sort();
        unreachable.dedup();
        let deadline = Duration::seconds(self.policy.progress_deadline_seconds as i64);
        if now - self.progressed_at >= deadline {
            let why = if unreachable.is_empty() {
                format!(
                    "{} data plane(s) still converging on {}",
                    counts.updating, self.to_release.version
                )
            } else {
                format!("data plane(s) unreachable: {}", summarize(&unreachable))
            };
            self.fail(
                now,
                format!(
                    "wave {} made no progress for {}s (the progress deadline): {why}",
                    wave.name, self.policy.progress_deadline_seconds
                ),
            );
        } else if !unreachable.is_empty() {
            let reason = format!(
                "wave {} stalled: data plane(s) unreachable: {}",
                wave.name,
                summarize(&unreachable)
            );
            if self.reason != reason {
                self.decide(now, DecisionKind::Stalled, reason);
            }
        }
    }

    /// Applies `on_failure` when the current wave has more failed data
    /// planes than it allows. Returns whether it did.
    fn over_budget(&mut self, now: DateTime<Utc>) -> bool {
        let w = self.current_wave;
        let wave = &self.policy.waves[w];
        let counts = self.wave_counts(w);
        let allowed = wave.max_unavailable.of(counts.targets - counts.held_back);
        if counts.failed <= allowed {
            return false;
        }
        let failed: Vec<String> = self
            .planes
            .iter()
            .filter(|p| p.wave == w && p.state == PlaneState::Failed)
            .map(|p| p.id.clone())
            .collect();
        let reason = format!(
            "wave {}: {} data plane(s) unhealthy on {} (allowed {}): {}",
            wave.name,
            counts.failed,
            self.to_release.version,
            allowed,
            summarize(&failed)
        );
        self.fail(now, reason);
        true
    }

    fn bake(&mut self, fleet: &dyn Fleet, now: DateTime<Utc>) {
        let w = self.current_wave;
        for p in self.planes.iter_mut().filter(|p| p.wave == w && p.state == PlaneState::Updated) {
            if fleet.observe(&p.id) == Observation::Unhealthy {
                p.state = PlaneState::Failed;
                p.reason = Some(format!("unhealthy on {} while baking", self.to_release.version));
            }
        }
        if self.over_budget(now) {
            return;
        }
        let wave = self.policy.waves[w].clone();
        if self.bypassed.contains(&w) {
            return self.pass_wave(now, &format!("wave {} passed (gates bypassed)", wave.name));
        }
        if self.bake_until.is_some_and(|until| now < until) {
            return;
        }
        let updated: Vec<String> = self
            .planes
            .iter()
            .filter(|p| p.wave == w && p.state == PlaneState::Updated)
            .map(|p| p.id.clone())
            .collect();
        let updated: Vec<&str> = updated.iter().map(String::as_str).collect();
        let mut inconclusive = Vec::new();
        let mut awaiting = false;
        for gate in &wave.gates {
            let verdict = match gate {
                Gate::Health => health_gate(fleet, &updated),
                Gate::Metric { name, max, window_seconds } => {
                    match fleet.metric(name, &updated, Duration::seconds(*window_seconds as i64)) {
                        None if updated.is_empty() => {
                            Verdict::Pass("no data plane to measure".into())
                        }
                        None => Verdict::Inconclusive(format!(
                            "no {name} data in the last {window_seconds}s"
                        )),
                        Some(v) if v > *max => {
                            Verdict::Fail(format!("{name} is {v:.4}, over {max}"))
                        }
                        Some(v) => Verdict::Pass(format!("{name} is {v:.4} (at most {max})")),
                    }
                }
                Gate::ManualApproval if self.approved.contains(&w) => {
                    Verdict::Pass("approved".into())
                }
                Gate::ManualApproval => {
                    awaiting = true;
                    continue;
                }
            };
            match verdict {
                Verdict::Pass(why) => self.decide(
                    now,
                    DecisionKind::GatePassed,
                    format!("wave {}: {} gate passed: {why}", wave.name, gate.name()),
                ),
                Verdict::Fail(why) => {
                    let reason = format!("wave {}: {} gate failed: {why}", wave.name, gate.name());
                    self.decide(now, DecisionKind::GateFailed, reason.clone());
                    return self.fail(now, reason);
                }
                Verdict::Inconclusive(why) => inconclusive.push(format!("{}: {why}", gate.name())),
            }
        }
        if !inconclusive.is_empty() {
            let reason = format!(
                "wave {}: gate(s) inconclusive ({}); paused: an inconclusive gate never passes. \
                 Resume to evaluate again",
                wave.name,
                inconclusive.join("; ")
            );
            self.state = RolloutState::Paused;
            self.paused_from = Some(RolloutState::Baking);
            return self.decide(now, DecisionKind::GateInconclusive, reason);
        }
        if awaiting {
            self.state = RolloutState::Paused;
            self.paused_from = Some(RolloutState::Baking);
            return self.decide(
                now,
                DecisionKind::AwaitingApproval,
                format!("wave {}: waiting for a person to approve (MANUAL_APPROVAL)", wave.name),
            );
        }
        self.pass_wave(now, &format!("wave {} passed", wave.name));
    }

    fn pass_wave(&mut self, now: DateTime<Utc>, reason: &str) {
        self.decide(now, DecisionKind::WavePassed, reason.to_owned());
        self.bake_until = None;
        self.progressed_at = now;
        if self.current_wave + 1 == self.policy.waves.len() {
            self.state = RolloutState::Succeeded;
            let held = self.planes.iter().filter(|p| p.state == PlaneState::HeldBack).count();
            self.decide(
                now,
                DecisionKind::Succeeded,
                format!(
                    "every wave passed; {} data plane(s) on {}, {held} held back",
                    self.planes.iter().filter(|p| p.state == PlaneState::Updated).count(),
                    self.to_release.version
                ),
            );
        } else {
            self.current_wave += 1;
            self.state = RolloutState::Progressing;
        }
    }

    fn fail(&mut self, now: DateTime<Utc>, reason: String) {
        self.decide(now, DecisionKind::Failed, reason.clone());
        match self.policy.on_failure {
            OnFailure::Pause => {
                self.paused_from = Some(self.state);
                self.state = RolloutState::Paused;
                self.decide(now, DecisionKind::Paused, format!("paused by policy: {reason}"));
            }
            OnFailure::Abort => self.stop(now, RolloutState::Aborted, reason, None),
            OnFailure::Rollback => self.stop(now, RolloutState::RolledBack, reason, None),
        }
    }

    /// Ends the rollout: every moved data plane is to get `from_release`
    /// back ([`Rollout::restore`] gives it, within a budget; a step of a
    /// stopped rollout gives the rest).
    fn stop(
        &mut self,
        now: DateTime<Utc>,
        state: RolloutState,
        reason: String,
        actor: Option<&str>,
    ) {
        let restored: Vec<String> =
            self.planes.iter().filter(|p| p.state.is_moved()).map(|p| p.id.clone()).collect();
        self.state = state;
        self.paused_from = None;
        self.bake_until = None;
        let kind = if state == RolloutState::Aborted {
            DecisionKind::Aborted
        } else {
            DecisionKind::RolledBack
        };
        self.decide_as(
            now,
            kind,
            format!(
                "{reason}; {} restored to {}{}",
                restored.len(),
                self.from_release,
                if restored.is_empty() {
                    String::new()
                } else {
                    format!(": {}", summarize(&restored))
                }
            ),
            actor,
        );
    }

    /// Whether this rollout was stopped and some data plane it moved has
    /// not been given `from_release` back yet.
    pub fn restoring(&self) -> bool {
        self.state.is_stopped() && self.planes.iter().any(|p| p.state.is_moved())
    }

    /// Gives moved data planes `from_release` back, as many as `budget`
    /// allows at `cost` each (at least one).
    fn restore(
        &mut self,
        budget: &mut Budget,
        cost: &dyn Fn(&str) -> usize,
        actions: &mut Vec<Action>,
    ) {
        if !self.state.is_stopped() {
            return;
        }
        for p in self.planes.iter_mut().filter(|p| p.state.is_moved()) {
            if !budget.take(cost(&p.id)) {
                break;
            }
            p.state = PlaneState::Restored;
            actions.push(Action::SetRelease {
                plane: p.id.clone(),
                release: self.from_release.clone(),
            });
        }
    }

    /// Carries out a person's command. `reason` is required for a bypass,
    /// `actor` for every command. An abort or rollback gives every moved
    /// data plane `from_release` back at once.
    pub fn command(
        &mut self,
        command: Command,
        actor: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Action>, RolloutError> {
        Ok(self.command_within(command, actor, reason, now, &|_| 1, usize::MAX)?.actions)
    }

    /// [`Rollout::command`], restoring after an abort or rollback only as
    /// many data planes as `budget` allows at `cost` each ([`Fleet::cost`]);
    /// `more` says steps must restore the rest.
    pub fn command_within(
        &mut self,
        command: Command,
        actor: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
        cost: &dyn Fn(&str) -> usize,
        budget: usize,
    ) -> Result<Stepped, RolloutError> {
        let mut budget = Budget::new(budget);
        if actor.trim().is_empty() {
            let objection = rule::ROLLOUT_ACTOR.object("actor", "must name who acts");
            return Err(RolloutError::Invalid(vec![objection]));
        }
        let why =
            |default: &str| reason.filter(|r| !r.trim().is_empty()).unwrap_or(default).to_owned();
        let mut actions = Vec::new();
        let state = self.state;
        let refuse = |what: &str| {
            Err(RolloutError::Conflict(format!(
                "rollout {} is {}; it cannot be {what}",
                self.id,
                serde_json::to_value(state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            )))
        };
        match command {
            Command::Pause => {
                if state.is_terminal() || state == RolloutState::Paused {
                    return refuse("paused");
                }
                self.paused_from = Some(state);
                self.state = RolloutState::Paused;
                self.decide_as(now, DecisionKind::Paused, why("paused by a person"), Some(actor));
            }
            Command::Resume => {
                if state != RolloutState::Paused {
                    return refuse("resumed");
                }
                self.resume(now, DecisionKind::Resumed, why("resumed by a person"), actor);
            }
            Command::Approve => {
                if state.is_terminal() {
                    return refuse("approved");
                }
                let w = self.current_wave;
                if !self.policy.waves[w].gates.contains(&Gate::ManualApproval) {
                    return Err(RolloutError::Conflict(format!(
                        "wave {} has no MANUAL_APPROVAL gate",
                        self.policy.waves[w].name
                    )));
                }
                self.approved.insert(w);
                if state == RolloutState::Paused {
                    self.resume(now, DecisionKind::Approved, why("approved"), actor);
                } else {
                    self.decide_as(now, DecisionKind::Approved, why("approved"), Some(actor));
                }
            }
            Command::Abort => {
                if state.is_terminal() {
                    return refuse("aborted");
                }
                self.stop(now, RolloutState::Aborted, why("aborted by a person"), Some(actor));
                self.restore(&mut budget, cost, &mut actions);
            }
            Command::Rollback => {
                if matches!(state, RolloutState::Aborted | RolloutState::RolledBack) {
                    return refuse("rolled back");
                }
                self.stop(
                    now,
                    RolloutState::RolledBack,
                    why("rolled back by a person"),
                    Some(actor),
                );
                self.restore(&mut budget, cost, &mut actions);
            }
            Command::Bypass => {
                if state.is_terminal() {
                    return refuse("bypassed");
                }
                let Some(reason) = reason.filter(|r| !r.trim().is_empty()) else {
                    return Err(RolloutError::Invalid(vec![
                        rule::ROLLOUT_ACTOR.object("reason", "an emergency bypass must say why"),
                    ]));
                };
                self.bypassed.insert(self.current_wave);
                let name = self.policy.waves[self.current_wave].name.clone();
                let text = format!("EMERGENCY BYPASS of wave {name}'s bake and gates: {reason}");
                if state == RolloutState::Paused {
                    self.resume(now, DecisionKind::Bypassed, text, actor);
                } else {
                    self.decide_as(now, DecisionKind::Bypassed, text, Some(actor));
                }
            }
        }
        Ok(Stepped { actions, more: budget.ran_out })
    }

    fn resume(&mut self, now: DateTime<Utc>, kind: DecisionKind, reason: String, actor: &str) {
        self.state = self.paused_from.take().unwrap_or(RolloutState::Progressing);
        // The deadline counts from the resume, not from before the pause.
        self.progressed_at = now;
        self.decide_as(now, kind, reason, Some(actor));
    }
}

enum Verdict {
    Pass(String),
    Fail(String),
    Inconclusive(String),
}

fn health_gate(fleet: &dyn Fleet, planes: &[&str]) -> Verdict {
    let mut unhealthy = Vec::new();
    let mut unknown = Vec::new();
    for plane in planes {
        match fleet.observe(plane) {
            Observation::Healthy => {}
            Observation::Unhealthy => unhealthy.push((*plane).to_owned()),
            Observation::Unreachable | Observation::Converging => unknown.push((*plane).to_owned()),
        }
    }
    if !unhealthy.is_empty() {
        Verdict::Fail(format!("unhealthy: {}", summarize(&unhealthy)))
    } else if !unknown.is_empty() {
        Verdict::Inconclusive(format!("no current health from {}", summarize(&unknown)))
    } else {
        Verdict::Pass(format!("{} data plane(s) healthy", planes.len()))
    }
}

/// The first few ids and how many more.
fn summarize(ids: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = ids.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if ids.len() > SHOWN {
        text.push_str(&format!(" and {} more", ids.len() - SHOWN));
    }
    text
}
