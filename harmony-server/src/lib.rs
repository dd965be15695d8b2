//! harmony-server: serves every released Harmony API version at once.
//!
//! [`start`] opens the store (SQLite under a data directory by default,
//! PostgreSQL with [`Config::database_url`], which replicas share), builds
//! the application layer ([`app::HarmonyApp`]) and serves [`http::HarmonyImpl`] with
//! dropshot, routing each request by its `api-version` header
//! ([`versions::ServedVersions`]).

pub mod admission;
pub mod agent;
pub mod app;
pub use app::newest_version;
pub mod budget;
pub mod crypto;
pub mod fleet;
pub mod http;
pub mod k8s;
pub mod logging;
pub mod metrics;
pub mod render;
pub mod rollout;
pub mod store;
pub mod versions;
pub mod wakeups;

use anyhow::{Context as _, Result};
use dropshot::{ApiDescription, ConfigDropshot, HttpServer, ServerBuilder, VersionPolicy};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// The API description this server serves.
pub fn api() -> ApiDescription<http::Context> {
    // The trait's description only fails to build on a malformed trait,
    // which the API crate's own tests rule out.
    harmony_api::harmony_api_mod::api_description::<http::HarmonyImpl>()
        .expect("the Harmony API description is valid")
}

/// How to run one Harmony.
#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    /// Holds `harmony.sqlite3`; created if missing. Unused with
    /// `database_url`.
    pub data_dir: PathBuf,
    /// A PostgreSQL database (`postgres://…`) instead of SQLite: what
    /// several replicas share.
    pub database_url: Option<String>,
    /// Serve no API version newer than this, as an older release would.
    pub max_api_version: Option<semver::Version>,
    /// Largest request body accepted, in bytes.
    pub request_body_max_bytes: usize,
    /// Register two example data planes at start (for local runs).
    pub dev_seed: bool,
    /// The organization the example Hybrid data plane belongs to (default
    /// `local`, the organization `cargo xtask run` bootstraps).
    pub dev_organization: String,
    /// What generated secrets and hashes are derived from. Required, except
    /// with `dev_seed`, which uses [`render::SecretKey::development`].
    pub secret_key: Option<render::SecretKey>,
    /// Whose parameters of the committed rollout policy to run.
    pub environment: String,
    /// The policy file (default: the committed `rollout-policy.toml`).
    pub rollout_policy_file: Option<PathBuf>,
    /// The credential callers of the main API (astro-api) must send as
    /// `Authorization: Bearer`. Required, except with `dev_seed`.
    pub service_token: Option<String>,
    /// How often running rollouts are stepped (`None`: never on their own;
    /// tests step them by hand).
    pub rollout_tick: Option<std::time::Duration>,
    /// Serve the main API (and the agent API) over TLS (dropshot's
    /// `ConfigTls::AsFile`: a PEM certificate chain and PKCS #8 key).
    pub tls: Option<dropshot::ConfigTls>,
    /// What a change may add to its data plane ([`budget`]).
    pub budgets: budget::PlaneBudgets,
    /// Hear other replicas' changes through PostgreSQL `LISTEN` (default).
    /// Off where the connection cannot listen (a pooler in transaction
    /// mode): long polls then read the store again every second.
    pub listen: bool,
}

impl Config {
    pub fn new(bind: SocketAddr, data_dir: PathBuf) -> Config {
        Config {
            bind,
            data_dir,
            database_url: None,
            max_api_version: None,
            request_body_max_bytes: 1024 * 1024,
            dev_seed: false,
            dev_organization: "local".to_owned(),
            secret_key: None,
            environment: "local".to_owned(),
            rollout_policy_file: None,
            service_token: None,
            rollout_tick: Some(std::time::Duration::from_secs(10)),
            tls: None,
            budgets: budget::PlaneBudgets::default(),
            listen: true,
        }
    }
}

/// The application over `config`'s database and key.
fn open(config: &Config) -> Result<app::HarmonyApp> {
    open_with_clock(config, Arc::new(app::SystemClock))
}

fn open_with_clock(config: &Config, clock: Arc<dyn app::Clock>) -> Result<app::HarmonyApp> {
    let location = sql_store::Location::choose(
        config.database_url.as_deref(),
        &config.data_dir,
        "harmony.sqlite3",
    )?;
    let key = match (&config.secret_key, config.dev_seed) {
        (Some(key), _) => key.clone(),
        (None, true) => render::SecretKey::development(),
        (None, false) => anyhow::bail!(
            "a secret key is required (--secret-key-file PATH: 64 hex characters); \
             only a local run (--dev-seed) goes without, on a fixed development key"
        ),
    };
    let store = store::Store::open(&location, &key)
        .with_context(|| format!("opening the store in {}", location.describe()))?;
    // Older binaries sharing the database do not keep the planes' sums.
    store.recount_usage().context("recounting what deployments take on their planes")?;
    let mut harmony = app::HarmonyApp::new(store, clock, key).with_budgets(config.budgets);
    if let Some(tick) = config.rollout_tick {
        // Renewed every tick; lost only after three missed ones.
        harmony = harmony.with_lease(tick * 3);
    }
    Ok(if config.listen { harmony.listen_for_changes() } else { harmony })
}

/// The rollout policy `config` names, for its environment.
fn rollout_policy(config: &Config) -> Result<rollout::policy::RolloutPolicy> {
    let text = match &config.rollout_policy_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the rollout policy {}", path.display()))?,
        None => rollout::policy::COMMITTED.to_owned(),
    };
    rollout::policy::RolloutPolicy::load(&text, &config.environment).map_err(anyhow::Error::msg)
}

/// The contract step of a schema change: from now on every binary on
/// `config`'s database must know every migration this one knows. Returns
/// how many that was before and is now.
pub fn contract_schema(config: &Config) -> Result<(usize, usize)> {
    let location = sql_store::Location::choose(
        config.database_url.as_deref(),
        &config.data_dir,
        "harmony.sqlite3",
    )?;
    store::contract(&location).with_context(|| format!("contracting {}", location.describe()))
}

/// Issues a data plane's agent credential against `config`'s data (the
/// server may be running).
pub fn issue_agent_credential(config: &Config, data_plane_id: &str) -> Result<String> {
    open(config)?
        .issue_agent_credential(data_plane_id)
        .map_err(|e| anyhow::anyhow!("issuing a credential for {data_plane_id}: {e}"))
}

/// Starts a Harmony; it runs until the returned server is closed. The agent
/// API is started beside it with [`start_agent_api`].
pub fn start(config: &Config, log: &slog::Logger) -> Result<HttpServer<http::Context>> {
    start_with_clock(config, log, Arc::new(app::SystemClock))
}

/// [`start`] on `clock` instead of the wall clock (the benchmark runs a
/// rollout's hours of bakes on an [`app::ManualClock`]).
pub fn start_with_clock(
    config: &Config,
    log: &slog::Logger,
    clock: Arc<dyn app::Clock>,
) -> Result<HttpServer<http::Context>> {
    let harmony = open_with_clock(config, clock)?
        .with_rollout_policy(rollout_policy(config)?)
        .with_log(log.new(slog::o!("component" => "app")));
    if config.dev_seed {
        for (id, registration) in dev_data_planes(&config.dev_organization) {
            // Registered once: after that, a local rollout may have moved it.
            if harmony.data_plane(id).is_ok() {
                continue;
            }
            harmony
                .register_data_plane(id, registration, crate::app::newest_version())
                .with_context(|| format!("registering example data plane {id}"))?;
        }
    }
    let served = versions::ServedVersions::new(config.max_api_version.as_ref())
        .map_err(anyhow::Error::msg)?;
    slog::info!(log, "serving Harmony API"; "versions" => ?served.versions());
    if let Some(every) = config.rollout_tick {
        spawn_rollout_ticker(harmony.clone(), every, log.new(slog::o!("task" => "rollouts")));
    }
    let service_token_sha256 = match (&config.service_token, config.dev_seed) {
        (Some(token), _) => {
            use sha2::Digest;
            anyhow::ensure!(
                token.trim().len() >= 32,
                "the service credential must be at least 32 characters"
            );
            Some(sha2::Sha256::digest(token.trim().as_bytes()).into())
        }
        (None, true) => None,
        (None, false) => anyhow::bail!(
            "a service credential is required (--service-token-file PATH): callers of the \
             main API must present it; only a local run (--dev-seed) goes without"
        ),
    };
    let state = Arc::new(http::ServerState { harmony, served: served.versions().to_vec() });
    let admission =
        admission::Admission { versions: served, credential_sha256: service_token_sha256 };
    let server = ServerBuilder::new(api(), state, logging::refusals_are_not_errors(log))
        .config(ConfigDropshot {
            bind_address: config.bind,
            default_request_body_max_bytes: config.request_body_max_bytes,
            // In every request's log records, so the request metrics
            // (`metrics`) count by API version.
            // The caller's request id too (astro-api sends its own), so
            // a change can be followed from astro-api's log into this one.
            log_headers: vec![
                harmony_api::VERSION_HEADER.to_owned(),
                dropshot::HEADER_REQUEST_ID.to_owned(),
            ],
            ..Default::default()
        })
        .tls(config.tls.clone())
        .version_policy(VersionPolicy::Dynamic(Box::new(admission)))
        .start()
        .map_err(|e| anyhow::anyhow!("starting the HTTP server: {e}"))?;
    Ok(server)
}

/// Steps running rollouts every `every` until the runtime shuts down.
fn spawn_rollout_ticker(harmony: app::HarmonyApp, every: std::time::Duration, log: slog::Logger) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let h = harmony.clone();
            match sql_store::run_blocking(move || h.rollout_tick()).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => slog::warn!(log, "stepping rollouts failed; retrying"; "error" => %e),
                Err(e) => slog::error!(log, "the rollout step panicked"; "error" => %e),
            }
        }
    });
}

/// Serves the agent API for `harmony` on `bind`, beside the main API.
/// Agents reach only this listener; it can be exposed to data planes without
/// exposing the main API.
pub fn start_agent_api(
    bind: SocketAddr,
    harmony: &app::HarmonyApp,
    log: &slog::Logger,
) -> Result<HttpServer<agent::Context>> {
    start_agent_api_with(bind, harmony, log, None)
}

/// [`start_agent_api`], over TLS when `tls` is given.
pub fn start_agent_api_with(
    bind: SocketAddr,
    harmony: &app::HarmonyApp,
    log: &slog::Logger,
    tls: Option<&dropshot::ConfigTls>,
) -> Result<HttpServer<agent::Context>> {
    let api = harmony_agent_api::harmony_agent_api_mod::api_description::<agent::AgentImpl>()
        .map_err(|e| anyhow::anyhow!("the agent API description is invalid: {e}"))?;
    let newest = harmony_agent_api::latest_version();
    let policy = dropshot::ClientSpecifiesVersionInHeader::new(
        ::http::HeaderName::from_static("api-version"),
        newest,
    );
    let log = logging::refusals_are_not_errors(&log.new(slog::o!("api" => "agent")));
    ServerBuilder::new(api, Arc::new(harmony.clone()), log)
        .config(ConfigDropshot {
            bind_address: bind,
            default_request_body_max_bytes: 1024 * 1024,
            log_headers: vec![
                harmony_api::VERSION_HEADER.to_owned(),
                dropshot::HEADER_REQUEST_ID.to_owned(),
            ],
            ..Default::default()
        })
        .tls(tls.cloned())
        .version_policy(VersionPolicy::Dynamic(Box::new(policy)))
        .start()
        .map_err(|e| anyhow::anyhow!("starting the agent API server: {e}"))
}

/// The data planes a local run starts with: a shared Hosted cluster that
/// STANDARD deployments in AWS us-east-1 land on, and a customer's Hybrid
/// cluster.
pub fn dev_data_planes(
    organization: &str,
) -> Vec<(&'static str, harmony_api::latest::DataPlaneRegistration)> {
    use harmony_api::latest::{CloudProvider, DataPlaneKind, DataPlaneRegistration};
    let plane = |kind, shared: bool| DataPlaneRegistration {
        kind,
        cloud_provider: CloudProvider::Aws,
        region: "us-east-1".to_owned(),
        labels: if shared {
            [("astronomer.io/shared".to_owned(), "true".to_owned())].into()
        } else {
            [(app::OWNER_LABEL.to_owned(), organization.to_owned())].into()
        },
        kubernetes_version: "1.31".to_owned(),
        agent_version: "dev".to_owned(),
        platform_release: "2026.11.0".to_owned(),
    };
    vec![
        ("hosted-aws-us-east-1", plane(DataPlaneKind::Hosted, true)),
        ("hybrid-example", plane(DataPlaneKind::Hybrid, false)),
    ]
}
