//! `cargo xtask bench`: every figure next to a baseline measured in the same
//! run, and their ratio. Prints one table and writes it to
//! `target/bench/report.json`. Targets are read off the table, never asserted.
//!
//! Arguments select parts: `all` (default), `path`, `render`, `rollout`,
//! `compat`, `devloop`, `fleet` (a number beside it: how many agents; it
//! includes `fleet-rollout`, which runs alone when named, a number beside
//! it then saying how many data planes);
//! `shared-plane` (a number beside it: how many deployments on the one
//! shared data plane, default 5,000);
//! `fleet-harmony` runs one Harmony for the fleet measurement, `shared-agent`
//! one agent for the shared-plane one; `compat-child OLD NEW` and `rollout-child` run one
//! measurement in a fresh process so its peak memory can be read;
//! `path-hold [CLIENTS] [SECONDS] [postgres]` keeps the path under load
//! (64 clients, 30 s, SQLite by default) for a profiler to attach to, and
//! prints what it served.

mod compat;
mod devloop;
mod echo;
mod fleet;
mod load;
mod path;
mod render;
mod rollout;
mod shared_plane;
mod usage;

use serde::Serialize;
use std::path::PathBuf;

// The services' binaries use the same allocator (see their main.rs), so the
// in-process servers here, and the echo baseline, run as they ship.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One line of the report.
#[derive(Clone, Debug, Serialize)]
pub struct Line {
    pub what: String,
    pub figure: f64,
    pub unit: &'static str,
    pub baseline_what: String,
    pub baseline: f64,
    /// figure / baseline.
    pub ratio: f64,
    pub note: String,
}

impl Line {
    pub fn new(
        what: impl Into<String>,
        figure: f64,
        unit: &'static str,
        baseline_what: impl Into<String>,
        baseline: f64,
        note: impl Into<String>,
    ) -> Line {
        Line {
            what: what.into(),
            figure,
            unit,
            baseline_what: baseline_what.into(),
            baseline,
            ratio: if baseline == 0.0 { f64::NAN } else { figure / baseline },
            note: note.into(),
        }
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("compat-child") {
        return compat::child(&args[1], &args[2]);
    }
    if args.first().map(String::as_str) == Some("rollout-child") {
        return rollout::child();
    }
    if args.first().map(String::as_str) == Some("fleet-harmony") {
        return fleet::child(&args[1..]);
    }
    if args.first().map(String::as_str) == Some("shared-agent") {
        return shared_plane::agent_child(&args[1..]);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if args.first().map(String::as_str) == Some("path-hold") {
        let number =
            |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
        let postgres = args.get(3).map(String::as_str) == Some("postgres");
        return runtime.block_on(path::hold(number(1, 64) as usize, number(2, 30), postgres));
    }
    let selected = |name: &str| args.is_empty() || args.iter().any(|a| a == name || a == "all");
    let mut lines = Vec::new();
    if selected("path") {
        lines.extend(runtime.block_on(path::run())?);
    }
    if selected("render") {
        lines.extend(render::run());
    }
    if selected("rollout") {
        lines.extend(rollout::run()?);
    }
    if selected("compat") {
        lines.extend(compat::run()?);
    }
    if selected("devloop") {
        lines.extend(devloop::run()?);
    }
    if selected("fleet") {
        // `fleet 5000`: how many agents (default 2,000).
        let agents = args.iter().find_map(|a| a.parse().ok()).unwrap_or(2000);
        lines.extend(runtime.block_on(fleet::run(agents))?);
    }
    if selected("fleet") || args.iter().any(|a| a == "fleet-rollout") {
        // `fleet-rollout 5000` alone: how many data planes (default 1,000).
        let planes = match args.as_slice() {
            [only, n] if only == "fleet-rollout" => n.parse()?,
            _ => fleet::rollout::PLANES,
        };
        lines.extend(runtime.block_on(fleet::rollout::run(planes))?);
    }
    if selected("shared-plane") {
        // `shared-plane 5000`: how many deployments (default 5,000).
        let n = match args.as_slice() {
            [only, n] if only == "shared-plane" => n.parse()?,
            _ => 5000,
        };
        lines.extend(runtime.block_on(shared_plane::run(n))?);
    }
    print_table(&lines);
    let dir = repo_root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(&lines)? + "\n")?;
    println!("\nwritten to target/bench/report.json");
    Ok(())
}

fn print_table(lines: &[Line]) {
    println!(
        "\n{:<52} {:>12} {:<8} {:<40} {:>12} {:>8}",
        "measured", "figure", "unit", "baseline (same run)", "baseline", "ratio"
    );
    println!("{}", "-".repeat(138));
    for l in lines {
        println!(
            "{:<52} {:>12.1} {:<8} {:<40} {:>12.1} {:>8.2}",
            l.what, l.figure, l.unit, l.baseline_what, l.baseline, l.ratio
        );
        if !l.note.is_empty() {
            println!("    {}", l.note);
        }
    }
}
