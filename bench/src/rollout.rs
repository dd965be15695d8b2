//! Rollout simulation: the real controller over 10,000 simulated data planes
//! with 5 deployments each, through the committed policy's 4 waves under the
//! production parameters (approvals given as soon as asked), in simulated
//! time. Runs in a fresh process so its peak memory can be read.

use crate::Line;
use anyhow::{Result, bail};
use chrono::{Duration, TimeZone, Utc};
use harmony_server::rollout::policy::RolloutPolicy;
use harmony_server::rollout::sim::SimFleet;
use harmony_server::rollout::{
    Command, DecisionKind, Fleet, PlatformRelease, Rollout, RolloutState,
};
use std::process::Command as Process;
use std::time::Instant;

const PLANES: usize = 10_000;
const DEPLOYMENTS: u32 = 5;
const TICK_SECONDS: i64 = 30;

/// Runs in a fresh process: one full rollout; prints JSON.
pub fn child() -> Result<()> {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
    let start = Instant::now();
    let mut fleet = SimFleet::rings(t0, PLANES, DEPLOYMENTS, "2026.10.0");
    let policy = RolloutPolicy::committed("production").map_err(anyhow::Error::msg)?;
    let to = PlatformRelease {
        version: "2026.11.0".into(),
        kubernetes_min: "1.29".into(),
        kubernetes_max: "1.33".into(),
        runtimes: vec![],
    };
    let mut rollout =
        Rollout::plan(uuid::Uuid::new_v4(), "2026.10.0", to, policy, &fleet.infos(), t0)
            .map_err(anyhow::Error::msg)?;
    let planned = start.elapsed().as_secs_f64();
    let tick = Duration::seconds(TICK_SECONDS);
    loop {
        let state = fleet.run(&mut rollout, tick, Duration::days(30));
        if state == RolloutState::Paused
            && rollout.decisions.last().is_some_and(|d| d.kind == DecisionKind::AwaitingApproval)
        {
            rollout
                .command(Command::Approve, "bench", None, fleet.now)
                .map_err(anyhow::Error::msg)?;
            continue;
        }
        if state != RolloutState::Succeeded {
            bail!("the rollout ended {state:?}: {}", rollout.reason);
        }
        break;
    }
    let total = start.elapsed().as_secs_f64();
    let ticks = ((fleet.now - t0).num_seconds() / TICK_SECONDS) as u64;

    // Baseline: a controller that looks at every data plane at every tick.
    let ids: Vec<String> = fleet.infos().into_iter().map(|p| p.id).collect();
    let naive = Instant::now();
    let mut healthy = 0u64;
    for _ in 0..ticks {
        for id in &ids {
            healthy +=
                u64::from(fleet.observe(id) == harmony_server::rollout::Observation::Healthy);
        }
    }
    let naive = naive.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "plan_s": planned,
            "total_s": total,
            "naive_s": naive,
            "ticks": ticks,
            "simulated_hours": (fleet.now - t0).num_minutes() as f64 / 60.0,
            "decisions": rollout.decisions.len(),
            "peak_kib": crate::compat::peak_kib(),
            "checksum": healthy,
        })
    );
    Ok(())
}

pub fn run() -> Result<Vec<Line>> {
    let mut runs = Vec::new();
    for _ in 0..3 {
        let out = Process::new(std::env::current_exe()?).arg("rollout-child").output()?;
        if !out.status.success() {
            bail!("rollout-child failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        runs.push(serde_json::from_slice::<serde_json::Value>(&out.stdout)?);
    }
    let pick = |key: &str| {
        crate::load::median(runs.iter().map(|r| r[key].as_f64().unwrap_or(f64::NAN)).collect())
    };
    let (total, naive, peak) = (pick("total_s"), pick("naive_s"), pick("peak_kib"));
    let note = format!(
        "{} ticks of {TICK_SECONDS} s = {:.0} simulated hours, {} decisions; target under 5 s \
         wall and 512 MiB",
        runs[0]["ticks"],
        runs[0]["simulated_hours"].as_f64().unwrap_or(0.0),
        runs[0]["decisions"]
    );
    Ok(vec![
        Line::new(
            "rollout: 10k data planes x 5 deployments, 4 waves, wall",
            total * 1000.0,
            "ms",
            "observing every data plane every tick",
            naive * 1000.0,
            note,
        ),
        Line::new("rollout: same run, peak memory", peak / 1024.0, "MiB", "target", 512.0, ""),
    ])
}
