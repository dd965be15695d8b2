//! The harmony-agent binary: `harmony-agent --harmony URL --credential-file
//! PATH --apply-dir DIR`.

use anyhow::{Context, Result, bail};
use harmony_agent::{Agent, ApplyDir};

const USAGE: &str = "\
usage: harmony-agent --harmony URL --credential-file PATH --apply-dir DIR [--poll-seconds N]
                     [--ca-file PATH]

  --harmony URL            Harmony's agent API (for example http://127.0.0.1:12221)
  --credential-file PATH   this data plane's credential (harmony-server agent-credential)
  --apply-dir DIR          keep DIR equal to the desired state, one file per object
  --poll-seconds N         longest wait of one long poll, 1 to 30 (default 20)
  --ca-file PATH           PEM certificates to trust (besides the system's roots) for an
                           https:// agent API: the CA that signed its certificate";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut url, mut credential, mut dir, mut ca) = (None, None, None, None);
    let mut poll = harmony_agent::POLL_SECONDS;
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--harmony" => url = Some(value()?),
            "--credential-file" => credential = Some(value()?),
            "--apply-dir" => dir = Some(value()?),
            "--ca-file" => {
                let path = value()?;
                ca = Some(std::fs::read(&path).with_context(|| format!("reading {path}"))?);
            }
            "--poll-seconds" => {
                poll = value()?.parse().context("--poll-seconds")?;
                if !(1..=30).contains(&poll) {
                    bail!("--poll-seconds must be 1 to 30");
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let (Some(url), Some(credential), Some(dir)) = (url, credential, dir) else {
        bail!("--harmony, --credential-file and --apply-dir are required\n{USAGE}");
    };
    let credential = std::fs::read_to_string(&credential)
        .with_context(|| format!("reading the credential from {credential}"))?;
    Agent::trusting(&url, &credential, ApplyDir::new(dir), ca.as_deref())?.run(poll).await
}
