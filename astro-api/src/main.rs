//! The astro-api binary: parses flags, starts [`astro_api::start`], and runs
//! until interrupted.

use anyhow::{Context, Result};
use astro_api::Config;
use astro_api::harmony::CellConfig;
use service_process::flags;
use service_process::shutdown::{Closing, close_in_order};

/// The public Astro API: deployments, workspaces, tokens; every change goes
/// to the Harmony cell of its data plane.
#[derive(clap::Parser)]
#[command(name = "astro-api", version, after_help = AFTER_HELP)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    flags: Flags,
}

#[derive(clap::Subcommand)]
enum Command {
    /// A schema change's contract step (docs/versioning.md): run it once no
    /// older astro-api uses the database; binaries that know fewer
    /// migrations than this one then refuse it.
    ContractSchema,
}

/// Every flag can also be set from the environment variable named in its
/// help (a flag given on the command line wins).
#[derive(clap::Args)]
struct Flags {
    /// Listen address.
    #[arg(long, env = "ASTRO_BIND", default_value = "127.0.0.1:8080", global = true)]
    bind: std::net::SocketAddr,
    /// The admin listener: /metrics (Prometheus), /livez, /readyz; no
    /// credential, so keep it private (none unless given; docs/operations.md).
    #[arg(long, env = "ASTRO_ADMIN_BIND", global = true)]
    admin_bind: Option<std::net::SocketAddr>,
    /// json (one bunyan object per line) or text.
    #[arg(long, env = "ASTRO_LOG_FORMAT", default_value = "json", global = true)]
    log_format: service_log::LogFormat,
    /// trace, debug, info, warning, error or critical.
    #[arg(long, env = "ASTRO_LOG_LEVEL", default_value = "info", value_parser = service_log::parse_level, global = true)]
    log_level: slog::Level,
    /// Where astro.sqlite3 lives.
    #[arg(long, env = "ASTRO_DATA_DIR", default_value = "data/astro", global = true)]
    data_dir: std::path::PathBuf,
    /// PostgreSQL instead (postgres://user@host:port/db, `sslmode` as libpq
    /// reads it); the environment keeps a password off the command line.
    #[arg(long, env = "ASTRO_DATABASE_URL", hide_env_values = true, global = true)]
    database_url: Option<String>,
    /// One Harmony, as cell "default".
    #[arg(long, env = "ASTRO_HARMONY", default_value = "http://127.0.0.1:12220", global = true)]
    harmony: String,
    /// A Harmony cell, NAME=URL; repeat for several (in the environment,
    /// comma-separated). Replaces --harmony.
    #[arg(long, env = "ASTRO_HARMONY_CELLS", value_delimiter = ',', value_parser = cell, global = true)]
    harmony_cell: Vec<CellConfig>,
    /// The service credential Harmony requires (sent to every cell).
    #[arg(long, env = "ASTRO_HARMONY_TOKEN_FILE", global = true)]
    harmony_token_file: Option<std::path::PathBuf>,
    /// PEM certificates to trust (besides the system's roots) for https://
    /// cells: the CA that signed Harmony's certificate.
    #[arg(long, env = "ASTRO_HARMONY_CA_FILE", global = true)]
    harmony_ca_file: Option<std::path::PathBuf>,
    /// The key (64 hex characters) secret values are sealed with at rest;
    /// required with --database-url (the same for every replica); a SQLite
    /// run creates DATA_DIR/astro-secret.key.
    #[arg(long, env = "ASTRO_SECRET_KEY_FILE", global = true)]
    secret_key_file: Option<std::path::PathBuf>,
    /// Serve over TLS with this PEM certificate chain (with --tls-key).
    #[arg(long, env = "ASTRO_TLS_CERT", requires = "tls_key", global = true)]
    tls_cert: Option<std::path::PathBuf>,
    /// ... and this PEM (PKCS #8) private key.
    #[arg(long, env = "ASTRO_TLS_KEY", requires = "tls_cert", global = true)]
    tls_key: Option<std::path::PathBuf>,
    /// Seconds a connection on any listener may go with no byte moving
    /// either way before it is closed.
    #[arg(long, env = "ASTRO_IDLE_TIMEOUT", default_value = "60", value_parser = service_process::flags::seconds, global = true)]
    idle_timeout: std::time::Duration,
    /// Connections the public API holds at once; more wait until one closes.
    #[arg(long, env = "ASTRO_MAX_CONNECTIONS", default_value_t = 2048, global = true)]
    max_connections: usize,
    /// Seconds a request's body may take to arrive after its headers, or it
    /// is answered 408 and its connection closed (headers have hyper's 30 s).
    #[arg(long, env = "ASTRO_BODY_READ_TIMEOUT", default_value = "30", value_parser = service_process::flags::seconds, global = true)]
    body_read_timeout: std::time::Duration,
    /// Seconds a stop (SIGTERM, SIGINT) waits for requests in flight to
    /// finish; past it they are cut off and the process exits.
    #[arg(long, env = "ASTRO_SHUTDOWN_GRACE", default_value = "25", value_parser = service_process::flags::seconds, global = true)]
    shutdown_grace: std::time::Duration,
    /// Deployments an organization may have (creates past it are refused
    /// with 403 QuotaExceeded).
    #[arg(long, env = "ASTRO_QUOTA_DEPLOYMENTS_PER_ORGANIZATION", default_value_t = astro_api::quota::Quotas::default().deployments_per_organization, global = true)]
    quota_deployments_per_organization: u64,
    /// Deployments one workspace may have.
    #[arg(long, env = "ASTRO_QUOTA_DEPLOYMENTS_PER_WORKSPACE", default_value_t = astro_api::quota::Quotas::default().deployments_per_workspace, global = true)]
    quota_deployments_per_workspace: u64,
    /// Creates, updates and finalized deploys an organization may make per
    /// minute, in a burst or spread (past it: 429, with when to retry).
    #[arg(long, env = "ASTRO_QUOTA_CHANGES_PER_MINUTE", default_value_t = astro_api::quota::Quotas::default().changes_per_minute, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    quota_changes_per_minute: u32,
    /// Create organization ORG (with workspace WS, default "default") and an
    /// owner API token, if ORG does not exist yet; the token is printed once
    /// (or written to --bootstrap-token-file).
    #[arg(long, env = "ASTRO_BOOTSTRAP", value_name = "ORG[/WS]", global = true)]
    bootstrap: Option<String>,
    /// Write the bootstrap token to this file (created 0600; an existing one
    /// others can read is refused) instead of printing it.
    #[arg(long, env = "ASTRO_BOOTSTRAP_TOKEN_FILE", requires = "bootstrap", global = true)]
    bootstrap_token_file: Option<std::path::PathBuf>,
}

const AFTER_HELP: &str = "\
SIGTERM or SIGINT stops it: no new requests, those in flight finish, exit 0.
See docs/operations.md (metrics, health, logs, TLS) and docs/security.md.";

fn cell(spec: &str) -> Result<CellConfig, String> {
    let (name, url) =
        spec.split_once('=').ok_or_else(|| format!("a cell is NAME=URL, got {spec:?}"))?;
    Ok(CellConfig { name: name.to_owned(), url: url.to_owned() })
}

// Allocation-heavy JSON work on many threads: mimalloc measured ~20% faster
// rendering than glibc malloc here (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<()> {
    let args = <Args as clap::Parser>::parse();
    let grace = args.flags.shutdown_grace;
    let (config, bootstrap, ops) = configure(args.flags)?;
    if let Some(Command::ContractSchema) = args.command {
        let (before, after) = astro_api::contract_schema(&config)?;
        println!("astro schema contracted: binaries must know {after} migrations (was {before})");
        return Ok(());
    }
    // Before anything is created: a token that cannot be written safely
    // must not be minted (it would be shown nowhere).
    if let Some(path) = bootstrap.as_ref().and_then(|b| b.token_file.as_deref()) {
        private_or_absent(path)?;
    }
    // Before anything listens: a SIGTERM from then on stops it cleanly.
    let stop = service_process::shutdown::stop_requested();
    let (mut registry, requests) = astro_api::metrics::registry();
    let base = service_log::logger_as("astro-api", ops.level, ops.format);
    let log = requests.logger(base);
    // The API listens behind a front door at the address asked for, which
    // closes idle connections and caps how many it holds.
    let bind = config.bind;
    let server =
        astro_api::start(&astro_api::Config { bind: front_door::BEHIND, ..config.clone() }, &log)?;
    astro_api::admin::register_outbox(&mut registry, server.app_private().clone());
    let cells = astro_api::admin::register_cells(&mut registry, server.app_private().clone());
    let admin = match ops.admin_bind {
        Some(_) => Some(
            service_admin::start(
                front_door::BEHIND,
                std::sync::Arc::new(registry),
                astro_api::admin::readiness(server.app_private().clone()),
                Some(cells),
                &log,
            )
            .map_err(anyhow::Error::msg)?,
        ),
        None => None,
    };
    if let Some(bootstrap) = bootstrap {
        bootstrap.run(server.app_private()).await?;
    }
    let mut listeners = vec![front_door::Listener {
        name: "api",
        bind,
        server: server.local_addr(),
        max_connections: ops.max_connections,
    }];
    if let (Some(bind), Some(admin)) = (ops.admin_bind, &admin) {
        listeners.push(front_door::Listener::admin(bind, admin.local_addr()));
    }
    let doors = front_door::Doors::open(listeners, ops.idle_timeout, &log)?;
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    println!(
        "astro-api listening on {scheme}://{} ({})",
        doors.addr("api").unwrap_or(bind),
        service_admin::describe(doors.addr("admin"))
    );
    tokio::select! {
        result = server.wait_for_shutdown() => result.map_err(anyhow::Error::msg)?,
        signal = stop => {
            slog::info!(log, "stopping: no new requests, finishing those in flight";
                "signal" => signal);
            doors.close();
            let mut closing: Vec<Closing> = vec![("api", Box::pin(server.close()))];
            closing.extend(admin.map(|admin| ("admin", Box::pin(admin.close()) as _)));
            close_in_order(tokio::time::Instant::now() + grace, &log, closing).await;
        }
    }
    Ok(())
}

/// An organization to create at start, and where its owner token goes.
struct Bootstrap {
    organization: String,
    workspace: String,
    token_file: Option<std::path::PathBuf>,
}

impl Bootstrap {
    async fn run(self, astro: &astro_api::app::Astro) -> Result<()> {
        let created = astro
            .bootstrap(&self.organization, &self.workspace)
            .await
            .map_err(|e| anyhow::anyhow!("bootstrapping {}: {e}", self.organization))?;
        let Some(token) = created else {
            println!("organization {} exists; its tokens are not shown again", self.organization);
            return Ok(());
        };
        match self.token_file {
            Some(path) => write_private(&path, &token)
                .with_context(|| format!("writing the token to {}", path.display()))?,
            None => println!(
                "created organization {} (workspace {}); owner API token, shown once:\n{token}",
                self.organization, self.workspace
            ),
        }
        Ok(())
    }
}

/// Writes a secret to `path`: a new file created 0600, or an existing one
/// only when nobody but its owner can read it (an existing 0644 file would
/// keep its mode, and the token would be readable by anyone).
fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt as _;
    private_or_absent(path)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true).mode(0o600);
    options.open(path)?.write_all(content.as_bytes())
}

/// `Ok` when `path` does not exist or only its owner can read it.
fn private_or_absent(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(metadata) = std::fs::metadata(path) {
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "{} exists with mode {mode:o}; a token file must be 0600 \
                     (chmod 600 it, or name a new file)",
                    path.display()
                ),
            ));
        }
    }
    Ok(())
}

/// How the process is run and watched, beside what it serves.
struct Operations {
    /// The admin listener's address; none without `--admin-bind`.
    admin_bind: Option<std::net::SocketAddr>,
    /// Every listener's front door (`front_door`).
    idle_timeout: std::time::Duration,
    max_connections: usize,
    level: slog::Level,
    format: service_log::LogFormat,
}

/// What the flags ask for, files read.
fn configure(flags: Flags) -> Result<(Config, Option<Bootstrap>, Operations)> {
    let ops = Operations {
        admin_bind: flags.admin_bind,
        idle_timeout: flags.idle_timeout,
        max_connections: flags.max_connections,
        level: flags.log_level,
        format: flags.log_format,
    };
    let mut config = Config::new(flags.bind, flags.data_dir, flags.harmony);
    config.database_url = flags.database_url.filter(|u| !u.is_empty());
    if !flags.harmony_cell.is_empty() {
        config.cells = flags.harmony_cell;
    }
    if let Some(path) = flags.harmony_ca_file {
        config.harmony_ca = Some(
            std::fs::read(&path)
                .with_context(|| format!("reading the Harmony CA bundle {}", path.display()))?,
        );
    }
    if let Some(path) = flags.harmony_token_file {
        let token =
            flags::secret_file(&path, "the Harmony credential").map_err(anyhow::Error::msg)?;
        config.harmony_token = Some(token);
    }
    if let Some(path) = flags.secret_key_file {
        let key = flags::key_file(&path).map_err(anyhow::Error::msg)?;
        config.secret_key = Some(astro_api::seal::Sealer::new(key));
    }
    config.tls = match (flags.tls_cert, flags.tls_key) {
        (Some(cert_file), Some(key_file)) => {
            Some(dropshot::ConfigTls::AsFile { cert_file, key_file })
        }
        _ => None,
    };
    config.quotas = astro_api::quota::Quotas {
        deployments_per_organization: flags.quota_deployments_per_organization,
        deployments_per_workspace: flags.quota_deployments_per_workspace,
        changes_per_minute: flags.quota_changes_per_minute,
    };
    body_deadline::set_read_timeout(flags.body_read_timeout);
    let bootstrap = flags.bootstrap.map(|spec| {
        let (organization, workspace) = spec.split_once('/').unwrap_or((&spec, "default"));
        Bootstrap {
            organization: organization.to_owned(),
            workspace: workspace.to_owned(),
            token_file: flags.bootstrap_token_file.clone(),
        }
    });
    Ok((config, bootstrap, ops))
}
