//! The rollout controller in simulated time: one test per invariant, per
//! Argo Rollouts bug class (abort during bake, promote after abort, gate
//! inconclusive), and the fleet simulator's end-to-end runs.

use chrono::{DateTime, Duration, TimeZone, Utc};
use harmony_server::rollout::policy::{Amount, Gate, OnFailure, RolloutPolicy, Wave};
use harmony_server::rollout::sim::{RING_LABEL, SimFleet, SimPlane};
use harmony_server::rollout::{
    Action, Command, DecisionKind, PlaneInfo, PlaneState, PlatformRelease, Rollout, RolloutError,
    RolloutState,
};
use std::collections::BTreeMap;
use uuid::Uuid;

const FROM: &str = "2026.10.0";
const TO: &str = "2026.11.0";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap()
}

fn release() -> PlatformRelease {
    PlatformRelease {
        version: TO.to_owned(),
        kubernetes_min: "1.29".to_owned(),
        kubernetes_max: "1.33".to_owned(),
        runtimes: vec![],
    }
}

fn wave(name: &str, selector: &[(&str, &str)], gates: Vec<Gate>) -> Wave {
    Wave {
        name: name.to_owned(),
        selector: selector.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        remainder: selector.is_empty(),
        max_parallel: Amount::Count(1),
        max_unavailable: Amount::Count(0),
        bake_seconds: 600,
        gates,
    }
}

/// Two waves (canary by label, then the rest), HEALTH-gated.
fn policy(on_failure: OnFailure) -> RolloutPolicy {
    RolloutPolicy {
        environment: "test".to_owned(),
        waves: vec![
            wave("canary", &[("ring", "canary")], vec![Gate::Health]),
            wave("rest", &[], vec![Gate::Health]),
        ],
        on_failure,
        progress_deadline_seconds: 1800,
    }
}

fn plane(id: &str, ring: Option<&str>) -> SimPlane {
    let mut labels = BTreeMap::new();
    if let Some(ring) = ring {
        labels.insert("ring".to_owned(), ring.to_owned());
    }
    SimPlane {
        info: PlaneInfo {
            id: id.to_owned(),
            labels,
            kubernetes_version: "1.31.2".to_owned(),
            release: FROM.to_owned(),
            runtimes: vec!["3.1-1".to_owned()],
            blind_to_health: false,
        },
        deployments: 5,
        reachable: true,
        given_at: t0() - Duration::days(1),
    }
}

fn fleet(planes: Vec<SimPlane>) -> SimFleet {
    SimFleet::new(t0(), Duration::seconds(60), planes)
}

fn plan(fleet: &SimFleet, policy: RolloutPolicy) -> Rollout {
    Rollout::plan(Uuid::new_v4(), FROM, release(), policy, &fleet.infos(), fleet.now).unwrap()
}

fn tick() -> Duration {
    Duration::seconds(30)
}

fn state_of(rollout: &Rollout, id: &str) -> PlaneState {
    rollout.planes.iter().find(|p| p.id == id).unwrap().state
}

fn kinds(rollout: &Rollout) -> Vec<(DecisionKind, Option<String>)> {
    rollout.decisions.iter().map(|d| (d.kind, d.wave.clone())).collect()
}

#[test]
fn every_targeted_data_plane_is_in_exactly_one_wave() {
    // "both" matches the canary selector and the remainder: first wave wins.
    let sim =
        fleet(vec![plane("a", Some("canary")), plane("both", Some("canary")), plane("c", None)]);
    let rollout = plan(&sim, policy(OnFailure::Rollback));
    let waves: Vec<(String, usize)> =
        rollout.planes.iter().map(|p| (p.id.clone(), p.wave)).collect();
    assert_eq!(waves, vec![("a".into(), 0), ("both".into(), 0), ("c".into(), 1)]);

    // Without a remainder wave, an unlabelled data plane is named, not left out.
    let mut no_rest = policy(OnFailure::Rollback);
    no_rest.waves.truncate(1);
    let err =
        Rollout::plan(Uuid::new_v4(), FROM, release(), no_rest, &sim.infos(), t0()).unwrap_err();
    let RolloutError::Invalid(problems) = err else { panic!("{err:?}") };
    assert!(problems[0].to_string().contains("no wave selects data plane(s) c"), "{problems:?}");

    // Data planes on another release are not targets; none at all is refused.
    let err = Rollout::plan(
        Uuid::new_v4(),
        "1999.1.0",
        release(),
        policy(OnFailure::Pause),
        &sim.infos(),
        t0(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("no data plane is on release 1999.1.0"), "{err}");
}

#[test]
fn ten_percent_of_three_data_planes_updates_one() {
    let mut p = policy(OnFailure::Rollback);
    p.waves[0].max_parallel = Amount::Percent(10);
    let mut sim = fleet(vec![
        plane("a", Some("canary")),
        plane("b", Some("canary")),
        plane("c", Some("canary")),
    ]);
    let mut rollout = plan(&sim, p);
    let actions = rollout.step(&sim, sim.now);
    assert_eq!(actions.len(), 1, "{actions:?}");
    sim.apply(&actions);
    // Still one at a time until it is healthy.
    sim.now += tick();
    assert!(rollout.step(&sim, sim.now).is_empty());
    sim.now += Duration::seconds(60);
    assert_eq!(rollout.step(&sim, sim.now).len(), 1);
}

/// A step within a budget moves only the data planes whose cost (their
/// deployments) fits, says there is more, and the next steps fill the rest
/// of the wave's room: the same data planes, each once, as one unbounded
/// step, one decision per batch. A data plane costing more than the whole
/// budget still moves, alone: a step always makes progress.
#[test]
fn a_step_within_a_budget_moves_the_wave_in_batches() {
    let mut p = policy(OnFailure::Rollback);
    p.waves.remove(0);
    p.waves[0].max_parallel = Amount::Count(5);
    let seven = || fleet((0..7).map(|i| plane(&format!("r{i}"), None)).collect());
    let mut sim = seven();
    let fresh = plan(&sim, p);
    let moved = |actions: &[Action]| -> Vec<String> {
        actions.iter().map(|Action::SetRelease { plane, .. }| plane.clone()).collect()
    };

    let mut unbounded = fresh.clone();
    let all = moved(&unbounded.step(&sim, sim.now));
    assert_eq!(all, ["r0", "r1", "r2", "r3", "r4"]);

    // Five deployments each: a budget of 12 takes two data planes a step.
    let mut batched = fresh.clone();
    let mut batches = Vec::new();
    loop {
        let stepped = batched.step_within(&sim, sim.now, 12);
        sim.apply(&stepped.actions);
        batches.push(moved(&stepped.actions));
        if !stepped.more {
            break;
        }
    }
    assert_eq!(batches, [vec!["r0", "r1"], vec!["r2", "r3"], vec!["r4"]]);
    assert_eq!(batched.planes, unbounded.planes);
    let moves = batched.decisions.iter().filter(|d| d.kind == DecisionKind::Moved).count();
    assert_eq!(moves, 3, "{:?}", kinds(&batched));
    // The wave is full: nothing more to move, and no claim of more.
    let stepped = batched.step_within(&sim, sim.now, 12);
    assert!(stepped.actions.is_empty() && !stepped.more, "{stepped:?}");

    let mut tight = fresh.clone();
    let sim = seven();
    let stepped = tight.step_within(&sim, sim.now, 1);
    assert_eq!((moved(&stepped.actions), stepped.more), (vec!["r0".to_owned()], true));
}

/// An abort within a budget gives back only what fits and says there is
/// more; the stopped rollout's steps give back the rest, each once, and
/// nothing moves forward again.
#[test]
fn a_stopped_rollout_gives_data_planes_back_within_a_budget() {
    let mut p = policy(OnFailure::Rollback);
    p.waves.remove(0);
    p.waves[0].max_parallel = Amount::Count(5);
    let mut sim = fleet((0..7).map(|i| plane(&format!("r{i}"), None)).collect());
    let mut rollout = plan(&sim, p);
    sim.apply(&rollout.step(&sim, sim.now));
    let moved = |actions: &[Action]| -> Vec<String> {
        actions.iter().map(|Action::SetRelease { plane, .. }| plane.clone()).collect()
    };

    let cost = |plane: &str| harmony_server::rollout::Fleet::cost(&sim, plane);
    let aborted = rollout.command_within(Command::Abort, "sre", None, sim.now, &cost, 12).unwrap();
    assert_eq!((moved(&aborted.actions), aborted.more), (vec!["r0".into(), "r1".into()], true));
    assert_eq!(rollout.state, RolloutState::Aborted);
    assert!(rollout.restoring());
    let mut batches = vec![moved(&aborted.actions)];
    sim.apply(&aborted.actions);
    while rollout.restoring() {
        let stepped = rollout.step_within(&sim, sim.now, 12);
        sim.apply(&stepped.actions);
        batches.push(moved(&stepped.actions));
        assert_eq!(stepped.more, rollout.restoring());
    }
    assert_eq!(batches, [vec!["r0", "r1"], vec!["r2", "r3"], vec!["r4"]]);
    for i in 0..7 {
        assert_eq!(sim.plane(&format!("r{i}")).info.release, FROM);
    }
    let restored = rollout.planes.iter().filter(|p| p.state == PlaneState::Restored).count();
    assert_eq!(restored, 5);
    assert!(rollout.step(&sim, sim.now).is_empty(), "stopped for good");
}

#[test]
fn a_good_release_completes_wave_by_wave() {
    let mut sim = fleet(vec![plane("a", Some("canary")), plane("b", None), plane("c", None)]);
    let mut rollout = plan(&sim, policy(OnFailure::Rollback));
    let state = sim.run(&mut rollout, tick(), Duration::days(1));
    assert_eq!(state, RolloutState::Succeeded, "{}", rollout.reason);
    assert!(rollout.planes.iter().all(|p| p.state == PlaneState::Updated));
    // Canary moved, baked and passed before any other data plane moved.
    let first_rest = sim.moves.iter().position(|(p, _)| p != "a").unwrap();
    assert_eq!(sim.moves[0].0, "a");
    let canary_passed =
        rollout.decisions.iter().find(|d| d.kind == DecisionKind::WavePassed).unwrap();
    assert!(canary_passed.at >= t0() + Duration::seconds(600), "bake was skipped");
    assert_eq!(first_rest, 1);
    assert_eq!(sim.moves.len(), 3, "each data plane moved exactly once");
}

#[test]
fn abort_restores_the_previous_release_and_stops_for_good() {
    let mut sim = fleet(vec![plane("a", Some("canary")), plane("b", None)]);
    let mut rollout = plan(&sim, policy(OnFailure::Rollback));
    let actions = rollout.step(&sim, sim.now);
    sim.apply(&actions);
    assert_eq!(sim.plane("a").info.release, TO);

    let actions = rollout.command(Command::Abort, "oncall@example.com", None, sim.now).unwrap();
    assert_eq!(actions, vec![Action::SetRelease { plane: "a".into(), release: FROM.into() }]);
    sim.apply(&actions);
    assert_eq!(rollout.state, RolloutState::Aborted);
    assert_eq!(sim.plane("a").info.release, FROM);
    assert_eq!(state_of(&rollout, "a"), PlaneState::Restored);
    let last = rollout.decisions.last().unwrap();
    assert_eq!(last.actor.as_deref(), Some("oncall@example.com"));

    // Nothing moves afterwards, however long we wait.
    let before = sim.moves.len();
    sim.run(&mut rollout, tick(), Duration::days(2));
    assert_eq!(sim.moves.len(), before);
    assert_eq!(state_of(&rollout, "b"), PlaneState::Waiting);
}

#[test]
fn abort_during_bake_never_promotes_when_the_bake_ends() {
    let mut sim = fleet(vec![plane("a", Some("canary")), plane("b", None)]);
    let mut rollout = plan(&sim, policy(OnFailure::Rollback));
    while rollout.state != RolloutState::Baking {
        let actions = rollout.step(&sim, sim.now);
        sim.apply(&actions);
        sim.now += tick();
    }
    let bake_until = rollout.bake_until.unwrap();
    sim.apply(&rollout.command(Command::Abort, "sre", Some("bad canary"), sim.now).unwrap());
    sim.now = bake_until + Duration::hours(1);
    assert!(rollout.step(&sim, sim.now).is_empty());
    assert_eq!(rollout.state, RolloutState::Aborted);
    assert_eq!(sim.plane("a").info.release, FROM);
    assert_eq!(sim.plane("b").info.release, FROM, "the next wave never started");
    assert!(rollout.reason.contains("bad canary"), "{}", rollout.reason);
}

#[test]
fn promote_after_abort_is_refused() {
    let mut p = policy(OnFailure::Rollback);
    p.waves[0].gates.push(Gate::ManualApproval);
    let sim = fleet(vec![plane("a", Some("canary")), plane("b", None)]);
    let mut rollout = plan(&sim, p);
    rollout.step(&sim, sim.now);
    rollout.command(Command::Abort, "sre", None, sim.now).unwrap();
    for command in
        [Command::Approve, Command::Resume, Command::Bypass, Command::Abort, Command::Pause]
    {
        let err = rollout.command(command, "sre", Some("try"), sim.now).unwrap_err();
        assert!(matches!(err, RolloutError::Conflict(_)), "{command:?}: {err:?}");
        assert!(err.to_string().contains("is ABORTED"), "{err}");
    }
    assert_eq!(rollout.state, RolloutState::Aborted);
}

#[test]
fn an_inconclusive_gate_pauses_and_never_passes() {
    let mut p = policy(OnFailure::Rollback);
    p.waves[0].gates.push(Gate::Metric {
        name: "unhealthy_deployment_ratio".into(),
        max: 0.02,
        window_seconds: 600,
    });
    let mut sim = fleet(vec![plane("a", Some("canary")), plane("b", None)]);
    sim.metrics_broken = true;
    let mut rollout = plan(&sim, p);
    let state = sim.run(&mut rollout, tick(), Duration::days(1));
    assert_eq!(state, RolloutState::Paused);
    let last = rollout.decisions.last().unwrap();
    assert_eq!(last.kind, DecisionKind::GateInconclusive);
    assert!(
        rollout.reason.contains("METRIC: no unhealthy_deployment_ratio data"),
        "{}",
        rollout.reason
    );
    assert_eq!(sim.plane("b").info.release, FROM, "paused means the next wave waits");

    // Resuming while still blind pauses again; with data it passes.
    rollout.command(Command::Resume, "sre", None, sim.now).unwrap();
    assert_eq!(sim.run(&mut rollout, tick(), Duration::hours(1)), RolloutState::Paused);
    sim.metrics_broken = false;
    rollout.command(Command::Resume, "sre", None, sim.now).unwrap();
    assert_eq!(sim.run(&mut rollout, tick(), Duration::days(1)), RolloutState::Succeeded);
}

#[test]
fn an_unreachable_data_plane_stalls_its_wave_then_the_deadline_applies_on_failure() {
    let mut sim =
        fleet(vec![plane("a", Some("canary")), plane("gone", Some("canary")), plane("c", None)]);
    sim.plane_mut("gone").reachable = false;
    let mut rollout = plan(&sim, policy(OnFailure::Pause));
    for _ in 0..10 {
        let actions = rollout.step(&sim, sim.now);
        sim.apply(&actions);
        sim.now += tick();
    }
    assert_eq!(rollout.state, RolloutState::Progressing);
    assert_eq!(state_of(&rollout, "gone"), PlaneState::Waiting, "never moved while unreachable");
    assert!(
        rollout.reason.contains("stalled: data plane(s) unreachable: gone"),
        "{}",
        rollout.reason
    );

    let state = sim.run(&mut rollout, tick(), Duration::hours(2));
    assert_eq!(state, RolloutState::Paused);
    assert!(rollout.reason.contains("progress deadline"), "{}", rollout.reason);
    assert!(rollout.reason.contains("gone"), "{}", rollout.reason);
    assert_eq!(sim.plane("c").info.release, FROM);

    // Back online, a person resumes: it completes.
    sim.plane_mut("gone").reachable = true;
    rollout.command(Command::Resume, "sre", None, sim.now).unwrap();
    assert_eq!(sim.run(&mut rollout, tick(), Duration::days(1)), RolloutState::Succeeded);
}

#[test]
fn data_planes_outside_the_release_range_are_held_back_with_a_reason() {
    let mut old = plane("old-k8s", None);
    old.info.kubernetes_version = "1.27.9".into();
    let mut runtime = plane("old-runtime", None);
    runtime.info.runtimes = vec!["2.0-1".into()];
    let mut sim = fleet(vec![plane("a", Some("canary")), old, runtime, plane("d", None)]);
    let mut to = release();
    to.runtimes = vec!["3.1-1".into()];
    let mut rollout =
        Rollout::plan(Uuid::new_v4(), FROM, to, policy(OnFailure::Rollback), &sim.infos(), t0())
            .unwrap();
    let held = rollout.planes.iter().find(|p| p.id == "old-k8s").unwrap();
    assert_eq!(held.state, PlaneState::HeldBack);
    assert!(
        held.reason
            .as_deref()
            .unwrap()
            .contains("outside release 2026.11.0's supported range 1.29–1.33")
    );
    let held = rollout.planes.iter().find(|p| p.id == "old-runtime").unwrap();
    assert!(held.reason.as_deref().unwrap().contains("Astro Runtime 2.0-1"), "{:?}", held.reason);

    assert_eq!(sim.run(&mut rollout, tick(), Duration::days(1)), RolloutState::Succeeded);
    assert_eq!(sim.plane("old-k8s").info.release, FROM);
    assert_eq!(sim.plane("old-runtime").info.release, FROM);
    assert_eq!(sim.plane("d").info.release, TO);
    assert!(rollout.reason.contains("2 held back"), "{}", rollout.reason);
}

#[test]
fn a_failure_over_budget_applies_on_failure() {
    for (on_failure, expected) in [
        (OnFailure::Rollback, RolloutState::RolledBack),
        (OnFailure::Abort, RolloutState::Aborted),
        (OnFailure::Pause, RolloutState::Paused),
    ] {
        let mut sim = fleet(vec![plane("a", Some("canary")), plane("b", None)]);
        sim.mark_bad(TO, 1.0);
        let mut rollout = plan(&sim, policy(on_failure));
        assert_eq!(sim.run(&mut rollout, tick(), Duration::days(1)), expected);
        assert!(rollout.reason.contains("unhealthy"), "{}", rollout.reason);
        let restored = expected != RolloutState::Paused;
        assert_eq!(sim.plane("a").info.release == FROM, restored, "{on_failure:?}");
        assert_eq!(
            sim.plane("b").info.release,
            FROM,
            "{on_failure:?}: the next wave never started"
        );
    }
}

#[test]
fn manual_approval_waits_for_a_person_and_bypass_is_audited() {
    let mut p = policy(OnFailure::Rollback);
    p.waves[0].gates.push(Gate::ManualApproval);
    p.waves[1].bake_seconds = 86_400;
    let mut sim = fleet(vec![plane("a", Some("canary")), plane("b", None)]);
    let mut rollout = plan(&sim, p);
    assert_eq!(sim.run(&mut rollout, tick(), Duration::days(1)), RolloutState::Paused);
    assert_eq!(rollout.decisions.last().unwrap().kind, DecisionKind::AwaitingApproval);
    assert_eq!(sim.plane("b").info.release, FROM);

    rollout.command(Command::Approve, "release-captain", None, sim.now).unwrap();
    assert_eq!(rollout.state, RolloutState::Baking);
    let actions = rollout.step(&sim, sim.now);
    sim.apply(&actions);
    assert_eq!(sim.plane("b").info.release, TO);

    // The rest bakes for a day; an emergency bypass needs a reason, is
    // recorded with who and why, and skips the bake.
    sim.now += Duration::minutes(5);
    rollout.step(&sim, sim.now);
    assert_eq!(rollout.state, RolloutState::Baking);
    let err = rollout.command(Command::Bypass, "sre", None, sim.now).unwrap_err();
    assert!(err.to_string().contains("reason: an emergency bypass must say why"), "{err}");
    rollout.command(Command::Bypass, "sre", Some("CVE-2026-1234 fix"), sim.now).unwrap();
    rollout.step(&sim, sim.now);
    assert_eq!(rollout.state, RolloutState::Succeeded);
    let bypass = rollout.decisions.iter().find(|d| d.kind == DecisionKind::Bypassed).unwrap();
    assert_eq!(bypass.actor.as_deref(), Some("sre"));
    assert!(
        bypass.reason.contains("EMERGENCY BYPASS of wave rest")
            && bypass.reason.contains("CVE-2026-1234")
    );
}

#[test]
fn pause_holds_everything_and_resume_continues() {
    let mut sim = fleet(vec![plane("a", Some("canary")), plane("b", None), plane("c", None)]);
    let mut rollout = plan(&sim, policy(OnFailure::Rollback));
    sim.apply(&rollout.step(&sim, sim.now));
    rollout.command(Command::Pause, "sre", Some("holiday freeze"), sim.now).unwrap();
    let before = sim.moves.len();
    assert_eq!(sim.run(&mut rollout, tick(), Duration::days(3)), RolloutState::Paused);
    assert_eq!(sim.moves.len(), before);
    assert!(rollout.command(Command::Pause, "sre", None, sim.now).is_err());
    rollout.command(Command::Resume, "sre", None, sim.now).unwrap();
    assert_eq!(sim.run(&mut rollout, tick(), Duration::days(1)), RolloutState::Succeeded);
}

/// The committed policy, both parameter sets, the same events.
fn simulate(environment: &str, bad_share: Option<f64>) -> (Rollout, SimFleet) {
    let mut sim = SimFleet::rings(t0(), 1000, 5, FROM);
    if let Some(share) = bad_share {
        sim.mark_bad(TO, share);
    }
    let policy = RolloutPolicy::committed(environment).unwrap();
    let mut rollout =
        Rollout::plan(Uuid::new_v4(), FROM, release(), policy, &sim.infos(), t0()).unwrap();
    loop {
        let state = sim.run(&mut rollout, tick(), Duration::days(14));
        if state == RolloutState::Paused
            && rollout.decisions.last().unwrap().kind == DecisionKind::AwaitingApproval
        {
            rollout.command(Command::Approve, "release-captain", None, sim.now).unwrap();
            continue;
        }
        return (rollout, sim);
    }
}

#[test]
fn simulator_a_bad_release_stops_at_the_first_wave_and_rolls_back_on_its_own() {
    let (staging, staging_fleet) = simulate("staging", Some(0.3));
    let (production, production_fleet) = simulate("production", Some(0.3));
    for (rollout, fleet) in [(&staging, &staging_fleet), (&production, &production_fleet)] {
        assert_eq!(rollout.state, RolloutState::RolledBack, "{}", rollout.reason);
        assert_eq!(rollout.current_wave, 0, "stopped in the canary wave");
        let canaries = rollout.planes.iter().filter(|p| p.wave == 0).count();
        let moved: std::collections::BTreeSet<&str> =
            fleet.moves.iter().map(|(p, _)| p.as_str()).collect();
        assert!(moved.len() <= canaries, "only canaries were ever moved");
        let infos = fleet.infos();
        assert!(infos.iter().all(|p| p.release == FROM), "every data plane is back on {FROM}");
    }
    // Same events, same decisions: only the timing differs.
    assert_eq!(kinds(&staging), kinds(&production));
}

#[test]
fn simulator_a_good_release_completes_in_both_environments() {
    for environment in ["staging", "production"] {
        let (rollout, fleet) = simulate(environment, None);
        assert_eq!(rollout.state, RolloutState::Succeeded, "{environment}: {}", rollout.reason);
        assert!(fleet.infos().iter().all(|p| p.release == TO), "{environment}");
        assert_eq!(fleet.moves.len(), 1000, "{environment}: each data plane moved once");
        let waves: Vec<_> = rollout
            .decisions
            .iter()
            .filter(|d| d.kind == DecisionKind::WavePassed)
            .map(|d| d.wave.clone().unwrap())
            .collect();
        assert_eq!(waves, ["canary", "early", "main", "rest"], "{environment}");
    }
    let (production, _) = simulate("production", None);
    assert!(production.decisions.iter().any(|d| d.kind == DecisionKind::Approved));
    let (staging, _) = simulate("staging", None);
    assert!(!staging.decisions.iter().any(|d| d.kind == DecisionKind::AwaitingApproval));
}

#[test]
fn simulator_rings_follow_the_committed_label() {
    let sim = SimFleet::rings(t0(), 200, 1, FROM);
    let canaries = sim
        .infos()
        .iter()
        .filter(|p| p.labels.get(RING_LABEL).map(String::as_str) == Some("canary"))
        .count();
    assert_eq!(canaries, 2);
}

#[test]
fn a_wave_with_nothing_to_update_is_skipped_with_a_reason() {
    let mut sim = fleet(vec![plane("b", None), plane("c", None)]);
    let mut rollout = plan(&sim, policy(OnFailure::Rollback));
    let actions = rollout.step(&sim, sim.now);
    assert_eq!(actions.len(), 1, "the rest wave starts at once: {actions:?}");
    sim.apply(&actions);
    let skipped = &rollout.decisions[1];
    assert_eq!((skipped.kind, skipped.wave.as_deref()), (DecisionKind::WavePassed, Some("canary")));
    assert!(skipped.reason.contains("no data plane to update"), "{}", skipped.reason);
    assert_eq!(sim.run(&mut rollout, tick(), Duration::days(1)), RolloutState::Succeeded);
}
