//! Platform releases and rollouts, in Harmony's application: the pure
//! state machine ([`crate::rollout`]) run against the store.
//!
//! Each step of a rollout is one write transaction: read the rollout, look
//! at its data planes through `StoreFleet`, step, carry out the actions
//! (give a data plane another release: re-render every deployment on it,
//! move its desired revision, note the revision the release went out at),
//! and write the rollout back. So a crash between deciding and doing is
//! impossible: either both are there or neither.
//!
//! A step re-renders at most [`RENDERS_PER_COMMIT`] deployments (a data
//! plane is never split: at least one moves whatever it holds), so no
//! step holds the write lock, which every replica's writes wait on, for
//! long: a tick that has more to move steps again in another transaction
//! until the waves' `max_parallel` is reached.

use super::{Cause, HarmonyApp, HarmonyError, check_written, insert_revision, not_found};
use crate::render;
use crate::rollout::{
    self, Action, Command, Fleet, Observation, PlaneInfo, PlaneState, PlatformRelease, Rollout,
    RolloutError,
};
use crate::store::{PlaneView, StoreError, StoredDeployment, Tx};
use chrono::{DateTime, Duration, Utc};
use deployment_rules::{ApiVersion, Refusals, rule};
use harmony_api::latest as api;
use std::cell::RefCell;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Deployments a rollout step re-renders in one transaction, by default:
/// about 25 ms of holding the write lock on SQLite and 100 ms on
/// PostgreSQL, at the ~0.25 and ~1 ms a deployment (render, seal, store)
/// that `cargo xtask bench fleet` measured, with the transactions and other
/// writers' waits with and without it (docs/performance.md).
pub const RENDERS_PER_COMMIT: usize = 100;

impl RolloutError {
    /// As the answer to a request made at `at`.
    fn at(self, at: ApiVersion) -> HarmonyError {
        match self {
            RolloutError::Invalid(objections) => {
                let mut refusals = Refusals::new(at);
                objections.into_iter().for_each(|o| refusals.take(o));
                HarmonyError::Invalid(refusals)
            }
            RolloutError::Conflict(message) => {
                HarmonyError::Conflict { code: "RolloutStateConflict", message }
            }
        }
    }
}

/// A platform release's name (`deployment_rules::release_name`, which the
/// 4.0.0 schemas state).
fn check_release_version(
    problems: &mut Refusals,
    rule: &'static deployment_rules::Rule,
    field: &str,
    version: &str,
) {
    if let Err(detail) = deployment_rules::release_name(version) {
        problems.refuse(rule, field, format!("{detail}, got {version:?}"));
    }
}

impl HarmonyApp {
    /// Registers a platform release; the same content again is a no-op.
    pub fn put_platform_release(
        &self,
        version: &str,
        spec: api::PlatformReleaseSpec,
        at: ApiVersion,
    ) -> Result<api::PlatformRelease, HarmonyError> {
        let mut problems = Refusals::new(at);
        check_release_version(&mut problems, &rule::RELEASE_NAME, "version", version);
        for (field, value) in
            [("kubernetes_min", &spec.kubernetes_min), ("kubernetes_max", &spec.kubernetes_max)]
        {
            if let Err(detail) = deployment_rules::kubernetes_version(value) {
                let detail = format!("{detail}, got {value:?}");
                problems.refuse(&rule::RELEASE_KUBERNETES, field, detail);
            }
        }
        if let (Some(min), Some(max)) = (
            rollout::kubernetes_minor(&spec.kubernetes_min),
            rollout::kubernetes_minor(&spec.kubernetes_max),
        ) && min > max
        {
            let detail = "must not be newer than kubernetes_max";
            problems.refuse(&rule::RELEASE_KUBERNETES_ORDER, "kubernetes_min", detail);
        }
        for (i, runtime) in spec.runtimes.iter().enumerate() {
            let field = format!("runtimes[{i}]");
            check_written(&mut problems, &rule::RELEASE_RUNTIMES, &field, runtime);
            if spec.runtimes[..i].contains(runtime) {
                let detail = format!("{runtime:?} is listed twice");
                problems.refuse(&rule::RELEASE_RUNTIMES, field, detail);
            }
        }
        problems.into_result().map_err(HarmonyError::Invalid)?;
        let release = PlatformRelease {
            version: version.to_owned(),
            kubernetes_min: spec.kubernetes_min,
            kubernetes_max: spec.kubernetes_max,
            runtimes: spec.runtimes,
        };
        let now = self.clock.now();
        self.store.write(move |tx| {
            let body = serde_json::to_string(&release).map_err(StoreError::from)?;
            match tx.platform_release(&release.version)? {
                Some((stored, created_at)) if stored == body => {
                    Ok(to_api_release(release, created_at))
                }
                Some(_) => Err(HarmonyError::Conflict {
                    code: "PlatformReleaseImmutable",
                    message: format!(
                        "platform release {} is already registered with other content; releases \
                         never change, register a new version",
                        release.version
                    ),
                }),
                None => {
                    tx.insert_platform_release(&release.version, &body, now)?;
                    Ok(to_api_release(release, now))
                }
            }
        })
    }

    pub fn platform_releases(&self) -> Result<Vec<api::PlatformRelease>, HarmonyError> {
        let rows = self.store.read(|tx| Ok::<_, HarmonyError>(tx.platform_releases()?))?;
        rows.into_iter()
            .map(|(body, at)| {
                let release: PlatformRelease =
                    serde_json::from_str(&body).map_err(StoreError::from)?;
                Ok(to_api_release(release, at))
            })
            .collect()
    }

    /// Plans and starts a rollout (its first step runs at once).
    pub fn create_rollout(
        &self,
        create: api::RolloutCreate,
        at: ApiVersion,
    ) -> Result<api::Rollout, HarmonyError> {
        let mut problems = Refusals::new(at);
        // Checked before any lookup: only such names can be registered (and
        // PostgreSQL text cannot even hold some others, such as NUL).
        for (field, value) in
            [("from_release", &create.from_release), ("to_release", &create.to_release)]
        {
            check_release_version(&mut problems, &rule::ROLLOUT_RELEASES, field, value);
        }
        problems.into_result().map_err(HarmonyError::Invalid)?;
        let now = self.clock.now();
        let (policy, key, budget) =
            ((*self.policy).clone(), self.key.clone(), self.renders_per_commit);
        let rollout = self.store.write(move |tx| {
            if let Some(active) = tx.rollouts::<Rollout>(true)?.first() {
                return Err(HarmonyError::Conflict {
                    code: "RolloutInProgress",
                    message: format!(
                        "rollout {} ({} to {}) is still {:?}; finish, abort or roll it back first",
                        active.id, active.from_release, active.to_release.version, active.state
                    ),
                });
            }
            if let Some(stopped) = tx.stopped_rollout::<Rollout>()?.filter(Rollout::restoring) {
                return Err(HarmonyError::Conflict {
                    code: "RolloutInProgress",
                    message: format!(
                        "rollout {} is {:?} and still giving data planes {} back; try again \
                         once it has (the next ticks finish it)",
                        stopped.id, stopped.state, stopped.from_release
                    ),
                });
            }
            let (body, _) = tx.platform_release(&create.to_release)?.ok_or_else(|| {
                let detail = format!("no platform release {} is registered", create.to_release);
                HarmonyError::Invalid(Refusals::one(
                    at,
                    &rule::ROLLOUT_TARGET,
                    "to_release",
                    detail,
                ))
            })?;
            let to: PlatformRelease = serde_json::from_str(&body).map_err(StoreError::from)?;
            let planes = plane_infos(tx)?;
            let mut rollout =
                Rollout::plan(Uuid::new_v4(), &create.from_release, to, policy, &planes, now)
                    .map_err(|e| e.at(at))?;
            // What one commit cannot take is moved by the next tick.
            step(tx, &key, &mut rollout, now, budget)?;
            Ok(rollout)
        })?;
        Ok(to_api_rollout(&rollout))
    }

    pub fn rollout(&self, id: Uuid) -> Result<api::Rollout, HarmonyError> {
        let rollout = self.store.read(|tx| Ok::<_, HarmonyError>(tx.rollout::<Rollout>(id)?))?;
        rollout.map(|r| to_api_rollout(&r)).ok_or_else(|| not_found("rollout", &id.to_string()))
    }

    /// Rollouts, newest first, optionally only those targeting a data plane.
    pub fn rollouts(&self, data_plane_id: Option<&str>) -> Result<Vec<api::Rollout>, HarmonyError> {
        let all = self.store.read(|tx| Ok::<_, HarmonyError>(tx.rollouts::<Rollout>(false)?))?;
        Ok(all
            .iter()
            .filter(|r| data_plane_id.is_none_or(|id| r.planes.iter().any(|p| p.id == id)))
            .map(to_api_rollout)
            .collect())
    }

    /// A page of a rollout's data planes, by id.
    pub fn rollout_data_planes(
        &self,
        id: Uuid,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<api::RolloutDataPlane>, HarmonyError> {
        let rollout = self
            .store
            .read(|tx| Ok::<_, HarmonyError>(tx.rollout::<Rollout>(id)?))?
            .ok_or_else(|| not_found("rollout", &id.to_string()))?;
        Ok(rollout
            .planes
            .iter()
            .filter(|p| after.is_none_or(|a| p.id.as_str() > a))
            .take(limit.min(super::MAX_PAGE))
            .map(|p| api::RolloutDataPlane {
                data_plane_id: p.id.clone(),
                wave: rollout.policy.waves[p.wave].name.clone(),
                state: plane_state(p.state),
                reason: p.reason.clone(),
                moved_at: p.moved_at,
            })
            .collect())
    }

    /// A person's command; the rollout steps at once after it.
    pub fn rollout_command(
        &self,
        id: Uuid,
        command: api::RolloutCommand,
        at: ApiVersion,
    ) -> Result<api::Rollout, HarmonyError> {
        let now = self.clock.now();
        let (key, budget) = (self.key.clone(), self.renders_per_commit);
        let rollout = self.store.write(move |tx| {
            let mut rollout =
                tx.rollout::<Rollout>(id)?.ok_or_else(|| not_found("rollout", &id.to_string()))?;
            let action = match command.action {
                api::RolloutAction::Pause => Command::Pause,
                api::RolloutAction::Resume => Command::Resume,
                api::RolloutAction::Approve => Command::Approve,
                api::RolloutAction::Abort => Command::Abort,
                api::RolloutAction::Rollback => Command::Rollback,
                api::RolloutAction::Bypass => Command::Bypass,
            };
            let fleet = StoreFleet::new(tx, now, &rollout);
            let done = rollout
                .command_within(
                    action,
                    command.actor.trim(),
                    command.reason.as_deref(),
                    now,
                    &|plane| fleet.cost(plane),
                    budget,
                )
                .map_err(|e| e.at(at))?;
            carry_out(tx, &key, &done.actions, now)?;
            if rollout.state.is_terminal() {
                // Stopped: what this commit could not restore, the next
                // ticks do.
                tx.put_rollout(&rollout)?;
            } else {
                step(tx, &key, &mut rollout, now, budget)?;
            }
            Ok::<_, HarmonyError>(rollout)
        })?;
        Ok(to_api_rollout(&rollout))
    }

    /// Steps every running rollout (and a stopped one still restoring);
    /// returns how many there were.
    ///
    /// Replicas on one database share the work through the
    /// `rollout-controller` lease: only its holder steps (others return 0),
    /// each tick renews it, and when the holder dies another replica takes
    /// over once the lease has expired. Each step is one serialized write,
    /// so a rollout's progress is never acted on twice; a step that ran
    /// out of its [`RENDERS_PER_COMMIT`] budget is followed at once by
    /// another, in a transaction of its own (the lease is checked again).
    pub fn rollout_tick(&self) -> Result<usize, HarmonyError> {
        let now = self.clock.now();
        let (replica, until) = (self.replica.clone(), now + self.lease);
        loop {
            let (key, replica, budget) =
                (self.key.clone(), replica.clone(), self.renders_per_commit);
            let (stepped, more) = self.store.write(move |tx| {
                if !tx.claim_lease("rollout-controller", &replica, now, until)? {
                    return Ok((0, false));
                }
                let mut active = tx.rollouts::<Rollout>(true)?;
                // A stopped rollout still giving data planes back.
                active.extend(tx.stopped_rollout::<Rollout>()?.filter(Rollout::restoring));
                let stepped = active.len();
                let mut more = false;
                for mut rollout in active {
                    more |= step(tx, &key, &mut rollout, now, budget)?;
                }
                Ok::<_, HarmonyError>((stepped, more))
            })?;
            if !more {
                return Ok(stepped);
            }
        }
    }
}

/// Steps `rollout` within `budget` renders, carries out its actions, and
/// stores it. Returns whether the budget left data planes to move.
fn step(
    tx: &Tx<'_>,
    key: &render::SecretKey,
    rollout: &mut Rollout,
    now: DateTime<Utc>,
    budget: usize,
) -> Result<bool, HarmonyError> {
    let stepped = rollout.step_within(&StoreFleet::new(tx, now, rollout), now, budget);
    carry_out(tx, key, &stepped.actions, now)?;
    tx.put_rollout(rollout)?;
    Ok(stepped.more)
}

/// Gives each named data plane its release: re-renders every deployment on
/// it and moves its desired revision, so its agent picks the change up.
fn carry_out(
    tx: &Tx<'_>,
    key: &render::SecretKey,
    actions: &[Action],
    now: DateTime<Utc>,
) -> Result<(), HarmonyError> {
    for Action::SetRelease { plane, release } in actions {
        tx.set_plane_release(plane, release)?;
        let data_plane = tx.data_plane(plane)?.ok_or_else(|| not_found("data plane", plane))?;
        let mut change = crate::store::PlaneChange::default();
        for existing in tx.deployments_on(plane)? {
            let input_hash = render::input_hash(key, existing.id, &existing.spec, &data_plane);
            if input_hash == existing.input_hash {
                continue;
            }
            let stored = StoredDeployment {
                input_hash,
                revision: existing.revision + 1,
                updated_at: now,
                ..existing
            };
            tx.put_deployment(&stored)?;
            // The platform's own change: counted against the plane, never
            // refused for its budget.
            insert_revision(tx, key, &stored, &data_plane, now, Cause::Rollout, None)?;
            change.changed.push(stored.id);
        }
        let desired = tx.bump_desired_revision(plane, &change)?;
        tx.set_release_revision(plane, desired)?;
    }
    Ok(())
}

fn plane_infos(tx: &Tx<'_>) -> Result<Vec<PlaneInfo>, HarmonyError> {
    let mut runtimes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut after = None;
    loop {
        let page = tx.deployments_after(after, super::MAX_PAGE)?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for d in page {
            let list = runtimes.entry(d.spec.data_plane_id.clone()).or_default();
            if !list.contains(&d.spec.runtime_version) {
                list.push(d.spec.runtime_version);
            }
        }
    }
    let blind = tx.planes_blind_to_health()?;
    let mut planes = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = tx.data_planes_after(after.as_deref(), super::MAX_PAGE)?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        for p in page {
            planes.push(PlaneInfo {
                runtimes: runtimes.remove(&p.id).unwrap_or_default(),
                blind_to_health: blind.contains(&p.id),
                id: p.id,
                labels: p.labels,
                kubernetes_version: p.kubernetes_version,
                release: p.platform_release,
            });
        }
    }
    Ok(planes)
}

/// The fleet as the store knows it: agents' heartbeats, applied revisions
/// and health reports, as of the step's transaction.
struct StoreFleet<'a> {
    tx: &'a Tx<'a>,
    now: DateTime<Utc>,
    /// The current wave's moved data planes: what the progress check, the
    /// bake and the gates look at, read together when first needed.
    wave: Vec<String>,
    /// Each data plane's view, read once per step (a step looks at one
    /// several times: its progress, the bake, each gate); `None`: it cannot
    /// be read. Empty until something is looked at.
    views: RefCell<Option<BTreeMap<String, Option<PlaneView>>>>,
}

impl<'a> StoreFleet<'a> {
    fn new(tx: &'a Tx<'a>, now: DateTime<Utc>, rollout: &Rollout) -> StoreFleet<'a> {
        let wave = rollout
            .planes
            .iter()
            .filter(|p| p.wave == rollout.current_wave)
            .filter(|p| matches!(p.state, PlaneState::Updating | PlaneState::Updated))
            .map(|p| p.id.clone())
            .collect();
        StoreFleet { tx, now, wave, views: RefCell::new(None) }
    }

    /// A data plane's view: the current wave's all read in a few queries
    /// the first time any is asked for, others (the next to move) one by
    /// one. One that cannot be read is treated as unreachable: it is never
    /// moved and never passes a gate.
    fn view(&self, plane: &str) -> Option<PlaneView> {
        let mut views = self.views.borrow_mut();
        let views = views.get_or_insert_with(|| {
            let ids: Vec<&str> = self.wave.iter().map(String::as_str).collect();
            // A failed read leaves them to be read one by one.
            let mut found = self.tx.plane_rollout_views(&ids).ok();
            match &mut found {
                Some(found) => ids.iter().map(|id| (id.to_string(), found.remove(*id))).collect(),
                None => BTreeMap::new(),
            }
        });
        views
            .entry(plane.to_owned())
            .or_insert_with(|| self.tx.plane_rollout_view(plane).ok().flatten())
            .clone()
    }
}

impl Fleet for StoreFleet<'_> {
    fn observe(&self, plane: &str) -> Observation {
        let Some(view) = self.view(plane) else {
            return Observation::Unreachable;
        };
        if view.last_heartbeat.is_none_or(|beat| self.now - beat > super::HEARTBEAT_TIMEOUT) {
            return Observation::Unreachable;
        }
        if view.applied < view.release_revision {
            return Observation::Converging;
        }
        let health: Vec<Option<&str>> = view.health.iter().map(|(h, _)| h.as_deref()).collect();
        if health.contains(&Some("UNHEALTHY")) {
            Observation::Unhealthy
        } else if health.iter().all(|h| *h == Some("HEALTHY")) {
            Observation::Healthy
        } else {
            Observation::Converging
        }
    }

    /// The deployments moving it re-renders (a data plane without any
    /// counts as one: its own writes). One that cannot be counted counts
    /// as the whole budget, so it moves alone.
    fn cost(&self, plane: &str) -> usize {
        self.view(plane).map_or(usize::MAX, |view| view.health.len().max(1))
    }

    /// `unhealthy_deployment_ratio`: unhealthy deployments over all
    /// deployments on the data planes whose agents reported within the
    /// window. No such report means no data.
    fn metric(&self, _name: &str, planes: &[&str], window: Duration) -> Option<f64> {
        let since = self.now - window;
        let (mut reported, mut unhealthy, mut total) = (false, 0u64, 0u64);
        for plane in planes {
            let Some(view) = self.view(plane) else { continue };
            if view.last_heartbeat.is_none_or(|beat| beat < since) {
                continue;
            }
            reported = true;
            for (health, at) in &view.health {
                if at.is_some_and(|at| at >= since) {
                    total += 1;
                    unhealthy += u64::from(health.as_deref() == Some("UNHEALTHY"));
                }
            }
        }
        reported.then(|| if total == 0 { 0.0 } else { unhealthy as f64 / total as f64 })
    }
}

fn to_api_release(r: PlatformRelease, created_at: DateTime<Utc>) -> api::PlatformRelease {
    api::PlatformRelease {
        version: r.version,
        kubernetes_min: r.kubernetes_min,
        kubernetes_max: r.kubernetes_max,
        runtimes: r.runtimes,
        created_at,
    }
}

fn plane_state(state: PlaneState) -> api::RolloutDataPlaneState {
    match state {
        PlaneState::Waiting => api::RolloutDataPlaneState::Waiting,
        PlaneState::HeldBack => api::RolloutDataPlaneState::HeldBack,
        PlaneState::Updating => api::RolloutDataPlaneState::Updating,
        PlaneState::Updated => api::RolloutDataPlaneState::Updated,
        PlaneState::Failed => api::RolloutDataPlaneState::Failed,
        PlaneState::Restored => api::RolloutDataPlaneState::Restored,
    }
}

fn rollout_state(state: rollout::RolloutState) -> api::RolloutState {
    use rollout::RolloutState as S;
    match state {
        S::Pending => api::RolloutState::Pending,
        S::Progressing => api::RolloutState::Progressing,
        S::Baking => api::RolloutState::Baking,
        S::Paused => api::RolloutState::Paused,
        S::Succeeded => api::RolloutState::Succeeded,
        S::Aborted => api::RolloutState::Aborted,
        S::RolledBack => api::RolloutState::RolledBack,
    }
}

fn decision_kind(kind: rollout::DecisionKind) -> api::RolloutDecisionKind {
    use api::RolloutDecisionKind as W;
    use rollout::DecisionKind as K;
    match kind {
        K::Started => W::Started,
        K::Moved => W::Moved,
        K::Stalled => W::Stalled,
        K::WaveUpdated => W::WaveUpdated,
        K::GatePassed => W::GatePassed,
        K::GateFailed => W::GateFailed,
        K::GateInconclusive => W::GateInconclusive,
        K::AwaitingApproval => W::AwaitingApproval,
        K::WavePassed => W::WavePassed,
        K::Failed => W::Failed,
        K::Paused => W::Paused,
        K::Resumed => W::Resumed,
        K::Approved => W::Approved,
        K::Bypassed => W::Bypassed,
        K::Aborted => W::Aborted,
        K::RolledBack => W::RolledBack,
        K::Succeeded => W::Succeeded,
    }
}

pub fn to_api_rollout(r: &Rollout) -> api::Rollout {
    let waves = r
        .policy
        .waves
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let c = r.wave_counts(i);
            api::RolloutWave {
                name: w.name.clone(),
                max_parallel: w.max_parallel.to_string(),
                max_unavailable: w.max_unavailable.to_string(),
                bake_seconds: w.bake_seconds,
                gates: w
                    .gates
                    .iter()
                    .map(|g| match g {
                        rollout::policy::Gate::Health => api::GateKind::Health,
                        rollout::policy::Gate::Metric { .. } => api::GateKind::Metric,
                        rollout::policy::Gate::ManualApproval => api::GateKind::ManualApproval,
                    })
                    .collect(),
                targets: c.targets as u64,
                waiting: c.waiting as u64,
                updating: c.updating as u64,
                updated: c.updated as u64,
                failed: c.failed as u64,
                held_back: c.held_back as u64,
                restored: c.restored as u64,
            }
        })
        .collect();
    api::Rollout {
        id: r.id,
        environment: r.policy.environment.clone(),
        from_release: r.from_release.clone(),
        to_release: r.to_release.version.clone(),
        policy_hash: r.policy_hash.clone(),
        state: rollout_state(r.state),
        current_wave: r.policy.waves[r.current_wave].name.clone(),
        reason: r.reason.clone(),
        bake_until: r.bake_until,
        waves,
        decisions: r
            .decisions
            .iter()
            .map(|d| api::RolloutDecision {
                at: d.at,
                kind: decision_kind(d.kind),
                wave: d.wave.clone(),
                reason: d.reason.clone(),
                actor: d.actor.clone(),
            })
            .collect(),
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}
