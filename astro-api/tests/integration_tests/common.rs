//! A Harmony and an astro-api wired together for a test.

use dropshot::HttpServer;
use serde_json::{Value, json};
use std::time::Duration;

pub struct Stack {
    pub harmony: Option<HttpServer<harmony_server::http::Context>>,
    pub harmony_url: String,
    pub harmony_data: tempfile::TempDir,
    pub astro: HttpServer<astro_api::http::Context>,
    pub url: String,
    pub astro_data: tempfile::TempDir,
    /// astro-api's database: a SQLite file in `astro_data`, or a schema of
    /// its own on the PostgreSQL test server (kept for the test's length).
    pub astro_location: astro_api::store::Location,
    _astro_schema: Option<sql_store::testing::TestSchema>,
    /// How astro-api was started: another one with it is a replica.
    pub astro_config: astro_api::Config,
    /// The owner token of organization `org-1` (workspace `ws-1`).
    pub token: String,
    harmony_log: slog::Logger,
    /// How Harmony was started (a restart keeps it).
    harmony_max: Option<semver::Version>,
    harmony_budgets: Option<harmony_server::budget::PlaneBudgets>,
    http: reqwest::Client,
}

/// A client that sends `token` with every request.
pub fn authorized(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("a token is a valid header value"),
    );
    reqwest::Client::builder().default_headers(headers).build().expect("client")
}

/// The token a starting astro-api writes with `--bootstrap-token-file`
/// (it listens a moment before the file is there).
pub fn read_token_file(path: &std::path::Path) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        match std::fs::read_to_string(path) {
            Ok(token) if !token.is_empty() => return token,
            _ => {
                assert!(std::time::Instant::now() < deadline, "no token in {}", path.display());
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Polls the deployment at `url` until Harmony has its `generation`.
pub async fn wait_delivered(client: &reqwest::Client, url: &str, generation: u64) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now: Value = client.get(url).send().await.unwrap().json().await.unwrap();
        if now["delivered_generation"] == generation {
            return now;
        }
        assert!(std::time::Instant::now() < deadline, "never delivered: {now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Quotas that hold nothing back: tests that are not about quotas make
/// hundreds of changes in a burst (`quotas.rs` holds astro-api to small
/// ones).
pub const NOT_ABOUT_QUOTAS: astro_api::quota::Quotas = astro_api::quota::Quotas {
    deployments_per_organization: 100_000,
    deployments_per_workspace: 100_000,
    changes_per_minute: 1_000_000,
};

/// The key test astro-apis seal secret values with.
pub fn test_sealer() -> astro_api::seal::Sealer {
    astro_api::seal::Sealer::new(*b"astro-api-test-sealing-key-00000")
}

/// Creates organization `org` with workspace `workspace`; its owner token.
pub async fn bootstrap(
    astro: &HttpServer<astro_api::http::Context>,
    org: &str,
    workspace: &str,
) -> String {
    astro.app_private().bootstrap(org, workspace).await.expect("bootstrap").expect("a new org")
}

/// A server's logger: its lines show in the output of the test that
/// started it, and only when that test fails.
pub fn log() -> slog::Logger {
    test_support::logger(slog::Level::Info)
}

/// Everything a server logs, down to debug, appended to `path` as JSON
/// lines.
pub fn file_log(path: &std::path::Path) -> slog::Logger {
    test_support::file_logger(path)
}

/// The service credential the tests' Harmonies require and astro-api sends.
pub const HARMONY_TOKEN: &str = "astro-api-test-service-credential-0123456789";

/// A client presenting [`HARMONY_TOKEN`], for reading Harmony directly.
pub fn harmony_http() -> reqwest::Client {
    harmony_client::with_service_token(reqwest::Client::builder(), HARMONY_TOKEN).unwrap()
}

pub fn start_harmony(
    data: &std::path::Path,
    bind: std::net::SocketAddr,
    max: Option<semver::Version>,
) -> HttpServer<harmony_server::http::Context> {
    start_harmony_logging(data, bind, max, &log())
}

/// A local-run Harmony that requires no service credential: what a Harmony
/// must look like while astro-apis that predate the credential are live
/// (credentials roll out consumer first; see docs/versioning.md).
#[allow(dead_code)] // used by the skew suite only
pub fn start_harmony_without_credential(
    data: &std::path::Path,
) -> HttpServer<harmony_server::http::Context> {
    let mut config = harmony_server::Config::new("127.0.0.1:0".parse().unwrap(), data.into());
    config.dev_seed = true;
    config.dev_organization = "org-1".to_owned();
    harmony_server::start(&config, &log()).expect("harmony starts")
}

pub fn start_harmony_logging(
    data: &std::path::Path,
    bind: std::net::SocketAddr,
    max: Option<semver::Version>,
    log: &slog::Logger,
) -> HttpServer<harmony_server::http::Context> {
    start_harmony_configured(data, bind, max, log, None)
}

fn start_harmony_configured(
    data: &std::path::Path,
    bind: std::net::SocketAddr,
    max: Option<semver::Version>,
    log: &slog::Logger,
    budgets: Option<harmony_server::budget::PlaneBudgets>,
) -> HttpServer<harmony_server::http::Context> {
    let mut config = harmony_server::Config::new(bind, data.to_path_buf());
    config.dev_seed = true;
    config.dev_organization = "org-1".to_owned();
    config.service_token = Some(HARMONY_TOKEN.to_owned());
    config.max_api_version = max;
    if let Some(budgets) = budgets {
        config.budgets = budgets;
    }
    harmony_server::start(&config, log).expect("harmony starts")
}

impl Stack {
    pub async fn start() -> Stack {
        Self::start_with_harmony_version(None).await
    }

    /// A stack whose astro-api stores on `backend`; `None` when that is
    /// PostgreSQL and no server answers.
    pub async fn on(backend: sql_store::Backend) -> Option<Stack> {
        Self::on_inner(backend, None).await
    }

    async fn on_inner(
        backend: sql_store::Backend,
        logs: Option<std::path::PathBuf>,
    ) -> Option<Stack> {
        let schema = match backend {
            sql_store::Backend::Sqlite => None,
            sql_store::Backend::Postgres => Some(sql_store::testing::TestSchema::create()?),
        };
        Some(Self::start_inner(None, logs, schema).await)
    }

    /// [`Stack::on`], logging everything into `logs/harmony.log` and
    /// `logs/astro-api.log`.
    pub async fn on_logging_to(
        backend: sql_store::Backend,
        logs: &std::path::Path,
    ) -> Option<Stack> {
        Self::on_inner(backend, Some(logs.to_path_buf())).await
    }

    /// Another astro-api on this one's database and Harmony: a replica.
    pub fn replica(&self) -> HttpServer<astro_api::http::Context> {
        astro_api::start(&self.astro_config, &log()).expect("a second astro-api starts")
    }

    /// [`Stack::on`] with a Harmony that serves no version newer than `max`.
    pub async fn on_with_harmony_version(
        backend: sql_store::Backend,
        max: semver::Version,
    ) -> Option<Stack> {
        let schema = match backend {
            sql_store::Backend::Sqlite => None,
            sql_store::Backend::Postgres => Some(sql_store::testing::TestSchema::create()?),
        };
        Some(Self::start_configured(Some(max), None, schema, None).await)
    }

    /// A stack whose servers log everything (debug level) into
    /// `logs/harmony.log` and `logs/astro-api.log`.
    pub async fn start_logging_to(logs: &std::path::Path) -> Stack {
        Self::start_inner(None, Some(logs.to_path_buf()), None).await
    }

    /// A stack whose Harmony serves no version newer than `max`.
    pub async fn start_with_harmony_version(max: Option<semver::Version>) -> Stack {
        Self::start_inner(max, None, None).await
    }

    /// [`Stack::start_with_harmony_version`] with data plane budgets no
    /// test reaches (an operator's quota, not the contract): for tests that
    /// create thousands of deployments.
    pub async fn start_roomy(max: Option<semver::Version>) -> Stack {
        let roomy = harmony_server::budget::PlaneBudgets {
            shared_plane_bytes: u64::MAX / 4,
            organization_bytes_on_shared_plane: u64::MAX / 4,
            owned_plane_bytes: u64::MAX / 4,
        };
        Self::start_configured(max, None, None, Some(roomy)).await
    }

    async fn start_inner(
        max: Option<semver::Version>,
        logs: Option<std::path::PathBuf>,
        astro_schema: Option<sql_store::testing::TestSchema>,
    ) -> Stack {
        Self::start_configured(max, logs, astro_schema, None).await
    }

    async fn start_configured(
        max: Option<semver::Version>,
        logs: Option<std::path::PathBuf>,
        astro_schema: Option<sql_store::testing::TestSchema>,
        budgets: Option<harmony_server::budget::PlaneBudgets>,
    ) -> Stack {
        let (harmony_log, astro_log) = match &logs {
            Some(dir) => (file_log(&dir.join("harmony.log")), file_log(&dir.join("astro-api.log"))),
            None => (log(), log()),
        };
        let harmony_data = tempfile::tempdir().unwrap();
        let harmony = start_harmony_configured(
            harmony_data.path(),
            "127.0.0.1:0".parse().unwrap(),
            max.clone(),
            &harmony_log,
            budgets,
        );
        let harmony_url = format!("http://{}", harmony.local_addr());
        let astro_data = tempfile::tempdir().unwrap();
        let mut config = astro_api::Config::new(
            "127.0.0.1:0".parse().unwrap(),
            astro_data.path().to_path_buf(),
            harmony_url.clone(),
        );
        config.harmony_timeout = Duration::from_secs(3);
        config.negotiation_ttl = Duration::from_millis(200);
        config.handoff_wait = Duration::from_secs(2);
        config.handoff_max_backoff = Duration::from_millis(200);
        config.harmony_token = Some(HARMONY_TOKEN.to_owned());
        config.database_url = astro_schema.as_ref().map(|s| s.url());
        config.secret_key = Some(test_sealer());
        config.quotas = NOT_ABOUT_QUOTAS;
        let astro_location = match &astro_schema {
            Some(schema) => schema.location(),
            None => astro_api::store::Location::Sqlite(astro_data.path().join("astro.sqlite3")),
        };
        let astro = astro_api::start(&config, &astro_log).expect("astro-api starts");
        let url = format!("http://{}", astro.local_addr());
        let token = bootstrap(&astro, "org-1", "ws-1").await;
        Stack {
            harmony: Some(harmony),
            harmony_url,
            harmony_data,
            astro,
            url,
            astro_data,
            astro_location,
            _astro_schema: astro_schema,
            astro_config: config,
            http: authorized(&token),
            token,
            harmony_log,
            harmony_max: max,
            harmony_budgets: budgets,
        }
    }

    /// Every row of astro-api's PostgreSQL schema as text; `None` on SQLite.
    pub fn astro_dump(&self) -> Option<String> {
        self._astro_schema.as_ref().map(|schema| schema.dump())
    }

    pub async fn stop_harmony(&mut self) {
        if let Some(h) = self.harmony.take() {
            h.close().await.unwrap();
        }
    }

    /// The contract step of astro-api's schema (`astro-api contract-schema`),
    /// then astro-api starts again (on another port: `url` follows). A
    /// stand-in on the same database holds `astro`'s place meanwhile: the
    /// one that ran so far stops, the schema contracts, and the one started
    /// after it reads the contracted schema.
    pub async fn contract_astro(&mut self) {
        let start = |config: &astro_api::Config| {
            astro_api::start(config, &log()).expect("astro-api starts")
        };
        let ran = std::mem::replace(&mut self.astro, start(&self.astro_config));
        ran.close().await.unwrap();
        astro_api::contract_schema(&self.astro_config).expect("astro-api's schema contracts");
        let stand_in = std::mem::replace(&mut self.astro, start(&self.astro_config));
        stand_in.close().await.unwrap();
        self.url = format!("http://{}", self.astro.local_addr());
    }

    /// The contract step of Harmony's schema (`harmony-server
    /// contract-schema`): Harmony stops, its database is contracted, and it
    /// starts again on the same address.
    pub async fn contract_harmony(&mut self) {
        self.stop_harmony().await;
        let config = harmony_server::Config::new(
            self.harmony_url.trim_start_matches("http://").parse().unwrap(),
            self.harmony_data.path().to_path_buf(),
        );
        harmony_server::contract_schema(&config).expect("Harmony's schema contracts");
        self.restart_harmony();
    }

    /// Starts Harmony again, on the same address and data, as it was.
    pub fn restart_harmony(&mut self) {
        let addr = self.harmony_url.trim_start_matches("http://").parse().unwrap();
        self.harmony = Some(start_harmony_configured(
            self.harmony_data.path(),
            addr,
            self.harmony_max.clone(),
            &self.harmony_log,
            self.harmony_budgets,
        ));
    }

    /// `call` with another client (another token, or none).
    pub async fn call_as(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = client.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("astro-api answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() };
        (status, value)
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        self.call_as(&self.http, method, path, body).await
    }

    pub async fn create(&self, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, "/organizations/org-1/deployments", Some(body)).await
    }

    pub async fn list(&self) -> Vec<Value> {
        let (status, page) =
            self.call(reqwest::Method::GET, "/organizations/org-1/deployments", None).await;
        assert_eq!(status, 200, "{page}");
        page["items"].as_array().unwrap().clone()
    }

    /// Polls astro-api until every listed deployment has reached Harmony.
    pub async fn wait_until_delivered(&self) -> Vec<Value> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let all = self.list().await;
            if all.iter().all(|d| d["delivered_generation"] == d["generation"]) {
                return all;
            }
            assert!(std::time::Instant::now() < deadline, "not delivered in 30 s: {all:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Harmony's view of a deployment, through the generated client.
    pub async fn harmony_deployment(
        &self,
        id: &str,
    ) -> Option<harmony_client::latest::types::Deployment> {
        let client =
            harmony_client::latest::Client::new_with_client(&self.harmony_url, harmony_http());
        match client.deployment_get(&id.parse().unwrap()).await {
            Ok(r) => Some(r.into_inner()),
            Err(harmony_client::Error::ErrorResponse(r)) if r.status() == 404 => None,
            Err(other) => panic!("reading {id} from Harmony: {other}"),
        }
    }
}

pub fn standard() -> Value {
    json!({
        "workspace_id": "ws-1",
        "name": "etl",
        "type": "STANDARD",
        "cloud_provider": "AWS",
        "region": "us-east-1",
        "runtime_version": "13.1.0",
        "executor": "CELERY",
        "scheduler_size": "SMALL",
        "worker_queues": [{
            "name": "default", "is_default": true, "min_worker_count": 1,
            "max_worker_count": 10, "worker_concurrency": 16, "astro_machine": "A5"
        }],
        "environment_variables": [
            {"key": "PLAIN", "value": "visible"},
            {"key": "API_TOKEN", "value": "correct-horse-battery", "is_secret": true}
        ]
    })
}

pub fn hybrid() -> Value {
    json!({
        "workspace_id": "ws-1",
        "name": "customer-etl",
        "type": "HYBRID",
        "cluster_id": "hybrid-example",
        "runtime_version": "13.0.0",
        "executor": "KUBERNETES",
        "scheduler": {"au": 10, "replicas": 2},
        "worker_queues": [{
            "name": "default", "is_default": true, "min_worker_count": 0,
            "max_worker_count": 4, "worker_concurrency": 8, "node_pool_id": "pool-a"
        }]
    })
}

impl Stack {
    /// Harmony's view through the 1.0.0 client (for a capped Harmony).
    pub async fn harmony_deployment_v1(
        &self,
        id: &str,
    ) -> Option<harmony_client::v1::types::Deployment> {
        let client = harmony_client::v1::Client::new_with_client(&self.harmony_url, harmony_http());
        client.deployment_get(&id.parse().unwrap()).await.ok().map(|r| r.into_inner())
    }
}

/// The fields an answer's field errors name. Each must name the declared
/// astro-api rule that refused it (issue 38): a field error without one,
/// or with a rule no declaration has, fails the test that reads it.
pub fn fields(body: &Value) -> Vec<String> {
    let errors = body["field_errors"].as_array().cloned().unwrap_or_default();
    for error in &errors {
        let id = error["rule"].as_str().unwrap_or_else(|| panic!("no rule named: {error}"));
        let rule = deployment_rules::rule::rule(id)
            .unwrap_or_else(|| panic!("{id} is no declared rule: {error}"));
        assert_eq!(rule.api(), deployment_rules::rule::Api::Astro, "{error}");
    }
    errors.iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
}

/// A TCP proxy on loopback that holds each answer from its target back by
/// `delay` (changeable while it runs): a real Harmony, made slow.
pub struct SlowProxy {
    pub url: String,
    pub delay_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// While true, Harmony's answers wait here ([`SlowProxy::hold`]).
    held: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
}

impl SlowProxy {
    pub async fn start(target: std::net::SocketAddr) -> SlowProxy {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let delay_ms = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let held = std::sync::Arc::new(tokio::sync::watch::Sender::new(false));
        let delay = delay_ms.clone();
        let hold = held.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let delay = delay.clone();
                let mut hold = hold.subscribe();
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(target).await else { return };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let upstream = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                    });
                    let mut buffer = vec![0u8; 16 * 1024];
                    loop {
                        let n = match server_read.read(&mut buffer).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let wait = delay.load(Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(wait)).await;
                        if hold.wait_for(|held| !held).await.is_err() {
                            break;
                        }
                        if client_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                    upstream.abort();
                });
            }
        });
        SlowProxy { url, delay_ms, held }
    }

    /// Harmony's answers wait until [`SlowProxy::release`].
    pub fn hold(&self) {
        self.held.send_replace(true);
    }

    pub fn release(&self) {
        self.held.send_replace(false);
    }

    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms.store(delay.as_millis() as u64, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Every body at a public limit: (what it tests, body).
pub fn at_the_limits(options: &Value, hosted: bool) -> Vec<(String, Value)> {
    let mut bodies = Vec::new();
    let range = |name: &str| {
        (options[name]["min"].as_u64().unwrap(), options[name]["max"].as_u64().unwrap())
    };
    for (field, (min, max)) in [
        ("scheduler_au", range("scheduler_au")),
        ("scheduler_replicas", range("scheduler_replicas")),
    ] {
        for value in [min, max] {
            let mut body = hybrid();
            let key = if field == "scheduler_au" { "au" } else { "replicas" };
            body["scheduler"][key] = json!(value);
            bodies.push((format!("{field} = {value}"), body));
        }
    }
    let (min, max) = range("worker_concurrency");
    for value in [min, max] {
        for (kind, mut body) in [("hybrid", hybrid()), ("standard", standard())] {
            if kind == "standard" && !hosted {
                continue;
            }
            body["worker_queues"][0]["worker_concurrency"] = json!(value);
            bodies.push((format!("{kind} worker_concurrency = {value}"), body));
        }
    }
    let longest = options["max_name_length"].as_u64().unwrap() as usize;
    let mut body = hybrid();
    body["name"] = json!("n".repeat(longest));
    bodies.push((format!("name of {longest} characters"), body));
    bodies
}

/// Registers a data plane at the stack's Harmony, as its operator would
/// (`kind` HYBRID or HOSTED, `owner` its organization label).
pub async fn register(
    stack: &Stack,
    id: &str,
    kind: &str,
    owner: Option<&str>,
) -> Result<(), (Option<reqwest::StatusCode>, String)> {
    let body: harmony_api::latest::DataPlaneRegistration =
        test_support::fixtures::typed(test_support::fixtures::registration(kind, owner));
    let body = serde_json::from_value(serde_json::to_value(body).unwrap()).unwrap();
    let client =
        harmony_client::latest::Client::new_with_client(&stack.harmony_url, harmony_http());
    // 4.0.0 states the id's grammar: its client builds only a DNS label.
    let id = id.parse().map_err(|e| (None, format!("{e:?}")))?;
    client.data_plane_put(&id, &body).await.map(|_| ()).map_err(|e| (e.status(), format!("{e:?}")))
}
