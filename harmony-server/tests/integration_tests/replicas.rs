//! Several harmony-server processes on one PostgreSQL database, as a team
//! runs Harmony when one machine is not enough: the rollout controller's
//! lease moves to a survivor when its holder is killed, and the rollout
//! completes with no data plane moved twice.

use crate::common::{Backend, Place, hosted_spec, hybrid_spec, registration};
use crate::crash::spawn_with_agents;
use harmony_client::agent::types as agent;
use harmony_client::{v2, v3};
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const FROM: &str = "2026.11.0";
const TO: &str = "2026.12.0";

/// The committed policy's waves, with an environment whose bakes take a
/// second.
fn fast_policy() -> String {
    let mut policy = harmony_server::rollout::policy::COMMITTED.to_owned();
    policy.push_str(
        r#"
[environments.test]
progress_deadline = "10m"
manual_approval = []
waves.canary = { max_parallel = 1, max_unavailable = 0, bake = "1s" }
waves.early = { max_parallel = "50%", max_unavailable = 0, bake = "1s" }
waves.main = { max_parallel = "50%", max_unavailable = "5%", bake = "1s" }
waves.rest = { max_parallel = "50%", max_unavailable = "5%", bake = "1s" }
"#,
    );
    policy
}

fn agent_credential(place: &Place, plane: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_harmony-server"))
        .args(["agent-credential", "--dev-seed", "--data-plane", plane])
        .args(place.args())
        .output()
        .expect("harmony-server agent-credential runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A data plane's agent, simulated on the real agent API: pulls its desired
/// state, "applies" it, reports every deployment HEALTHY, until stopped.
async fn run_agent(url: String, credential: String, stop: Arc<AtomicBool>) {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {credential}").parse().unwrap());
    let http = reqwest::Client::builder().default_headers(headers).build().unwrap();
    let client = harmony_client::agent::Client::new_with_client(&url, http);
    let mut applied = 0;
    while !stop.load(Ordering::Relaxed) {
        let Ok(state) = client.desired_state_get(Some(applied), Some(1)).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let state = state.into_inner();
        applied = state.revision;
        let report = agent::StatusReport {
            applied_revision: applied,
            agent_version: "test".into(),
            deployments: state
                .deployments
                .iter()
                .map(|d| agent::DeploymentReport {
                    deployment_id: d.deployment_id,
                    manifest_revision: d.manifest_revision,
                    health: agent::Health::Healthy,
                    message: None,
                })
                .collect(),
            complete: false,
            observes: None,
        };
        let _ = client.status_report(&report).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_one_killed_mid_rollout_the_rollout_completes_moving_each_plane_once() {
    let Some(place) = Place::new(Backend::Postgres) else { return };
    let policy = place.dir.path().join("policy.toml");
    std::fs::write(&policy, fast_policy()).unwrap();
    let args = [
        "--rollout-policy-file",
        policy.to_str().unwrap(),
        "--environment",
        "test",
        "--rollout-tick-seconds",
        "1",
    ];
    // The first replica alone: it registers the example data planes, and
    // its controller takes the lease.
    let (mut first, url_a, _) = spawn_with_agents(&place, &args);
    let v2 = v2::Client::new(&url_a);
    let v3 = v3::Client::new(&url_a);
    let mut planes: BTreeMap<String, uuid::Uuid> = BTreeMap::new();
    for (plane, ring) in
        [("c1", "canary"), ("e1", "early"), ("m1", "main"), ("m2", "main"), ("r1", ""), ("r2", "")]
    {
        let mut reg = registration(v2::types::DataPlaneKind::Hybrid);
        if !ring.is_empty() {
            reg.labels.insert("astronomer.io/rollout-ring".into(), ring.into());
        }
        v2.data_plane_put(plane, &reg).await.unwrap();
        planes.insert(plane.to_owned(), uuid::Uuid::nil());
    }
    planes.insert("hybrid-example".into(), uuid::Uuid::nil());
    planes.insert("hosted-aws-us-east-1".into(), uuid::Uuid::nil());
    for (plane, id) in planes.iter_mut() {
        *id = uuid::Uuid::new_v4();
        let spec =
            if plane.starts_with("hosted") { hosted_spec(plane, 1) } else { hybrid_spec(plane, 1) };
        v2.deployment_put(id, &spec).await.unwrap();
    }
    v3.platform_release_put(
        TO,
        &v3::types::PlatformReleaseSpec {
            kubernetes_min: "1.29".into(),
            kubernetes_max: "1.33".into(),
            runtimes: vec![],
        },
    )
    .await
    .unwrap();

    // Two more replicas on the same database; agents talk to the second.
    let (mut second, url_b, agents_b) = spawn_with_agents(&place, &args);
    let (mut third, _, _) = spawn_with_agents(&place, &args);
    let stop = Arc::new(AtomicBool::new(false));
    let mut agents = Vec::new();
    for plane in planes.keys() {
        let credential = agent_credential(&place, plane);
        agents.push(tokio::spawn(run_agent(agents_b.clone(), credential, stop.clone())));
    }
    // Every agent has reported once before the rollout starts (waited for,
    // not slept: under load a report can take longer than any fixed pause).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let listed = v2::Client::new(&url_b).data_plane_list(None, None).await;
        let planes_seen = listed.unwrap().into_inner().items;
        if planes_seen
            .iter()
            .filter(|p| planes.contains_key(&p.id))
            .all(|p| p.last_heartbeat.is_some())
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "agents never reported: {planes_seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rollout = v3
        .rollout_create(&v3::types::RolloutCreate {
            from_release: FROM.into(),
            to_release: TO.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let holder = || place.schema.as_ref().unwrap().rows("SELECT holder FROM leases");
    let first_holder = holder();

    // Mid-rollout (past the canary), the lease holder dies.
    let v3b = v3::Client::new(&url_b);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = v3b.rollout_get(&rollout.id).await.unwrap().into_inner();
        if r.current_wave != "canary" {
            break;
        }
        assert!(Instant::now() < deadline, "the canary never finished: {}", r.reason);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut moved_before_kill = 0;
    for plane in planes.keys() {
        let release = v2::Client::new(&url_b).data_plane_get(plane).await.unwrap().into_inner();
        moved_before_kill += usize::from(release.platform_release == TO);
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    assert!(moved_before_kill < planes.len(), "killed before the rollout finished");

    let deadline = Instant::now() + Duration::from_secs(90);
    let done = loop {
        let r = v3b.rollout_get(&rollout.id).await.unwrap().into_inner();
        if r.state == v3::types::RolloutState::Succeeded {
            break r;
        }
        assert!(
            !matches!(
                r.state,
                v3::types::RolloutState::RolledBack | v3::types::RolloutState::Aborted
            ),
            "{:?}: {}",
            r.state,
            r.reason
        );
        assert!(Instant::now() < deadline, "the rollout never completed: {}", r.reason);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    stop.store(true, Ordering::Relaxed);
    for a in agents {
        a.await.unwrap();
    }
    let last_holder = holder();
    assert_ne!(first_holder, last_holder, "a survivor took the controller's lease over");

    // Every data plane runs the release, and each deployment was rendered
    // for it exactly once: revision 2 (a second move, or a rollback and
    // move, would have made more).
    let v2b = v2::Client::new(&url_b);
    for (plane, id) in &planes {
        assert_eq!(v2b.data_plane_get(plane).await.unwrap().platform_release, TO, "{plane}");
        assert_eq!(v2b.deployment_get(id).await.unwrap().revision, 2, "{plane} moved once");
    }
    assert_eq!(done.waves.iter().map(|w| w.updated).sum::<u64>(), planes.len() as u64);
    eprintln!(
        "3 replicas on PostgreSQL: {} data planes, {moved_before_kill} moved before the lease \
         holder was killed, rollout SUCCEEDED, every plane moved once",
        planes.len()
    );
    for child in [&mut second, &mut third] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
