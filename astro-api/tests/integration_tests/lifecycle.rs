//! The binary as a supervisor runs it: it says its version, and SIGTERM
//! (what Kubernetes sends before it kills) stops it cleanly, exit 0.

use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_astro-api");

#[test]
fn the_binary_says_its_version() {
    test_support::says_its_version(BINARY, "astro-api", env!("CARGO_PKG_VERSION"));
}

#[test]
fn sigterm_stops_it_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let [addr] = test_support::free_addrs();
    let mut command = Command::new(BINARY);
    command
        .args(["--bind", &addr.to_string(), "--harmony", "http://127.0.0.1:9"])
        .arg("--data-dir")
        .arg(data.path());
    test_support::sigterm_stops_cleanly(command, &[addr]);
}

/// The security probe's stalled bodies (issue 19): clients that send their
/// headers and part of a body, then nothing, are answered 408 and closed
/// once `--body-read-timeout` has passed (they were held for ever: dropshot
/// reads a body with no deadline), unauthenticated ones included, while the
/// server keeps answering others.
#[test]
fn stalled_request_bodies_are_cut_off() {
    let data = tempfile::tempdir().unwrap();
    let [addr] = test_support::free_addrs();
    let mut command = Command::new(BINARY);
    command
        .args(["--bind", &addr.to_string(), "--harmony", "http://127.0.0.1:9"])
        .args(["--body-read-timeout", "1"])
        .arg("--data-dir")
        .arg(data.path())
        .stdout(std::process::Stdio::null());
    let _server = test_support::Process::spawn(&mut command, &data.path().join("astro-api.log"));
    test_support::wait_until_listening(addr);
    test_support::stalled_bodies_are_cut_off(
        addr,
        &[
            "POST /organizations/o/workspaces HTTP/1.1\r\nhost: astro",
            "POST /organizations/o/deployments HTTP/1.1\r\nhost: astro\r\nauthorization: Bearer x",
        ],
        32,
        ("GET /organizations/o HTTP/1.1\r\nhost: astro", 401),
        std::time::Duration::from_secs(1),
    );
}

/// The admin listener of the real binary: `/livez` answers, `/readyz` says
/// why it is not ready (no Harmony cell answers),
/// and `/metrics` is OpenMetrics text (read by the Prometheus project's own
/// parser) counting each request by operation and status, those refused
/// before a handler ran included, and the outbox's state. Its log is one
/// JSON object per line, each request's lines carrying its request id.
#[test]
fn the_admin_listener_serves_metrics_health_and_readiness() {
    let data = tempfile::tempdir().unwrap();
    let [addr, admin] = test_support::free_addrs();
    let mut command = Command::new(BINARY);
    command
        .args(["--bind", &addr.to_string(), "--harmony", "http://127.0.0.1:9"])
        .args(["--admin-bind", &admin.to_string(), "--log-format", "json"])
        .arg("--data-dir")
        .arg(data.path())
        .stdout(std::process::Stdio::null());
    let log = data.path().join("astro-api.log");
    let mut server = test_support::Process::spawn(&mut command, &log);
    test_support::wait_until_listening(addr);
    test_support::wait_until_listening(admin);
    let get = |head: &str| test_support::http(addr, head);
    assert_eq!(get("GET /organizations/o HTTP/1.1").0, 401);
    assert_eq!(get("GET /organizations/o HTTP/1.1").0, 401);
    assert_eq!(get("GET /organizations/o/workspaces?limit=x HTTP/1.1").0, 400);
    assert_eq!(get("GET /no-such-thing HTTP/1.1").0, 404);

    assert_eq!(test_support::http(admin, "GET /livez HTTP/1.1").0, 200);
    // Its one Harmony cell answers nothing (port 9): alive, not ready.
    let (status, _, body) = test_support::http(admin, "GET /readyz HTTP/1.1");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("no Harmony cell can be asked: default"), "{body}");
    let (status, head, text) = test_support::http(admin, "GET /metrics HTTP/1.1");
    assert_eq!(status, 200);
    assert!(head.to_lowercase().contains("content-type: application/openmetrics-text"), "{head}");
    let Some(samples) = test_support::parse_openmetrics(&text) else { return };
    let value = |name: &str, labels: &[(&str, &str)]| test_support::sum(&samples, name, labels);
    let requests = "astro_http_requests_total";
    let unauthorized = [("operation", "organization_get"), ("status", "401")];
    assert_eq!(value(requests, &unauthorized), 2.0, "{text}");
    assert_eq!(value("astro_http_request_duration_seconds_count", &unauthorized), 2.0, "{text}");
    let bad_query = [("operation", "workspace_list"), ("status", "400")];
    assert_eq!(value(requests, &bad_query), 1.0, "{text}");
    assert_eq!(value(requests, &[("operation", "unknown"), ("status", "404")]), 1.0, "{text}");
    assert_eq!(value(requests, &[]), 4.0, "the admin listener's own requests are not counted");
    assert!(samples.iter().any(|s| s.name == "astro_outbox_entries"), "{text}");
    assert_eq!(value("astro_outbox_entries", &[]), 0.0, "{text}");
    assert_eq!(value("astro_outbox_oldest_entry_age_seconds", &[]), 0.0, "{text}");
    // Its one cell (port 9) answers nothing.
    let cell = [("cell", "default")];
    assert_eq!(value("astro_cell_reachable", &cell), 0.0, "{text}");
    assert!(samples.iter().all(|s| s.name != "astro_cell_api_version"), "{text}");
    for store in ["astro_store_write_groups_total", "astro_store_writes_total"] {
        assert!(samples.iter().any(|s| s.name == store), "{store} missing: {text}");
    }

    server.kill().unwrap();
    server.wait().unwrap();
    let requests_logged = test_support::requests_in_json_log(&log);
    assert!(requests_logged >= 4, "{requests_logged} requests logged");
}

/// Issue 34: silent connections held listeners for ever and, past the
/// file limit, took every listener down. Under a 1,024-file limit, 1,100
/// silent sockets held against each listener in turn leave both answering.
#[test]
fn silent_connections_take_no_listener_down() {
    let data = tempfile::tempdir().unwrap();
    let [addr, admin] = test_support::free_addrs();
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("ulimit -n 1024 && exec \"$0\" \"$@\"")
        .arg(BINARY)
        .args(["--bind", &addr.to_string(), "--harmony", "http://127.0.0.1:9"])
        .args(["--admin-bind", &admin.to_string(), "--idle-timeout", "4", "--log-format", "json"])
        .arg("--data-dir")
        .arg(data.path())
        .stdout(std::process::Stdio::null());
    let log = data.path().join("astro-api.log");
    let _server = test_support::Process::spawn(&mut command, &log);
    test_support::wait_until_listening(addr);
    test_support::wait_until_listening(admin);
    test_support::silent_sockets_take_no_listener_down(
        &[(addr, "GET /organizations/o HTTP/1.1", 401), (admin, "GET /livez HTTP/1.1", 200)],
        1_100,
        std::time::Duration::from_secs(4),
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("Too many open files"), "the process ran out of files");
}

/// Issue 34: a token sent in the query string was refused, but the full
/// URI, token included, went to the log. The real binary, logging JSON,
/// now writes such a request's URI with every credential-named query
/// parameter's value redacted, in each of its records, and the secret
/// appears nowhere in the log.
#[test]
fn a_token_in_the_query_string_never_reaches_the_log() {
    let data = tempfile::tempdir().unwrap();
    let [addr] = test_support::free_addrs();
    let token_file = data.path().join("owner.token");
    let mut command = Command::new(BINARY);
    command
        .args(["--bind", &addr.to_string(), "--harmony", "http://127.0.0.1:9"])
        .args(["--log-format", "json", "--log-level", "debug", "--bootstrap", "org-1"])
        .arg("--bootstrap-token-file")
        .arg(&token_file)
        .arg("--data-dir")
        .arg(data.path())
        .stdout(std::process::Stdio::null());
    let log = data.path().join("astro-api.log");
    let mut server = test_support::Process::spawn(&mut command, &log);
    test_support::wait_until_listening(addr);
    let token = crate::common::read_token_file(&token_file);
    let secret = token.rsplit('_').next().unwrap().to_owned();
    for query in [
        format!("access_token={token}"),
        format!("limit=3&token={token}&x=1"),
        format!("API_KEY={token}"),
    ] {
        let (status, _, _) = test_support::http(
            addr,
            &format!("GET /organizations/org-1/deployments?{query} HTTP/1.1"),
        );
        assert_eq!(status, 401, "a token in the query string is not a credential");
    }
    // Records are written off the request path: wait for the three.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while test_support::requests_in_json_log(&log) < 3 {
        assert!(std::time::Instant::now() < deadline, "the requests were never logged");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(&secret), "the token's secret is in the log");
    assert!(text.contains("access_token=REDACTED") && text.contains("limit=3&token=REDACTED&x=1"));
}

/// `/readyz` asks the database and the Harmony cells: ready while both
/// answer; once the database is lost (the service's PostgreSQL schema
/// dropped under it), or once no cell can be asked (Harmony stopped),
/// readiness answers 503 saying which, while liveness still answers 200
/// (restarting would not bring either back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_when_the_database_or_every_cell_is_lost() {
    let Some(schema) = sql_store::testing::TestSchema::create() else { return };
    let data = tempfile::tempdir().unwrap();
    let harmony_data = tempfile::tempdir().unwrap();
    let harmony =
        crate::common::start_harmony(harmony_data.path(), "127.0.0.1:0".parse().unwrap(), None);
    let mut config = astro_api::Config::new(
        "127.0.0.1:0".parse().unwrap(),
        data.path().to_path_buf(),
        format!("http://{}", harmony.local_addr()),
    );
    config.harmony_token = Some(crate::common::HARMONY_TOKEN.to_owned());
    config.negotiation_ttl = std::time::Duration::from_millis(1);
    config.database_url = Some(schema.url());
    config.secret_key = Some(crate::common::test_sealer());
    let log = crate::common::log();
    let server = astro_api::start(&config, &log).expect("astro-api starts");
    let admin =
        test_support::start_admin(astro_api::admin::readiness(server.app_private().clone()), &log);
    let at = admin.local_addr();
    let get = move |path: &'static str| {
        tokio::task::spawn_blocking(move || test_support::http(at, &format!("GET {path} HTTP/1.1")))
    };
    let (status, _, body) = get("/readyz").await.unwrap();
    assert_eq!(status, 200, "{body}");
    harmony.close().await.unwrap();
    let (status, _, body) = get("/readyz").await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("no Harmony cell can be asked: default"), "{body}");
    schema.drop_now();
    let (status, _, body) = get("/readyz").await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not ready: database"), "{body}");
    assert_eq!(get("/livez").await.unwrap().0, 200);
}

/// A conventional command line: every flag in `--help` names the
/// environment variable that sets it, and the binary runs configured from
/// the environment alone.
#[test]
fn every_flag_can_come_from_the_environment() {
    let flags = test_support::flags_name_their_environment(
        BINARY,
        "ASTRO_",
        &[("harmony-cell", "ASTRO_HARMONY_CELLS")],
    );
    assert!(flags >= 15, "{flags} flags");

    let data = tempfile::tempdir().unwrap();
    let [addr, admin] = test_support::free_addrs();
    let mut command = Command::new(BINARY);
    command
        .env("ASTRO_BIND", addr.to_string())
        .env("ASTRO_ADMIN_BIND", admin.to_string())
        .env("ASTRO_HARMONY_CELLS", "one=http://127.0.0.1:9,two=http://127.0.0.1:9")
        .env("ASTRO_DATA_DIR", data.path())
        .env("ASTRO_LOG_LEVEL", "warning")
        .stdout(std::process::Stdio::null());
    let _server = test_support::Process::spawn(&mut command, &data.path().join("astro-api.log"));
    test_support::wait_until_listening(addr);
    test_support::wait_until_listening(admin);
    let (status, _, body) = test_support::http(admin, "GET /readyz HTTP/1.1");
    assert_eq!(status, 503);
    assert!(
        body.contains("one (") && body.contains("two ("),
        "both cells from the environment: {body}"
    );
    assert!(data.path().join("astro.sqlite3").exists(), "the data directory from the environment");
}

/// SIGTERM in the middle of a stream of creates (four clients, as fast as
/// they can): the process stops within its `--shutdown-grace` and exits 0,
/// no request is answered 5xx because of the stop, and every create that
/// was answered 201 is there when the service starts again (requests cut
/// off before an answer may or may not be).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_stream_of_creates_loses_nothing_answered() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let harmony_data = tempfile::tempdir().unwrap();
    let harmony =
        crate::common::start_harmony(harmony_data.path(), "127.0.0.1:0".parse().unwrap(), None);
    let data = tempfile::tempdir().unwrap();
    let harmony_token = data.path().join("harmony-token");
    std::fs::write(&harmony_token, crate::common::HARMONY_TOKEN).unwrap();
    let token_file = data.path().join("owner-token");
    let [addr] = test_support::free_addrs();
    let start = |bootstrap: bool| {
        let mut command = Command::new(BINARY);
        command
            .args(["--bind", &addr.to_string()])
            .args(["--harmony", &format!("http://{}", harmony.local_addr())])
            .arg("--harmony-token-file")
            .arg(&harmony_token)
            .arg("--data-dir")
            .arg(data.path())
            .args(["--shutdown-grace", "10"])
            .stdout(std::process::Stdio::null());
        if bootstrap {
            command.args(["--bootstrap", "org-1/ws-1", "--bootstrap-token-file"]).arg(&token_file);
        }
        let server = test_support::Process::spawn(&mut command, &data.path().join("astro.log"));
        test_support::wait_until_listening(addr);
        server
    };
    let mut server = start(true);
    let token = crate::common::read_token_file(&token_file);
    let client = crate::common::authorized(&token);
    let url = format!("http://{addr}/organizations/org-1/deployments");

    let answered = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for c in 0..4 {
        let (client, url, answered) = (client.clone(), url.clone(), answered.clone());
        clients.push(tokio::spawn(async move {
            let mut created = Vec::new();
            let mut statuses = Vec::new();
            for n in 0.. {
                let mut body = crate::common::standard();
                body["name"] = serde_json::json!(format!("d-{c}-{n}"));
                match client.post(&url).json(&body).send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        statuses.push(status);
                        if status == 201 {
                            let value: serde_json::Value = response.json().await.unwrap();
                            created.push(value["id"].as_str().unwrap().to_owned());
                        }
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                    // The service stopped taking connections: done.
                    Err(_) => break,
                }
            }
            (created, statuses)
        }));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while answered.load(Ordering::SeqCst) < 20 {
        assert!(std::time::Instant::now() < deadline, "the creates never got going");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let sent = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let stopping = std::time::Instant::now();
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(stopping.elapsed() < std::time::Duration::from_secs(30), "still running");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(status.code(), Some(0));
    let mut created = Vec::new();
    for client in clients {
        let (ids, statuses) = client.await.unwrap();
        assert!(statuses.iter().all(|s| *s < 500), "answered 5xx while stopping: {statuses:?}");
        created.extend(ids);
    }
    assert!(created.len() >= 20, "{} created", created.len());

    drop(server);
    let _again = start(false);
    for id in &created {
        let response = client.get(format!("{url}/{id}")).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{id} was answered 201 and is gone");
    }
}
