//! The binary as a supervisor runs it: it says its version, and SIGTERM
//! stops both its listeners cleanly, exit 0.

use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_harmony-server");

#[test]
fn the_binary_says_its_version() {
    test_support::says_its_version(BINARY, "harmony-server", env!("CARGO_PKG_VERSION"));
}

#[test]
fn sigterm_stops_it_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let [addr, agents] = test_support::free_addrs();
    let mut command = Command::new(BINARY);
    command
        .args(["--bind", &addr.to_string(), "--agent-bind", &agents.to_string(), "--dev-seed"])
        .arg("--data-dir")
        .arg(data.path());
    test_support::sigterm_stops_cleanly(command, &[addr, agents]);
}

/// Stalled request bodies (issue 19) on both of Harmony's listeners: a
/// client that sends its headers and part of a body, then nothing, is
/// answered 408 and closed once `--body-read-timeout` has passed, while
/// others are still answered.
#[test]
fn stalled_request_bodies_are_cut_off_on_both_listeners() {
    let data = tempfile::tempdir().unwrap();
    let [addr, agents] = test_support::free_addrs();
    let mut command = Command::new(BINARY);
    command
        .args(["--bind", &addr.to_string(), "--agent-bind", &agents.to_string(), "--dev-seed"])
        .args(["--body-read-timeout", "1"])
        .arg("--data-dir")
        .arg(data.path())
        .stdout(std::process::Stdio::null());
    let _server = test_support::Process::spawn(&mut command, &data.path().join("harmony.log"));
    test_support::wait_until_listening(addr);
    test_support::wait_until_listening(agents);
    let deadline = std::time::Duration::from_secs(1);
    test_support::stalled_bodies_are_cut_off(
        addr,
        &[
            "PUT /deployments/00000000-0000-4000-8000-000000000000 HTTP/1.1\r\nhost: harmony\r\napi-version: 4.0.0",
        ],
        32,
        ("GET /api-versions HTTP/1.1\r\nhost: harmony", 200),
        deadline,
    );
    test_support::stalled_bodies_are_cut_off(
        agents,
        &["POST /status HTTP/1.1\r\nhost: harmony\r\napi-version: 1.0.0"],
        32,
        ("GET /desired-state HTTP/1.1\r\nhost: harmony\r\napi-version: 1.0.0", 401),
        deadline,
    );
}

/// The admin listener of the real binary: `/livez` and `/readyz` answer,
/// and `/metrics` is OpenMetrics text (read by the Prometheus project's own
/// parser) counting each request by operation, status and API version,
/// requests refused before any handler ran included, and the fleet as the
/// store holds it. Its log is one JSON object per line.
#[test]
fn the_admin_listener_serves_metrics_health_and_readiness() {
    let data = tempfile::tempdir().unwrap();
    let [addr, agents, admin] = test_support::free_addrs();
    let mut command = Command::new(BINARY);
    command
        .args(["--bind", &addr.to_string(), "--agent-bind", &agents.to_string(), "--dev-seed"])
        .args(["--admin-bind", &admin.to_string(), "--log-format", "json"])
        .arg("--data-dir")
        .arg(data.path())
        .stdout(std::process::Stdio::null());
    let log = data.path().join("harmony.log");
    let mut server = test_support::Process::spawn(&mut command, &log);
    for listener in [addr, agents, admin] {
        test_support::wait_until_listening(listener);
    }
    let get = |head: &str| test_support::http(addr, head);
    assert_eq!(get("GET /api-versions HTTP/1.1").0, 200);
    assert_eq!(get("GET /api-versions HTTP/1.1").0, 200);
    assert_eq!(get("GET /data-planes HTTP/1.1\r\napi-version: 4.0.0").0, 200);
    assert_eq!(get("GET /data-planes HTTP/1.1\r\napi-version: 9.0.0").0, 400);
    assert_eq!(get("GET /no-such-thing HTTP/1.1\r\napi-version: 4.0.0").0, 404);
    assert_eq!(
        test_support::http(agents, "GET /desired-state HTTP/1.1\r\napi-version: 1.0.0").0,
        401
    );
    // A deployment on the example Hybrid plane: one revision rendered.
    let spec = serde_json::json!({
        "kind": "HYBRID", "organization_id": "local", "workspace_id": "ws",
        "data_plane_id": "hybrid-example", "name": "etl", "runtime_version": "13.1.0",
        "executor": "CELERY", "scheduler": {"au": 10, "replicas": 1},
        "worker_queues": [{"name": "default", "is_default": true, "min_worker_count": 1,
            "max_worker_count": 2, "worker_concurrency": 16, "node_pool_id": "pool"}],
        "image_tag": "13.1.0", "generation": 1
    });
    let put =
        "PUT /deployments/00000000-0000-4000-8000-000000000001 HTTP/1.1\r\napi-version: 4.0.0";
    let (status, _, body) = test_support::http_with_body(addr, put, &spec.to_string());
    assert_eq!(status, 200, "{body}");

    assert_eq!(test_support::http(admin, "GET /livez HTTP/1.1").0, 200);
    assert_eq!(test_support::http(admin, "GET /readyz HTTP/1.1").0, 200);
    // An agent holding a long poll is counted while it waits.
    let credential = agent_credential(data.path());
    let (_, _, state) = test_support::http(
        agents,
        &format!(
            "GET /desired-state?known_revision=0 HTTP/1.1\r\napi-version: 1.0.0\r\n\
             authorization: Bearer {credential}"
        ),
    );
    let revision = serde_json::from_str::<serde_json::Value>(&state).unwrap()["revision"].clone();
    // Held open until the server is killed at the end (not read: the answer
    // never comes before that).
    let mut poll = std::net::TcpStream::connect(agents).unwrap();
    std::io::Write::write_all(
        &mut poll,
        format!(
            "GET /desired-state?known_revision={revision}&wait_seconds=30 HTTP/1.1\r\n\
             host: test\r\napi-version: 1.0.0\r\nauthorization: Bearer {credential}\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !test_support::http(admin, "GET /metrics HTTP/1.1").2.contains("harmony_agents_polling 1")
    {
        assert!(std::time::Instant::now() < deadline, "the long poll was never counted");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (status, head, text) = test_support::http(admin, "GET /metrics HTTP/1.1");
    assert_eq!(status, 200);
    assert!(head.to_lowercase().contains("content-type: application/openmetrics-text"), "{head}");
    let Some(samples) = test_support::parse_openmetrics(&text) else { return };
    let value = |name: &str, labels: &[(&str, &str)]| test_support::sum(&samples, name, labels);
    let requests = "harmony_http_requests_total";
    assert_eq!(
        value(requests, &[("operation", "api_versions_get"), ("status", "200")]),
        2.0,
        "{text}"
    );
    let listed = [("operation", "data_plane_list"), ("status", "200"), ("api_version", "4.0.0")];
    assert_eq!(value(requests, &listed), 1.0, "{text}");
    assert_eq!(value("harmony_http_request_duration_seconds_count", &listed), 1.0, "{text}");
    // Refused before a handler ran: an unserved version (counted as
    // `other`: a label never takes a caller's value), an unknown path.
    let unserved = [("operation", "data_plane_list"), ("status", "400"), ("api_version", "other")];
    assert_eq!(value(requests, &unserved), 1.0, "{text}");
    assert_eq!(value(requests, &[("operation", "unknown"), ("status", "404")]), 1.0, "{text}");
    assert_eq!(
        value(requests, &[("operation", "desired_state_get"), ("status", "401")]),
        1.0,
        "{text}"
    );
    let rendered = [("cause", "change")];
    assert_eq!(value("harmony_render_duration_seconds_count", &rendered), 1.0, "{text}");
    // The registrations at start and the PUT, each committed by the writer.
    assert!(value("harmony_store_writes_total", &[]) >= 3.0, "{text}");
    assert!(value("harmony_store_write_groups_total", &[]) >= 1.0, "{text}");
    assert!(value("harmony_store_commit_seconds_total", &[]) > 0.0, "{text}");
    assert!(value("harmony_store_write_wait_seconds_total", &[]) > 0.0, "{text}");
    assert_eq!(value("harmony_agents_polling", &[]), 1.0, "{text}");
    assert_eq!(value("harmony_store_readers_waiting", &[]), 0.0, "{text}");
    // The local run's two example data planes, registered (which counts
    // as hearing from them) as it started.
    assert_eq!(value("harmony_data_planes", &[("status", "READY")]), 2.0, "{text}");
    let age = value("harmony_oldest_agent_heartbeat_age_seconds", &[]);
    assert!((0.0..600.0).contains(&age), "{text}");
    assert!(
        samples.iter().all(|s| s.name != "harmony_http_requests_total"
            || s.labels["operation"] != "unknown"
            || s.labels["status"] != "200"),
        "{text}"
    );

    server.kill().unwrap();
    server.wait().unwrap();
    let requests_logged = test_support::requests_in_json_log(&log);
    assert!(requests_logged >= 9, "{requests_logged} requests logged");
}

/// `/readyz` asks the database: once it is lost (Harmony's PostgreSQL
/// schema dropped under it), readiness answers 503 saying so, while
/// liveness still answers 200.
#[tokio::test]
async fn readiness_fails_when_the_database_is_lost() {
    let Some(schema) = sql_store::testing::TestSchema::create() else { return };
    let data = tempfile::tempdir().unwrap();
    let mut config =
        harmony_server::Config::new("127.0.0.1:0".parse().unwrap(), data.path().to_path_buf());
    config.database_url = Some(schema.url());
    config.secret_key = Some(harmony_server::render::SecretKey::development());
    config.service_token = Some(crate::common::SERVICE_TOKEN.to_owned());
    let log = crate::common::log();
    let server = harmony_server::start(&config, &log).expect("harmony starts");
    let admin = test_support::start_admin(
        harmony_server::fleet::readiness(server.app_private().clone()),
        &log,
    );
    let at = admin.local_addr();
    let get = move |path: &'static str| {
        tokio::task::spawn_blocking(move || test_support::http(at, &format!("GET {path} HTTP/1.1")))
    };
    assert_eq!(get("/readyz").await.unwrap().0, 200);
    schema.drop_now();
    let (status, _, body) = get("/readyz").await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not ready: database"), "{body}");
    assert_eq!(get("/livez").await.unwrap().0, 200);
}

/// SIGTERM does not wait out the agents' long polls: one held open (30 s
/// asked) when the signal arrives is answered at once, unchanged, and the
/// process exits 0 well before its wait would have ended (it used to hold
/// the stop for the whole wait).
#[test]
fn sigterm_answers_the_agents_long_polls_at_once() {
    let data = tempfile::tempdir().unwrap();
    let [addr, agents] = test_support::free_addrs();
    let log = data.path().join("harmony.log");
    let mut command = Command::new(BINARY);
    command
        .args(["--bind", &addr.to_string(), "--agent-bind", &agents.to_string(), "--dev-seed"])
        .args(["--log-level", "debug", "--log-format", "json"])
        .arg("--data-dir")
        .arg(data.path())
        .stdout(std::process::Stdio::null());
    let mut server = test_support::Process::spawn(&mut command, &log);
    test_support::wait_until_listening(agents);
    // Issued as an operator would, once the local run registered the plane.
    let credential = agent_credential(data.path());
    let ask = |wait: u32, known: u64| {
        format!(
            "GET /desired-state?known_revision={known}&wait_seconds={wait} HTTP/1.1\r\n\
             api-version: 1.0.0\r\nauthorization: Bearer {credential}"
        )
    };
    let (status, _, body) = test_support::http(agents, &ask(0, 0));
    assert_eq!(status, 200, "{body}");
    let revision =
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["revision"].as_u64().unwrap();
    let poll = std::thread::spawn({
        let head = ask(30, revision);
        move || test_support::http(agents, &head)
    });
    // The long poll is in flight once dropshot has logged its version (at
    // DEBUG, as it starts handling it).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_to_string(&log).unwrap().lines().any(|line| {
        line.contains("determined request API version") && line.contains("wait_seconds=30")
    }) {
        assert!(std::time::Instant::now() < deadline, "the long poll never arrived");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let asked = std::time::Instant::now();
    let sent =
        Command::new("kill").args(["-TERM", &server.id().to_string()]).status().expect("kill runs");
    assert!(sent.success());
    let (status, _, body) = poll.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["changed"], false);
    let exited = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(asked.elapsed() < std::time::Duration::from_secs(25), "still running");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(exited.code(), Some(0));
    assert!(
        asked.elapsed() < std::time::Duration::from_secs(15),
        "the stop waited {:?}: the long poll was waited out",
        asked.elapsed()
    );
}

/// A conventional command line: every flag in `--help` names the
/// environment variable that sets it, and the binary runs configured from
/// the environment alone.
#[test]
fn every_flag_can_come_from_the_environment() {
    let flags = test_support::flags_name_their_environment(BINARY, "HARMONY_", &[]);
    assert!(flags >= 18, "{flags} flags");

    let data = tempfile::tempdir().unwrap();
    let [addr, agents, admin] = test_support::free_addrs();
    let mut command = Command::new(BINARY);
    command
        .env("HARMONY_BIND", addr.to_string())
        .env("HARMONY_AGENT_BIND", agents.to_string())
        .env("HARMONY_ADMIN_BIND", admin.to_string())
        .env("HARMONY_DEV_SEED", "true")
        .env("HARMONY_MAX_API_VERSION", "2.0.0")
        .env("HARMONY_DATA_DIR", data.path())
        .stdout(std::process::Stdio::null());
    let _server = test_support::Process::spawn(&mut command, &data.path().join("harmony.log"));
    for listener in [addr, agents, admin] {
        test_support::wait_until_listening(listener);
    }
    let (status, _, body) = test_support::http(addr, "GET /api-versions HTTP/1.1");
    assert_eq!(status, 200);
    let served: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        served["served"],
        serde_json::json!(["1.0.0", "2.0.0"]),
        "capped from the environment"
    );
    assert_eq!(test_support::http(admin, "GET /readyz HTTP/1.1").0, 200);
}

/// The example Hybrid plane's agent credential, issued as an operator
/// would: `harmony-server agent-credential` against the data directory.
fn agent_credential(data: &std::path::Path) -> String {
    let credential = Command::new(BINARY)
        .args(["agent-credential", "--data-plane", "hybrid-example", "--dev-seed", "--data-dir"])
        .arg(data)
        .output()
        .unwrap();
    assert!(credential.status.success(), "{}", String::from_utf8_lossy(&credential.stderr));
    String::from_utf8(credential.stdout).unwrap().trim().to_owned()
}

/// Issue 34: the raw `api-version` header was a metric label, even on the
/// agent API's 401 (which needs no credential to reach), so anyone who could
/// reach a listener grew Harmony's memory and every scrape for ever. Now
/// 10,000 requests with distinct header values, methods and paths, to both
/// listeners and without a credential, leave the scrape's series count as
/// it was.
#[tokio::test]
async fn distinct_header_values_add_no_metric_series() {
    let data = tempfile::tempdir().unwrap();
    let [addr, agents, admin] = test_support::free_addrs();
    let mut command = Command::new(BINARY);
    command
        .args(["--bind", &addr.to_string(), "--agent-bind", &agents.to_string(), "--dev-seed"])
        .args(["--admin-bind", &admin.to_string()])
        .arg("--data-dir")
        .arg(data.path())
        .stdout(std::process::Stdio::null());
    let _server = test_support::Process::spawn(&mut command, &data.path().join("harmony.log"));
    for listener in [addr, agents, admin] {
        test_support::wait_until_listening(listener);
    }
    let client = reqwest::Client::new();
    let send = |round: usize| {
        let client = client.clone();
        async move {
            for i in 0..1_000 {
                let n = round * 1_000 + i;
                let (listener, path) = match n % 2 {
                    0 => (agents, format!("/desired-state?n={n}")),
                    _ => (addr, format!("/no-such-path-{n}")),
                };
                let method = if n.is_multiple_of(3) { "BREW" } else { "GET" };
                let status = client
                    .request(method.parse().unwrap(), format!("http://{listener}{path}"))
                    .header("api-version", format!("{n}.0.{n}-x{n}"))
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert!(status.is_client_error(), "{n}: {status}");
            }
        }
    };
    let scrape = || async {
        let text = tokio::task::spawn_blocking(move || {
            test_support::http(admin, "GET /metrics HTTP/1.1").2
        })
        .await
        .unwrap();
        let series = text
            .lines()
            .filter(|l| l.starts_with("harmony_http_request") && !l.starts_with('#'))
            .count();
        (series, text)
    };
    // Every kind of request once, so each closed set's `other` exists.
    send(0).await;
    let (before, _) = scrape().await;
    futures_join(vec![send(1), send(2), send(3), send(4), send(5)]).await;
    futures_join(vec![send(6), send(7), send(8), send(9)]).await;
    let (after, text) = scrape().await;
    let leaked: Vec<&str> = text.lines().filter(|l| l.contains("-x")).take(5).collect();
    assert_eq!(before, after, "series grew with distinct request values, e.g. {leaked:#?}");
    assert!(leaked.is_empty(), "a request's own value became a label: {leaked:#?}");
    assert!(text.contains(r#"api_version="other""#), "no `other` series");
}

/// Runs `futures` at once and waits for all of them.
async fn futures_join(futures: Vec<impl std::future::Future<Output = ()> + Send + 'static>) {
    let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    for task in tasks {
        task.await.unwrap();
    }
}

/// Issue 34: a connection that sent nothing stayed open on every listener
/// for ever, and 1,100 of them to the agent API, at the default limit of
/// 1,024 files, took the main API, `/livez` and the agent API down
/// together. Now, under that same file limit, 1,100 silent sockets held
/// against each listener in turn leave every listener answering (a
/// newcomer takes the place of a connection that never spoke), the
/// process never runs out of files, and silent connections are closed.
#[test]
fn silent_connections_take_no_listener_down() {
    let data = tempfile::tempdir().unwrap();
    let [addr, agents, admin] = test_support::free_addrs();
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("ulimit -n 1024 && exec \"$0\" \"$@\"")
        .arg(BINARY)
        .args(["--bind", &addr.to_string(), "--agent-bind", &agents.to_string(), "--dev-seed"])
        .args(["--admin-bind", &admin.to_string(), "--idle-timeout", "4", "--log-format", "json"])
        .arg("--data-dir")
        .arg(data.path())
        .stdout(std::process::Stdio::null());
    let log = data.path().join("harmony.log");
    let _server = test_support::Process::spawn(&mut command, &log);
    for listener in [addr, agents, admin] {
        test_support::wait_until_listening(listener);
    }
    test_support::silent_sockets_take_no_listener_down(
        &[
            (agents, "GET /desired-state HTTP/1.1\r\napi-version: 1.0.0", 401),
            (addr, "GET /api-versions HTTP/1.1", 200),
            (admin, "GET /livez HTTP/1.1", 200),
        ],
        1_100,
        std::time::Duration::from_secs(4),
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("Too many open files"), "the process ran out of files");
}
