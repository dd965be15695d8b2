//! `cargo xtask repeat`: every test binary of the workspace, run again and
//! again, to find the tests that fail only sometimes before CI does.
//!
//! A retry hides a race; this shows it. Each binary is run N times in a
//! row with `REQUIRE_POSTGRES=1` (so every store suite runs on SQLite and
//! PostgreSQL, none skipped); the output of each failing run is kept under
//! `target/repeat/`, and the table at the end names each binary, its runs,
//! its failing runs and the tests that failed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

pub const USAGE: &str = "cargo xtask repeat [N] [--only SUBSTRING] [-- TEST-BINARY-ARGS]";

pub fn repeat(args: &[String]) -> Result<ExitCode, String> {
    let mut runs = 20usize;
    let mut only = None;
    let mut passed = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // The rest goes to every test binary (`--skip NAME`, a filter).
            "--" => passed.extend(args.by_ref().cloned()),
            "--only" => only = Some(args.next().ok_or(format!("--only needs a value\n{USAGE}"))?),
            "-h" | "--help" => {
                println!("{USAGE}\n\nruns every test binary of the workspace N times (default 20)");
                return Ok(ExitCode::SUCCESS);
            }
            n => runs = n.parse().map_err(|_| format!("not a number of runs: {n}\n{USAGE}"))?,
        }
    }
    println!("building the workspace's test binaries");
    let out = crate::cargo()
        .args(["test", "--workspace", "--no-run", "--message-format=json-render-diagnostics"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running cargo: {e}"))?;
    if !out.status.success() {
        return Err("building the tests failed".into());
    }
    let root = crate::root();
    let mut binaries = executables(&String::from_utf8_lossy(&out.stdout), &root);
    if let Some(only) = only {
        binaries.retain(|(label, _)| label.contains(only.as_str()));
    }
    let keep = root.join("target/repeat");
    std::fs::create_dir_all(&keep).map_err(|e| e.to_string())?;
    let mut table = Vec::new();
    for (label, executable) in &binaries {
        let started = Instant::now();
        let mut failed_runs = 0;
        let mut failed_tests: BTreeMap<String, usize> = BTreeMap::new();
        for run in 1..=runs {
            // Each binary runs from its crate's directory, as `cargo test` does.
            let crate_dir = root.join(label.split('/').next().unwrap_or_default());
            let out = Command::new(executable)
                .args(&passed)
                .current_dir(&crate_dir)
                .env("REQUIRE_POSTGRES", "1")
                .output()
                .map_err(|e| format!("running {label}: {e}"))?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            print!("\r{label}: run {run}/{runs}, {failed_runs} failed   ");
            let _ = std::io::Write::flush(&mut std::io::stdout());
            if !out.status.success() {
                failed_runs += 1;
                for name in failures(&text) {
                    *failed_tests.entry(name).or_default() += 1;
                }
                let file = keep.join(format!("{}-run{run}.log", label.replace('/', "_")));
                std::fs::write(&file, &text).map_err(|e| e.to_string())?;
                println!("\n  failed; output kept in {}", file.display());
            }
        }
        println!();
        table.push((label.clone(), failed_runs, failed_tests, started.elapsed()));
    }
    println!("\n{runs} runs of each test binary (REQUIRE_POSTGRES=1) {}:", passed.join(" "));
    let mut any = false;
    for (label, failed, tests, took) in &table {
        any |= *failed > 0;
        println!("  {label}: {failed} of {runs} runs failed ({:.0} s in all)", took.as_secs_f64());
        for (test, times) in tests {
            println!("      {test}: failed {times} times");
        }
    }
    Ok(if any { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Test executables from cargo's JSON messages, labelled by their source
/// path relative to the workspace (`astro-api/tests/integration_tests/main.rs`),
/// which unlike the executable's name is unique.
fn executables(messages: &str, root: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for line in messages.lines() {
        // Built as a test (the target's own `"test":true` says only that
        // it could be).
        let profile = line.split(r#""profile":{"#).nth(1).and_then(|p| p.split('}').next());
        if !profile.is_some_and(|p| p.contains(r#""test":true"#)) {
            continue;
        }
        let (Some(source), Some(executable)) =
            (string_field(line, "src_path"), string_field(line, "executable"))
        else {
            continue;
        };
        let label = Path::new(&source)
            .strip_prefix(root)
            .map_or(source.clone(), |p| p.display().to_string());
        found.push((label, PathBuf::from(executable)));
    }
    found.sort();
    found
}

/// The value of the first `"name":"..."` in a JSON line (paths here hold no
/// escaped characters; xtask has no JSON parser by design).
fn string_field(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!(r#""{name}":""#))? + name.len() + 4;
    let end = line[start..].find('"')?;
    Some(line[start..start + end].to_owned())
}

/// The tests a libtest run reports as failed (`test NAME ... FAILED`).
fn failures(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix("test ")?.strip_suffix(" ... FAILED"))
        .map(str::to_owned)
        .collect()
}
