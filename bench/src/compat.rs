//! The compatibility checker on a real large pair: GitHub's REST API
//! description from the npm package `@octokit/openapi`, versions 21.0.0 and
//! 23.0.2 (about 12 MB each, 1,000+ operations), fetched into
//! `target/bench/octokit` on first use and never committed. Time and peak
//! memory against just parsing the two documents, and the Atlassian
//! `openapi-diff` npm package on the same pair as the peer.

use crate::{Line, repo_root};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const PEER_TIMEOUT_SECONDS: u32 = 90;

fn fetch(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let pair = (dir.join("github-21.0.0.json"), dir.join("github-23.0.2.json"));
    if pair.0.exists() && pair.1.exists() {
        return Ok(pair);
    }
    std::fs::create_dir_all(dir)?;
    for (version, target) in [("21.0.0", &pair.0), ("23.0.2", &pair.1)] {
        let status = Command::new("npm")
            .args(["pack", "--silent", &format!("@octokit/openapi@{version}")])
            .current_dir(dir)
            .status()
            .context("running npm (needed to fetch the benchmark's documents)")?;
        if !status.success() {
            bail!("npm pack @octokit/openapi@{version} failed");
        }
        let tarball = dir.join(format!("octokit-openapi-{version}.tgz"));
        let status = Command::new("tar")
            .arg("xzf")
            .arg(&tarball)
            .args(["-C"])
            .arg(dir)
            .arg("package/generated/api.github.com.json")
            .status()?;
        if !status.success() {
            bail!("unpacking {}", tarball.display());
        }
        std::fs::rename(dir.join("package/generated/api.github.com.json"), target)?;
        std::fs::remove_file(&tarball)?;
    }
    Ok(pair)
}

/// This process's peak resident memory, KiB.
pub fn peak_kib() -> u64 {
    crate::usage::status_kib("VmHWM")
}

/// Runs in a fresh process: parse both, compare, report time and peak memory.
pub fn child(old: &str, new: &str) -> Result<()> {
    let start = Instant::now();
    let old = openapi_compat::load(Path::new(old)).map_err(anyhow::Error::msg)?;
    let new = openapi_compat::load(Path::new(new)).map_err(anyhow::Error::msg)?;
    let parsed = start.elapsed().as_secs_f64();
    let report = openapi_compat::compare(&old, &new, openapi_compat::Client::Generic);
    let total = start.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "parse_s": parsed,
            "total_s": total,
            "peak_kib": peak_kib(),
            "changes": report.changes.len(),
            "errors": report.count(openapi_compat::Level::Error),
        })
    );
    Ok(())
}

fn run_child(old: &Path, new: &Path) -> Result<serde_json::Value> {
    let out =
        Command::new(std::env::current_exe()?).arg("compat-child").arg(old).arg(new).output()?;
    if !out.status.success() {
        bail!("compat-child failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// The peer: Atlassian's openapi-diff, installed into target/bench/peer.
fn peer(dir: &Path, old: &Path, new: &Path) -> String {
    let prefix = dir.join("peer");
    let bin = prefix.join("node_modules/.bin/openapi-diff");
    if !bin.exists() {
        let ok = Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg("openapi-diff@0.24.1")
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return "could not be installed".to_owned();
        }
    }
    let start = Instant::now();
    let out = Command::new("timeout")
        .arg(PEER_TIMEOUT_SECONDS.to_string())
        .arg("/usr/bin/time")
        .args(["-f", "peak %M KiB"])
        .arg(&bin)
        .arg(old)
        .arg(new)
        .output();
    let seconds = start.elapsed().as_secs_f64();
    match out {
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let peak =
                stderr.lines().rev().find(|l| l.starts_with("peak")).unwrap_or("peak unknown");
            let verdict = match out.status.code() {
                Some(124) => format!("gave no answer within {PEER_TIMEOUT_SECONDS} s"),
                Some(0) | Some(1) => "answered".to_owned(),
                _ if stderr.contains("heap out of memory") => "ran out of memory".to_owned(),
                code => format!("failed (exit {code:?})"),
            };
            format!("openapi-diff 0.24.1 {verdict} after {seconds:.1} s, {peak}")
        }
        Err(e) => format!("openapi-diff could not run: {e}"),
    }
}

pub fn run() -> Result<Vec<Line>> {
    let dir = repo_root().join("target/bench/octokit");
    let (old, new) = fetch(&dir)?;
    let mut runs = Vec::new();
    for _ in 0..3 {
        runs.push(run_child(&old, &new)?);
    }
    let pick = |key: &str| {
        crate::load::median(runs.iter().map(|r| r[key].as_f64().unwrap_or(f64::NAN)).collect())
    };
    let (total, parse, peak) = (pick("total_s"), pick("parse_s"), pick("peak_kib"));
    let changes = runs[0]["changes"].as_u64().unwrap_or(0);
    let errors = runs[0]["errors"].as_u64().unwrap_or(0);
    let peer = peer(&dir, &old, &new);
    Ok(vec![
        Line::new(
            "compat: GitHub REST 21.0.0 -> 23.0.2 (12 MB each), wall",
            total * 1000.0,
            "ms",
            "parsing the two documents only",
            parse * 1000.0,
            format!("{changes} changes, {errors} errors; target under 500 ms. Peer: {peer}"),
        ),
        Line::new(
            "compat: same pair, peak memory",
            peak / 1024.0,
            "MiB",
            "size of the two documents on disk",
            (std::fs::metadata(&old)?.len() + std::fs::metadata(&new)?.len()) as f64 / 1048576.0,
            "target under 300 MiB",
        ),
    ])
}
