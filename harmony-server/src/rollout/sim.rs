//! A fleet simulator: data planes with in-process simulated agents, in
//! simulated time. Used by the rollout tests and the benchmark to run the
//! real controller ([`super::Rollout`]) against thousands of data planes.
//!
//! Each simulated agent applies a new desired release `converge` after it is
//! given, then reports every deployment's health at each tick. A release
//! marked bad makes a deterministic share of the data planes unhealthy (some
//! of their deployments report UNHEALTHY once they run it). An unreachable
//! data plane reports nothing.

use super::{Action, Fleet, Observation, PlaneInfo, Rollout, RolloutState};
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, HashMap};

#[derive(Clone, Debug)]
pub struct SimPlane {
    pub info: PlaneInfo,
    pub deployments: u32,
    pub reachable: bool,
    /// When it was given its release (`info.release`).
    pub given_at: DateTime<Utc>,
}

pub struct SimFleet {
    pub now: DateTime<Utc>,
    /// How long an agent takes to apply a new release.
    pub converge: Duration,
    planes: Vec<SimPlane>,
    index: HashMap<String, usize>,
    /// Release → share of data planes (0.0–1.0) it makes unhealthy.
    bad: BTreeMap<String, f64>,
    /// When set, the metric has no data (a broken metrics pipeline).
    pub metrics_broken: bool,
    /// Every `SetRelease` carried out, in order (plane, release).
    pub moves: Vec<(String, String)>,
}

impl SimFleet {
    pub fn new(now: DateTime<Utc>, converge: Duration, planes: Vec<SimPlane>) -> SimFleet {
        let index = planes.iter().enumerate().map(|(i, p)| (p.info.id.clone(), i)).collect();
        SimFleet {
            now,
            converge,
            planes,
            index,
            bad: BTreeMap::new(),
            metrics_broken: false,
            moves: Vec::new(),
        }
    }

    /// `n` data planes on `release`, labelled into rings: 1% canary (at
    /// least one), 10% early, 40% main, the rest unlabelled; Kubernetes
    /// 1.31, `deployments` deployments each.
    pub fn rings(now: DateTime<Utc>, n: usize, deployments: u32, release: &str) -> SimFleet {
        let planes = (0..n)
            .map(|i| {
                let ring = ring_of(i, n);
                let mut labels = BTreeMap::new();
                if let Some(ring) = ring {
                    labels.insert(RING_LABEL.to_owned(), ring.to_owned());
                }
                SimPlane {
                    info: PlaneInfo {
                        id: format!("dp-{i:05}"),
                        labels,
                        kubernetes_version: "1.31".to_owned(),
                        release: release.to_owned(),
                        runtimes: vec!["3.1-1".to_owned()],
                        blind_to_health: false,
                    },
                    deployments,
                    reachable: true,
                    given_at: now - Duration::days(1),
                }
            })
            .collect();
        SimFleet::new(now, Duration::seconds(60), planes)
    }

    pub fn infos(&self) -> Vec<PlaneInfo> {
        self.planes.iter().map(|p| p.info.clone()).collect()
    }

    pub fn plane_mut(&mut self, id: &str) -> &mut SimPlane {
        let i = self.index[id];
        &mut self.planes[i]
    }

    pub fn plane(&self, id: &str) -> &SimPlane {
        &self.planes[self.index[id]]
    }

    /// Makes `release` unhealthy on about `share` of the data planes.
    pub fn mark_bad(&mut self, release: &str, share: f64) {
        self.bad.insert(release.to_owned(), share);
    }

    pub fn apply(&mut self, actions: &[Action]) {
        for Action::SetRelease { plane, release } in actions {
            let now = self.now;
            let p = self.plane_mut(plane);
            p.info.release.clone_from(release);
            p.given_at = now;
            self.moves.push((plane.clone(), release.clone()));
        }
    }

    fn unhealthy_deployments(&self, p: &SimPlane) -> u32 {
        match self.bad.get(&p.info.release) {
            Some(share) if unit_hash(&p.info.id) < *share => p.deployments.div_ceil(2),
            _ => 0,
        }
    }

    fn converged(&self, p: &SimPlane) -> bool {
        self.now - p.given_at >= self.converge
    }

    /// Steps the rollout every `tick` until it stops moving on its own
    /// (terminal or paused) or `limit` passes. Returns the final state.
    pub fn run(&mut self, rollout: &mut Rollout, tick: Duration, limit: Duration) -> RolloutState {
        let end = self.now + limit;
        loop {
            let actions = rollout.step(self, self.now);
            self.apply(&actions);
            if rollout.state.is_terminal()
                || rollout.state == RolloutState::Paused
                || self.now >= end
            {
                return rollout.state;
            }
            self.now += tick;
        }
    }
}

impl Fleet for SimFleet {
    fn observe(&self, plane: &str) -> Observation {
        let p = &self.planes[self.index[plane]];
        if !p.reachable {
            Observation::Unreachable
        } else if !self.converged(p) {
            Observation::Converging
        } else if self.unhealthy_deployments(p) > 0 {
            Observation::Unhealthy
        } else {
            Observation::Healthy
        }
    }

    /// The deployments it holds, as Harmony counts the renders a move costs.
    fn cost(&self, plane: &str) -> usize {
        (self.planes[self.index[plane]].deployments as usize).max(1)
    }

    fn metric(&self, _name: &str, planes: &[&str], _window: Duration) -> Option<f64> {
        if self.metrics_broken {
            return None;
        }
        let (mut unhealthy, mut total) = (0u64, 0u64);
        for id in planes {
            let p = &self.planes[self.index[*id]];
            if p.reachable && self.converged(p) {
                unhealthy += u64::from(self.unhealthy_deployments(p));
                total += u64::from(p.deployments);
            }
        }
        (total > 0).then(|| unhealthy as f64 / total as f64)
    }
}

/// The label the committed policy's waves select on.
pub const RING_LABEL: &str = "astronomer.io/rollout-ring";

fn ring_of(i: usize, n: usize) -> Option<&'static str> {
    let canary = (n / 100).max(1);
    let early = canary + n / 10;
    let main = early + n * 4 / 10;
    if i < canary {
        Some("canary")
    } else if i < early {
        Some("early")
    } else if i < main {
        Some("main")
    } else {
        None
    }
}

/// A stable number in [0, 1) for an id (FNV-1a), so "which data planes a bad
/// release breaks" is the same in every run.
fn unit_hash(id: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // FNV alone leaves near-identical ids close together; mix the bits
    // (splitmix64's finalizer) so shares hold for runs of ids too.
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}
