//! The harmony-server binary: parses flags, starts [`harmony_server::start`],
//! and runs until interrupted.

use anyhow::{Context, Result, bail};
use harmony_server::Config;

const USAGE: &str = "\
usage: harmony-server [--bind ADDR] [--agent-bind ADDR] [--data-dir DIR | --database-url URL]
                      [--max-api-version VERSION] [--secret-key-file PATH | --dev-seed]
                      [--dev-organization ORG]
                      [--environment NAME] [--rollout-policy-file PATH]
                      [--rollout-tick-seconds N] [--service-token-file PATH]
                      [--tls-cert PATH --tls-key PATH] [--body-read-timeout SECONDS]
                      [--admin-bind ADDR] [--log-format json|text] [--log-level LEVEL]
       harmony-server agent-credential --data-plane ID [--data-dir DIR | --database-url URL]
                      [--secret-key-file PATH | --dev-seed]
       harmony-server contract-schema [--data-dir DIR | --database-url URL]

  --bind ADDR                 listen address (default 127.0.0.1:12220)
  --agent-bind ADDR           the agent API's listen address (default 127.0.0.1:12221)
  --admin-bind ADDR           the admin listener: /metrics (Prometheus), /livez,
                              /readyz; no credential, so keep it private
                              (none unless given; docs/operations.md)
  --log-format FORMAT         json (default: one bunyan object per line) or text
  --log-level LEVEL           trace, debug, info (default), warning, error, critical
  --data-dir DIR              where harmony.sqlite3 lives (default ./data/harmony)
  --database-url URL          PostgreSQL instead (postgres://user@host:port/db), what
                              several replicas share; also read from
                              HARMONY_DATABASE_URL (keeps a password off the
                              command line)
  --max-api-version VERSION   serve no API version newer than VERSION, as an
                              older Harmony release would
  --dev-organization ORG      with --dev-seed: the organization the example Hybrid
                              data plane belongs to (default local)
  --secret-key-file PATH      the 32-byte key (64 hex characters) generated
                              secrets and hashes derive from; required
  --dev-seed                  a local run: two example data planes, and a fixed
                              development key instead of --secret-key-file
  --environment NAME          whose parameters of the rollout policy to run
                              (local, staging, production; default local)
  --rollout-policy-file PATH  the rollout policy (default: the committed
                              rollout-policy.toml compiled in)
  --rollout-tick-seconds N    how often running rollouts are stepped (default 10)
  --tls-cert PATH             serve both APIs over TLS with this PEM certificate
                              chain (the server's certificate first)
  --tls-key PATH              ... and this PEM (PKCS #8) private key
  --body-read-timeout SECONDS a request's body must arrive within this long after
                              its headers, or it is answered 408 and its
                              connection closed (default 30; headers have
                              hyper's 30 s)
  --version                   print the version and exit
  --service-token-file PATH   the credential callers of the main API (astro-api)
                              send as `Authorization: Bearer`; required except
                              with --dev-seed (GET /api-versions stays open)

SIGTERM or SIGINT stops it: no new requests, those in flight finish, exit 0.

agent-credential issues (or replaces) a data plane's agent credential and
prints it once; only a hash of it is kept.

contract-schema is a schema change's contract step (docs/versioning.md): run it
once no older harmony-server uses the database. Binaries that know fewer
migrations than this one then refuse it, and formats only this one's
migrations read (packed manifest sets) are written from the next start.";

// Allocation-heavy JSON work on many threads: mimalloc measured ~20% faster
// rendering than glibc malloc here (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let issue_credential = args.first().is_some_and(|a| a == "agent-credential");
    let contract = args.first().is_some_and(|a| a == "contract-schema");
    if issue_credential || contract {
        args.remove(0);
    }
    let (config, agent_bind, data_plane, ops) = parse_args(args.into_iter())?;
    if contract {
        let (before, after) = harmony_server::contract_schema(&config)?;
        println!("harmony schema contracted: binaries must know {after} migrations (was {before})");
        return Ok(());
    }
    if issue_credential {
        let plane = data_plane.context("agent-credential needs --data-plane ID")?;
        let credential = harmony_server::issue_agent_credential(&config, &plane)?;
        println!("{credential}");
        return Ok(());
    }
    let (mut registry, requests) = harmony_server::metrics::registry();
    let log = requests.logger(service_log::logger_as("harmony", ops.level, ops.format));
    let server = harmony_server::start(&config, &log)?;
    let agents = harmony_server::start_agent_api_with(
        agent_bind,
        &server.app_private().harmony,
        &log,
        config.tls.as_ref(),
    )?;
    harmony_server::metrics::register_fleet(&mut registry, server.app_private().clone());
    let admin = match ops.admin_bind {
        Some(bind) => Some(
            service_admin::start(
                bind,
                std::sync::Arc::new(registry),
                harmony_server::metrics::readiness(server.app_private().clone()),
                &log,
            )
            .map_err(anyhow::Error::msg)?,
        ),
        None => None,
    };
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    println!(
        "harmony listening on {scheme}://{} (agents: {scheme}://{}) ({})",
        server.local_addr(),
        agents.local_addr(),
        service_admin::describe(admin.as_ref())
    );
    tokio::select! {
        result = server.wait_for_shutdown() => result.map_err(anyhow::Error::msg)?,
        signal = service_log::stop_requested() => {
            slog::info!(log, "stopping: no new requests, finishing those in flight";
                "signal" => signal);
            server.app_private().harmony.end_long_polls();
            server.close().await.map_err(anyhow::Error::msg)?;
        }
    }
    agents.close().await.map_err(anyhow::Error::msg)?;
    if let Some(admin) = admin {
        admin.close().await.map_err(anyhow::Error::msg)?;
    }
    slog::info!(log, "stopped");
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
) -> Result<(Config, std::net::SocketAddr, Option<String>, Operations)> {
    let mut ops = Operations {
        admin_bind: None,
        level: slog::Level::Info,
        format: service_log::LogFormat::Json,
    };
    let mut config =
        Config::new("127.0.0.1:12220".parse().context("default address")?, "data/harmony".into());
    let mut agent_bind: std::net::SocketAddr =
        "127.0.0.1:12221".parse().context("default agent address")?;
    let mut data_plane = None;
    let (mut tls_cert, mut tls_key) = (None, None);
    config.database_url = std::env::var("HARMONY_DATABASE_URL").ok().filter(|u| !u.is_empty());
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--bind" => config.bind = value()?.parse().context("--bind")?,
            "--agent-bind" => agent_bind = value()?.parse().context("--agent-bind")?,
            "--admin-bind" => ops.admin_bind = Some(value()?.parse().context("--admin-bind")?),
            "--log-level" => {
                ops.level = service_log::parse_level(&value()?).map_err(anyhow::Error::msg)?
            }
            "--log-format" => ops.format = value()?.parse().map_err(anyhow::Error::msg)?,
            "--data-plane" => data_plane = Some(value()?),
            "--data-dir" => config.data_dir = value()?.into(),
            "--database-url" => config.database_url = Some(value()?),
            "--max-api-version" => {
                config.max_api_version = Some(value()?.parse().context("--max-api-version")?)
            }
            "--dev-seed" => config.dev_seed = true,
            "--dev-organization" => config.dev_organization = value()?,
            "--environment" => config.environment = value()?,
            "--service-token-file" => {
                let path = value()?;
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading the service credential from {path}"))?;
                config.service_token = Some(text.trim().to_owned());
            }
            "--rollout-policy-file" => config.rollout_policy_file = Some(value()?.into()),
            "--tls-cert" => tls_cert = Some(std::path::PathBuf::from(value()?)),
            "--tls-key" => tls_key = Some(std::path::PathBuf::from(value()?)),
            "--body-read-timeout" => {
                let seconds: f64 = value()?.parse().context("--body-read-timeout")?;
                if !(seconds > 0.0 && seconds <= 3600.0) {
                    bail!("--body-read-timeout must be more than 0 and at most 3600 seconds");
                }
                body_deadline::set_read_timeout(std::time::Duration::from_secs_f64(seconds));
            }
            "--rollout-tick-seconds" => {
                let seconds: u64 = value()?.parse().context("--rollout-tick-seconds")?;
                if seconds == 0 {
                    bail!("--rollout-tick-seconds must be at least 1");
                }
                config.rollout_tick = Some(std::time::Duration::from_secs(seconds));
            }
            "--secret-key-file" => {
                let path = value()?;
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading the secret key from {path}"))?;
                config.secret_key =
                    Some(parse_key(text.trim()).with_context(|| {
                        format!("{path} must hold 64 hex characters (32 bytes)")
                    })?);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "-V" | "--version" => {
                println!("harmony-server {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    config.tls = match (tls_cert, tls_key) {
        (Some(cert_file), Some(key_file)) => {
            Some(dropshot::ConfigTls::AsFile { cert_file, key_file })
        }
        (None, None) => None,
        _ => bail!("--tls-cert and --tls-key go together\n{USAGE}"),
    };
    Ok((config, agent_bind, data_plane, ops))
}

fn parse_key(text: &str) -> Option<harmony_server::render::SecretKey> {
    let bytes: [u8; 32] = hex::decode(text).ok()?.try_into().ok()?;
    Some(harmony_server::render::SecretKey::new(bytes))
}
