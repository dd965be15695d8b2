//! The OpenAPI manager: generates and checks everything derived from the API
//! traits. `cargo xtask regenerate` and `cargo xtask check` run it.
//!
//! Three kinds of output are managed here:
//!
//! 1. OpenAPI documents under `openapi/`, written by dropshot-api-manager.
//! 2. The record of released versions, `versions/released.json`: each
//!    released document's path and SHA-256. A released document never
//!    changes. dropshot-api-manager normally learns what is released from
//!    git (`merge-base HEAD origin/main`), which a fresh clone of `main` in CI
//!    does not have; this record makes the check work from any checkout, and
//!    the manager is handed the recorded documents as its blessed set.
//! 3. Generated Rust clients (`harmony-client/src/generated/`,
//!    `astro-client/src/generated.rs`), written by progenitor from the
//!    committed documents.
//! 4. `docs/compat-rules.md`, the compatibility checker's rule list, written
//!    from `openapi_compat::rules`.
//! 5. `versions/rules/`, each Harmony version's declared rules
//!    (`deployment_rules::rule`): frozen for a released version
//!    ([`rule_lists`]).

mod apis;
mod clients;
mod deploy_gate;
mod migrations;
mod released;
mod rule_lists;

use anyhow::{Context, Result, bail};
use camino::Utf8PathBuf;
use clap::Parser as _;
use std::process::ExitCode;

/// The command people run; printed in every "run this to fix it" message.
pub const REGENERATE: &str = "cargo xtask regenerate";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(dropshot_api_manager::FAILURE_EXIT_CODE)
        }
    }
}

fn run() -> Result<ExitCode> {
    let args = Args::parse()?;
    let root = repo_root()?;
    match args.command.as_str() {
        "generate" => generate(&root),
        "check" => check(&root),
        "release" => {
            let [api, version] = args.rest.as_slice() else {
                bail!("usage: release <api> <version>, for example `release harmony 3.0.0`");
            };
            let version = semver::Version::parse(version)
                .with_context(|| format!("{version:?} is not a semver version"))?;
            released::release(&root, api, &version)?;
            Ok(ExitCode::SUCCESS)
        }
        "can-i-deploy" => {
            let [service, environment] = args.rest.as_slice() else {
                bail!("usage: can-i-deploy <astro-api|harmony> <environment>");
            };
            let verdict = deploy_gate::can_i_deploy(&root, service, environment)?;
            println!(
                "can {service} at this checkout be deployed to {environment}? {}",
                if verdict.ok { "yes" } else { "no" }
            );
            for line in &verdict.lines {
                println!("  {line}");
            }
            Ok(if verdict.ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        "record-deploy" => {
            let (service, environment, commit) = match args.rest.as_slice() {
                [service, environment] => (service, environment, "HEAD"),
                [service, environment, commit] => (service, environment, commit.as_str()),
                _ => bail!("usage: record-deploy <astro-api|harmony> <environment> [commit]"),
            };
            for line in deploy_gate::record_deploy(&root, service, environment, commit)? {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        "last-release" => {
            let [api] = args.rest.as_slice() else {
                bail!("usage: last-release <api>");
            };
            match released::Record::last_release(&root, api)? {
                Some(rev) => println!("{rev}"),
                None => {
                    bail!("no commit has released a {api} version yet (is this a shallow clone?)")
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        "deployed-commit" => {
            let [service, environment] = args.rest.as_slice() else {
                bail!("usage: deployed-commit <astro-api|harmony> <environment>");
            };
            println!("{}", deploy_gate::deployed_commit(&root, service, environment)?);
            Ok(ExitCode::SUCCESS)
        }
        other => {
            bail!(
                "unknown command {other:?}; expected generate, check, release, can-i-deploy, \
                 record-deploy, deployed-commit or last-release"
            )
        }
    }
}

fn generate(root: &Utf8PathBuf) -> Result<ExitCode> {
    let record = released::Record::load(root)?;
    record.verify(root)?;
    let code = run_document_manager(root, &record, "generate")?;
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    clients::generate_all(root, clients::Mode::Write)?;
    rule_lists::generate(root, &record.versions("harmony"))?;
    std::fs::write(root.join(COMPAT_RULES), compat_rules()?)
        .with_context(|| format!("writing {COMPAT_RULES}"))?;
    Ok(ExitCode::SUCCESS)
}

/// The compatibility checker's rule list, generated from its code.
const COMPAT_RULES: &str = "docs/compat-rules.md";

fn compat_rules() -> Result<String> {
    openapi_compat::docs::markdown().map_err(anyhow::Error::msg)
}

fn check(root: &Utf8PathBuf) -> Result<ExitCode> {
    let problems = migrations::check(root)?;
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("migrations: {problem}");
        }
        bail!("{} problem(s) with the stores' migrations", problems.len());
    }
    let record = released::Record::load(root)?;
    record.verify(root)?;
    record.verify_covers_served_versions()?;
    let code = run_document_manager(root, &record, "check")?;
    compat_report(root)?;
    let rule_problems = rule_lists::check(root, &record.versions("harmony"))?;
    if !rule_problems.is_empty() {
        for problem in &rule_problems {
            eprintln!("rules: {problem}");
        }
        return Ok(ExitCode::from(dropshot_api_manager::NEEDS_UPDATE_EXIT_CODE));
    }
    let mut stale_clients = clients::generate_all(root, clients::Mode::Check)?;
    if std::fs::read_to_string(root.join(COMPAT_RULES)).ok() != Some(compat_rules()?) {
        stale_clients.push(root.join(COMPAT_RULES));
    }
    if !stale_clients.is_empty() {
        for path in &stale_clients {
            eprintln!(
                "stale: {path} does not match what it is generated from; run `{REGENERATE}` and commit"
            );
        }
        return Ok(ExitCode::from(dropshot_api_manager::NEEDS_UPDATE_EXIT_CODE));
    }
    Ok(code)
}

/// Prints what changed between each pair of neighbouring versions of
/// Harmony's main API and of its agent API,
/// as generated clients see it. Changes that break old clients are expected
/// between versions: the older version keeps serving the older shape, and
/// `verify_covers_served_versions` makes sure it is still served.
fn compat_report(root: &Utf8PathBuf) -> Result<()> {
    let harmony: Vec<semver::Version> =
        harmony_api::supported_versions().iter().map(|v| v.semver().clone()).collect();
    let agent: Vec<semver::Version> =
        harmony_agent_api::supported_versions().iter().map(|v| v.semver().clone()).collect();
    for (api, versions) in [("harmony", harmony), ("harmony-agent", agent)] {
        for pair in versions.windows(2) {
            let [old, new] = pair else { continue };
            let load = |v: &semver::Version| -> Result<serde_json::Value> {
                let path = clients::find_document(root, api, v)?;
                openapi_compat::load(path.as_std_path()).map_err(anyhow::Error::msg)
            };
            let report = openapi_compat::compare(
                &load(old)?,
                &load(new)?,
                openapi_compat::Client::Progenitor,
            );
            eprintln!(
                "  Compared {api} {old} -> {new}: {} breaking for {old} clients (still served by {old}), \
                 {} for {new} clients on a {old} server, {} harmless; details: \
                 `cargo xtask compat openapi/{api}/{api}-{old}-*.json openapi/{api}/{api}-{new}-*.json`",
                report.count(openapi_compat::Level::Error),
                report.count(openapi_compat::Level::Warning),
                report.count(openapi_compat::Level::Info),
            );
            if api == "harmony" {
                for line in rule_lists::narrowing(old, new) {
                    eprintln!("    {line}");
                }
            }
        }
    }
    Ok(())
}

/// Runs dropshot-api-manager with the recorded released documents as its
/// blessed set.
fn run_document_manager(
    root: &Utf8PathBuf,
    record: &released::Record,
    command: &str,
) -> Result<ExitCode> {
    let blessed = record.materialize(root)?;
    let blessed_dir = Utf8PathBuf::try_from(blessed.path().to_path_buf())
        .context("temporary directory is not UTF-8")?;
    // The manager prints "<command> generate" as its fix; `cargo xtask
    // generate` is an alias of `cargo xtask regenerate`.
    let env = dropshot_api_manager::Environment::new("cargo xtask", root.clone(), "openapi")?;
    let apis = apis::all()?;
    let app = dropshot_api_manager::App::try_parse_from([
        "openapi-manager",
        command,
        "--blessed-from-dir",
        blessed_dir.as_str(),
    ])?;
    Ok(app.exec(&env, &apis))
}

/// The repository root: the parent of this crate's manifest directory, or
/// `OPENAPI_MANAGER_ROOT` (tests point it at a scratch copy of the tree).
pub fn repo_root() -> Result<Utf8PathBuf> {
    if let Some(root) = std::env::var_os("OPENAPI_MANAGER_ROOT") {
        return Utf8PathBuf::try_from(std::path::PathBuf::from(root))
            .context("OPENAPI_MANAGER_ROOT is not UTF-8");
    }
    let manifest = Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(|p| p.to_owned()).context("openapi-manager has no parent directory")
}

/// This binary is run by xtask, not by people: its arguments are positional.
struct Args {
    command: String,
    rest: Vec<String>,
}

impl Args {
    fn parse() -> Result<Args> {
        let mut args = std::env::args().skip(1);
        let Some(command) = args.next() else {
            bail!("usage: openapi-manager <generate|check|release <api> <version>>");
        };
        Ok(Args { command, rest: args.collect() })
    }
}
