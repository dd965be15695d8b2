//! The developer loop: `cargo xtask check` on a warm, fresh tree, and
//! `cargo xtask regenerate` after the API crate changes, against the cost of
//! starting `cargo xtask` at all.

use crate::{Line, repo_root};
use anyhow::{Result, bail};
use std::process::{Command, Stdio};
use std::time::Instant;

fn time(args: &[&str], before: impl Fn()) -> Result<f64> {
    let mut samples = Vec::new();
    for _ in 0..3 {
        before();
        let start = Instant::now();
        let status = Command::new("cargo")
            .args(args)
            .current_dir(repo_root())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("cargo {} failed", args.join(" "));
        }
        samples.push(start.elapsed().as_secs_f64());
    }
    Ok(crate::load::median(samples))
}

pub fn run() -> Result<Vec<Line>> {
    // Warm everything once.
    time(&["xtask", "check"], || {})?;
    let startup = time(&["xtask", "help"], || {})?;
    let check = time(&["xtask", "check"], || {})?;
    // An edit to the API crate: touching it rebuilds it and everything the
    // manager links, as an endpoint change would.
    let api = repo_root().join("harmony-api/src/lib.rs");
    let regenerate = time(&["xtask", "regenerate"], || {
        let text = std::fs::read(&api).unwrap_or_default();
        let _ = std::fs::write(&api, text);
    })?;
    Ok(vec![
        Line::new(
            "dev loop: cargo xtask check, warm tree",
            check * 1000.0,
            "ms",
            "cargo xtask help (start-up)",
            startup * 1000.0,
            "",
        ),
        Line::new(
            "dev loop: cargo xtask regenerate after an API edit",
            regenerate * 1000.0,
            "ms",
            "cargo xtask help (start-up)",
            startup * 1000.0,
            "debug build of harmony-api and openapi-manager",
        ),
    ])
}
