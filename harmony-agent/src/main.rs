//! The harmony-agent binary: `harmony-agent --harmony URL --credential-file
//! PATH --apply-dir DIR`.

use anyhow::{Context, Result};
use harmony_agent::{Agent, ApplyDir};

/// Keeps a data plane equal to what Harmony says it should run: long-polls
/// Harmony's agent API for its desired state, applies it, reports what it
/// applied and each deployment's health.
#[derive(clap::Parser)]
#[command(name = "harmony-agent", version, after_help = AFTER_HELP)]
struct Args {
    /// Harmony's agent API (for example http://127.0.0.1:12221).
    #[arg(long, env = "HARMONY_AGENT_HARMONY")]
    harmony: String,
    /// This data plane's credential (`harmony-server agent-credential`).
    #[arg(long, env = "HARMONY_AGENT_CREDENTIAL_FILE")]
    credential_file: std::path::PathBuf,
    /// Keep this directory equal to the desired state, one file per object.
    #[arg(long, env = "HARMONY_AGENT_APPLY_DIR")]
    apply_dir: std::path::PathBuf,
    /// Longest wait of one long poll, in seconds.
    #[arg(long, env = "HARMONY_AGENT_POLL_SECONDS", default_value_t = harmony_agent::POLL_SECONDS,
          value_parser = clap::value_parser!(u32).range(1..=30))]
    poll_seconds: u32,
    /// PEM certificates to trust (besides the system's roots) for an
    /// https:// agent API: the CA that signed its certificate.
    #[arg(long, env = "HARMONY_AGENT_CA_FILE")]
    ca_file: Option<std::path::PathBuf>,
    /// json (one bunyan object per line) or text.
    #[arg(long, env = "HARMONY_AGENT_LOG_FORMAT", default_value = "json")]
    log_format: service_log::LogFormat,
    /// trace, debug, info, warning, error or critical.
    #[arg(long, env = "HARMONY_AGENT_LOG_LEVEL", default_value = "info", value_parser = service_log::parse_level)]
    log_level: slog::Level,
}

const AFTER_HELP: &str = "\
SIGTERM or SIGINT stops it after the desired state in hand is applied whole;
the next start resumes from what was applied.";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = <Args as clap::Parser>::parse();
    // Before it says it runs: a SIGTERM from then on stops it cleanly.
    let stop = service_process::shutdown::stop_requested();
    let log = service_log::logger_as("harmony-agent", args.log_level, args.log_format);
    let ca = match &args.ca_file {
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
        }
        None => None,
    };
    let credential = std::fs::read_to_string(&args.credential_file).with_context(|| {
        format!("reading the credential from {}", args.credential_file.display())
    })?;
    let agent =
        Agent::trusting(&args.harmony, &credential, ApplyDir::new(args.apply_dir), ca.as_deref())?;
    slog::info!(log, "keeping the data plane's desired state"; "harmony" => &args.harmony);
    let signal = agent.run_until(args.poll_seconds, &log, stop).await;
    slog::info!(log, "stopping: what was applied stays"; "signal" => signal);
    Ok(())
}
