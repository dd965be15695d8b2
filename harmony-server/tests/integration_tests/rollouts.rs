//! Rollouts in Harmony: the controller against the real store, with agents'
//! reports driving it (manual clock), and the 3.0.0 HTTP surface through
//! the generated client.

use crate::common::{
    Backend, Place, TestHarmony, failure, hybrid_spec, on_both_backends, registration,
};
use chrono::{Duration, Utc};
use harmony_api::latest as api;
use harmony_client::{v2, v3};
use harmony_server::app::{HarmonyApp, ManualClock};
use harmony_server::rollout::policy::{Amount, Gate, OnFailure, RolloutPolicy, Wave};
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

on_both_backends!(a_waves_views_read_together_are_each_data_planes_own);

const FROM: &str = "2026.11.0";
const TO: &str = "2026.12.0";

struct Fixture {
    app: HarmonyApp,
    clock: Arc<ManualClock>,
    /// Data plane → its deployment.
    deployments: BTreeMap<String, Uuid>,
    _data: tempfile::TempDir,
}

fn policy() -> RolloutPolicy {
    let wave = |name: &str, selector: &[(&str, &str)]| Wave {
        name: name.to_owned(),
        selector: selector.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        remainder: selector.is_empty(),
        max_parallel: Amount::Count(1),
        max_unavailable: Amount::Count(0),
        bake_seconds: 60,
        gates: vec![Gate::Health],
    };
    RolloutPolicy {
        environment: "test".to_owned(),
        waves: vec![wave("canary", &[("ring", "canary")]), wave("rest", &[])],
        on_failure: OnFailure::Rollback,
        progress_deadline_seconds: 3600,
    }
}

impl Fixture {
    /// Three Hybrid data planes on FROM (one canary), a deployment on each,
    /// release TO registered, every agent reporting healthy.
    fn new() -> Fixture {
        let data = tempfile::tempdir().unwrap();
        let key = harmony_server::render::SecretKey::development();
        let store = harmony_server::store::Store::open(
            &harmony_server::store::Location::Sqlite(data.path().join("harmony.sqlite3")),
            &key,
        )
        .unwrap();
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let app = HarmonyApp::new(store, clock.clone(), key).with_rollout_policy(policy());
        let mut deployments = BTreeMap::new();
        for (plane, ring) in [("c1", Some("canary")), ("r1", None), ("r2", None)] {
            let mut reg: api::DataPlaneRegistration =
                convert(&registration(v2::types::DataPlaneKind::Hybrid));
            reg.platform_release = FROM.to_owned();
            if let Some(ring) = ring {
                reg.labels.insert("ring".to_owned(), ring.to_owned());
            }
            app.register_data_plane(plane, reg, harmony_server::newest_version()).unwrap();
            let id = Uuid::new_v4();
            futures::executor::block_on(app.put_deployment(
                id,
                convert(&hybrid_spec(plane, 1)),
                harmony_server::newest_version(),
            ))
            .unwrap();
            deployments.insert(plane.to_owned(), id);
        }
        app.put_platform_release(
            TO,
            api::PlatformReleaseSpec {
                kubernetes_min: "1.29".into(),
                kubernetes_max: "1.33".into(),
                runtimes: vec![],
            },
            harmony_server::newest_version(),
        )
        .unwrap();
        let fixture = Fixture { app, clock, deployments, _data: data };
        for plane in ["c1", "r1", "r2"] {
            fixture.agent(plane, "HEALTHY");
        }
        fixture
    }

    /// One round of a simulated agent: fetch the desired state, "apply" it,
    /// report every deployment with `health`.
    fn agent(&self, plane: &str, health: &str) {
        let state = self.app.desired_state(plane, 0).unwrap();
        let deployments: Vec<serde_json::Value> = state
            .deployments
            .iter()
            .map(|d| {
                serde_json::json!({
                    "deployment_id": d.deployment_id,
                    "manifest_revision": d.manifest_revision,
                    "health": health,
                })
            })
            .collect();
        let report = serde_json::from_value(serde_json::json!({
            "applied_revision": state.revision,
            "agent_version": "test",
            "deployments": deployments,
        }))
        .unwrap();
        self.app.record_agent_status(plane, report).unwrap();
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by.to_std().expect("time moves forward"));
    }

    fn release_of(&self, plane: &str) -> String {
        self.app.data_plane(plane).unwrap().platform_release
    }

    fn revision_of(&self, plane: &str) -> u64 {
        self.app.deployment(self.deployments[plane]).unwrap().revision
    }

    fn manifest_release(&self, plane: &str) -> String {
        self.app.manifests(self.deployments[plane], None).unwrap().platform_release
    }
}

fn convert<T: serde::Serialize, U: serde::de::DeserializeOwned>(value: &T) -> U {
    serde_json::from_value(serde_json::to_value(value).unwrap()).unwrap()
}

fn start(f: &Fixture) -> api::Rollout {
    f.app
        .create_rollout(
            api::RolloutCreate { from_release: FROM.into(), to_release: TO.into() },
            harmony_server::newest_version(),
        )
        .unwrap()
}

#[test]
fn agents_reports_carry_a_rollout_through_every_wave() {
    let f = Fixture::new();
    let rollout = start(&f);
    assert_eq!(rollout.state, api::RolloutState::Progressing);
    // The canary got the release at once: re-rendered, new revision.
    assert_eq!(f.release_of("c1"), TO);
    assert_eq!(f.revision_of("c1"), 2);
    assert_eq!(f.manifest_release("c1"), TO);
    assert_eq!(f.release_of("r1"), FROM);

    // Until its agent applies the new state, the canary is converging.
    f.advance(Duration::seconds(30));
    f.app.rollout_tick().unwrap();
    assert_eq!(f.app.rollout(rollout.id).unwrap().state, api::RolloutState::Progressing);

    f.agent("c1", "HEALTHY");
    f.app.rollout_tick().unwrap();
    let baking = f.app.rollout(rollout.id).unwrap();
    assert_eq!(baking.state, api::RolloutState::Baking);
    assert_eq!(f.release_of("r1"), FROM, "the next wave waits for the bake");

    // Agents keep reporting (heartbeats); after the bake the rest moves,
    // one data plane at a time.
    let mut rounds = 0;
    while f.app.rollout(rollout.id).unwrap().state != api::RolloutState::Succeeded {
        rounds += 1;
        assert!(rounds < 50, "stuck: {:?}", f.app.rollout(rollout.id).unwrap().reason);
        f.advance(Duration::seconds(30));
        for plane in ["c1", "r1", "r2"] {
            f.agent(plane, "HEALTHY");
        }
        f.app.rollout_tick().unwrap();
        let moved = [f.release_of("r1"), f.release_of("r2")].iter().filter(|r| *r == TO).count();
        let updating = f.app.rollout(rollout.id).unwrap().waves[1].updating;
        assert!(updating <= 1, "max_parallel 1: {updating} updating");
        assert!(moved <= 2);
    }
    for plane in ["c1", "r1", "r2"] {
        assert_eq!(f.release_of(plane), TO);
        assert_eq!(f.revision_of(plane), 2, "{plane} was moved exactly once");
        assert_eq!(f.manifest_release(plane), TO);
    }
    let done = f.app.rollout(rollout.id).unwrap();
    let kinds: Vec<_> = done.decisions.iter().map(|d| d.kind).collect();
    assert_eq!(kinds.first(), Some(&api::RolloutDecisionKind::Started));
    assert_eq!(kinds.last(), Some(&api::RolloutDecisionKind::Succeeded));
    assert_eq!(done.waves.iter().map(|w| w.updated).sum::<u64>(), 3);
}

/// A rollout whose steps re-render one deployment per transaction and
/// whose rest wave moves two data planes at once, its canary updated and
/// baked, every agent just reported: the next tick passes the canary and
/// moves the rest.
fn past_the_canary_one_deployment_per_commit() -> (Fixture, api::Rollout) {
    let mut f = Fixture::new();
    let mut wide = policy();
    wide.waves[1].max_parallel = harmony_server::rollout::policy::Amount::Count(2);
    f.app = f.app.clone().with_rollout_policy(wide).with_rollout_renders_per_commit(1);
    let rollout = start(&f);
    f.agent("c1", "HEALTHY");
    f.app.rollout_tick().unwrap();
    assert_eq!(f.app.rollout(rollout.id).unwrap().state, api::RolloutState::Baking);
    f.advance(Duration::seconds(61));
    for plane in ["c1", "r1", "r2"] {
        f.agent(plane, "HEALTHY");
    }
    (f, rollout)
}

/// A tick whose wave may move more data planes than one transaction may
/// re-render moves them in batches, one commit each, in the same tick: here
/// one deployment per commit, so the rest wave's two data planes (max
/// parallel 2) move in two commits, each its own decision.
#[test]
fn a_tick_moves_a_wave_in_short_transactions() {
    let (f, rollout) = past_the_canary_one_deployment_per_commit();
    let before = f.app.write_counts().groups;
    f.app.rollout_tick().unwrap();
    assert_eq!(f.app.write_counts().groups - before, 2, "one commit per data plane");
    assert_eq!((f.release_of("r1"), f.release_of("r2")), (TO.to_owned(), TO.to_owned()));
    let moves: Vec<String> = f
        .app
        .rollout(rollout.id)
        .unwrap()
        .decisions
        .into_iter()
        .filter(|d| d.kind == api::RolloutDecisionKind::Moved && d.wave.as_deref() == Some("rest"))
        .map(|d| d.reason)
        .collect();
    assert_eq!(moves.len(), 2, "{moves:?}");
    assert!(moves[0].ends_with(": r1") && moves[1].ends_with(": r2"), "{moves:?}");
}

/// An abort gives back in its own commit only what one transaction may
/// re-render; the next tick gives back the rest, one commit each, and until
/// then a new rollout is refused, naming why.
#[test]
fn an_abort_gives_data_planes_back_in_short_transactions() {
    let (f, rollout) = past_the_canary_one_deployment_per_commit();
    f.app.rollout_tick().unwrap();
    assert_eq!((f.release_of("r1"), f.release_of("r2")), (TO.to_owned(), TO.to_owned()));

    let abort = api::RolloutCommand {
        action: api::RolloutAction::Abort,
        actor: "sre".into(),
        reason: Some("bad release".into()),
    };
    let aborted =
        f.app.rollout_command(rollout.id, abort, harmony_server::newest_version()).unwrap();
    assert_eq!(aborted.state, api::RolloutState::Aborted);
    let given_back = ["c1", "r1", "r2"].map(|p| f.release_of(p) == FROM);
    assert_eq!(given_back, [true, false, false], "one data plane in the command's commit");
    let refused = f
        .app
        .create_rollout(
            api::RolloutCreate { from_release: FROM.into(), to_release: TO.into() },
            harmony_server::newest_version(),
        )
        .expect_err("still giving data planes back");
    assert!(refused.to_string().contains("still giving data planes 2026.11.0 back"), "{refused}");

    let before = f.app.write_counts().groups;
    f.app.rollout_tick().unwrap();
    assert_eq!(f.app.write_counts().groups - before, 2, "one commit per data plane");
    for plane in ["c1", "r1", "r2"] {
        assert_eq!(f.release_of(plane), FROM);
        assert_eq!(f.revision_of(plane), 3, "{plane}: moved once, given back once");
    }
    assert_eq!(f.app.rollout(rollout.id).unwrap().waves[1].restored, 2);
    assert_eq!(start(&f).state, api::RolloutState::Progressing, "a new rollout may start");
}

/// A rollout gated on HEALTH over data planes whose agents said they cannot
/// observe health (they write files) would pause as inconclusive for ever:
/// it is refused when planned, naming the planes and the wave's gate. Once
/// those agents report that they observe health, the same rollout starts.
#[test]
fn a_health_gate_the_agents_cannot_evidence_is_refused_at_planning() {
    let f = Fixture::new();
    let blind_report = |plane: &str, observes: bool| {
        let state = f.app.desired_state(plane, 0).unwrap();
        let report = serde_json::from_value(serde_json::json!({
            "applied_revision": state.revision,
            "agent_version": "files",
            "deployments": [],
            "complete": false,
            "observes": {"health": observes},
        }))
        .unwrap();
        f.app.record_agent_status(plane, report).unwrap();
    };
    blind_report("r1", false);
    blind_report("r2", false);
    let refused = f
        .app
        .create_rollout(
            api::RolloutCreate { from_release: FROM.into(), to_release: TO.into() },
            harmony_server::newest_version(),
        )
        .expect_err("HEALTH cannot be evidenced on r1 and r2");
    let message = refused.to_string();
    assert!(
        message.contains("wave rest gates on HEALTH")
            && message.contains("r1")
            && message.contains("r2"),
        "{message}"
    );
    assert!(!message.contains("c1"), "c1's agent did not say it is blind: {message}");
    assert_eq!(f.release_of("r1"), FROM, "nothing moved");
    assert_eq!(f.release_of("c1"), FROM, "nothing moved");

    blind_report("r1", true);
    blind_report("r2", true);
    assert_eq!(start(&f).state, api::RolloutState::Progressing);
}

#[test]
fn an_unhealthy_canary_rolls_back_and_re_renders_the_previous_release() {
    let f = Fixture::new();
    let rollout = start(&f);
    f.agent("c1", "UNHEALTHY");
    f.app.rollout_tick().unwrap();
    let stopped = f.app.rollout(rollout.id).unwrap();
    assert_eq!(stopped.state, api::RolloutState::RolledBack, "{}", stopped.reason);
    assert!(stopped.reason.contains("c1"), "{}", stopped.reason);
    assert_eq!(f.release_of("c1"), FROM);
    assert_eq!(f.revision_of("c1"), 3, "restoring renders a new revision");
    assert_eq!(f.manifest_release("c1"), FROM);
    for plane in ["r1", "r2"] {
        assert_eq!(f.release_of(plane), FROM);
        assert_eq!(f.revision_of(plane), 1, "{plane} was never touched");
    }
    // Stopped for good: later ticks move nothing.
    f.advance(Duration::hours(1));
    f.app.rollout_tick().unwrap();
    assert_eq!(f.revision_of("c1"), 3);
}

#[test]
fn a_silent_agent_stalls_the_wave_with_a_reason() {
    let f = Fixture::new();
    let rollout = start(&f);
    f.agent("c1", "HEALTHY");
    f.app.rollout_tick().unwrap();
    // The canary bakes while r1's agent falls silent.
    f.advance(Duration::seconds(100));
    for plane in ["c1", "r2"] {
        f.agent(plane, "HEALTHY");
    }
    f.app.rollout_tick().unwrap();
    f.advance(Duration::seconds(10));
    f.app.rollout_tick().unwrap();
    let stalled = f.app.rollout(rollout.id).unwrap();
    assert_eq!(stalled.current_wave, "rest");
    assert!(stalled.reason.contains("unreachable: r1"), "{}", stalled.reason);
    assert_eq!(f.release_of("r1"), FROM, "never moved while unreachable");
    let planes = f.app.rollout_data_planes(rollout.id, None, 10).unwrap();
    let r1 = planes.iter().find(|p| p.data_plane_id == "r1").unwrap();
    assert_eq!(r1.state, api::RolloutDataPlaneState::Waiting);
}

#[tokio::test]
async fn served_as_api_3_0_0() {
    let h = TestHarmony::start();
    let client = h.v3();
    let old = h.v2();
    for (plane, ring) in [("canary-1", Some("canary")), ("main-1", None)] {
        let mut reg = registration(v2::types::DataPlaneKind::Hybrid);
        reg.platform_release = FROM.into();
        if let Some(ring) = ring {
            reg.labels.insert("astronomer.io/rollout-ring".into(), ring.into());
        }
        old.data_plane_put(plane, &reg).await.unwrap();
        old.deployment_put(&Uuid::new_v4(), &hybrid_spec(plane, 1)).await.unwrap();
    }

    // Releases: validated field by field, immutable.
    let bad = v3::types::PlatformReleaseSpec {
        kubernetes_min: "latest".into(),
        kubernetes_max: "1.20".into(),
        runtimes: vec!["3.1-1".into(), "3.1-1".into()],
    };
    let err = client.platform_release_put("2026.12.0", &bad).await.unwrap_err();
    let message = err.to_string();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{message}");
    let body = match err {
        harmony_client::Error::ErrorResponse(rv) => rv.into_inner().message,
        other => panic!("{other}"),
    };
    assert!(body.contains("kubernetes_min: must be MAJOR.MINOR"), "{body}");
    assert!(body.contains("runtimes[1]: \"3.1-1\" is listed twice"), "{body}");
    let spec = v3::types::PlatformReleaseSpec {
        kubernetes_min: "1.29".into(),
        kubernetes_max: "1.33".into(),
        runtimes: vec![],
    };
    let release = client.platform_release_put(TO, &spec).await.unwrap().into_inner();
    assert_eq!(release.version, TO);
    client.platform_release_put(TO, &spec).await.expect("the same again is a no-op");
    let other = v3::types::PlatformReleaseSpec { kubernetes_max: "1.34".into(), ..spec.clone() };
    let err = client.platform_release_put(TO, &other).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(409));
    assert_eq!(client.platform_release_list().await.unwrap().into_inner().len(), 1);

    // Rollouts.
    let create =
        |to: &str| v3::types::RolloutCreate { from_release: FROM.into(), to_release: to.into() };
    let err = client.rollout_create(&create("1999.1.0")).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    let rollout = client.rollout_create(&create(TO)).await.unwrap().into_inner();
    assert_eq!(rollout.state, v3::types::RolloutState::Progressing);
    assert_eq!(rollout.environment, "local");
    assert_eq!(rollout.waves.len(), 4);
    assert_eq!(rollout.waves[0].targets, 1);
    // The 2.0.0 client sees the canary's new release.
    assert_eq!(old.data_plane_get("canary-1").await.unwrap().platform_release, TO);
    assert_eq!(old.data_plane_get("main-1").await.unwrap().platform_release, FROM);

    let err = client.rollout_create(&create(TO)).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(409), "one rollout at a time");
    let listed = client.rollout_list(Some("main-1")).await.unwrap().into_inner();
    assert_eq!(listed.len(), 1);
    assert!(client.rollout_list(Some("nowhere")).await.unwrap().into_inner().is_empty());
    let planes =
        client.rollout_data_plane_list(&rollout.id, None, None).await.unwrap().into_inner();
    let waves: Vec<(&str, &str)> =
        planes.items.iter().map(|p| (p.data_plane_id.as_str(), p.wave.as_str())).collect();
    assert_eq!(waves, [("canary-1", "canary"), ("main-1", "rest")]);

    // Commands: abort restores; nothing promotes an aborted rollout.
    let command = |action, reason: Option<&str>| v3::types::RolloutCommand {
        action,
        actor: "oncall@example.com".into(),
        reason: reason.map(str::to_owned),
    };
    let aborted = client
        .rollout_command(&rollout.id, &command(v3::types::RolloutAction::Abort, Some("bad canary")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(aborted.state, v3::types::RolloutState::Aborted);
    let last = aborted.decisions.last().unwrap();
    assert_eq!(last.actor.as_deref(), Some("oncall@example.com"));
    assert!(last.reason.contains("bad canary"));
    assert_eq!(old.data_plane_get("canary-1").await.unwrap().platform_release, FROM);
    let (status, code, message) = failure(
        client
            .rollout_command(&rollout.id, &command(v3::types::RolloutAction::Approve, None))
            .await
            .map_err(convert_error),
    );
    assert_eq!((status, code.as_str()), (409, "RolloutStateConflict"), "{message}");
    let got = client.rollout_get(&rollout.id).await.unwrap().into_inner();
    assert_eq!(got.state, v3::types::RolloutState::Aborted);
    assert_eq!(got.decisions, aborted.decisions);

    // A 2.0.0 request has no rollouts.
    let raw = crate::common::http()
        .get(format!("{}/rollouts", h.url))
        .header("api-version", "2.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 404);
}

fn convert_error(
    e: harmony_client::Error<v3::types::Error>,
) -> harmony_client::Error<v2::types::Error> {
    match e {
        harmony_client::Error::ErrorResponse(rv) => {
            let status = rv.status();
            let headers = rv.headers().clone();
            harmony_client::Error::ErrorResponse(harmony_client::ResponseValue::new(
                convert(&rv.into_inner()),
                status,
                headers,
            ))
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn a_registration_cannot_quietly_undo_a_rollout() {
    let h = TestHarmony::start();
    let client = h.v2();
    let mut reg = registration(v2::types::DataPlaneKind::Hybrid);
    client.data_plane_put("p1", &reg).await.unwrap();
    client.data_plane_put("p1", &reg).await.expect("the same registration again is fine");
    reg.platform_release = "2027.1.0".into();
    let (status, code, message) = failure(client.data_plane_put("p1", &reg).await);
    assert_eq!((status, code.as_str()), (409, "PlatformReleaseManagedByRollouts"), "{message}");
    assert!(message.contains("is on platform release 2026.11.0"), "{message}");
    assert_eq!(client.data_plane_get("p1").await.unwrap().platform_release, "2026.11.0");
}

/// What a rollout step reads of a whole wave in a few queries is, plane by
/// plane, what reading each alone gives: heartbeat, revisions, and every
/// deployment's health (or none, for a data plane without deployments);
/// unknown ids are left out.
async fn a_waves_views_read_together_are_each_data_planes_own(backend: Backend) {
    let Some(place) = Place::new(backend) else { return };
    let key = harmony_server::render::SecretKey::development();
    let location = match &place.schema {
        Some(schema) => harmony_server::store::Location::Postgres(schema.url()),
        None => harmony_server::store::Location::Sqlite(place.dir.path().join("h.sqlite3")),
    };
    let store = harmony_server::store::Store::open(&location, &key).unwrap();
    let app = HarmonyApp::new(store.clone(), Arc::new(ManualClock::new(Utc::now())), key);
    let planes = ["p-reported", "p-silent", "p-empty"];
    for plane in planes {
        let mut reg: api::DataPlaneRegistration =
            convert(&registration(v2::types::DataPlaneKind::Hybrid));
        reg.platform_release = FROM.to_owned();
        app.register_data_plane(plane, reg, harmony_server::newest_version()).unwrap();
    }
    // Two deployments on each of the first two.
    for plane in ["p-reported", "p-reported", "p-silent", "p-silent"] {
        let put = app.put_deployment(
            Uuid::new_v4(),
            convert(&hybrid_spec(plane, 1)),
            harmony_server::newest_version(),
        );
        futures::executor::block_on(put).unwrap();
    }
    let state = app.desired_state("p-reported", 0).unwrap();
    let report = serde_json::from_value(serde_json::json!({
        "applied_revision": state.revision,
        "agent_version": "test",
        "deployments": state.deployments.iter().map(|d| serde_json::json!({
            "deployment_id": d.deployment_id,
            "manifest_revision": d.manifest_revision,
            "health": "UNHEALTHY",
        })).collect::<Vec<_>>(),
    }))
    .unwrap();
    app.record_agent_status("p-reported", report).unwrap();

    let (together, alone) = store
        .read(|tx| {
            let together =
                tx.plane_rollout_views(&["p-reported", "p-silent", "p-empty", "nope"])?;
            let alone: Vec<_> = planes
                .iter()
                .map(|p| tx.plane_rollout_view(p).map(|v| v.unwrap()))
                .collect::<Result<_, _>>()?;
            Ok::<_, harmony_server::store::StoreError>((together, alone))
        })
        .unwrap();
    assert_eq!(together.len(), 3, "the unknown id is left out");
    for (plane, alone) in planes.iter().zip(alone) {
        assert_eq!(format!("{:?}", together[*plane]), format!("{alone:?}"), "{plane}");
    }
    let reported = &together["p-reported"];
    assert_eq!(reported.health.len(), 2);
    assert!(
        reported.health.iter().all(|(h, at)| h.as_deref() == Some("UNHEALTHY") && at.is_some())
    );
    assert!(together["p-silent"].health.iter().all(|(h, _)| h.is_none()));
    assert!(together["p-empty"].health.is_empty());
}
