//! Repository tasks, run as `cargo xtask <task>`.
//!
//! Kept dependency-free so it builds in seconds; the heavy lifting happens in
//! binaries it runs (`openapi-manager` for documents and clients, the two
//! servers for `run`). Paths are found from `CARGO_MANIFEST_DIR`, so it works
//! from any directory of the checkout.

mod repeat;
#[cfg(test)]
mod tidy;

use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const HELP: &str = "\
cargo xtask <task>

  regenerate               rewrite the OpenAPI documents and the generated clients
  check                    fail if anything generated is stale, a released document
                           changed, or a released version is no longer served
  release <api> <version>  record a generated document as released (immutable)
  can-i-deploy <service> --to <environment>
                           would deploying this checkout's astro-api or harmony keep
                           every live pairing working? (versions/live.json)
  record-deploy <service> --to <environment> [--commit REV]
                           record that an environment now runs REV (default HEAD) of
                           astro-api or harmony: versions/live.json (commit, versions,
                           migrations known) and its migrations as released
  skew --base REV [--base REV ...]
                           build harmony-server, astro-api and harmony-agent at REV
                           (a commit, `last-release`: the last commit that released a
                           Harmony version, or `deployed:<environment>`: the Harmony
                           recorded there) and run this checkout against them, both
                           ways, as replicas sharing one database, and with agents of
                           both agent API protocols against both
  compat OLD NEW [--client progenitor|generic] [--fail-on error|warning|info]
         [--format text|json|markdown|junit|githubactions] [--ignore FILE]
                           compare two OpenAPI documents (files, or REV:PATH from git)
                           as a kind of client reads them; exit 0 / 1 (reached
                           --fail-on) / 2 (bad input); rules: docs/compat-rules.md
  public-compat            check astro-api's public document (openapi/astro.json)
                           against its version before the last change to it, as any
                           client reads it (generic profile), accepting what
                           versions/astro-accepted-changes.txt lists
  bench [all|path|render|rollout|compat|devloop|fleet [N]|fleet-rollout [N]|shared-plane [N]]
                           release-build benchmarks, each against a baseline measured
                           in the same run; table also in target/bench/report.json
  bench path-hold [CLIENTS] [SECONDS] [postgres]
                           keep the control-plane path under load for a profiler
                           (SQLite, or both services on the local PostgreSQL)
  repeat [N] [--only SUBSTRING]
                           run every test binary N times in a row (default 20), both
                           store backends, and list the tests that failed even once
  run                      run Harmony and astro-api locally on their embedded defaults
";

/// Every task `HELP` names.
const TASKS: &[&str] = &[
    "regenerate",
    "check",
    "release",
    "can-i-deploy",
    "record-deploy",
    "skew",
    "compat",
    "public-compat",
    "bench",
    "repeat",
    "run",
];

/// `HELP`'s entries for `task` (a task may have several, as `bench`).
fn task_help(task: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in HELP.lines().skip(2) {
        let starts_entry = line.starts_with("  ") && !line.starts_with("   ");
        if starts_entry {
            inside = line.trim_start().split(' ').next() == Some(task);
        }
        if inside && starts_entry {
            out.push_str("cargo xtask ");
            out.push_str(line.trim_start());
        } else if inside {
            out.push_str(line);
        }
        if inside {
            out.push('\n');
        }
    }
    out
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or_default();
    // `--help` anywhere after a task explains that task, and runs nothing.
    if TASKS.contains(&task) && args[1..].iter().any(|a| a == "--help" || a == "-h") {
        print!("{}", task_help(task));
        return ExitCode::SUCCESS;
    }
    let result = match args.first().map(String::as_str) {
        // `generate` is what dropshot-api-manager's messages say.
        Some("regenerate" | "generate") => openapi_manager(&["generate"]),
        Some("check") => openapi_manager(&["check"]),
        Some("release") if args.len() == 3 => {
            openapi_manager(&["release", args[1].as_str(), args[2].as_str()])
        }
        Some("can-i-deploy") if args.len() == 4 && args[2] == "--to" => {
            openapi_manager(&["can-i-deploy", args[1].as_str(), args[3].as_str()])
        }
        Some("record-deploy") if args.len() >= 4 && args[2] == "--to" => {
            let commit = match &args[4..] {
                [] => "HEAD",
                [flag, rev] if flag == "--commit" => rev.as_str(),
                _ => {
                    eprint!(
                        "error: --commit REV is the only option, as:\n\n{}",
                        task_help("record-deploy")
                    );
                    return ExitCode::FAILURE;
                }
            };
            openapi_manager(&["record-deploy", args[1].as_str(), args[3].as_str(), commit])
        }
        Some("skew")
            if args.len() >= 3 && args[1..].chunks(2).all(|p| p[0] == "--base" && p.len() == 2) =>
        {
            // Several bases (the last release, what an environment runs)
            // often name one commit: each commit is run once.
            let mut done: Vec<String> = Vec::new();
            let mut code = Ok(ExitCode::SUCCESS);
            for base in args[1..].chunks(2).map(|p| p[1].as_str()) {
                match resolve_base(base) {
                    Ok(rev) if done.contains(&rev) => {
                        println!("skew base {base} is {}: already run", &rev[..12.min(rev.len())]);
                    }
                    Ok(rev) => {
                        done.push(rev.clone());
                        code = skew(&rev);
                        if !matches!(code, Ok(c) if c == ExitCode::SUCCESS) {
                            break;
                        }
                    }
                    Err(e) => {
                        code = Err(e);
                        break;
                    }
                }
            }
            code
        }
        Some("compat") if args.len() >= 3 => {
            let rest: Vec<&str> = args[1..].iter().map(String::as_str).collect();
            run_binary("openapi-compat", &[], &rest)
        }
        Some("public-compat") => public_compat(),
        Some(task @ ("release" | "can-i-deploy" | "record-deploy" | "skew" | "compat")) => {
            Err(format!("`cargo xtask {task}` needs its arguments, as:\n\n{}", task_help(task)))
        }
        Some("bench") => bench(&args[1..]),
        Some("run") => run_local(),
        Some("repeat") => repeat::repeat(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            print!("{HELP}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(format!("unknown task {other:?}\n\n{HELP}")),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root());
    command
}

/// Runs the OpenAPI manager and passes its exit code on.
fn openapi_manager(args: &[&str]) -> Result<ExitCode, String> {
    run_binary("openapi-manager", &[], args)
}

/// Runs one of the workspace's binaries (from the caller's directory, so
/// relative paths in `args` mean what the caller meant) and passes its exit
/// code on.
fn run_binary(package: &str, cargo_flags: &[&str], args: &[&str]) -> Result<ExitCode, String> {
    let mut command = cargo();
    if let Ok(here) = std::env::current_dir() {
        command.current_dir(here);
    }
    let status = command
        .args(["run"])
        .args(cargo_flags)
        .arg("--manifest-path")
        .arg(root().join("Cargo.toml"))
        .args(["--package", package, "--"])
        .args(args)
        .status()
        .map_err(|e| format!("running cargo: {e}"))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}

fn git(args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root())
        .output()
        .map_err(|e| format!("running git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The skew suite: this checkout against the base revision's binaries.
/// The commit a skew base names.
fn resolve_base(base: &str) -> Result<String, String> {
    Ok(if let Some(environment) = base.strip_prefix("deployed:") {
        let out = cargo()
            .args(["run", "-p", "openapi-manager", "--", "deployed-commit", "harmony"])
            .arg(environment)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("running openapi-manager: {e}"))?;
        if !out.status.success() {
            return Err(format!("no deployed commit for {environment}"));
        }
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    } else if base == "last-release" {
        // The last commit that changed Harmony's own released versions (a
        // release of another API, the agent's, records itself in the same
        // file without being a Harmony release).
        let out = cargo()
            .args(["run", "-p", "openapi-manager", "--", "last-release", "harmony"])
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("running openapi-manager: {e}"))?;
        if !out.status.success() {
            return Err("no commit has released a Harmony version yet".into());
        }
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    } else {
        git(&["rev-parse", "--verify", &format!("{base}^{{commit}}")])?
    })
}

/// astro-api's public document against what it was before its last change
/// (or against HEAD while it has uncommitted changes), judged for any
/// client. Every client of the public API is someone else's code, so the
/// generic profile; accepted changes are listed, with their reasons, in
/// `versions/astro-accepted-changes.txt`.
fn public_compat() -> Result<ExitCode, String> {
    const DOCUMENT: &str = "openapi/astro.json";
    const ACCEPTED: &str = "versions/astro-accepted-changes.txt";
    if git(&["rev-parse", "--is-shallow-repository"])? == "true" {
        return Err(format!(
            "this clone is shallow, so the last change to {DOCUMENT} cannot be found; \
             run `git fetch --unshallow` first"
        ));
    }
    let base = if !git(&["status", "--porcelain", "--", DOCUMENT])?.is_empty() {
        "HEAD".to_owned()
    } else {
        let last = git(&["log", "-1", "--format=%H", "--", DOCUMENT])?;
        if last.is_empty()
            || git(&["rev-list", "--parents", "-n", "1", &last])?.split(' ').count() < 2
        {
            println!("{DOCUMENT} has no earlier version to compare with");
            return Ok(ExitCode::SUCCESS);
        }
        format!("{last}^")
    };
    let short = git(&["rev-parse", "--short=12", &base])?;
    println!("comparing {DOCUMENT} at {short} (before its last change) with this checkout's");
    let old = format!("{short}:{DOCUMENT}");
    let new = root().join(DOCUMENT);
    let accepted = root().join(ACCEPTED);
    let mut args = vec![
        old.as_str(),
        new.to_str().unwrap_or(DOCUMENT),
        "--client",
        "generic",
        "--ignore",
        accepted.to_str().unwrap_or(ACCEPTED),
    ];
    if std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true") {
        args.extend(["--format", "githubactions"]);
    }
    run_binary("openapi-compat", &["--quiet"], &args)
}

/// The skew suite against the binaries of commit `rev`.
fn skew(rev: &str) -> Result<ExitCode, String> {
    let short = &rev[..12.min(rev.len())];
    let skew_dir = root().join("target/skew");
    let bin = skew_dir.join(format!("bin-{short}"));
    // The identity case (the base is this very commit, nothing changed):
    // this checkout's own binaries are the base's, built here instead of in
    // a worktree with a target of its own (minutes of a second build).
    let identity =
        git(&["rev-parse", "HEAD"])? == rev && git(&["status", "--porcelain"])?.is_empty();
    if identity {
        println!("skew base {short} is this checkout, unchanged: its own binaries are the base's");
        let status = cargo()
            .args([
                "build",
                "--bin",
                "harmony-server",
                "--bin",
                "astro-api",
                "--bin",
                "harmony-agent",
            ])
            .status()
            .map_err(|e| format!("running cargo: {e}"))?;
        if !status.success() {
            return Err("building this checkout's binaries failed".into());
        }
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("target"));
        std::fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
        for name in ["harmony-server", "astro-api", "harmony-agent"] {
            // Copies: the suite's own build must not replace what it runs.
            std::fs::copy(target.join("debug").join(name), bin.join(name))
                .map_err(|e| format!("copying {name}: {e}"))?;
        }
    }
    if ["harmony-server", "astro-api", "harmony-agent"].iter().any(|b| !bin.join(b).exists()) {
        let worktree = skew_dir.join(format!("worktree-{short}"));
        let _ = git(&["worktree", "remove", "--force", &worktree.display().to_string()]);
        let _ = std::fs::remove_dir_all(&worktree);
        git(&["worktree", "add", "--detach", &worktree.display().to_string(), rev])?;
        println!("building harmony-server, astro-api and harmony-agent at {short}");
        // A target directory of its own: the base's binaries must not
        // replace this checkout's in target/debug.
        let build = skew_dir.join("build");
        let status = cargo()
            .current_dir(&worktree)
            .env("CARGO_TARGET_DIR", &build)
            .args(["build", "--bin", "harmony-server", "--bin", "astro-api"])
            .status()
            .map_err(|e| format!("running cargo: {e}"))?;
        // A base from before the agent has none to build.
        let has_agent = worktree.join("harmony-agent").exists();
        let agent_built = !has_agent
            || cargo()
                .current_dir(&worktree)
                .env("CARGO_TARGET_DIR", &build)
                .args(["build", "--bin", "harmony-agent"])
                .status()
                .is_ok_and(|s| s.success());
        let _ = git(&["worktree", "remove", "--force", &worktree.display().to_string()]);
        if !status.success() || !agent_built {
            return Err(format!("building the base revision {short} failed"));
        }
        std::fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
        let names: &[&str] = if has_agent {
            &["harmony-server", "astro-api", "harmony-agent"]
        } else {
            &["harmony-server", "astro-api"]
        };
        for name in names {
            std::fs::copy(build.join("debug").join(name), bin.join(name))
                .map_err(|e| format!("copying {name}: {e}"))?;
        }
        if !has_agent {
            // Marks the build done: this base has no agent to run.
            std::fs::write(bin.join("harmony-agent"), "").map_err(|e| e.to_string())?;
        }
    }
    println!("running this checkout against {short}, both ways");
    let status = cargo()
        .args(["test", "-p", "astro-api", "--features", "skew-tests", "--test", "skew"])
        .env("SKEW_BASE_HARMONY", bin.join("harmony-server"))
        .env("SKEW_BASE_ASTRO", bin.join("astro-api"))
        .envs(
            // An empty file marks a base from before the agent.
            std::fs::metadata(bin.join("harmony-agent"))
                .is_ok_and(|m| m.len() > 0)
                .then(|| ("SKEW_BASE_AGENT", bin.join("harmony-agent"))),
        )
        .status()
        .map_err(|e| format!("running cargo: {e}"))?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The benchmarks, built in release mode.
fn bench(selection: &[String]) -> Result<ExitCode, String> {
    let selection: Vec<&str> = selection.iter().map(String::as_str).collect();
    run_binary("bench", &["--release"], &selection)
}

/// Children that are killed when this process leaves `run_local`.
struct Children(Vec<Child>);

/// A command for `program` whose process the kernel sends SIGTERM when
/// xtask's thread that started it ends, however xtask ends: killed by
/// SIGTERM or SIGKILL (no destructor runs then), its children would keep
/// running and keep their ports. Linux's `PR_SET_PDEATHSIG`, set by
/// util-linux's `setpriv` (the workspace forbids `unsafe`, which calling
/// `prctl` from here would need); without `setpriv`, `program` itself,
/// and a word about it.
fn dies_with_xtask(program: PathBuf) -> Command {
    let setpriv = Command::new("setpriv").arg("--version").output();
    if setpriv.is_ok_and(|o| o.status.success()) {
        let mut command = Command::new("setpriv");
        command.args(["--pdeathsig", "TERM", "--"]).arg(program);
        command
    } else {
        eprintln!(
            "note: setpriv (util-linux) not found: if xtask is killed, stop {} yourself",
            program.display()
        );
        Command::new(program)
    }
}

fn run_local() -> Result<ExitCode, String> {
    // Not quiet: a first build takes minutes, and cargo's progress is the
    // only sign of life a newcomer gets meanwhile.
    println!(
        "Building harmony-server, astro-api, harmony-agent and the quickstart example (the first build takes a few minutes):"
    );
    let status = cargo()
        .args(["build", "-p", "harmony-server", "-p", "astro-api", "-p", "astro-client"])
        .args(["-p", "harmony-agent"])
        .args(["--bins", "--example", "quickstart"])
        .status()
        .map_err(|e| format!("running cargo: {e}"))?;
    if !status.success() {
        return Err("building the servers failed".into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let bin = target.join("debug");
    let data = root().join("data");
    let harmony_addr: SocketAddr = ([127, 0, 0, 1], 12220).into();
    let astro_addr: SocketAddr = ([127, 0, 0, 1], 8080).into();
    let agent_api_addr: SocketAddr = ([127, 0, 0, 1], 12221).into();
    let harmony_admin: SocketAddr = ([127, 0, 0, 1], 12222).into();
    let astro_admin: SocketAddr = ([127, 0, 0, 1], 8081).into();
    for addr in [harmony_addr, astro_addr, agent_api_addr, harmony_admin, astro_admin] {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Err(format!("{addr} is already in use; stop what is listening there first"));
        }
    }

    let mut children = Children(Vec::new());
    children.0.push(
        dies_with_xtask(bin.join("harmony-server"))
            .args(["--bind", &harmony_addr.to_string(), "--dev-seed", "--data-dir"])
            .arg(data.join("harmony"))
            .args(["--admin-bind", &harmony_admin.to_string(), "--log-format", "text"])
            .stdout(Stdio::null())
            .stderr(log_file(&data, "harmony.log")?)
            .spawn()
            .map_err(|e| format!("starting harmony-server: {e}"))?,
    );
    wait_for(harmony_addr, "harmony-server", &data.join("harmony.log"))?;

    // Each example data plane gets an agent that keeps a directory tree
    // equal to its desired state.
    for plane in ["hosted-aws-us-east-1", "hybrid-example"] {
        let credential = Command::new(bin.join("harmony-server"))
            .args(["agent-credential", "--data-plane", plane, "--dev-seed", "--data-dir"])
            .arg(data.join("harmony"))
            .output()
            .map_err(|e| format!("issuing {plane}'s agent credential: {e}"))?;
        if !credential.status.success() {
            return Err(format!(
                "issuing {plane}'s agent credential failed: {}",
                String::from_utf8_lossy(&credential.stderr)
            ));
        }
        let credential_file = data.join(format!("{plane}.credential"));
        std::fs::write(&credential_file, &credential.stdout)
            .map_err(|e| format!("writing {}: {e}", credential_file.display()))?;
        children.0.push(
            dies_with_xtask(bin.join("harmony-agent"))
                .args(["--harmony", &format!("http://{agent_api_addr}"), "--credential-file"])
                .arg(&credential_file)
                .arg("--apply-dir")
                .arg(data.join(plane))
                .args(["--log-format", "text"])
                .stdout(Stdio::null())
                .stderr(log_file(&data, &format!("harmony-agent-{plane}.log"))?)
                .spawn()
                .map_err(|e| format!("starting {plane}'s harmony-agent: {e}"))?,
        );
    }
    // The organization "local" with workspace "default" and an owner token,
    // made on the first run; the token is kept beside the data (a local
    // convenience: astro-api itself stores only its hash).
    let token_file = data.join("owner-token");
    children.0.push(
        dies_with_xtask(bin.join("astro-api"))
            .args(["--bind", &astro_addr.to_string()])
            .args(["--admin-bind", &astro_admin.to_string(), "--log-format", "text"])
            .args(["--harmony", &format!("http://{harmony_addr}"), "--data-dir"])
            .arg(data.join("astro"))
            .args(["--bootstrap", "local/default", "--bootstrap-token-file"])
            .arg(&token_file)
            .stdout(Stdio::null())
            .stderr(log_file(&data, "astro-api.log")?)
            .spawn()
            .map_err(|e| format!("starting astro-api: {e}"))?,
    );
    wait_for(astro_addr, "astro-api", &data.join("astro-api.log"))?;
    let token = read_when_written(&token_file)?;

    println!(
        "Creating a deployment through the generated client (astro-client/examples/quickstart.rs):"
    );
    let example = Command::new(target.join("debug/examples/quickstart"))
        .env("ASTRO_URL", format!("http://{astro_addr}"))
        .env("ASTRO_TOKEN", &token)
        .env("ASTRO_ORG", "local")
        .env("ASTRO_WORKSPACE", "default")
        .status()
        .map_err(|e| format!("running the quickstart example: {e}"))?;
    if !example.success() {
        return Err(format!("the quickstart example failed; see {}", data.display()));
    }

    println!(
        r#"
Harmony    http://{harmony_addr}   (internal; serves API 1.0.0 to 4.0.0: GET /api-versions lists them)
astro-api  http://{astro_addr}     (public)
Metrics, health and readiness: http://{harmony_admin}/metrics and http://{astro_admin}/metrics
  (also /livez and /readyz; docs/operations.md)
State and logs are under {data}.

Organization "local" (workspace "default"); its owner API token:

  export ASTRO_TOKEN={token}

Create a STANDARD deployment through astro-api:

  curl -s -X POST http://{astro_addr}/organizations/local/deployments \
    -H "authorization: Bearer $ASTRO_TOKEN" -H 'content-type: application/json' -d '{{
      "workspace_id": "default", "name": "etl", "type": "STANDARD",
      "cloud_provider": "AWS", "region": "us-east-1",
      "runtime_version": "13.1.0", "executor": "CELERY", "scheduler_size": "SMALL",
      "worker_queues": [{{"name": "default", "is_default": true, "min_worker_count": 1,
                          "max_worker_count": 10, "worker_concurrency": 16, "astro_machine": "A5"}}],
      "environment_variables": [{{"key": "API_TOKEN", "value": "s3cret", "is_secret": true}}]
    }}'

Then fetch the manifests Harmony rendered for it (use the "id" from the answer):

  curl -s -H 'api-version: 2.0.0' http://{harmony_addr}/deployments/<id>/manifests

Each example cluster has a harmony-agent that syncs its deployments into a
directory tree, one file per object: STANDARD ones (the shared cluster
"hosted-aws-us-east-1") into {data}/hosted-aws-us-east-1, HYBRID ones
(cluster "hybrid-example") into {data}/hybrid-example. Such an agent writes
files and cannot see workloads, so an applied deployment's status says
UNKNOWN with the revision it applied in its status_reason.

Press Ctrl-C to stop both."#,
        data = data.display(),
    );
    // Run until interrupted (Ctrl-C ends this process and, with it, the
    // process group) or until a server exits on its own.
    loop {
        for child in &mut children.0 {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "a server exited ({status}); see the logs under {}",
                    data.display()
                ));
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The content of a file a starting server writes, once it is there.
fn read_when_written(path: &Path) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.is_empty()
        {
            return Ok(text);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "{} was not written (if ./data is left from an earlier run without it, remove ./data to start over)",
        path.display()
    ))
}

fn log_file(data: &Path, name: &str) -> Result<std::fs::File, String> {
    std::fs::create_dir_all(data).map_err(|e| format!("creating {}: {e}", data.display()))?;
    std::fs::File::create(data.join(name)).map_err(|e| format!("creating {name}: {e}"))
}

/// Waits until `addr` accepts connections, or fails showing the log's tail.
fn wait_for(addr: SocketAddr, what: &str, log: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let tail: Vec<String> = std::fs::File::open(log)
        .map(|f| BufReader::new(f).lines().map_while(Result::ok).collect())
        .unwrap_or_default();
    let start = tail.len().saturating_sub(20);
    Err(format!("{what} did not start listening on {addr}:\n{}", tail[start..].join("\n")))
}

/// Repository rules, as tests (`cargo test --workspace` runs them).
#[cfg(test)]
mod help {
    use super::{HELP, TASKS, task_help};

    /// Every task answers `--help` with its own entries, and every entry of
    /// the help belongs to a task `--help` knows.
    #[test]
    fn every_task_has_its_help() {
        for task in TASKS {
            let help = task_help(task);
            assert!(help.starts_with(&format!("cargo xtask {task}")), "{task}: {help:?}");
        }
        for line in HELP.lines().skip(2).filter(|l| l.starts_with("  ") && !l.starts_with("   ")) {
            let task = line.trim_start().split(' ').next().unwrap();
            assert!(TASKS.contains(&task), "{task} is in HELP but not in TASKS");
        }
    }
}
