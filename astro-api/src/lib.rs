//! astro-api: the public API service.
//!
//! Validates every deployment change ([`validate`]), forwards it to the
//! Harmony cell that owns its data plane through the generated client,
//! negotiating each cell's API version ([`harmony`]), and keeps its own
//! record ([`store`]: SQLite by default, PostgreSQL for replicas), handing
//! each change over through an outbox
//! ([`handoff`]). [`start`] serves [`http::AstroImpl`] with dropshot.

pub mod admin;
pub mod app;
pub mod auth;
pub mod clock;
pub mod failure;
pub mod handoff;
pub mod harmony;
pub mod http;
pub mod metrics;
pub mod quota;
pub mod seal;
pub mod store;
pub mod validate;

use anyhow::{Context as _, Result};
use dropshot::{ApiDescription, ConfigDropshot, HttpServer, ServerBuilder};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The API description this server serves.
pub fn api() -> ApiDescription<http::Context> {
    // Only a malformed trait fails here, which the document check rules out.
    astro_public_api::astro_api_mod::api_description::<http::AstroImpl>()
        .expect("the Astro API description is valid")
}

#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    /// Holds `astro.sqlite3`; created if missing. Unused with
    /// `database_url`.
    pub data_dir: PathBuf,
    /// A PostgreSQL database (`postgres://…`) instead of SQLite.
    pub database_url: Option<String>,
    /// The Harmony cells this astro-api forwards to.
    pub cells: Vec<harmony::CellConfig>,
    /// Deadline for one call to Harmony.
    pub harmony_timeout: Duration,
    /// How long a negotiated Harmony API version is trusted before the cell
    /// is asked again (an upgrade is noticed within this).
    pub negotiation_ttl: Duration,
    /// How long a request waits for its change to reach Harmony before it is
    /// answered with the pending status (the change is durable either way).
    pub handoff_wait: Duration,
    /// Ceiling of the delivery worker's retry backoff.
    pub handoff_max_backoff: Duration,
    /// The service credential Harmony's main API requires (sent as
    /// `Authorization: Bearer` to every cell); `None` for a local Harmony.
    pub harmony_token: Option<String>,
    /// The key secret values are sealed with at rest ([`seal`]). Required
    /// with PostgreSQL (every replica must share it); on SQLite, `None`
    /// uses `astro-secret.key` in the data directory, created (0600) when
    /// missing.
    pub secret_key: Option<seal::Sealer>,
    /// PEM certificates trusted (besides the system's roots) when reaching
    /// Harmony cells over `https://`: the private CA that signed theirs.
    pub harmony_ca: Option<Vec<u8>>,
    /// Serve the public API over TLS (dropshot's `ConfigTls::AsFile`: a
    /// PEM certificate chain and PKCS #8 key).
    pub tls: Option<dropshot::ConfigTls>,
    /// What no organization may exceed ([`quota`]).
    pub quotas: quota::Quotas,
}

impl Config {
    /// One cell, named `default`.
    pub fn new(bind: SocketAddr, data_dir: PathBuf, harmony_url: String) -> Config {
        Config {
            bind,
            data_dir,
            database_url: None,
            cells: vec![harmony::CellConfig { name: "default".to_owned(), url: harmony_url }],
            harmony_timeout: Duration::from_secs(10),
            negotiation_ttl: Duration::from_secs(30),
            handoff_wait: Duration::from_secs(3),
            handoff_max_backoff: Duration::from_secs(30),
            harmony_token: None,
            secret_key: None,
            harmony_ca: None,
            tls: None,
            quotas: quota::Quotas::default(),
        }
    }
}

/// The key of a SQLite-only run: `astro-secret.key` in `data_dir`, created
/// with a new random key (0600) when missing.
fn local_key(data_dir: &std::path::Path) -> Result<seal::Sealer> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = data_dir.join("astro-secret.key");
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
        Ok(mut file) => file
            .write_all(seal::Sealer::new_key_hex().as_bytes())
            .with_context(|| format!("writing {}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    seal::Sealer::from_hex(&text)
        .with_context(|| format!("{} must hold 64 hex characters", path.display()))
}

/// The contract step of a schema change: from now on every binary on
/// `config`'s database must know every migration this one knows. Returns
/// how many that was before and is now.
pub fn contract_schema(config: &Config) -> Result<(usize, usize)> {
    let location = sql_store::Location::choose(
        config.database_url.as_deref(),
        &config.data_dir,
        "astro.sqlite3",
    )?;
    store::contract(&location).with_context(|| format!("contracting {}", location.describe()))
}

/// Starts the server and the outbox delivery worker. Must be called within
/// a Tokio runtime; the worker stops when the server is closed.
pub fn start(config: &Config, log: &slog::Logger) -> Result<HttpServer<http::Context>> {
    start_with_clock(config, log, Arc::new(clock::SystemClock))
}

/// [`start`] on `clock` (tests: a [`clock::ManualClock`], shared by every
/// replica of the test).
pub fn start_with_clock(
    config: &Config,
    log: &slog::Logger,
    clock: Arc<dyn clock::Clock>,
) -> Result<HttpServer<http::Context>> {
    let location = sql_store::Location::choose(
        config.database_url.as_deref(),
        &config.data_dir,
        "astro.sqlite3",
    )?;
    let sealer = match (&config.secret_key, &config.database_url) {
        (Some(sealer), _) => sealer.clone(),
        (None, None) => local_key(&config.data_dir)?,
        (None, Some(_)) => anyhow::bail!(
            "with PostgreSQL, astro-api needs --secret-key-file (64 hex characters, the same for \
             every replica): secret values are sealed with it at rest"
        ),
    };
    let fingerprint = sealer.fingerprint().to_owned();
    let store = store::Store::open(&location, sealer)
        .with_context(|| format!("opening the store in {}", location.describe()))?;
    // A change queued under another key could never be delivered: refuse
    // to start rather than show "Harmony is unavailable" for it for ever.
    if let Some((seq, deployment)) = store.first_unopenable_entry()? {
        anyhow::bail!(
            "outbox entry {seq} (deployment {deployment}) holds secret values that this \
             astro-api's key (fingerprint {fingerprint}) cannot open: they were sealed under \
             another --secret-key-file; start with the key they were sealed with (every \
             replica must share one)"
        );
    }
    let store = store.with_clock(clock.clone()).with_quotas(config.quotas);
    let cells = Arc::new(
        harmony::Cells::new(
            &config.cells,
            config.harmony_timeout,
            config.negotiation_ttl,
            config.harmony_token.as_deref(),
            config.harmony_ca.as_deref(),
        )?
        .with_store(store.clone()),
    );
    let handoff = handoff::Handoff::start(
        store.clone(),
        cells.clone(),
        config.handoff_max_backoff,
        clock.clone(),
        Arc::new(clock::OsRandom),
        log.new(slog::o!("component" => "handoff")),
    );
    let astro = Arc::new(app::Astro::new(store, cells, handoff, config.handoff_wait, clock));
    ServerBuilder::new(api(), astro, log.clone())
        .config(ConfigDropshot {
            bind_address: config.bind,
            default_request_body_max_bytes: 256 * 1024,
            ..Default::default()
        })
        .tls(config.tls.clone())
        .start()
        .map_err(|e| anyhow::anyhow!("starting the HTTP server: {e}"))
}
