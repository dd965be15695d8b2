//! The agent against a real harmony-server on loopback: register, sync,
//! report; executor switch; one data plane's credential never sees another;
//! Harmony restarted under a running agent binary; status derived from
//! reports and heartbeats.

use harmony_agent::{Agent, ApplyDir, Protocol, Round};
use harmony_client::v2::types as h;
use std::path::Path;
use std::time::Duration;

/// A server's logger: its lines show in the output of the test that
/// started it, and only when that test fails.
fn log() -> slog::Logger {
    test_support::logger(slog::Level::Info)
}

struct TestHarmony {
    api: Option<dropshot::HttpServer<harmony_server::http::Context>>,
    agents: Option<dropshot::HttpServer<harmony_server::agent::Context>>,
    url: String,
    agent_url: String,
    data: std::path::PathBuf,
}

impl TestHarmony {
    fn start(data: &Path, bind: &str, agent_bind: &str) -> TestHarmony {
        let mut config = harmony_server::Config::new(bind.parse().unwrap(), data.to_path_buf());
        config.dev_seed = true;
        config.dev_organization = "org-1".to_owned();
        let api = harmony_server::start(&config, &log()).unwrap();
        let agents = harmony_server::start_agent_api(
            agent_bind.parse().unwrap(),
            &api.app_private().harmony,
            &log(),
        )
        .unwrap();
        TestHarmony {
            url: format!("http://{}", api.local_addr()),
            agent_url: format!("http://{}", agents.local_addr()),
            api: Some(api),
            agents: Some(agents),
            data: data.to_path_buf(),
        }
    }

    /// Starts again on the same addresses; retries while the closed
    /// listeners' ports are still being released.
    fn restart(data: &Path, bind: &str, agent_bind: &str) -> TestHarmony {
        for _ in 0..100 {
            let free = |addr: &str| std::net::TcpListener::bind(addr).is_ok();
            if free(bind) && free(agent_bind) {
                return TestHarmony::start(data, bind, agent_bind);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{bind} or {agent_bind} stayed taken");
    }

    fn credential(&self, plane: &str) -> String {
        let mut config =
            harmony_server::Config::new("127.0.0.1:0".parse().unwrap(), self.data.clone());
        config.dev_seed = true;
        config.dev_organization = "org-1".to_owned();
        harmony_server::issue_agent_credential(&config, plane).unwrap()
    }

    async fn put(&self, id: &uuid::Uuid, spec: h::DeploymentSpec) {
        self.client().deployment_put(id, &spec).await.unwrap();
    }

    fn client(&self) -> harmony_client::v2::Client {
        harmony_client::v2::Client::new(&self.url)
    }

    async fn stop(&mut self) {
        if let Some(api) = self.api.take() {
            api.close().await.unwrap();
        }
        if let Some(agents) = self.agents.take() {
            agents.close().await.unwrap();
        }
    }
}

/// The example deployment of `kind` (`test_support::fixtures`) on
/// `plane`, run by `executor`, with a secret only the agent may write out.
fn spec(
    plane: &str,
    kind: h::DataPlaneKind,
    executor: h::Executor,
    generation: u64,
) -> h::DeploymentSpec {
    use test_support::fixtures;
    let mut spec = match kind {
        h::DataPlaneKind::Hybrid => fixtures::hybrid_spec(plane, generation),
        h::DataPlaneKind::Hosted => fixtures::hosted_spec(plane, generation),
    };
    spec["executor"] = serde_json::to_value(executor).unwrap();
    spec["environment_variables"] = serde_json::json!([
        { "key": "DB_PASSWORD", "value": "agent-only-secret", "is_secret": true },
    ]);
    fixtures::typed(spec)
}

/// Relative paths of every file under `root` but the agent's own state.
fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(root).unwrap() {
        let dir = dir.unwrap().path();
        if dir.file_name().unwrap() == ".harmony-agent" || !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            out.push(file.strip_prefix(root).unwrap().display().to_string());
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn an_agent_syncs_reports_and_follows_an_executor_switch() {
    let data = tempfile::tempdir().unwrap();
    let harmony = TestHarmony::start(data.path(), "127.0.0.1:0", "127.0.0.1:0");
    let id = uuid::Uuid::new_v4();
    harmony
        .put(&id, spec("hybrid-example", h::DataPlaneKind::Hybrid, h::Executor::Celery, 1))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::new(
        &harmony.agent_url,
        &harmony.credential("hybrid-example"),
        ApplyDir::new(dir.path()),
    )
    .unwrap();

    let Round::Applied(first) = agent.round(0).await.unwrap() else { panic!("nothing applied") };
    let files = tree(dir.path());
    let ns = format!("airflow-{}", id.simple());
    for expected in [
        format!("_cluster/namespace-{ns}.yaml"),
        format!("{ns}/deployment-worker-default.yaml"),
        format!("{ns}/deployment-redis.yaml"),
        format!("{ns}/secret-airflow-env-secrets.yaml"),
    ] {
        assert!(files.contains(&expected), "{expected} missing from {files:?}");
    }
    // The agent gets the Secret's value; nothing else in the tree has it.
    for file in &files {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert_eq!(
            text.contains("agent-only-secret"),
            file.ends_with("secret-airflow-env-secrets.yaml"),
            "{file}"
        );
    }
    assert_eq!(agent.round(0).await.unwrap(), Round::Unchanged(first));

    // The report arrived: the data plane has a heartbeat and is READY.
    let plane = harmony.client().data_plane_get("hybrid-example").await.unwrap().into_inner();
    assert!(plane.last_heartbeat.is_some());
    assert_eq!(plane.status, h::DataPlaneStatus::Ready);

    // CELERY -> KUBERNETES: one sync removes workers and redis, adds RBAC.
    harmony
        .put(&id, spec("hybrid-example", h::DataPlaneKind::Hybrid, h::Executor::Kubernetes, 2))
        .await;
    let Round::Applied(second) = agent.round(0).await.unwrap() else { panic!("not applied") };
    assert!(second > first);
    let after = tree(dir.path());
    for gone in ["deployment-worker-default.yaml", "deployment-redis.yaml", "service-redis.yaml"] {
        assert!(!after.contains(&format!("{ns}/{gone}")), "{gone} still there: {after:?}");
    }
    for added in ["role-pod-launcher.yaml", "rolebinding-pod-launcher.yaml"] {
        assert!(after.contains(&format!("{ns}/{added}")), "{added} missing: {after:?}");
    }

    // Deleted at Harmony: pruned from the tree, namespace and all.
    harmony.client().deployment_delete(&id).await.unwrap();
    agent.round(0).await.unwrap();
    assert!(tree(dir.path()).is_empty(), "{:?}", tree(dir.path()));
}

/// The agent API's 2.0.0 client for `plane`'s agent.
fn changes_client(harmony: &TestHarmony, credential: &str) -> harmony_client::agent_v2::Client {
    let http = reqwest::Client::builder()
        .default_headers(
            [(reqwest::header::AUTHORIZATION, format!("Bearer {credential}").parse().unwrap())]
                .into_iter()
                .collect(),
        )
        .build()
        .unwrap();
    harmony_client::agent_v2::Client::new_with_client(&harmony.agent_url, http)
}

/// Each file's inode and modification time: a file rewritten (through a
/// temporary file renamed over it) gets a new inode.
fn stamps(root: &Path) -> std::collections::BTreeMap<String, (u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    tree(root)
        .into_iter()
        .map(|f| {
            let meta = std::fs::metadata(root.join(&f)).unwrap();
            (f, (meta.ino(), meta.modified().unwrap()))
        })
        .collect()
}

/// On the changes protocol an update reaches the agent as that one
/// deployment: Harmony's answer names it alone, the agent rewrites only its
/// files (every other file keeps its inode) and reports only it; a removal
/// removes that deployment's files and nothing else.
#[tokio::test]
async fn the_changes_protocol_moves_only_what_changed() {
    let data = tempfile::tempdir().unwrap();
    let harmony = TestHarmony::start(data.path(), "127.0.0.1:0", "127.0.0.1:0");
    let ids: Vec<uuid::Uuid> = (0..3).map(|_| uuid::Uuid::new_v4()).collect();
    for id in &ids {
        harmony
            .put(id, spec("hybrid-example", h::DataPlaneKind::Hybrid, h::Executor::Celery, 1))
            .await;
    }
    let credential = harmony.credential("hybrid-example");
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::new(&harmony.agent_url, &credential, ApplyDir::new(dir.path())).unwrap();
    let Round::Applied(first) = agent.round(0).await.unwrap() else { panic!("nothing applied") };
    let applied = ApplyDir::new(dir.path());
    assert!(applied.keeps_changes(), "the first pass was a full sync of the changes protocol");
    assert_eq!(applied.applied_deployments().len(), 3);
    assert_eq!(agent.round(0).await.unwrap(), Round::Unchanged(first));
    let before = stamps(dir.path());

    let mut changed = spec("hybrid-example", h::DataPlaneKind::Hybrid, h::Executor::Celery, 2);
    changed.environment_variables.push(h::EnvironmentVariable {
        key: "ONE_MORE".into(),
        value: Some("x".into()),
        is_secret: false,
    });
    harmony.put(&ids[0], changed).await;
    let answer = changes_client(&harmony, &credential)
        .changes_get(None, Some(first), None)
        .await
        .unwrap()
        .into_inner();
    assert!(!answer.full);
    let listed: Vec<_> = answer.deployments.iter().map(|d| d.deployment_id).collect();
    assert_eq!(listed, vec![ids[0]], "only the changed deployment");
    assert!(answer.removed.is_empty());
    assert_eq!(answer.revision, first + 1);

    let Round::Applied(second) = agent.round(0).await.unwrap() else { panic!("not applied") };
    assert_eq!(second, first + 1);
    let after = stamps(dir.path());
    let ns = |id: &uuid::Uuid| format!("airflow-{}", id.simple());
    let rewritten: Vec<&String> =
        after.iter().filter(|(f, s)| before.get(*f) != Some(s)).map(|(f, _)| f).collect();
    assert!(!rewritten.is_empty());
    assert!(
        rewritten.iter().all(|f| f.starts_with(&ns(&ids[0]))),
        "files of unchanged deployments were rewritten: {rewritten:?}"
    );
    assert_eq!(ApplyDir::new(dir.path()).applied_deployments()[&ids[0]], 2);
    let app = harmony.api.as_ref().unwrap().app_private().harmony.clone();
    let status = app.deployment_status(ids[0]).unwrap();
    assert_eq!(status.reported_revision, Some(2), "the agent reported the deployment it applied");

    harmony.client().deployment_delete(&ids[2]).await.unwrap();
    let Round::Applied(_) = agent.round(0).await.unwrap() else { panic!("not applied") };
    let left = tree(dir.path());
    assert!(!left.iter().any(|f| f.contains(&ns(&ids[2]))), "{left:?}");
    for id in &ids[..2] {
        assert!(left.iter().any(|f| f.starts_with(&ns(id))), "{left:?}");
    }
    let kept = stamps(dir.path());
    assert!(kept.iter().all(|(f, s)| after.get(f) == Some(s)), "a removal rewrote other files");
    assert_eq!(ApplyDir::new(dir.path()).applied_deployments().len(), 2);
}

/// A full sync comes in pages of at most `PAGE_BYTES` of objects (one
/// deployment may stand alone above it), continued by the page token; the
/// agent applies them all and, at the last page, removes what no page
/// listed (a deployment Harmony no longer has, stray files). An agent whose
/// revision Harmony does not know (ahead of the plane) gets a full sync
/// with its reason.
#[tokio::test]
async fn a_full_sync_comes_in_pages_and_removes_what_it_did_not_list() {
    let data = tempfile::tempdir().unwrap();
    let harmony = TestHarmony::start(data.path(), "127.0.0.1:0", "127.0.0.1:0");
    // 48 KiB of variables each: a page (1 MiB) takes about 21 deployments.
    let count = 50;
    let mut ids = Vec::new();
    for n in 0..count {
        let id = uuid::Uuid::from_u128(0x1000 + n);
        let mut s = spec("hybrid-example", h::DataPlaneKind::Hybrid, h::Executor::Celery, 1);
        for k in 0..3 {
            s.environment_variables.push(h::EnvironmentVariable {
                key: format!("BIG_{k}"),
                value: Some("v".repeat(16 * 1024)),
                is_secret: false,
            });
        }
        harmony.put(&id, s).await;
        ids.push(id);
    }
    let credential = harmony.credential("hybrid-example");
    let client = changes_client(&harmony, &credential);
    let mut token: Option<String> = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = client.changes_get(token.as_deref(), None, None).await.unwrap().into_inner();
        pages += 1;
        assert!(page.full);
        if pages == 1 {
            assert_eq!(page.full_reason.as_deref(), Some("the agent asked for a full sync"));
        }
        let bytes: usize = page
            .deployments
            .iter()
            .flat_map(|d| &d.objects)
            .map(|o| serde_json::to_string(o).unwrap().len())
            .sum();
        let largest = page
            .deployments
            .iter()
            .map(|d| d.objects.iter().map(|o| serde_json::to_string(o).unwrap().len()).sum())
            .max()
            .unwrap_or(0);
        assert!(
            bytes <= harmony_agent_api::PAGE_BYTES + largest,
            "page {pages}: {bytes} bytes of objects"
        );
        seen.extend(page.deployments.iter().map(|d| d.deployment_id));
        token = page.next_page;
        if token.is_none() {
            break;
        }
    }
    assert!(pages >= 3, "{count} deployments of 48 KiB came in {pages} page(s)");
    seen.sort();
    assert_eq!(seen, ids, "every deployment once, in id order");

    // What the agent had before that Harmony does not list goes.
    let dir = tempfile::tempdir().unwrap();
    for stray in ["airflow-gone/configmap-x.yaml", "_cluster/namespace-airflow-gone.yaml"] {
        let path = dir.path().join(stray);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "stray").unwrap();
    }
    let state = dir.path().join(".harmony-agent");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("revision"), "999999").unwrap();
    std::fs::write(state.join("protocol"), "changes").unwrap();
    let answer = client.changes_get(None, Some(999_999), None).await.unwrap().into_inner();
    assert!(answer.full);
    assert!(answer.full_reason.unwrap().contains("ahead of the data plane"));
    let agent = Agent::new(&harmony.agent_url, &credential, ApplyDir::new(dir.path())).unwrap();
    let Round::Applied(revision) = agent.round(0).await.unwrap() else { panic!("not applied") };
    assert_eq!(revision, answer.revision);
    let files = tree(dir.path());
    assert!(!files.iter().any(|f| f.contains("gone")), "{files:?}");
    assert_eq!(ApplyDir::new(dir.path()).applied_deployments().len(), count as usize);
    assert_eq!(ApplyDir::new(dir.path()).applied_revision(), revision);
}

/// Every round repeats every deployment's report, marked complete, and says
/// the agent cannot observe workloads' health: a report Harmony holds that
/// the agent did not make (here, one saying HEALTHY) is replaced by the
/// agent's own at its next round, though nothing changed. A restarted agent
/// does the same from what it stored with the applied revision.
#[tokio::test]
async fn every_round_repeats_every_report_and_what_the_agent_cannot_see() {
    let data = tempfile::tempdir().unwrap();
    let harmony = TestHarmony::start(data.path(), "127.0.0.1:0", "127.0.0.1:0");
    let id = uuid::Uuid::new_v4();
    harmony
        .put(&id, spec("hybrid-example", h::DataPlaneKind::Hybrid, h::Executor::Celery, 1))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let credential = harmony.credential("hybrid-example");
    let agent = Agent::new(&harmony.agent_url, &credential, ApplyDir::new(dir.path()))
        .unwrap()
        .speaking(Protocol::Whole);
    let Round::Applied(revision) = agent.round(0).await.unwrap() else { panic!("not applied") };
    let app = harmony.api.as_ref().unwrap().app_private().harmony.clone();
    let written = format!("written to {}", dir.path().display());
    let forged = || {
        let report = serde_json::from_value(serde_json::json!({
            "applied_revision": revision,
            "agent_version": "someone else",
            "deployments": [{"deployment_id": id, "manifest_revision": 1, "health": "HEALTHY"}]
        }))
        .unwrap();
        app.record_agent_status("hybrid-example", report).unwrap();
        assert_eq!(app.deployment_status(id).unwrap().message, None);
    };
    forged();
    assert_eq!(agent.round(0).await.unwrap(), Round::Unchanged(revision));
    assert_eq!(app.deployment_status(id).unwrap().message.as_deref(), Some(written.as_str()));

    forged();
    let restarted = Agent::new(&harmony.agent_url, &credential, ApplyDir::new(dir.path()))
        .unwrap()
        .speaking(Protocol::Whole);
    assert_eq!(restarted.round(0).await.unwrap(), Round::Unchanged(revision));
    assert_eq!(app.deployment_status(id).unwrap().message.as_deref(), Some(written.as_str()));
    let reports = ApplyDir::new(dir.path()).reports().expect("stored with the revision");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].health, harmony_client::agent::types::Health::Unknown);
}

#[tokio::test]
async fn a_long_poll_answers_when_the_state_changes() {
    let data = tempfile::tempdir().unwrap();
    let harmony = TestHarmony::start(data.path(), "127.0.0.1:0", "127.0.0.1:0");
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::new(
        &harmony.agent_url,
        &harmony.credential("hybrid-example"),
        ApplyDir::new(dir.path()),
    )
    .unwrap();
    assert_eq!(agent.round(0).await.unwrap(), Round::Unchanged(0), "nothing on the plane yet");
    let client = harmony.client();
    let change = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let id = uuid::Uuid::new_v4();
        client
            .deployment_put(
                &id,
                &spec("hybrid-example", h::DataPlaneKind::Hybrid, h::Executor::Celery, 1),
            )
            .await
            .unwrap();
    };
    let (round, ()) = tokio::join!(agent.round(20), change);
    assert!(matches!(round.unwrap(), Round::Applied(_)), "the waiting poll got the change");
}

#[tokio::test]
async fn an_agent_sees_only_its_own_data_plane() {
    let data = tempfile::tempdir().unwrap();
    let harmony = TestHarmony::start(data.path(), "127.0.0.1:0", "127.0.0.1:0");
    let hosted = uuid::Uuid::new_v4();
    harmony
        .put(
            &hosted,
            spec("hosted-aws-us-east-1", h::DataPlaneKind::Hosted, h::Executor::Celery, 1),
        )
        .await;
    let hybrid_credential = harmony.credential("hybrid-example");
    harmony.credential("hosted-aws-us-east-1");
    let dir = tempfile::tempdir().unwrap();
    let agent =
        Agent::new(&harmony.agent_url, &hybrid_credential, ApplyDir::new(dir.path())).unwrap();
    agent.round(0).await.unwrap();
    assert!(
        tree(dir.path()).is_empty(),
        "the Hybrid agent got Hosted objects: {:?}",
        tree(dir.path())
    );

    // Its secret under the other data plane's name, a garbled one, none.
    let secret = hybrid_credential.rsplit('.').next().unwrap();
    let http = reqwest::Client::new();
    for header in [
        Some(format!("Bearer hagent.hosted-aws-us-east-1.{secret}")),
        Some(format!("Bearer {hybrid_credential}x")),
        Some("Bearer nonsense".to_owned()),
        None,
    ] {
        let mut request =
            http.get(format!("{}/desired-state", harmony.agent_url)).header("api-version", "1.0.0");
        if let Some(h) = &header {
            request = request.header("authorization", h);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "{header:?}");
        let body = response.text().await.unwrap();
        assert!(!body.contains("agent-only-secret"), "{body}");
    }
}

// Multi-threaded: the test waits on the agent's files with blocking sleeps
// while the in-process Harmony keeps serving on the other thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_harmony_outage_never_changes_what_the_agent_applied() {
    let data = tempfile::tempdir().unwrap();
    // Ports the OS picks now (picking "free" ones first races with the
    // other tests); the restart below reuses them.
    let mut harmony = TestHarmony::start(data.path(), "127.0.0.1:0", "127.0.0.1:0");
    let address = |url: &str| url.trim_start_matches("http://").to_owned();
    let (api_addr, agent_addr) = (address(&harmony.url), address(&harmony.agent_url));
    let id = uuid::Uuid::new_v4();
    harmony
        .put(&id, spec("hybrid-example", h::DataPlaneKind::Hybrid, h::Executor::Celery, 1))
        .await;
    let work = tempfile::tempdir().unwrap();
    let credential = work.path().join("credential");
    std::fs::write(&credential, harmony.credential("hybrid-example")).unwrap();
    let apply = work.path().join("tree");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_harmony-agent"))
        .args(["--harmony", &harmony.agent_url, "--credential-file"])
        .arg(&credential)
        .arg("--apply-dir")
        .arg(&apply)
        // Short polls: closing Harmony waits for the one in flight.
        .args(["--poll-seconds", "1"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let wait_for = |check: &dyn Fn(&[String]) -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let files = if apply.exists() { tree(&apply) } else { Vec::new() };
            if check(&files) {
                return files;
            }
            assert!(std::time::Instant::now() < deadline, "the tree never got there: {files:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let worker = format!("airflow-{}/deployment-worker-default.yaml", id.simple());
    let before = wait_for(&|files| files.contains(&worker));
    let snapshot: Vec<String> =
        before.iter().map(|f| std::fs::read_to_string(apply.join(f)).unwrap()).collect();

    // Harmony goes away: the agent keeps retrying and the tree stays.
    harmony.stop().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(tree(&apply), before);
    let now: Vec<String> =
        before.iter().map(|f| std::fs::read_to_string(apply.join(f)).unwrap()).collect();
    assert_eq!(now, snapshot, "an outage changed applied files");

    // Back, with a change made meanwhile: the agent picks it up.
    let harmony = TestHarmony::restart(data.path(), &api_addr, &agent_addr);
    harmony
        .put(&id, spec("hybrid-example", h::DataPlaneKind::Hybrid, h::Executor::Kubernetes, 2))
        .await;
    wait_for(&|files| {
        !files.contains(&worker) && files.iter().any(|f| f.ends_with("role-pod-launcher.yaml"))
    });
    child.0.kill().unwrap();
    child.0.wait().unwrap();
}

/// A child process killed when the test ends, passed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn status_follows_reports_and_heartbeats() {
    use harmony_api::latest::DeploymentState;
    use harmony_server::app::{HEARTBEAT_TIMEOUT, HarmonyApp as App, ManualClock};
    use std::sync::Arc;
    let data = tempfile::tempdir().unwrap();
    let key = harmony_server::render::SecretKey::development();
    let store = harmony_server::store::Store::open(
        &harmony_server::store::Location::Sqlite(data.path().join("harmony.sqlite3")),
        &key,
    )
    .unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = App::new(store, clock.clone(), key);
    for (id, registration) in harmony_server::dev_data_planes("org-1") {
        app.register_data_plane(id, registration, harmony_server::newest_version()).unwrap();
    }
    let id = uuid::Uuid::new_v4();
    let spec: harmony_api::latest::DeploymentSpec = serde_json::from_value(
        serde_json::to_value(spec(
            "hybrid-example",
            h::DataPlaneKind::Hybrid,
            h::Executor::Celery,
            1,
        ))
        .unwrap(),
    )
    .unwrap();
    let stored = app.put_deployment(id, spec, harmony_server::newest_version()).await.unwrap();
    assert_eq!(app.deployment_status(id).unwrap().state, DeploymentState::Deploying);
    let report = |health: &str| -> harmony_agent_api::StatusReport {
        serde_json::from_value(serde_json::json!({
            "applied_revision": 1,
            "agent_version": "test",
            "deployments": [{"deployment_id": id, "manifest_revision": stored.revision, "health": health}]
        }))
        .unwrap()
    };
    app.record_agent_status("hybrid-example", report("HEALTHY")).unwrap();
    assert_eq!(app.deployment_status(id).unwrap().state, DeploymentState::Healthy);
    app.record_agent_status("hybrid-example", report("UNHEALTHY")).unwrap();
    assert_eq!(app.deployment_status(id).unwrap().state, DeploymentState::Unhealthy);
    // An agent that applied it and cannot see workloads: APPLIED, not
    // DEPLOYING for ever.
    app.record_agent_status("hybrid-example", report("UNKNOWN")).unwrap();
    assert_eq!(app.deployment_status(id).unwrap().state, DeploymentState::Applied);
    // No heartbeat for longer than the timeout: the data plane is
    // UNREACHABLE and its deployments UNKNOWN.
    clock.advance((HEARTBEAT_TIMEOUT + chrono::Duration::seconds(1)).to_std().unwrap());
    assert_eq!(
        app.data_plane("hybrid-example").unwrap().status,
        harmony_api::latest::DataPlaneStatus::Unreachable
    );
    assert_eq!(app.deployment_status(id).unwrap().state, DeploymentState::Unknown);
    // A report ahead of the desired revision is refused.
    let mut ahead = report("HEALTHY");
    ahead.applied_revision = 99;
    assert!(app.record_agent_status("hybrid-example", ahead).is_err());
}

/// Whatever names a desired state carries, nothing is written outside the
/// apply directory, and a state with one bad object changes nothing at all.
#[test]
fn hostile_names_never_leave_the_apply_directory() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("tree");
    let dir = ApplyDir::new(&root);
    let state = |objects: Vec<serde_json::Value>| -> harmony_client::agent::types::DesiredState {
        serde_json::from_value(serde_json::json!({
            "data_plane_id": "p", "revision": 1, "changed": true,
            "deployments": [{
                "deployment_id": uuid::Uuid::nil(), "manifest_revision": 1,
                "namespace": "ns", "objects": objects,
            }],
        }))
        .unwrap()
    };
    let good = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "ok", "namespace": "ns"}});
    dir.apply(&state(vec![good.clone()])).unwrap();
    let before = list(&root);
    for (what, object) in [
        (
            "name ..",
            serde_json::json!({"kind": "ConfigMap", "metadata": {"name": "../../escape", "namespace": "ns"}}),
        ),
        (
            "absolute name",
            serde_json::json!({"kind": "ConfigMap", "metadata": {"name": "/etc/passwd", "namespace": "ns"}}),
        ),
        (
            "namespace ..",
            serde_json::json!({"kind": "ConfigMap", "metadata": {"name": "x", "namespace": ".."}}),
        ),
        (
            "namespace with a slash",
            serde_json::json!({"kind": "ConfigMap", "metadata": {"name": "x", "namespace": "a/b"}}),
        ),
        (
            "kind with a slash",
            serde_json::json!({"kind": "Config/../../Map", "metadata": {"name": "x", "namespace": "ns"}}),
        ),
        ("no name", serde_json::json!({"kind": "ConfigMap", "metadata": {"namespace": "ns"}})),
        (
            "upper case",
            serde_json::json!({"kind": "ConfigMap", "metadata": {"name": "X", "namespace": "ns"}}),
        ),
        (
            "NUL",
            serde_json::json!({"kind": "ConfigMap", "metadata": {"name": "a\u{0}b", "namespace": "ns"}}),
        ),
    ] {
        let error = dir.apply(&state(vec![good.clone(), object])).unwrap_err();
        assert!(format!("{error:#}").contains("refusing"), "{what}: {error:#}");
        assert_eq!(list(&root), before, "{what}: the tree changed");
    }
    let outside: Vec<_> =
        std::fs::read_dir(outer.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(outside, ["tree"], "nothing written beside the tree");
}

/// Every file under `root`, with its content.
fn list(root: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A deployment Harmony cannot serve for now arrives without objects and
/// with the reason: the agent keeps every file it applied for it, prunes
/// nothing of it, and reports it unhealthy with the reason; the plane's
/// other deployments are applied as usual.
#[test]
fn an_unavailable_deployment_keeps_what_was_applied() {
    use harmony_client::agent::types::{DesiredDeployment, DesiredState, Health};
    let root = tempfile::tempdir().unwrap();
    let apply = ApplyDir::new(root.path());
    let object = |ns: &str, name: &str| {
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": name, "namespace": ns}, "data": {"k": "v"}})
    };
    let deployment = |n: u128, ns: &str, objects, unavailable: Option<&str>| DesiredDeployment {
        deployment_id: uuid::Uuid::from_u128(n),
        manifest_revision: 1,
        namespace: ns.into(),
        objects,
        unavailable: unavailable.map(str::to_owned),
    };
    let first = DesiredState {
        data_plane_id: "p".into(),
        revision: 1,
        changed: true,
        deployments: vec![
            deployment(1, "airflow-a", vec![object("airflow-a", "cfg")], None),
            deployment(2, "airflow-b", vec![object("airflow-b", "cfg")], None),
        ],
    };
    apply.apply(&first).unwrap();
    let before = tree(root.path());
    let second = DesiredState {
        revision: 2,
        deployments: vec![
            deployment(1, "airflow-a", vec![], Some("Harmony cannot serve this deployment")),
            deployment(2, "airflow-b", vec![object("airflow-b", "other")], None),
        ],
        ..first
    };
    let reports = apply.apply(&second).unwrap();
    let after = tree(root.path());
    assert!(
        after.iter().any(|f| f.contains("airflow-a") && f.contains("configmap-cfg")),
        "{after:?}"
    );
    assert!(after.iter().any(|f| f.contains("configmap-other")), "{after:?}");
    assert!(
        !after.iter().any(|f| f.contains("airflow-b") && f.contains("configmap-cfg")),
        "pruned"
    );
    assert_ne!(before, after);
    assert_eq!(reports[0].health, Health::Unhealthy);
    assert!(reports[0].message.as_deref().unwrap().contains("kept what was applied"));
}

/// On the changes protocol a deployment that cannot be applied (here an
/// object outside its own namespace) fails alone: it keeps what it had and
/// is reported unhealthy with the reason, and the next deployment is
/// applied as usual.
#[test]
fn a_deployment_that_cannot_be_applied_fails_alone() {
    use harmony_client::agent::types::{DesiredDeployment, Health};
    let root = tempfile::tempdir().unwrap();
    let apply = ApplyDir::new(root.path());
    let object = |ns: &str, name: &str| {
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": name, "namespace": ns}, "data": {"k": "v"}})
    };
    let deployment = |n: u128, revision: u64, objects| DesiredDeployment {
        deployment_id: uuid::Uuid::from_u128(n),
        manifest_revision: revision,
        namespace: format!("airflow-{n}"),
        objects,
        unavailable: None,
    };
    let report = apply
        .apply_deployment(&deployment(1, 1, vec![object("airflow-1", "cfg")]))
        .unwrap()
        .unwrap();
    assert_eq!(report.health, Health::Unknown);
    let before = tree(root.path());
    // Revision 2 reaches into another deployment's namespace.
    let report = apply
        .apply_deployment(&deployment(1, 2, vec![object("airflow-2", "stolen")]))
        .unwrap()
        .unwrap();
    assert_eq!(report.health, Health::Unhealthy);
    assert!(report.message.unwrap().contains("outside the deployment's"));
    assert_eq!(tree(root.path()), before, "kept what it had");
    assert_eq!(apply.applied_deployments()[&uuid::Uuid::from_u128(1)], 1);
    let report = apply
        .apply_deployment(&deployment(2, 1, vec![object("airflow-2", "cfg")]))
        .unwrap()
        .unwrap();
    assert_eq!(report.health, Health::Unknown);
    assert!(tree(root.path()).contains(&"airflow-2/configmap-cfg.yaml".to_owned()));
}

/// The probe, end to end: an environment variable value carrying a YAML
/// 1.1 line break (U+2028) and what would follow it as YAML structure (a
/// privileged container with the host's PID and network namespaces).
/// Every file the agent writes reads back, with PyYAML (the libyaml loader
/// where it is built, else the pure one), as exactly the object Harmony
/// rendered: nothing turned into structure. Skipped, loudly, without
/// python3 and PyYAML (CI has them).
#[tokio::test]
async fn a_hostile_value_stays_a_value_in_every_file_the_agent_writes() {
    let data = tempfile::tempdir().unwrap();
    let harmony = TestHarmony::start(data.path(), "127.0.0.1:0", "127.0.0.1:0");
    let payload = "ok\u{2028}      securityContext: {privileged: true}\u{2028}    hostPID: true\
                   \u{85}    hostNetwork: true\u{2029}\r\n- image: attacker/evil";
    let mut hostile = spec("hybrid-example", h::DataPlaneKind::Hybrid, h::Executor::Celery, 1);
    hostile.environment_variables.push(h::EnvironmentVariable {
        key: "INJECTED".into(),
        value: Some(payload.into()),
        is_secret: false,
    });
    harmony.put(&uuid::Uuid::new_v4(), hostile).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::new(
        &harmony.agent_url,
        &harmony.credential("hybrid-example"),
        ApplyDir::new(dir.path()),
    )
    .unwrap();
    agent.round(0).await.unwrap();

    let files: Vec<std::path::PathBuf> =
        tree(dir.path()).iter().map(|f| dir.path().join(f)).collect();
    let script = "import sys, json, yaml\n\
        loader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader\n\
        print(json.dumps([yaml.load(open(f, encoding='utf-8'), Loader=loader) for f in sys.argv[1:]]))\n";
    let Ok(out) = std::process::Command::new("python3").arg("-c").arg(script).args(&files).output()
    else {
        test_support::skip("REQUIRE_PYTHON", "no python3: the PyYAML reading of the agent's files");
        return;
    };
    if String::from_utf8_lossy(&out.stderr).contains("No module named 'yaml'") {
        test_support::skip(
            "REQUIRE_PYTHON",
            "python3 has no PyYAML: the agent's files are not read back",
        );
        return;
    }
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let read: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let state = harmony_desired(&harmony).await;
    let mut carried = 0;
    for (file, object) in files.iter().zip(&read) {
        let name = object["metadata"]["name"].as_str().unwrap();
        let kind = object["kind"].as_str().unwrap();
        let rendered = state
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{} is not what Harmony rendered", file.display()));
        assert_eq!(object, rendered, "{} reads as something else", file.display());
        carried += usize::from(object.to_string().contains("attacker/evil"));
    }
    assert!(carried > 0, "the value reached the files");
    assert!(!read.iter().any(|o| o.to_string().contains("\"hostPID\":true")), "structure injected");
}

/// Every object of hybrid-example's desired state, as Harmony serves it.
async fn harmony_desired(harmony: &TestHarmony) -> Vec<serde_json::Value> {
    let client = harmony_client::agent::Client::new_with_client(
        &harmony.agent_url,
        harmony_client::with_service_token(
            reqwest::Client::builder(),
            &harmony.credential("hybrid-example"),
        )
        .unwrap(),
    );
    let state = client.desired_state_get(None, None).await.unwrap().into_inner();
    state.deployments.into_iter().flat_map(|d| d.objects).collect()
}

/// The agent binary as a supervisor runs it: configured from the
/// environment alone, logging JSON lines, and stopped by SIGTERM cleanly
/// (exit 0, saying so) once it has applied its data plane's state; it used
/// to be killed by the signal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_agent_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let harmony = TestHarmony::start(data.path(), "127.0.0.1:0", "127.0.0.1:0");
    let id = uuid::Uuid::new_v4();
    harmony
        .put(&id, spec("hybrid-example", h::DataPlaneKind::Hybrid, h::Executor::Celery, 1))
        .await;
    let work = tempfile::tempdir().unwrap();
    let credential = work.path().join("credential");
    std::fs::write(&credential, harmony.credential("hybrid-example")).unwrap();
    let (apply, log) = (work.path().join("tree"), work.path().join("agent.log"));
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_harmony-agent"))
        .env("HARMONY_AGENT_HARMONY", &harmony.agent_url)
        .env("HARMONY_AGENT_CREDENTIAL_FILE", &credential)
        .env("HARMONY_AGENT_APPLY_DIR", &apply)
        .env("HARMONY_AGENT_POLL_SECONDS", "30")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let worker = format!("airflow-{}/deployment-worker-default.yaml", id.simple());
    // Applied and reported: the round has ended (the files appear before
    // its report is sent, and a stop during the report ends the round
    // before it is logged).
    let applied = || {
        std::fs::read_to_string(&log)
            .is_ok_and(|l| l.contains("\"applied the data plane's desired state\""))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !applied() {
        assert!(std::time::Instant::now() < deadline, "the agent never applied its state");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(tree(&apply).contains(&worker));
    // Now in a 30 s long poll: SIGTERM ends it at once.
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "still running 15 s after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let lines = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(0), "ended by the signal, not by itself:\n{lines}");
    let records: Vec<serde_json::Value> = lines
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(records.iter().any(|r| r["msg"] == "applied the data plane's desired state"));
    let last = records.last().unwrap();
    assert!(last["msg"].as_str().unwrap().starts_with("stopping"), "{last}");
    assert_eq!(last["signal"], "SIGTERM");
}

/// Every file and directory under `root` (itself included) whose mode is
/// not 0600 (files) or 0700 (directories), with its mode.
fn wider_than_private(root: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o7777;
        let want = if meta.is_dir() { 0o700 } else { 0o600 };
        if mode != want {
            out.push(format!("{} {mode:o}", path.display()));
        }
        if meta.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
    }
    out
}

/// Issue 34: the agent wrote Secret manifests (secret variables, the Fernet
/// key, the metadata database password) 0644 in 0755 directories, readable
/// by every local user. The real binary, run under umask 000, writes every
/// file 0600 and every directory 0700, and narrows a tree an older agent
/// left wide (files it does not rewrite included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apply_directory_is_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().unwrap();
    let harmony = TestHarmony::start(data.path(), "127.0.0.1:0", "127.0.0.1:0");
    let id = uuid::Uuid::new_v4();
    let hybrid = |generation| {
        spec("hybrid-example", h::DataPlaneKind::Hybrid, h::Executor::Celery, generation)
    };
    harmony.put(&id, hybrid(1)).await;
    let work = tempfile::tempdir().unwrap();
    let credential = work.path().join("credential");
    std::fs::write(&credential, harmony.credential("hybrid-example")).unwrap();
    let apply = work.path().join("tree");
    // What an older agent left: the tree 0755, a stale file 0644 that is
    // still desired, and a temporary file 0666 from a crash.
    let namespace = apply.join(format!("airflow-{}", id.simple()));
    std::fs::create_dir_all(&namespace).unwrap();
    let stale = namespace.join("secret-airflow-secret-env.yaml.tmp");
    std::fs::write(&stale, "left by a crash").unwrap();
    for (path, mode) in [(&apply, 0o755), (&namespace, 0o755), (&stale, 0o666)] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let run = |poll: &str| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg("umask 000; exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_harmony-agent"))
            .args(["--harmony", &harmony.agent_url, "--credential-file"])
            .arg(&credential)
            .arg("--apply-dir")
            .arg(&apply)
            .args(["--poll-seconds", poll])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let child = KillOnDrop(run("1"));
    let applied_at = |revision: u64| {
        std::fs::read_to_string(apply.join(".harmony-agent/revision"))
            .is_ok_and(|r| r.trim().parse::<u64>().is_ok_and(|r| r >= revision))
    };
    let wait = |done: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(std::time::Instant::now() < deadline, "the agent never applied");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait(&|| applied_at(1));
    let secrets: Vec<String> =
        tree(&apply).into_iter().filter(|f| f.contains("/secret-")).collect();
    assert!(secrets.len() >= 3, "the Secret manifests were written: {secrets:?}");
    assert_eq!(wider_than_private(&apply), Vec::<String>::new());
    drop(child);

    // An older agent's tree: everything widened. The next apply (a new
    // generation; most files unchanged) narrows all of it.
    let mut stack = vec![apply.clone()];
    while let Some(path) = stack.pop() {
        let mode = if path.is_dir() { 0o755 } else { 0o644 };
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let revision: u64 = std::fs::read_to_string(apply.join(".harmony-agent/revision"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut next = hybrid(2);
    next.image_tag = "2.0.1".to_owned();
    harmony.put(&id, next).await;
    let _child = KillOnDrop(run("1"));
    wait(&|| applied_at(revision + 1));
    assert_eq!(wider_than_private(&apply), Vec::<String>::new());
}
