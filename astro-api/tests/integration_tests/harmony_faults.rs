//! Harmony down, or at an older version, and astro-api killed: changes are
//! accepted durably and delivered later, or refused at once with a clear
//! 503 and nothing written; never a 500, never lost, never applied twice.

use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

use sql_store::{Backend, on_both_backends};

on_both_backends!(
    a_create_whose_placement_cannot_be_found_is_a_503_and_writes_nothing,
    changes_made_while_harmony_is_down_are_accepted_and_delivered_when_it_is_back,
    two_replicas_share_placements_and_deliver_each_change_once,
);

/// Two astro-api replicas on one database: a replica that has not placed
/// anything yet can still accept creates while Harmony is down (placements
/// are shared through the database), and changes accepted by either are
/// each delivered once when Harmony is back, whichever replica's worker
/// takes them (outbox entries are claimed). Counted from Harmony's own
/// request log: one successful PUT per deployment.
async fn two_replicas_share_placements_and_deliver_each_change_once(backend: Backend) {
    let logs = tempfile::tempdir().unwrap();
    let Some(mut stack) = Stack::on_logging_to(backend, logs.path()).await else { return };
    let replica = stack.replica();
    let replica_url = format!("http://{}", replica.local_addr());
    let client = authorized(&stack.token);
    // Only the first replica has placed a deployment on the shared cluster;
    // the second, asked while Harmony is down, finds that placement in the
    // database they share.
    let (_, seed) = stack.create(&standard()).await;
    let seed_path = format!("/organizations/org-1/deployments/{}", seed["id"].as_str().unwrap());
    stack.call(Method::DELETE, &seed_path, None).await;
    stack.wait_until_delivered().await;
    stack.stop_harmony().await;

    let mut ids = Vec::new();
    for d in 0..40 {
        let mut body = standard();
        body["name"] = json!(format!("etl-{d}"));
        // Half through each replica.
        let base = if d % 2 == 0 { &stack.url } else { &replica_url };
        let response = client
            .post(format!("{base}/organizations/org-1/deployments"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let created: serde_json::Value = response.json().await.unwrap();
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    stack.restart_harmony();
    let all = stack.wait_until_delivered().await;
    assert_eq!(all.len(), ids.len());

    let log = std::fs::read_to_string(logs.path().join("harmony.log")).unwrap();
    let mut puts: std::collections::BTreeMap<&str, usize> = Default::default();
    for line in log.lines() {
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let uri = entry["uri"].as_str().unwrap_or_default();
        if entry["method"] == "PUT"
            && entry["response_code"] == 200
            && let Some(id) = ids.iter().find(|i| uri == format!("/deployments/{i}"))
        {
            *puts.entry(id.as_str()).or_default() += 1;
        }
    }
    let twice: Vec<_> = puts.iter().filter(|(_, n)| **n > 1).collect();
    assert_eq!(puts.len(), ids.len(), "every change reached Harmony: {puts:?}");
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    eprintln!(
        "two astro-api replicas ({backend:?}): {} changes, {} deliveries, none twice",
        ids.len(),
        puts.values().sum::<usize>()
    );
    replica.close().await.unwrap();
}

async fn a_create_whose_placement_cannot_be_found_is_a_503_and_writes_nothing(backend: Backend) {
    let Some(mut stack) = Stack::on(backend).await else { return };
    stack.stop_harmony().await;
    // A fresh astro-api has never seen a shared cluster in this region, and
    // Harmony cannot be asked: nowhere to put it.
    let (status, body) = stack.create(&standard()).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error_code"], "HarmonyUnavailable");
    assert_eq!(body["retry_after_seconds"], 5);
    assert!(!body["request_id"].as_str().unwrap().is_empty());
    assert!(stack.list().await.is_empty(), "nothing half-written");

    // Back up: the same request now succeeds, and Harmony has it.
    stack.restart_harmony();
    let (status, body) = stack.create(&standard()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (body["generation"].as_u64(), body["delivered_generation"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(body["status"], "DEPLOYING");
}

async fn changes_made_while_harmony_is_down_are_accepted_and_delivered_when_it_is_back(
    backend: Backend,
) {
    let Some(mut stack) = Stack::on(backend).await else { return };
    let (_, first) = stack.create(&standard()).await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    let (_, second) = stack.create(&hybrid()).await;
    let second_path =
        format!("/organizations/org-1/deployments/{}", second["id"].as_str().unwrap());
    stack.stop_harmony().await;

    // An update: accepted, pending, saying what it waits for.
    let mut update = standard();
    update["worker_queues"][0]["max_worker_count"] = json!(20);
    let path = format!("/organizations/org-1/deployments/{first_id}");
    let (status, body) = stack.call(Method::POST, &path, Some(&update)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "DEPLOYING");
    assert_eq!(
        (body["generation"].as_u64(), body["delivered_generation"].as_u64()),
        (Some(2), Some(1))
    );
    let reason = body["status_reason"].as_str().unwrap();
    assert!(reason.contains("waits for Harmony") && reason.contains("unavailable"), "{reason}");

    // A create on a cluster astro-api has placed work on before: accepted,
    // CREATING until Harmony has it.
    let mut other = standard();
    other["name"] = json!("etl-2");
    let (status, created) = stack.create(&other).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "CREATING");
    assert_eq!(created["delivered_generation"], 0);

    // A delete: gone from astro-api at once, from Harmony once it is back.
    let (status, _) = stack.call(Method::DELETE, &second_path, None).await;
    assert_eq!(status, 204);
    let (status, _) = stack.call(Method::GET, &second_path, None).await;
    assert_eq!(status, 404);

    stack.restart_harmony();
    let all = stack.wait_until_delivered().await;
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|d| d["status"] == "DEPLOYING"), "{all:#?}");
    let at_harmony = stack.harmony_deployment(&first_id).await.expect("Harmony has it");
    assert_eq!((at_harmony.generation, at_harmony.worker_queues[0].max_worker_count), (2, 20));
    assert!(stack.harmony_deployment(created["id"].as_str().unwrap()).await.is_some());
    // The deletion is an outbox entry of its own, delivered in its own time
    // (no listed deployment waits on it).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while stack.harmony_deployment(second["id"].as_str().unwrap()).await.is_some() {
        assert!(std::time::Instant::now() < deadline, "the deletion never reached Harmony");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The handoff under load: 200 creates and updates accepted while Harmony is
/// down arrive, once Harmony is back, each exactly once and in order per
/// deployment. Every update changes what Harmony renders, and Harmony refuses
/// a generation older than the one it has, so "revision == generation == 10"
/// at Harmony means all ten generations of a deployment arrived, in order,
/// and none was applied twice.
#[tokio::test]
async fn two_hundred_changes_accepted_while_harmony_is_down_arrive_once_and_in_order() {
    const DEPLOYMENTS: usize = 20;
    const GENERATIONS: u64 = 10;
    let mut stack = Stack::start().await;
    // Seen once, the shared cluster can be placed on while Harmony is down.
    let (_, seed) = stack.create(&standard()).await;
    let seed_path = format!("/organizations/org-1/deployments/{}", seed["id"].as_str().unwrap());
    stack.call(Method::DELETE, &seed_path, None).await;
    stack.stop_harmony().await;

    let mut accepted = 0;
    let mut ids = Vec::new();
    for d in 0..DEPLOYMENTS {
        let mut body = standard();
        body["name"] = json!(format!("etl-{d}"));
        let (status, created) = stack.create(&body).await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["id"].as_str().unwrap().to_owned());
        accepted += 1;
    }
    for generation in 2..=GENERATIONS {
        for (d, id) in ids.iter().enumerate() {
            let mut body = standard();
            body["name"] = json!(format!("etl-{d}"));
            body["worker_queues"][0]["max_worker_count"] = json!(generation);
            let path = format!("/organizations/org-1/deployments/{id}");
            let (status, updated) = stack.call(Method::POST, &path, Some(&body)).await;
            assert_eq!(status, 200, "{updated}");
            assert_eq!(updated["generation"], generation);
            accepted += 1;
        }
    }
    assert_eq!(accepted, 200);

    stack.restart_harmony();
    let all = stack.wait_until_delivered().await;
    assert_eq!(all.len(), DEPLOYMENTS);
    for id in &ids {
        let at_harmony = stack.harmony_deployment(id).await.expect("Harmony has it");
        assert_eq!(
            (at_harmony.generation, at_harmony.revision),
            (GENERATIONS, GENERATIONS),
            "deployment {id}"
        );
        assert_eq!(at_harmony.worker_queues[0].max_worker_count, GENERATIONS as u32);
    }
}

/// Where [`killed_with_a_change_queued`] left things: both services
/// stopped, and astro-api's database holding generation 2 of deployment
/// `id`, committed and not yet delivered (generation 1 was).
struct KilledWithAChangeQueued {
    harmony_data: tempfile::TempDir,
    harmony_addr: std::net::SocketAddr,
    astro_data: tempfile::TempDir,
    astro_addr: std::net::SocketAddr,
    token: String,
    id: String,
    /// The deployment's URL at astro-api.
    path: String,
}

impl KilledWithAChangeQueued {
    fn start_harmony(&self) -> dropshot::HttpServer<harmony_server::http::Context> {
        start_harmony(self.harmony_data.path(), self.harmony_addr, None)
    }

    fn spawn_astro(&self) -> test_support::Process {
        spawn_astro(self.astro_addr, &self.harmony_addr.to_string(), self.astro_data.path())
    }

    async fn at_harmony(&self) -> harmony_client::latest::types::Deployment {
        at_harmony(self.harmony_addr, &self.id).await
    }
}

/// Deployment `id` as the Harmony at `addr` has it.
async fn at_harmony(
    addr: std::net::SocketAddr,
    id: &str,
) -> harmony_client::latest::types::Deployment {
    harmony_client::latest::Client::new_with_client(&format!("http://{addr}"), harmony_http())
        .deployment_get(&id.parse().unwrap())
        .await
        .unwrap()
        .into_inner()
}

/// A deployment created and delivered, then an update (max_worker_count 7)
/// accepted while Harmony is down, then astro-api killed (SIGKILL).
async fn killed_with_a_change_queued() -> KilledWithAChangeQueued {
    let harmony_data = tempfile::tempdir().unwrap();
    let [harmony_addr, astro_addr] = test_support::free_addrs();
    let harmony = start_harmony(harmony_data.path(), harmony_addr, None);
    let astro_data = tempfile::tempdir().unwrap();
    let url = format!("http://{astro_addr}");
    let mut process = spawn_astro(astro_addr, &harmony_addr.to_string(), astro_data.path());
    let token = read_token_file(&astro_data.path().join("token"));
    let client = authorized(&token);
    let created = created_and_delivered(&client, &url, &standard()).await;
    let id = created["id"].as_str().unwrap().to_owned();

    harmony.close().await.unwrap();
    let mut update = standard();
    update["worker_queues"][0]["max_worker_count"] = json!(7);
    let path = format!("{url}/organizations/org-1/deployments/{id}");
    let updated: Value =
        client.post(&path).json(&update).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (updated["generation"].as_u64(), updated["delivered_generation"].as_u64()),
        (Some(2), Some(1))
    );
    process.kill().unwrap();
    process.wait().unwrap();
    KilledWithAChangeQueued { harmony_data, harmony_addr, astro_data, astro_addr, token, id, path }
}

/// astro-api killed (SIGKILL) after committing a change Harmony has not
/// received: the restarted process delivers it.
#[tokio::test]
async fn a_change_committed_before_astro_api_is_killed_is_delivered_after_restart() {
    let queued = killed_with_a_change_queued().await;
    let harmony = queued.start_harmony();
    let mut process = queued.spawn_astro();
    // A new client: the old one's pooled connection died with the process.
    wait_delivered(&authorized(&queued.token), &queued.path, 2).await;
    let at_harmony = queued.at_harmony().await;
    assert_eq!((at_harmony.generation, at_harmony.worker_queues[0].max_worker_count), (2, 7));
    process.kill().unwrap();
    process.wait().unwrap();
    harmony.close().await.unwrap();
}

/// The database files of an astro-api data directory (`astro.sqlite3` and
/// its log), copied from `from` to `to`; a file `from` lacks is removed
/// from `to`.
fn copy_database(from: &std::path::Path, to: &std::path::Path) {
    for name in ["astro.sqlite3", "astro.sqlite3-wal", "astro.sqlite3-shm"] {
        let (source, target) = (from.join(name), to.join(name));
        match source.exists() {
            true => {
                std::fs::copy(&source, &target).unwrap();
            }
            false => {
                let _ = std::fs::remove_file(&target);
            }
        }
    }
}

/// A delivery outcome is a redoable write (committed without waiting for
/// the disk): a power failure can lose it after Harmony has the change.
/// Shown here by putting back astro-api's database as it was before the
/// outcome was recorded: the restarted process delivers the change again,
/// Harmony takes the repeat as a no-op (no new revision), and the outcome
/// ends recorded, with no error.
#[tokio::test]
async fn a_delivery_outcome_lost_after_harmony_took_the_change_is_redone_without_effect() {
    let queued = killed_with_a_change_queued().await;
    let before_outcome = tempfile::tempdir().unwrap();
    copy_database(queued.astro_data.path(), before_outcome.path());

    // Delivered and recorded; then the record is lost.
    let harmony = queued.start_harmony();
    let mut process = queued.spawn_astro();
    wait_delivered(&authorized(&queued.token), &queued.path, 2).await;
    let first = queued.at_harmony().await;
    assert_eq!((first.generation, first.revision), (2, 2));
    process.kill().unwrap();
    process.wait().unwrap();
    copy_database(before_outcome.path(), queued.astro_data.path());
    // Read from the files, not through the restarted process: its worker
    // may redeliver before any request of ours is answered.
    let lost = {
        let path = queued.astro_data.path().join("astro.sqlite3");
        let store =
            astro_api::store::Store::open(&sql_store::Location::Sqlite(path), test_sealer())
                .unwrap();
        let id = queued.id.parse().unwrap();
        store.get("org-1", id).unwrap().expect("the deployment is stored").delivery
    };
    assert_eq!(lost.delivered_generation, 1, "the outcome is lost: {lost:?}");

    let mut process = queued.spawn_astro();
    let client = authorized(&queued.token);
    let now = wait_delivered(&client, &queued.path, 2).await;
    let reason = now["status_reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("Harmony has generation 2"), "no error left: {now}");
    let again = queued.at_harmony().await;
    assert_eq!(
        (again.generation, again.revision, again.updated_at),
        (2, 2, first.updated_at),
        "the repeat changed nothing at Harmony"
    );
    process.kill().unwrap();
    process.wait().unwrap();
    harmony.close().await.unwrap();
}

/// astro-api killed (SIGKILL) while it is delivering a change (Harmony
/// accepted the connection and has not answered): the change stays
/// claimed by the dead process only until its claim runs out, a few
/// seconds, and the restarted process delivers it then.
#[tokio::test]
async fn a_change_in_flight_when_astro_api_is_killed_is_delivered_soon_after_restart() {
    let harmony_data = tempfile::tempdir().unwrap();
    let [harmony_addr, astro_addr] = test_support::free_addrs();
    let harmony = start_harmony(harmony_data.path(), harmony_addr, None);
    let astro_data = tempfile::tempdir().unwrap();
    let url = format!("http://{astro_addr}");
    let mut process = spawn_astro(astro_addr, &harmony_addr.to_string(), astro_data.path());
    let client = authorized(&read_token_file(&astro_data.path().join("token")));
    let created = created_and_delivered(&client, &url, &standard()).await;
    let id = created["id"].as_str().unwrap().to_owned();

    // A Harmony that takes connections and never answers.
    harmony.close().await.unwrap();
    // It tells when the change's PUT has arrived: astro-api has committed
    // the change and is delivering it.
    let silent = tokio::net::TcpListener::bind(harmony_addr).await.unwrap();
    let (put_arrived, arrived) = tokio::sync::mpsc::unbounded_channel::<()>();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((connection, _)) = silent.accept().await {
            let put_arrived = put_arrived.clone();
            open.push(tokio::spawn(async move {
                use tokio::io::AsyncReadExt as _;
                let mut connection = connection;
                let mut seen = Vec::new();
                let mut buffer = [0u8; 4096];
                while let Ok(n @ 1..) = connection.read(&mut buffer).await {
                    seen.extend_from_slice(&buffer[..n]);
                    if seen.windows(17).any(|w| w == b"PUT /deployments/") {
                        let _ = put_arrived.send(());
                    }
                }
            }));
        }
    });
    let mut update = standard();
    update["worker_queues"][0]["max_worker_count"] = json!(7);
    let path = format!("{url}/organizations/org-1/deployments/{id}");
    let request = tokio::spawn(client.post(&path).json(&update).send());
    let mut arrived = arrived;
    tokio::time::timeout(Duration::from_secs(60), arrived.recv())
        .await
        .expect("the change's delivery reached the silent Harmony");
    process.kill().unwrap();
    process.wait().unwrap();
    let _ = request.await;
    held.abort(); // closes the listener and the connections it held
    let _ = held.await;

    let harmony = start_harmony(harmony_data.path(), harmony_addr, None);
    let started = std::time::Instant::now();
    let mut process = spawn_astro(astro_addr, &harmony_addr.to_string(), astro_data.path());
    let client = authorized(&read_token_file(&astro_data.path().join("token")));
    wait_delivered(&client, &path, 2).await;
    assert!(
        started.elapsed() < astro_api::store::CLAIM * 2,
        "delivered {:?} after the restart; a dead process's claim lasts {:?}",
        started.elapsed(),
        astro_api::store::CLAIM
    );
    process.kill().unwrap();
    process.wait().unwrap();
    harmony.close().await.unwrap();
}

/// Creates a deployment through astro-api at `url` and checks it reached
/// Harmony in the same request.
async fn created_and_delivered(client: &reqwest::Client, url: &str, body: &Value) -> Value {
    let created: Value = client
        .post(format!("{url}/organizations/org-1/deployments"))
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["delivered_generation"], 1, "{created}");
    created
}

/// The astro-api binary of this crate, listening on `addr`.
fn spawn_astro(
    addr: std::net::SocketAddr,
    harmony: &str,
    data: &std::path::Path,
) -> test_support::Process {
    let credential = data.join("harmony-credential");
    std::fs::write(&credential, HARMONY_TOKEN).unwrap();
    let child = test_support::Process::spawn(
        std::process::Command::new(env!("CARGO_BIN_EXE_astro-api"))
            .args(["--bind", &addr.to_string(), "--harmony", &format!("http://{harmony}")])
            .arg("--harmony-token-file")
            .arg(&credential)
            .args(["--bootstrap", "org-1/ws-1", "--bootstrap-token-file"])
            .arg(data.join("token"))
            .arg("--data-dir")
            .arg(data)
            .stdout(std::process::Stdio::null()),
        &data.join("astro-api.log"),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        assert!(std::time::Instant::now() < deadline, "astro-api did not listen on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

#[tokio::test]
async fn an_old_harmony_does_hybrid_work_through_1_0_0_and_names_the_gap_for_the_rest() {
    let stack = Stack::start_with_harmony_version(Some(semver::Version::new(1, 0, 0))).await;
    // Hybrid work has a 1.0.0 form: done through the old version.
    let (status, body) = stack.create(&hybrid()).await;
    assert_eq!(status, 201, "{body}");
    let at_harmony = stack.harmony_deployment_v1(body["id"].as_str().unwrap()).await;
    assert_eq!(at_harmony.expect("Harmony has it").name, "customer-etl");

    // Hosted work has none: a 503 naming the cell and the gap.
    let (status, body) = stack.create(&standard()).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error_code"], "HarmonyVersionUnsupported");
    assert_eq!(
        body["version_gap"],
        serde_json::json!({"cell": "default", "required": ["2.0.0"], "available": ["1.0.0"]})
    );
    assert_eq!(body["retry_after_seconds"], 5);
    assert_eq!(stack.list().await.len(), 1, "only the Hybrid deployment was stored");

    let (_, ready) = stack.call(Method::GET, "/readyz", None).await;
    assert_eq!(ready["cells"][0]["api_version"], "1.0.0");
    assert_eq!(ready["cells"][0]["degraded"], true);
}

/// Harmony refusing astro-api's service credential is an operator's fix:
/// a clear 503 naming it (astro-api cannot even place the deployment), never
/// a 500, nothing half-written, and the credential never echoed.
#[tokio::test]
async fn a_refused_service_credential_is_a_clear_503_and_writes_nothing() {
    let harmony_data = tempfile::tempdir().unwrap();
    let harmony = start_harmony(harmony_data.path(), "127.0.0.1:0".parse().unwrap(), None);
    let astro_data = tempfile::tempdir().unwrap();
    let mut config = astro_api::Config::new(
        "127.0.0.1:0".parse().unwrap(),
        astro_data.path().to_path_buf(),
        format!("http://{}", harmony.local_addr()),
    );
    config.harmony_token = Some("not-the-credential-harmony-wants-0123456789".to_owned());
    let log = slog::Logger::root(slog::Discard, slog::o!());
    let astro = astro_api::start(&config, &log).unwrap();
    let token = bootstrap(&astro, "org-1", "ws-1").await;
    let client = authorized(&token);
    let url = format!("http://{}", astro.local_addr());
    let deployments = format!("{url}/organizations/org-1/deployments");
    let response = client.post(&deployments).json(&hybrid()).send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!((status, body["error_code"].as_str()), (503, Some("HarmonyUnavailable")), "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("refused astro-api's service credential"), "{body}");
    assert!(!body.to_string().contains("not-the-credential"), "never echoed: {body}");
    let listed: Value = client.get(&deployments).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["items"], json!([]), "nothing written");
    astro.close().await.unwrap();
    harmony.close().await.unwrap();
}

/// A Harmony that answers slower than astro-api's deadline: astro-api
/// answers within its own deadline, clearly (the change is accepted and
/// pending, naming the timeout), and delivers it once Harmony is quick
/// again; nothing is lost.
#[tokio::test]
async fn a_slow_harmony_gets_a_clear_answer_within_the_deadline_and_loses_nothing() {
    let harmony_data = tempfile::tempdir().unwrap();
    let harmony = start_harmony(harmony_data.path(), "127.0.0.1:0".parse().unwrap(), None);
    let proxy = SlowProxy::start(harmony.local_addr()).await;
    let astro_data = tempfile::tempdir().unwrap();
    let mut config = config_behind(&proxy, astro_data.path());
    config.harmony_timeout = Duration::from_millis(800);
    config.handoff_wait = Duration::from_millis(1500);
    config.handoff_max_backoff = Duration::from_millis(200);
    let log = slog::Logger::root(slog::Discard, slog::o!());
    let astro = astro_api::start(&config, &log).unwrap();
    let client = authorized(&bootstrap(&astro, "org-1", "ws-1").await);
    let url = format!("http://{}", astro.local_addr());
    let created = created_and_delivered(&client, &url, &hybrid()).await;
    let path = format!("{url}/organizations/org-1/deployments/{}", created["id"].as_str().unwrap());

    proxy.set_delay(Duration::from_secs(5));
    let mut update = hybrid();
    update["image_tag"] = json!("slow-v2");
    let started = std::time::Instant::now();
    let response = client.post(&path).json(&update).send().await.unwrap();
    let took = started.elapsed();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(took < Duration::from_secs(3), "answered after {took:?}, past its own deadline");
    assert_eq!(
        (body["generation"].as_u64(), body["delivered_generation"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(body["status"], "DEPLOYING", "{body}");
    assert!(body["status_reason"].as_str().unwrap_or_default().contains("timed out"), "{body}");

    proxy.set_delay(Duration::ZERO);
    let delivered = wait_delivered(&client, &path, 2).await;
    assert_eq!(delivered["image_tag"], "slow-v2");
    let at_harmony = at_harmony(harmony.local_addr(), created["id"].as_str().unwrap()).await;
    assert_eq!((at_harmony.generation, at_harmony.image_tag.as_str()), (2, "slow-v2"));
    astro.close().await.unwrap();
    harmony.close().await.unwrap();
}

/// An in-process astro-api's configuration (data in `data`, the service
/// credential) reaching Harmony through `proxy`.
fn config_behind(proxy: &SlowProxy, data: &std::path::Path) -> astro_api::Config {
    let mut config = astro_api::Config::new(
        "127.0.0.1:0".parse().unwrap(),
        data.to_path_buf(),
        proxy.url.clone(),
    );
    config.harmony_token = Some(HARMONY_TOKEN.to_owned());
    config
}

/// A delivery slower than a claim lasts: the process delivering it keeps
/// renewing its claim, so a second replica's worker (polling every second)
/// does not take the entry and deliver it again. Both replicas run on one
/// manual clock: Harmony's answer is held while the clock passes the claim
/// a third at a time, and after each step the renewal is in the store and
/// every worker has gone back to sleep (a worker that took the entry would
/// be held delivering it). Counted from Harmony's request log: one PUT of
/// the change.
#[tokio::test]
async fn a_delivery_slower_than_a_claim_keeps_it_and_is_not_repeated_by_a_replica() {
    use astro_api::clock::{Clock, ManualClock};
    use astro_api::store::CLAIM;
    let logs = tempfile::tempdir().unwrap();
    let harmony_data = tempfile::tempdir().unwrap();
    let harmony = start_harmony_logging(
        harmony_data.path(),
        "127.0.0.1:0".parse().unwrap(),
        None,
        &file_log(&logs.path().join("harmony.log")),
    );
    let proxy = SlowProxy::start(harmony.local_addr()).await;
    let astro_data = tempfile::tempdir().unwrap();
    let mut config = config_behind(&proxy, astro_data.path());
    // Deadlines stay on the runtime's timer: long enough for the whole test.
    config.harmony_timeout = Duration::from_secs(60);
    config.negotiation_ttl = Duration::from_secs(120);
    config.handoff_wait = Duration::from_millis(500);
    let log = slog::Logger::root(slog::Discard, slog::o!());
    let clock = ManualClock::new(sql_store::now());
    let astro =
        astro_api::start_with_clock(&config, &log, std::sync::Arc::new(clock.clone())).unwrap();
    let replica =
        astro_api::start_with_clock(&config, &log, std::sync::Arc::new(clock.clone())).unwrap();
    let client = authorized(&bootstrap(&astro, "org-1", "ws-1").await);
    let url = format!("http://{}", astro.local_addr());
    let created = created_and_delivered(&client, &url, &hybrid()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("{url}/organizations/org-1/deployments/{id}");
    // Each replica's delivery worker and claim renewer.
    let sleepers = 4;

    proxy.hold();
    let mut update = hybrid();
    update["image_tag"] = json!("slow-v2");
    let response: Value =
        client.post(&path).json(&update).send().await.unwrap().json().await.unwrap();
    assert_eq!(response["delivered_generation"], 1, "answered before the delivery: {response}");
    let outbox = astro_api::store::Store::open(
        &astro_api::store::Location::Sqlite(astro_data.path().join("astro.sqlite3")),
        test_sealer(),
    )
    .unwrap();
    for step in 1..=4 {
        clock.advance(CLAIM / 3);
        tokio::time::timeout(Duration::from_secs(30), clock.settled(sleepers))
            .await
            .unwrap_or_else(|_| panic!("step {step}: a worker is still busy (delivering again?)"));
        let claimed_until = outbox.outbox_next_due().unwrap();
        assert_eq!(
            claimed_until,
            Some(clock.now_ms() + CLAIM.as_millis() as i64),
            "step {step}: the claim was not renewed"
        );
    }
    proxy.release();
    let delivered = wait_delivered(&client, &path, 2).await;
    assert_eq!(delivered["image_tag"], "slow-v2");
    // Harmony logs a request once it has answered it: wait for both.
    let puts = || {
        std::fs::read_to_string(logs.path().join("harmony.log"))
            .unwrap()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|entry| {
                entry["method"] == "PUT"
                    && entry["response_code"] == 200
                    && entry["uri"] == format!("/deployments/{id}")
            })
            .count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while puts() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let puts = puts();
    assert_eq!(puts, 2, "the create and the update, each once: {puts}");
    replica.close().await.unwrap();
    astro.close().await.unwrap();
    harmony.close().await.unwrap();
}
