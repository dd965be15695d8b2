//! The harmony-server binary: parses flags, starts [`harmony_server::start`],
//! and runs until interrupted.

use anyhow::Result;
use harmony_server::Config;
use service_process::flags;
use service_process::shutdown::{Closing, close_in_order};

/// Harmony: renders each deployment's Kubernetes manifests for its data
/// plane, keeps their revisions, hands them to the data plane's agent, and
/// rolls platform releases across data planes in waves.
#[derive(clap::Parser)]
#[command(name = "harmony-server", version, after_help = AFTER_HELP)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    flags: Flags,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Issues (or replaces) a data plane's agent credential and prints it
    /// once; only a hash of it is kept.
    AgentCredential {
        /// The data plane the credential is for.
        #[arg(long)]
        data_plane: String,
    },
    /// A schema change's contract step (docs/versioning.md): run it once no
    /// older harmony-server uses the database. Binaries that know fewer
    /// migrations then refuse it, and formats only this one's migrations
    /// read (packed sets, XChaCha20 seals) are written from the next start.
    ContractSchema,
}

/// Every flag can also be set from the environment variable named in its
/// help (a flag given on the command line wins).
#[derive(clap::Args)]
struct Flags {
    /// Listen address of the main API.
    #[arg(long, env = "HARMONY_BIND", default_value = "127.0.0.1:12220", global = true)]
    bind: std::net::SocketAddr,
    /// The agent API's listen address.
    #[arg(long, env = "HARMONY_AGENT_BIND", default_value = "127.0.0.1:12221", global = true)]
    agent_bind: std::net::SocketAddr,
    /// The admin listener: /metrics (Prometheus), /livez, /readyz; no
    /// credential, so keep it private (none unless given; docs/operations.md).
    #[arg(long, env = "HARMONY_ADMIN_BIND", global = true)]
    admin_bind: Option<std::net::SocketAddr>,
    /// json (one bunyan object per line) or text.
    #[arg(long, env = "HARMONY_LOG_FORMAT", default_value = "json", global = true)]
    log_format: service_log::LogFormat,
    /// trace, debug, info, warning, error or critical.
    #[arg(long, env = "HARMONY_LOG_LEVEL", default_value = "info", value_parser = service_log::parse_level, global = true)]
    log_level: slog::Level,
    /// Where harmony.sqlite3 lives.
    #[arg(long, env = "HARMONY_DATA_DIR", default_value = "data/harmony", global = true)]
    data_dir: std::path::PathBuf,
    /// PostgreSQL instead (postgres://user@host:port/db, `sslmode` as libpq
    /// reads it), what several replicas share; the environment keeps a
    /// password off the command line.
    #[arg(long, env = "HARMONY_DATABASE_URL", hide_env_values = true, global = true)]
    database_url: Option<String>,
    /// On PostgreSQL, do not LISTEN for other replicas' changes (for a
    /// connection pooler that cannot, e.g. PgBouncer in transaction mode):
    /// agents' long polls then read the store again every second.
    #[arg(long, env = "HARMONY_NO_LISTEN", global = true)]
    no_listen: bool,
    /// Serve no API version newer than this, as an older Harmony would.
    #[arg(long, env = "HARMONY_MAX_API_VERSION", global = true)]
    max_api_version: Option<semver::Version>,
    /// The 32-byte key (64 hex characters) generated secrets, hashes and
    /// seals derive from; required except with --dev-seed.
    #[arg(long, env = "HARMONY_SECRET_KEY_FILE", global = true)]
    secret_key_file: Option<std::path::PathBuf>,
    /// A local run: two example data planes, and a fixed development key
    /// instead of --secret-key-file.
    #[arg(long, env = "HARMONY_DEV_SEED", global = true)]
    dev_seed: bool,
    /// With --dev-seed: the organization the example Hybrid data plane
    /// belongs to.
    #[arg(long, env = "HARMONY_DEV_ORGANIZATION", default_value = "local", global = true)]
    dev_organization: String,
    /// Whose parameters of the rollout policy to run (local, staging,
    /// production).
    #[arg(long, env = "HARMONY_ENVIRONMENT", default_value = "local", global = true)]
    environment: String,
    /// The rollout policy (default: the committed rollout-policy.toml).
    #[arg(long, env = "HARMONY_ROLLOUT_POLICY_FILE", global = true)]
    rollout_policy_file: Option<std::path::PathBuf>,
    /// How often running rollouts are stepped, in seconds (default 10).
    #[arg(long, env = "HARMONY_ROLLOUT_TICK_SECONDS", value_parser = clap::value_parser!(u64).range(1..), global = true)]
    rollout_tick_seconds: Option<u64>,
    /// The credential callers of the main API (astro-api) send as
    /// `Authorization: Bearer`; required except with --dev-seed (GET
    /// /api-versions stays open).
    #[arg(long, env = "HARMONY_SERVICE_TOKEN_FILE", global = true)]
    service_token_file: Option<std::path::PathBuf>,
    /// Serve both APIs over TLS with this PEM certificate chain (the
    /// server's certificate first; with --tls-key).
    #[arg(long, env = "HARMONY_TLS_CERT", requires = "tls_key", global = true)]
    tls_cert: Option<std::path::PathBuf>,
    /// ... and this PEM (PKCS #8) private key.
    #[arg(long, env = "HARMONY_TLS_KEY", requires = "tls_cert", global = true)]
    tls_key: Option<std::path::PathBuf>,
    /// Rendered bytes (JSON manifests, as agents get them) a shared Hosted
    /// plane may hold in all; a change past it is refused (422 QuotaExceeded).
    #[arg(long, env = "HARMONY_PLANE_BUDGET_SHARED_BYTES", default_value_t = harmony_server::budget::PlaneBudgets::default().shared_plane_bytes, global = true)]
    plane_budget_shared_bytes: u64,
    /// Rendered bytes one organization may hold on a shared Hosted plane.
    #[arg(long, env = "HARMONY_PLANE_BUDGET_ORGANIZATION_BYTES", default_value_t = harmony_server::budget::PlaneBudgets::default().organization_bytes_on_shared_plane, global = true)]
    plane_budget_organization_bytes: u64,
    /// Rendered bytes a plane one organization owns (Hybrid, Dedicated) may hold.
    #[arg(long, env = "HARMONY_PLANE_BUDGET_OWNED_BYTES", default_value_t = harmony_server::budget::PlaneBudgets::default().owned_plane_bytes, global = true)]
    plane_budget_owned_bytes: u64,
    /// Seconds a connection on any listener may go with no byte moving
    /// either way before it is closed (above the agents' 30 s long poll).
    #[arg(long, env = "HARMONY_IDLE_TIMEOUT", default_value = "60", value_parser = service_process::flags::seconds, global = true)]
    idle_timeout: std::time::Duration,
    /// Connections the main API holds at once; more wait until one closes.
    #[arg(long, env = "HARMONY_MAX_CONNECTIONS", default_value_t = 1024, global = true)]
    max_connections: usize,
    /// Connections the agent API holds at once (each agent keeps one).
    #[arg(long, env = "HARMONY_AGENT_MAX_CONNECTIONS", default_value_t = 4096, global = true)]
    agent_max_connections: usize,
    /// Seconds a request's body may take to arrive after its headers, or it
    /// is answered 408 and its connection closed (headers have hyper's 30 s).
    #[arg(long, env = "HARMONY_BODY_READ_TIMEOUT", default_value = "30", value_parser = service_process::flags::seconds, global = true)]
    body_read_timeout: std::time::Duration,
    /// Seconds a stop (SIGTERM, SIGINT) waits for requests in flight to
    /// finish; past it they are cut off and the process exits.
    #[arg(long, env = "HARMONY_SHUTDOWN_GRACE", default_value = "25", value_parser = service_process::flags::seconds, global = true)]
    shutdown_grace: std::time::Duration,
}

const AFTER_HELP: &str = "\
SIGTERM or SIGINT stops it: agents' long polls are answered at once, no new
requests, those in flight finish, exit 0. See docs/operations.md (metrics,
health, logs, TLS), docs/rollouts.md and docs/security.md.";

// Allocation-heavy JSON work on many threads: mimalloc measured ~20% faster
// rendering than glibc malloc here (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<()> {
    let args = <Args as clap::Parser>::parse();
    let grace = args.flags.shutdown_grace;
    let (config, agent_bind, ops) = configure(args.flags)?;
    match args.command {
        Some(Command::ContractSchema) => {
            let (before, after) = harmony_server::contract_schema(&config)?;
            println!(
                "harmony schema contracted: binaries must know {after} migrations (was {before})"
            );
            return Ok(());
        }
        Some(Command::AgentCredential { data_plane }) => {
            let credential = harmony_server::issue_agent_credential(&config, &data_plane)?;
            println!("{credential}");
            return Ok(());
        }
        None => {}
    }
    // Before anything listens: a SIGTERM from then on stops it cleanly.
    let stop = service_process::shutdown::stop_requested();
    let (mut registry, requests) = harmony_server::metrics::registry();
    let log = requests.logger(service_log::logger_as("harmony", ops.level, ops.format));
    // Each server listens behind a front door at the address asked for,
    // which closes idle connections and caps how many each holds.
    let bind = config.bind;
    let server = harmony_server::start(
        &harmony_server::Config { bind: front_door::BEHIND, ..config.clone() },
        &log,
    )?;
    let agents = harmony_server::start_agent_api_with(
        front_door::BEHIND,
        &server.app_private().harmony,
        &log,
        config.tls.as_ref(),
    )?;
    harmony_server::fleet::register_fleet(&mut registry, server.app_private().clone());
    let admin = match ops.admin_bind {
        Some(_) => Some(
            service_admin::start(
                front_door::BEHIND,
                std::sync::Arc::new(registry),
                harmony_server::fleet::readiness(server.app_private().clone()),
                None,
                &log,
            )
            .map_err(anyhow::Error::msg)?,
        ),
        None => None,
    };
    let mut listeners = vec![
        front_door::Listener {
            name: "api",
            bind,
            server: server.local_addr(),
            max_connections: ops.max_connections,
        },
        front_door::Listener {
            name: "agents",
            bind: agent_bind,
            server: agents.local_addr(),
            max_connections: ops.agent_max_connections,
        },
    ];
    if let (Some(bind), Some(admin)) = (ops.admin_bind, &admin) {
        listeners.push(front_door::Listener::admin(bind, admin.local_addr()));
    }
    let doors = front_door::Doors::open(listeners, ops.idle_timeout, &log)?;
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    println!(
        "harmony listening on {scheme}://{} (agents: {scheme}://{}) ({})",
        doors.addr("api").unwrap_or(bind),
        doors.addr("agents").unwrap_or(agent_bind),
        service_admin::describe(doors.addr("admin"))
    );
    let mut closing: Vec<Closing> = Vec::new();
    let deadline = tokio::select! {
        result = server.wait_for_shutdown() => {
            result.map_err(anyhow::Error::msg)?;
            tokio::time::Instant::now() + grace
        }
        signal = stop => {
            slog::info!(log, "stopping: no new requests, finishing those in flight";
                "signal" => signal);
            doors.close();
            server.app_private().harmony.end_long_polls();
            closing.push(("api", Box::pin(server.close())));
            tokio::time::Instant::now() + grace
        }
    };
    closing.push(("agents", Box::pin(agents.close())));
    closing.extend(admin.map(|admin| ("admin", Box::pin(admin.close()) as _)));
    close_in_order(deadline, &log, closing).await;
    Ok(())
}

/// How the process is run and watched, beside what it serves.
struct Operations {
    /// The admin listener's address; none without `--admin-bind`.
    admin_bind: Option<std::net::SocketAddr>,
    /// Every listener's front door (`front_door`).
    idle_timeout: std::time::Duration,
    max_connections: usize,
    agent_max_connections: usize,
    level: slog::Level,
    format: service_log::LogFormat,
}

/// What the flags ask for, files read.
fn configure(flags: Flags) -> Result<(Config, std::net::SocketAddr, Operations)> {
    let ops = Operations {
        admin_bind: flags.admin_bind,
        idle_timeout: flags.idle_timeout,
        max_connections: flags.max_connections,
        agent_max_connections: flags.agent_max_connections,
        level: flags.log_level,
        format: flags.log_format,
    };
    let mut config = Config::new(flags.bind, flags.data_dir);
    config.database_url = flags.database_url.filter(|u| !u.is_empty());
    config.listen = !flags.no_listen;
    config.max_api_version = flags.max_api_version;
    config.dev_seed = flags.dev_seed;
    config.dev_organization = flags.dev_organization;
    config.environment = flags.environment;
    config.rollout_policy_file = flags.rollout_policy_file;
    config.rollout_tick = flags.rollout_tick_seconds.map(std::time::Duration::from_secs);
    if let Some(path) = flags.service_token_file {
        let token =
            flags::secret_file(&path, "the service credential").map_err(anyhow::Error::msg)?;
        config.service_token = Some(token);
    }
    if let Some(path) = flags.secret_key_file {
        let key = flags::key_file(&path).map_err(anyhow::Error::msg)?;
        config.secret_key = Some(harmony_server::render::SecretKey::new(key));
    }
    config.tls = match (flags.tls_cert, flags.tls_key) {
        (Some(cert_file), Some(key_file)) => {
            Some(dropshot::ConfigTls::AsFile { cert_file, key_file })
        }
        _ => None,
    };
    config.budgets = harmony_server::budget::PlaneBudgets {
        shared_plane_bytes: flags.plane_budget_shared_bytes,
        organization_bytes_on_shared_plane: flags.plane_budget_organization_bytes,
        owned_plane_bytes: flags.plane_budget_owned_bytes,
    };
    body_deadline::set_read_timeout(flags.body_read_timeout);
    Ok((config, flags.agent_bind, ops))
}
