//! The skew suite: this checkout against binaries built from a base revision
//! (normally the last Harmony release). Run by `cargo xtask skew --base REV`,
//! which builds the base's `harmony-server`, `astro-api` and `harmony-agent`
//! and names them in `SKEW_BASE_HARMONY`, `SKEW_BASE_ASTRO` and
//! `SKEW_BASE_AGENT`. Not part of `cargo test`: it
//! needs the base's binaries, and fails loudly without them.
//!
//! Two pairings, each through astro-api's real flows:
//! - this astro-api against the base Harmony (new consumer, old provider);
//! - the base astro-api against this Harmony (old consumer, new provider).
//!
//! And replicas of both versions sharing one database ([`replicas`]), with
//! agents of both agent API protocols against both ([`agents`]).
//!
//! Every request must succeed or be refused with a clear 4xx/503; a 500, or
//! work that silently did not happen, fails the suite.

mod agents;
#[allow(dead_code)]
#[path = "../integration_tests/common.rs"]
mod common;
mod replicas;

use reqwest::Method;
use serde_json::{Value, json};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn base_binary(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the skew suite with `cargo xtask skew --base REV`")
    })
}

/// Whether `binary --help` mentions `flag`.
fn supports(binary: &str, flag: &str) -> bool {
    let help = Command::new(binary).arg("--help").output().expect("runs --help");
    String::from_utf8_lossy(&help.stdout).contains(flag)
}

fn free_addr() -> SocketAddr {
    let [addr] = test_support::free_addrs();
    addr
}

/// A child process killed when the test ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(binary: &str, args: &[String], addr: SocketAddr) -> Process {
    let child = Command::new(binary)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {binary}: {e}"));
    let process = Process(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        assert!(Instant::now() < deadline, "{binary} did not listen on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
    process
}

/// An astro-api under test, and the token its flows send (none for a base
/// from before API tokens).
struct Api<'a> {
    url: &'a str,
    token: Option<&'a str>,
}

/// Generated deployments sent to a base Harmony per run.
const GENERATED: usize = 200;

/// `count` deployments this astro-api's declared rules allow, seeded, each
/// with a name of its own.
fn generated_bodies(places: test_support::valid::PublicPlaces, count: usize) -> Vec<Value> {
    use proptest::strategy::{Strategy as _, ValueTree as _};
    let strategy = test_support::valid::public_deployments(places);
    let mut runner = test_support::valid::runner(38, 0);
    (0..count)
        .map(|n| {
            let mut body = strategy.new_tree(&mut runner).expect("a body").current();
            let suffix = format!("-g{n}");
            let name: String =
                body["name"].as_str().unwrap_or("x").chars().take(63 - suffix.len()).collect();
            body["name"] = json!(format!("{name}{suffix}"));
            body
        })
        .collect()
}

async fn call(api: &Api<'_>, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", api.url));
    if let Some(token) = api.token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("astro-api answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// astro-api's contract flows: Hybrid and STANDARD deployments created,
/// updated, read, listed and deleted. Returns how many requests were made.
async fn contract_flows(url: &Api<'_>) -> usize {
    let mut requests = 0;
    let mut created = Vec::new();
    for (i, base) in [common::hybrid(), common::standard()].into_iter().enumerate() {
        let mut body = base;
        body["name"] = json!(format!("skew-{i}"));
        let (status, answer) =
            call(url, Method::POST, "/organizations/org-1/deployments", Some(&body)).await;
        requests += 1;
        assert!(status == 201 || status == 503, "create: {status} {answer}");
        if status == 503 {
            assert_eq!(answer["error_code"], "HarmonyVersionUnsupported", "{answer}");
            continue;
        }
        created.push((body, answer));
    }
    assert!(!created.is_empty(), "neither kind of deployment could be created");
    for (mut body, answer) in created {
        let path = format!("/organizations/org-1/deployments/{}", answer["id"].as_str().unwrap());
        body["worker_queues"][0]["worker_concurrency"] = json!(12);
        let (status, updated) = call(url, Method::POST, &path, Some(&body)).await;
        assert_eq!(status, 200, "update: {updated}");
        assert_eq!(updated["generation"], 2);
        let (status, fetched) = call(url, Method::GET, &path, None).await;
        assert_eq!((status, &fetched), (200, &updated));
        let (status, _) = call(url, Method::DELETE, &path, None).await;
        assert_eq!(status, 204);
        requests += 4;
    }
    let (status, page) = call(url, Method::GET, "/organizations/org-1/deployments", None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"], json!([]));
    requests + 1
}

#[tokio::test]
async fn this_astro_api_against_the_base_harmony() {
    let harmony_bin = base_binary("SKEW_BASE_HARMONY");
    let data = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let mut args = vec![
        "--bind".into(),
        addr.to_string(),
        "--dev-seed".into(),
        "--data-dir".into(),
        data.path().display().to_string(),
    ];
    // A base that names the example Hybrid plane's owner (issue 34 on)
    // seeds it as org-1's; an older one registered it without an owner, and
    // org-1 is recorded as its owner as an operator would, which this
    // astro-api requires before it places anything there.
    let names_owner = supports(&harmony_bin, "--dev-organization");
    if names_owner {
        args.extend(["--dev-organization".into(), "org-1".into()]);
    }
    // Budgets are an operator's quota, not the contract: out of the way of
    // the generated creates below, where the base has them.
    if supports(&harmony_bin, "--plane-budget-organization-bytes") {
        for flag in ["shared", "organization", "owned"] {
            args.extend([format!("--plane-budget-{flag}-bytes"), (u64::MAX / 4).to_string()]);
        }
    }
    // No older binary shares its database either: a base that has the
    // contract step (and may hold contact emails once it ran) runs it
    // first, as its operator would; an older base has nothing to contract.
    if supports(&harmony_bin, "contract-schema") {
        let contracted = Command::new(&harmony_bin)
            .arg("contract-schema")
            .arg("--data-dir")
            .arg(data.path())
            .output()
            .expect("runs contract-schema");
        assert!(contracted.status.success(), "{}", String::from_utf8_lossy(&contracted.stderr));
    }
    let _harmony = spawn(&harmony_bin, &args, addr);
    if !names_owner {
        let (id, registration) = harmony_server::dev_data_planes("org-1")
            .into_iter()
            .find(|(_, r)| r.kind == harmony_api::latest::DataPlaneKind::Hybrid)
            .unwrap();
        let mut body = serde_json::to_value(&registration).unwrap();
        body.as_object_mut().unwrap().remove("kind"); // 1.0.0 knows only Hybrid
        let body = serde_json::from_value(body).unwrap();
        let v1 = harmony_client::v1::Client::new(&format!("http://{addr}"));
        v1.data_plane_put(id, &body).await.expect("the base Harmony takes the owner");
    }
    let astro_data = tempfile::tempdir().unwrap();
    let mut config = astro_api::Config::new(
        "127.0.0.1:0".parse().unwrap(),
        astro_data.path().to_path_buf(),
        format!("http://{addr}"),
    );
    config.quotas = common::NOT_ABOUT_QUOTAS;
    // No older astro-api shares this database: contact emails are stored
    // (the base Harmony gets specs without them, and keeps nothing).
    astro_api::contract_schema(&config).expect("astro-api's schema contracts");
    let log = test_support::logger(slog::Level::Info);
    let astro = astro_api::start(&config, &log).unwrap();
    let token = common::bootstrap(&astro, "org-1", "ws-1").await;
    let url = format!("http://{}", astro.local_addr());
    let api = Api { url: &url, token: Some(&token) };
    let (status, ready) = call(&api, Method::GET, "/readyz", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        ready["ready"], true,
        "this astro-api cannot negotiate with the base Harmony: {ready}"
    );
    let requests = contract_flows(&api).await;
    // Whatever this astro-api accepts, the base Harmony takes: a body at
    // each public limit is created and delivered (a 502 HarmonyRefused
    // here is a rule this astro-api states that the live Harmony does not).
    let (status, options) =
        call(&api, Method::GET, "/organizations/org-1/deployment-options", None).await;
    assert_eq!(status, 200, "{options}");
    let hosted = ready["cells"][0]["served"].as_array().unwrap().iter().any(|v| v != "1.0.0");
    let mut limits = 0;
    for (n, (what, mut body)) in common::at_the_limits(&options, hosted).into_iter().enumerate() {
        if !what.starts_with("name") {
            body["name"] = json!(format!("limit-{n}"));
        }
        let (status, created) =
            call(&api, Method::POST, "/organizations/org-1/deployments", Some(&body)).await;
        assert_eq!(status, 201, "{what} at the base Harmony: {created}");
        assert_eq!(created["delivered_generation"], 1, "{what} at the base Harmony: {created}");
        limits += 1;
    }
    // Contact emails (issue 37) are astro-api's own: a Harmony that
    // predates them gets the spec without them, and a change that leaves
    // them out keeps them.
    let mut body = common::hybrid();
    body["name"] = json!("contacts");
    body["contact_emails"] = json!(["oncall@example.com"]);
    let (status, created) =
        call(&api, Method::POST, "/organizations/org-1/deployments", Some(&body)).await;
    assert_eq!((status, &created["delivered_generation"]), (201, &json!(1)), "{created}");
    let path = format!("/organizations/org-1/deployments/{}", created["id"].as_str().unwrap());
    body.as_object_mut().unwrap().remove("contact_emails");
    body["worker_queues"][0]["worker_concurrency"] = json!(12);
    let (status, updated) = call(&api, Method::POST, &path, Some(&body)).await;
    assert_eq!((status, &updated["delivered_generation"]), (200, &json!(2)), "{updated}");
    assert_eq!(updated["contact_emails"], json!(["oncall@example.com"]), "{updated}");
    // And generated valid input (issue 38): what this astro-api's declared
    // rules allow, every one taken by the base Harmony.
    let places = test_support::valid::PublicPlaces {
        hybrid_cluster: Some("hybrid-example".into()),
        standard: hosted.then(|| ("AWS".into(), "us-east-1".into())),
        runtimes: options["runtime_releases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect(),
        max_concurrency: options["worker_concurrency"]["max"].as_u64().unwrap(),
    };
    let generated = generated_bodies(places, GENERATED);
    for (n, body) in generated.iter().enumerate() {
        let (status, created) =
            call(&api, Method::POST, "/organizations/org-1/deployments", Some(body)).await;
        assert!(
            status == 201 && created["delivered_generation"] == 1,
            "generated body {n} (VALID_SEED=38) at the base Harmony: {status} {created}\n{}",
            serde_json::to_string_pretty(body).unwrap()
        );
    }
    eprintln!(
        "this astro-api against the base Harmony: {requests} requests, {limits} creates at the \
         public limits and {} generated, no server error, each taken",
        generated.len()
    );
}

#[tokio::test]
async fn the_base_astro_api_against_this_harmony() {
    let astro_bin = base_binary("SKEW_BASE_ASTRO");
    let harmony_data = tempfile::tempdir().unwrap();
    let log = test_support::logger(slog::Level::Info);
    let astro_data = tempfile::tempdir().unwrap();
    // A base that can present Harmony's service credential meets a Harmony
    // that requires it; an older one meets a Harmony as it must run while
    // such astro-apis are live: without the requirement.
    let sends_credential = supports(&astro_bin, "--harmony-token-file");
    let harmony = if sends_credential {
        common::start_harmony(harmony_data.path(), "127.0.0.1:0".parse().unwrap(), None)
    } else {
        common::start_harmony_without_credential(harmony_data.path())
    };
    let addr = free_addr();
    let mut args = vec![
        "--bind".into(),
        addr.to_string(),
        "--harmony".into(),
        format!("http://{}", harmony.local_addr()),
        "--data-dir".into(),
        astro_data.path().display().to_string(),
    ];
    if sends_credential {
        let credential = astro_data.path().join("harmony-credential");
        std::fs::write(&credential, common::HARMONY_TOKEN).unwrap();
        args.extend(["--harmony-token-file".into(), credential.display().to_string()]);
    }
    // A base from before API tokens takes no bootstrap and checks no token.
    let token_file = astro_data.path().join("token");
    let with_tokens = supports(&astro_bin, "--bootstrap");
    if with_tokens {
        args.extend(["--bootstrap".into(), "org-1/ws-1".into(), "--bootstrap-token-file".into()]);
        args.push(token_file.display().to_string());
    }
    let _astro = spawn(&astro_bin, &args, addr);
    let token = with_tokens.then(|| common::read_token_file(&token_file));
    let url = format!("http://{addr}");
    let requests = contract_flows(&Api { url: &url, token: token.as_deref() }).await;
    eprintln!("the base astro-api against this Harmony: {requests} requests, no server error");
    drop(log);
}
