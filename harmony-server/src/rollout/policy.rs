//! Rollout policy as code: one committed file (`rollout-policy.toml`) holds
//! the waves, their selectors and gates, and one parameter set per
//! environment. [`RolloutPolicy::load`] resolves the file for one
//! environment into the concrete policy the controller runs, refusing
//! anything ambiguous: a wave that selects nothing, a wave without gates, a
//! percentage of zero, an environment that names a wave the policy lacks.
//!
//! Defaults gate: a wave without parameters moves 10% of its data planes at a
//! time, tolerates no failure and bakes for 30 minutes; a wave without a
//! `gates` list gates on HEALTH. There is no "everything at once" default.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The committed policy file, compiled in so every Harmony binary carries
/// the policy it was tested with.
pub const COMMITTED: &str = include_str!("../../rollout-policy.toml");

/// A count of data planes, or a percentage of a wave's data planes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Amount {
    Count(u32),
    Percent(u32),
}

impl Amount {
    /// How many of `n` data planes this is. Percentages round down but a
    /// non-zero percentage of a non-empty wave is never zero (10% of 3 data
    /// planes is 1).
    pub fn of(self, n: usize) -> usize {
        match self {
            Amount::Count(c) => (c as usize).min(n),
            Amount::Percent(0) => 0,
            Amount::Percent(p) if n > 0 => (n * p as usize / 100).max(1),
            Amount::Percent(_) => 0,
        }
    }

    fn parse(raw: &RawAmount) -> Result<Amount, String> {
        match raw {
            RawAmount::Count(c) => Ok(Amount::Count(*c)),
            RawAmount::Text(text) => {
                let text = text.trim();
                if let Some(p) = text.strip_suffix('%') {
                    let p: u32 =
                        p.trim().parse().map_err(|_| format!("{text:?} is not a percentage"))?;
                    if p > 100 {
                        return Err(format!("{text:?} is over 100%"));
                    }
                    Ok(Amount::Percent(p))
                } else {
                    text.parse().map(Amount::Count).map_err(|_| {
                        format!("{text:?} is neither a count nor a percentage like \"10%\"")
                    })
                }
            }
        }
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Amount::Count(c) => write!(f, "{c}"),
            Amount::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// A gate a wave must pass before the next wave starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Gate {
    /// Every updated data plane of the wave reports all its deployments
    /// healthy at the new release.
    Health,
    /// A metric over the wave's data planes stays at or under `max` over
    /// `window_seconds`.
    Metric { name: String, max: f64, window_seconds: u64 },
    /// A person approves the wave.
    ManualApproval,
}

impl Gate {
    pub fn name(&self) -> &'static str {
        match self {
            Gate::Health => "HEALTH",
            Gate::Metric { .. } => "METRIC",
            Gate::ManualApproval => "MANUAL_APPROVAL",
        }
    }
}

/// What happens when a wave fails (a failure budget exceeded, a gate
/// failing, the progress deadline passing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OnFailure {
    /// Stop where it is and wait for a person.
    Pause,
    /// Stop and restore the previous release on every moved data plane.
    Abort,
    /// Restore the previous release on every moved data plane.
    Rollback,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Wave {
    pub name: String,
    /// Labels a data plane must all carry; empty only for the remainder.
    pub selector: BTreeMap<String, String>,
    /// The last wave may take every data plane no earlier wave took.
    pub remainder: bool,
    /// How many data planes may be updating (moved, not yet healthy) at once.
    pub max_parallel: Amount,
    /// How many data planes may fail in this wave before the wave fails.
    pub max_unavailable: Amount,
    pub bake_seconds: u64,
    pub gates: Vec<Gate>,
}

impl Wave {
    /// Whether a data plane with these labels belongs to this wave (before
    /// earlier waves took their share).
    pub fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        self.remainder || self.selector.iter().all(|(k, v)| labels.get(k) == Some(v))
    }
}

/// The policy for one environment, fully resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RolloutPolicy {
    pub environment: String,
    pub waves: Vec<Wave>,
    pub on_failure: OnFailure,
    pub progress_deadline_seconds: u64,
}

impl RolloutPolicy {
    /// The committed policy for `environment`.
    pub fn committed(environment: &str) -> Result<RolloutPolicy, PolicyError> {
        RolloutPolicy::load(COMMITTED, environment)
    }

    /// Parses a policy file and resolves it for `environment`.
    pub fn load(text: &str, environment: &str) -> Result<RolloutPolicy, PolicyError> {
        let file: PolicyFile =
            toml::from_str(text).map_err(|e| PolicyError(vec![format!("policy file: {e}")]))?;
        file.resolve(environment)
    }

    /// The environments a policy file defines.
    pub fn environments(text: &str) -> Result<Vec<String>, PolicyError> {
        let file: PolicyFile =
            toml::from_str(text).map_err(|e| PolicyError(vec![format!("policy file: {e}")]))?;
        Ok(file.environments.into_keys().collect())
    }

    /// SHA-256 of the resolved policy: a rollout records the exact policy
    /// it ran under.
    pub fn hash(&self) -> String {
        use sha2::Digest;
        let json = serde_json::to_vec(self).expect("a policy serializes");
        let digest = sha2::Sha256::digest(&json);
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Everything wrong with a policy, each entry naming the place and the rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid rollout policy: {}", .0.join("; "))]
pub struct PolicyError(pub Vec<String>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    on_failure: OnFailure,
    #[serde(default)]
    metric: Option<MetricFile>,
    waves: Vec<WaveFile>,
    #[serde(default)]
    environments: BTreeMap<String, EnvironmentFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricFile {
    name: String,
    max: f64,
    window: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaveFile {
    name: String,
    #[serde(default)]
    selector: BTreeMap<String, String>,
    #[serde(default)]
    remainder: bool,
    #[serde(default)]
    gates: Option<Vec<GateName>>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum GateName {
    Health,
    Metric,
    ManualApproval,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvironmentFile {
    progress_deadline: String,
    #[serde(default)]
    manual_approval: Vec<String>,
    #[serde(default)]
    waves: BTreeMap<String, WaveParams>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaveParams {
    #[serde(default)]
    max_parallel: Option<RawAmount>,
    #[serde(default)]
    max_unavailable: Option<RawAmount>,
    #[serde(default)]
    bake: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawAmount {
    Count(u32),
    Text(String),
}

const DEFAULT_MAX_PARALLEL: Amount = Amount::Percent(10);
const DEFAULT_MAX_UNAVAILABLE: Amount = Amount::Count(0);
const DEFAULT_BAKE_SECONDS: u64 = 30 * 60;

impl PolicyFile {
    fn resolve(self, environment: &str) -> Result<RolloutPolicy, PolicyError> {
        let mut problems = Vec::new();
        let Some(env) = self.environments.get(environment) else {
            let known: Vec<_> = self.environments.keys().cloned().collect();
            return Err(PolicyError(vec![format!(
                "environments: no environment {environment:?} (the policy defines {})",
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            )]));
        };
        let at = |rest: &str| format!("environments.{environment}.{rest}");
        let progress_deadline_seconds =
            parse_duration(&env.progress_deadline).unwrap_or_else(|e| {
                problems.push(format!("{}: {e}", at("progress_deadline")));
                0
            });
        if progress_deadline_seconds == 0 && problems.is_empty() {
            problems.push(format!("{}: must be longer than zero", at("progress_deadline")));
        }
        let metric = self.metric.as_ref().and_then(|m| match parse_duration(&m.window) {
            Ok(window_seconds) if window_seconds > 0 && m.max.is_finite() && m.max >= 0.0 => {
                Some(Gate::Metric { name: m.name.clone(), max: m.max, window_seconds })
            }
            Ok(_) => {
                problems.push("metric: needs a window over zero and a finite max ≥ 0".to_owned());
                None
            }
            Err(e) => {
                problems.push(format!("metric.window: {e}"));
                None
            }
        });

        if self.waves.is_empty() {
            problems.push("waves: a policy needs at least one wave".to_owned());
        }
        let mut names = BTreeSet::new();
        let last = self.waves.len().saturating_sub(1);
        let mut waves = Vec::new();
        for (i, wave) in self.waves.iter().enumerate() {
            let here = |field: &str| format!("waves[{i}] ({}).{field}", wave.name);
            if wave.name.trim().is_empty() {
                problems.push(format!("waves[{i}].name: must not be empty"));
            }
            if !names.insert(wave.name.clone()) {
                problems.push(format!("{}: wave names must be unique", here("name")));
            }
            if wave.remainder && i != last {
                problems.push(format!(
                    "{}: only the last wave may be the remainder",
                    here("remainder")
                ));
            }
            if wave.remainder && !wave.selector.is_empty() {
                problems.push(format!("{}: a remainder wave takes no selector", here("selector")));
            }
            if !wave.remainder && wave.selector.is_empty() {
                problems.push(format!(
                    "{}: an empty selector would take every data plane; name at least one \
                     label, or make the last wave `remainder = true`",
                    here("selector")
                ));
            }
            let mut gates = Vec::new();
            match &wave.gates {
                None => gates.push(Gate::Health),
                Some(list) if list.is_empty() => problems.push(format!(
                    "{}: a wave must gate on something (HEALTH, METRIC or MANUAL_APPROVAL)",
                    here("gates")
                )),
                Some(list) => {
                    for gate in list {
                        match gate {
                            GateName::Health => gates.push(Gate::Health),
                            GateName::ManualApproval => gates.push(Gate::ManualApproval),
                            GateName::Metric => match &metric {
                                Some(m) => gates.push(m.clone()),
                                None => problems.push(format!(
                                    "{}: METRIC needs a [metric] section",
                                    here("gates")
                                )),
                            },
                        }
                    }
                }
            }
            if env.manual_approval.contains(&wave.name) && !gates.contains(&Gate::ManualApproval) {
                gates.push(Gate::ManualApproval);
            }
            let params = env.waves.get(&wave.name);
            let amount = |raw: Option<&RawAmount>, default: Amount, field: &str| match raw {
                None => Ok(default),
                Some(raw) => Amount::parse(raw)
                    .map_err(|e| format!("{}: {e}", at(&format!("waves.{}.{field}", wave.name)))),
            };
            let max_parallel = amount(
                params.and_then(|p| p.max_parallel.as_ref()),
                DEFAULT_MAX_PARALLEL,
                "max_parallel",
            )
            .unwrap_or_else(|e| {
                problems.push(e);
                DEFAULT_MAX_PARALLEL
            });
            if matches!(max_parallel, Amount::Count(0) | Amount::Percent(0)) {
                problems.push(format!(
                    "{}: must move at least one data plane at a time",
                    at(&format!("waves.{}.max_parallel", wave.name))
                ));
            }
            let max_unavailable = amount(
                params.and_then(|p| p.max_unavailable.as_ref()),
                DEFAULT_MAX_UNAVAILABLE,
                "max_unavailable",
            )
            .unwrap_or_else(|e| {
                problems.push(e);
                DEFAULT_MAX_UNAVAILABLE
            });
            let bake_seconds = match params.and_then(|p| p.bake.as_deref()) {
                None => DEFAULT_BAKE_SECONDS,
                Some(text) => parse_duration(text).unwrap_or_else(|e| {
                    problems.push(format!("{}: {e}", at(&format!("waves.{}.bake", wave.name))));
                    0
                }),
            };
            waves.push(Wave {
                name: wave.name.clone(),
                selector: wave.selector.clone(),
                remainder: wave.remainder,
                max_parallel,
                max_unavailable,
                bake_seconds,
                gates,
            });
        }
        for name in env.waves.keys().chain(&env.manual_approval) {
            if !names.contains(name) {
                problems.push(format!(
                    "{}: names wave {name:?}, which the policy does not have",
                    at("waves")
                ));
            }
        }
        if !problems.is_empty() {
            return Err(PolicyError(problems));
        }
        Ok(RolloutPolicy {
            environment: environment.to_owned(),
            waves,
            on_failure: self.on_failure,
            progress_deadline_seconds,
        })
    }
}

/// `90s`, `10m`, `2h`, `1d` (or a bare number of seconds).
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 =
        number.parse().map_err(|_| format!("{text:?} is not a duration like \"10m\""))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (use s, m, h or d)")),
    };
    number.checked_mul(scale).ok_or_else(|| format!("{text:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_policy_resolves_for_every_environment_with_the_same_shape() {
        let envs = RolloutPolicy::environments(COMMITTED).unwrap();
        assert!(envs.contains(&"staging".to_owned()) && envs.contains(&"production".to_owned()));
        type Shape = Vec<(String, BTreeMap<String, String>, bool)>;
        let shapes: Vec<Shape> = envs
            .iter()
            .map(|env| {
                RolloutPolicy::committed(env)
                    .unwrap()
                    .waves
                    .into_iter()
                    .map(|w| (w.name, w.selector, w.remainder))
                    .collect()
            })
            .collect();
        assert!(shapes.windows(2).all(|w| w[0] == w[1]), "waves differ between environments");
        let production = RolloutPolicy::committed("production").unwrap();
        assert!(production.waves[0].gates.contains(&Gate::ManualApproval));
        let staging = RolloutPolicy::committed("staging").unwrap();
        assert!(!staging.waves[0].gates.contains(&Gate::ManualApproval));
    }

    #[test]
    fn percentages_never_round_to_zero() {
        assert_eq!(Amount::Percent(10).of(3), 1);
        assert_eq!(Amount::Percent(1).of(1), 1);
        assert_eq!(Amount::Percent(50).of(3), 1);
        assert_eq!(Amount::Percent(100).of(3), 3);
        assert_eq!(Amount::Percent(10).of(0), 0);
        assert_eq!(Amount::Count(5).of(3), 3);
        assert_eq!(Amount::Percent(0).of(10), 0);
    }

    #[test]
    fn defaults_gate_and_never_move_everything_at_once() {
        let policy = RolloutPolicy::load(
            r#"
on_failure = "PAUSE"
[[waves]]
name = "all"
remainder = true
[environments.test]
progress_deadline = "1h"
"#,
            "test",
        )
        .unwrap();
        let wave = &policy.waves[0];
        assert_eq!(wave.gates, vec![Gate::Health]);
        assert_eq!(wave.max_parallel, Amount::Percent(10));
        assert_eq!(wave.max_parallel.of(100), 10);
        assert_eq!(wave.max_unavailable.of(100), 0);
        assert!(wave.bake_seconds > 0);
    }

    #[test]
    fn bad_policies_are_refused_naming_each_problem() {
        let err = RolloutPolicy::load(
            r#"
on_failure = "ROLLBACK"
[[waves]]
name = "canary"
selector = {}
[[waves]]
name = "rest"
remainder = true
gates = []
[[waves]]
name = "after"
selector = { ring = "x" }
gates = ["METRIC"]
[environments.test]
progress_deadline = "soon"
manual_approval = ["nope"]
waves.canary = { max_parallel = "0%", bake = "5 fortnights" }
"#,
            "test",
        )
        .unwrap_err();
        let text = err.to_string();
        for expected in [
            "waves[0] (canary).selector: an empty selector",
            "waves[1] (rest).remainder: only the last wave",
            "waves[1] (rest).gates: a wave must gate on something",
            "waves[2] (after).gates: METRIC needs a [metric] section",
            "environments.test.progress_deadline",
            "environments.test.waves.canary.max_parallel: must move at least one",
            "environments.test.waves.canary.bake",
            "names wave \"nope\"",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from {text}");
        }
        let err = RolloutPolicy::committed("moon").unwrap_err().to_string();
        assert!(err.contains("no environment \"moon\""), "{err}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("10m"), Ok(600));
        assert_eq!(parse_duration("2h"), Ok(7200));
        assert_eq!(parse_duration("45"), Ok(45));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("m").is_err());
    }
}
