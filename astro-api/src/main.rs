//! The astro-api binary: parses flags, starts [`astro_api::start`], and runs
//! until interrupted.

use anyhow::{Context, Result, bail};
use astro_api::Config;
use astro_api::harmony::CellConfig;

const USAGE: &str = "\
usage: astro-api [--bind ADDR] [--data-dir DIR | --database-url URL]
                 [--harmony URL | --harmony-cell NAME=URL ...]
                 [--harmony-token-file PATH] [--harmony-ca-file PATH] [--secret-key-file PATH]
                 [--tls-cert PATH --tls-key PATH] [--body-read-timeout SECONDS]
                 [--admin-bind ADDR] [--log-format json|text] [--log-level LEVEL]
                 [--bootstrap ORG[/WORKSPACE] [--bootstrap-token-file PATH]]
       astro-api contract-schema [--data-dir DIR | --database-url URL]

  --bind ADDR               listen address (default 127.0.0.1:8080)
  --admin-bind ADDR         the admin listener: /metrics (Prometheus), /livez,
                            /readyz; no credential, so keep it private (none unless
                            given; docs/operations.md)
  --log-format FORMAT       json (default: one bunyan object per line) or text
  --log-level LEVEL         trace, debug, info (default), warning, error, critical
  --data-dir DIR            where astro.sqlite3 lives (default ./data/astro)
  --database-url URL        PostgreSQL instead (postgres://user@host:port/db); also
                            read from ASTRO_DATABASE_URL (keeps a password off the
                            command line)
  --harmony URL             one Harmony, as cell \"default\" (default http://127.0.0.1:12220)
  --harmony-cell NAME=URL   a Harmony cell; repeat for several
  --harmony-token-file PATH the service credential Harmony requires (sent to every cell)
  --harmony-ca-file PATH    PEM certificates to trust (besides the system's roots) for
                            https:// cells: the CA that signed Harmony's certificate
  --tls-cert PATH           serve over TLS with this PEM certificate chain
  --tls-key PATH            ... and this PEM (PKCS #8) private key
  --body-read-timeout SECS  a request's body must arrive within this long after its
                            headers, or it is answered 408 and its connection closed
                            (default 30; headers have hyper's 30 s)
  --version                 print the version and exit
  --secret-key-file PATH    the key (64 hex characters) secret values are sealed with at
                            rest; required with --database-url (the same for every
                            replica); a SQLite run creates DIR/astro-secret.key
  --bootstrap ORG[/WS]      create organization ORG (with workspace WS, default \"default\")
                            and an owner API token, if ORG does not exist yet; the
                            token is printed once (or written to the file below)
  --bootstrap-token-file P  write the bootstrap token to P (mode 0600) instead

SIGTERM or SIGINT stops it: no new requests, those in flight finish, exit 0.

contract-schema is a schema change's contract step (docs/versioning.md): run it
once no older astro-api uses the database; binaries that know fewer
migrations than this one then refuse it.";

// Allocation-heavy JSON work on many threads: mimalloc measured ~20% faster
// rendering than glibc malloc here (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let contract = args.first().is_some_and(|a| a == "contract-schema");
    if contract {
        args.remove(0);
    }
    let (config, bootstrap, ops) = parse_args(args.into_iter())?;
    if contract {
        let (before, after) = astro_api::contract_schema(&config)?;
        println!("astro schema contracted: binaries must know {after} migrations (was {before})");
        return Ok(());
    }
    // Before anything is created: a token that cannot be written safely
    // must not be minted (it would be shown nowhere).
    if let Some(path) = bootstrap.as_ref().and_then(|b| b.token_file.as_deref()) {
        private_or_absent(path)?;
    }
    let (mut registry, requests) = astro_api::metrics::registry();
    let base = service_log::logger_as("astro-api", ops.level, ops.format);
    let log = requests.logger(base);
    let server = astro_api::start(&config, &log)?;
    astro_api::metrics::register_outbox(&mut registry, server.app_private().clone());
    let admin = match ops.admin_bind {
        Some(bind) => Some(
            service_admin::start(
                bind,
                std::sync::Arc::new(registry),
                astro_api::metrics::readiness(server.app_private().clone()),
                &log,
            )
            .map_err(anyhow::Error::msg)?,
        ),
        None => None,
    };
    if let Some(bootstrap) = bootstrap {
        bootstrap.run(server.app_private()).await?;
    }
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    println!(
        "astro-api listening on {scheme}://{} ({})",
        server.local_addr(),
        service_admin::describe(admin.as_ref())
    );
    tokio::select! {
        result = server.wait_for_shutdown() => result.map_err(anyhow::Error::msg)?,
        signal = service_log::stop_requested() => {
            slog::info!(log, "stopping: no new requests, finishing those in flight";
                "signal" => signal);
            server.close().await.map_err(anyhow::Error::msg)?;
            if let Some(admin) = admin {
                admin.close().await.map_err(anyhow::Error::msg)?;
            }
            slog::info!(log, "stopped");
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
    level: slog::Level,
    format: service_log::LogFormat,
}

fn parse_args(
    mut args: impl Iterator<Item = String>,
) -> Result<(Config, Option<Bootstrap>, Operations)> {
    let mut ops = Operations {
        admin_bind: None,
        level: slog::Level::Info,
        format: service_log::LogFormat::Json,
    };
    let mut config = Config::new(
        "127.0.0.1:8080".parse().context("default address")?,
        "data/astro".into(),
        "http://127.0.0.1:12220".to_owned(),
    );
    let mut cells = Vec::new();
    let mut bootstrap: Option<Bootstrap> = None;
    let mut token_file = None;
    let (mut tls_cert, mut tls_key) = (None, None);
    config.database_url = std::env::var("ASTRO_DATABASE_URL").ok().filter(|u| !u.is_empty());
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--bind" => config.bind = value()?.parse().context("--bind")?,
            "--admin-bind" => ops.admin_bind = Some(value()?.parse().context("--admin-bind")?),
            "--log-level" => {
                ops.level = service_log::parse_level(&value()?).map_err(anyhow::Error::msg)?
            }
            "--log-format" => ops.format = value()?.parse().map_err(anyhow::Error::msg)?,
            "--data-dir" => config.data_dir = value()?.into(),
            "--database-url" => config.database_url = Some(value()?),
            "--harmony" => config.cells[0].url = value()?,
            "--harmony-cell" => {
                let spec = value()?;
                let (name, url) = spec
                    .split_once('=')
                    .with_context(|| format!("--harmony-cell wants NAME=URL, got {spec:?}"))?;
                cells.push(CellConfig { name: name.to_owned(), url: url.to_owned() });
            }
            "--bootstrap" => {
                let spec = value()?;
                let (organization, workspace) = spec.split_once('/').unwrap_or((&spec, "default"));
                bootstrap = Some(Bootstrap {
                    organization: organization.to_owned(),
                    workspace: workspace.to_owned(),
                    token_file: None,
                });
            }
            "--bootstrap-token-file" => token_file = Some(value()?.into()),
            "--harmony-ca-file" => {
                let path = value()?;
                config.harmony_ca = Some(
                    std::fs::read(&path)
                        .with_context(|| format!("reading the Harmony CA bundle {path}"))?,
                );
            }
            "--tls-cert" => tls_cert = Some(std::path::PathBuf::from(value()?)),
            "--tls-key" => tls_key = Some(std::path::PathBuf::from(value()?)),
            "--body-read-timeout" => {
                let seconds: f64 = value()?.parse().context("--body-read-timeout")?;
                if !(seconds > 0.0 && seconds <= 3600.0) {
                    bail!("--body-read-timeout must be more than 0 and at most 3600 seconds");
                }
                body_deadline::set_read_timeout(std::time::Duration::from_secs_f64(seconds));
            }
            "--harmony-token-file" => {
                let path = value()?;
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading the Harmony credential from {path}"))?;
                config.harmony_token = Some(text.trim().to_owned());
            }
            "--secret-key-file" => {
                let path = value()?;
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading the secret key from {path}"))?;
                config.secret_key = Some(
                    astro_api::seal::Sealer::from_hex(&text)
                        .with_context(|| format!("{path} must hold 64 hex characters"))?,
                );
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "-V" | "--version" => {
                println!("astro-api {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if !cells.is_empty() {
        config.cells = cells;
    }
    config.tls = match (tls_cert, tls_key) {
        (Some(cert_file), Some(key_file)) => {
            Some(dropshot::ConfigTls::AsFile { cert_file, key_file })
        }
        (None, None) => None,
        _ => bail!("--tls-cert and --tls-key go together\n{USAGE}"),
    };
    match (&mut bootstrap, token_file) {
        (Some(b), file) => b.token_file = file,
        (None, Some(_)) => bail!("--bootstrap-token-file needs --bootstrap\n{USAGE}"),
        (None, None) => {}
    }
    Ok((config, bootstrap, ops))
}
