//! Harmony's metrics (docs/operations.md): requests on both listeners by
//! operation, status and API version (from dropshot's completion records,
//! `service_admin`), and the fleet as the store holds it, read at each
//! scrape (so every replica reports the one shared fleet): data planes by
//! status, the oldest agent heartbeat, rollouts by state; and this
//! process's agents holding a long poll.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use service_admin::RequestMetrics;
use std::collections::BTreeMap;

/// Why a manifest set was rendered.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct RenderLabels {
    /// `change` (a deployment's spec changed) or `rollout` (its data plane
    /// moved to another platform release).
    pub cause: &'static str,
}

/// Time to render a new manifest revision, by cause (its count is the
/// revisions written). Process-wide: rendering happens deep inside store
/// transactions, where no handle is passed; one process is one Harmony.
pub(crate) static RENDERS: std::sync::LazyLock<Renders> = std::sync::LazyLock::new(|| {
    Family::new_with_constructor(|| {
        // 50 µs to ~0.8 s.
        Histogram::new(exponential_buckets(0.00005, 2.0, 15))
    })
});

/// [`RENDERS`]' type.
pub(crate) type Renders = Family<RenderLabels, Histogram, fn() -> Histogram>;

/// A refusal by a declared rule: the rule (a closed set, the declared
/// identifiers) and whether the request's version declares it (`false` is
/// Harmony breaking its contract).
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct RefusalLabels {
    pub rule: &'static str,
    pub declared: &'static str,
}

/// Requests refused, by rule. Process-wide, like [`RENDERS`].
pub(crate) static REFUSALS: std::sync::LazyLock<Family<RefusalLabels, Counter>> =
    std::sync::LazyLock::new(Family::default);

/// A key the platform sets (one of `PLATFORM_ENVIRONMENT_KEYS`, a closed
/// set).
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct KeyLabels {
    pub key: &'static str,
}

/// Renders that left out a user's variable named like a key the platform
/// sets: deployments from clients older than 4.0.0, or stored before the
/// rule, still carry them (issue 38). Process-wide, like [`RENDERS`].
pub(crate) static PLATFORM_KEYS_IGNORED: std::sync::LazyLock<Family<KeyLabels, Counter>> =
    std::sync::LazyLock::new(Family::default);

/// Counts one field refused by rule `rule`.
pub(crate) fn count_refusal(rule: &'static str, declared: bool) {
    let declared = if declared { "true" } else { "false" };
    REFUSALS.get_or_create(&RefusalLabels { rule, declared }).inc();
}

/// The registry (prefixed `harmony`) and its request metrics, which
/// [`RequestMetrics::drain`] feeds from the service's logger.
pub fn registry() -> (Registry, RequestMetrics) {
    let mut registry = Registry::with_prefix("harmony");
    registry.register(
        "render_duration_seconds",
        "Time to render a new manifest revision, by cause; its count is revisions written",
        RENDERS.clone(),
    );
    registry.register(
        "platform_keys_ignored",
        "Renders that left out a user's variable named like a key the platform sets, by key",
        PLATFORM_KEYS_IGNORED.clone(),
    );
    registry.register(
        "refusals",
        "Fields refused, by declared rule; declared=\"false\" is a rule the request's API version does not declare",
        REFUSALS.clone(),
    );
    let documents = [
        include_str!("../../openapi/harmony/harmony-latest.json"),
        include_str!("../../openapi/harmony-agent/harmony-agent-latest.json"),
    ]
    .map(|text| serde_json::from_str(text).expect("the committed documents parse"));
    // Every version either API serves is counted by name; any other
    // value a request names is `other` (service_admin's closed sets).
    let (main, agent) =
        (harmony_api::supported_versions(), harmony_agent_api::supported_versions());
    let versions = main.iter().chain(agent.iter()).map(|v| v.semver().to_string());
    let requests = RequestMetrics::register(&mut registry, &documents, versions);
    (registry, requests)
}

/// Adds the fleet's state, read at each scrape from `server`'s store.
pub fn register_fleet(registry: &mut Registry, server: crate::http::Context) {
    registry.register_collector(Box::new(Fleet(server)));
}

struct Fleet(crate::http::Context);

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fleet")
    }
}

fn screaming<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

impl Collector for Fleet {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let harmony = &self.0.harmony;
        // A store that does not answer leaves the fleet out of this scrape
        // (readiness says why); the request metrics are still served.
        let mut planes: BTreeMap<String, u64> = BTreeMap::new();
        let mut oldest_heartbeat = None;
        let mut after: Option<String> = None;
        loop {
            let Ok(page) =
                harmony.data_planes(after.as_deref(), 1000, crate::app::newest_version())
            else {
                return Ok(());
            };
            for plane in &page {
                *planes.entry(screaming(&plane.status)).or_default() += 1;
                if let Some(beat) = plane.last_heartbeat {
                    oldest_heartbeat = Some(
                        oldest_heartbeat
                            .map_or(beat, |o: chrono::DateTime<chrono::Utc>| o.min(beat)),
                    );
                }
            }
            match page.last() {
                Some(last) if page.len() == 1000 => after = Some(last.id.clone()),
                _ => break,
            }
        }
        let Ok(rollouts) = harmony.rollouts(None) else { return Ok(()) };
        let mut by_state: BTreeMap<String, u64> = BTreeMap::new();
        let mut by_wave: BTreeMap<(String, String), u64> = BTreeMap::new();
        for rollout in &rollouts {
            *by_state.entry(screaming(&rollout.state)).or_default() += 1;
            *by_wave
                .entry((screaming(&rollout.state), rollout.current_wave.clone()))
                .or_default() += 1;
        }
        for (name, help, label, counts) in [
            ("data_planes", "Registered data planes by status", "status", planes),
            ("rollouts", "Rollouts by state", "state", by_state),
        ] {
            let mut family = encoder.encode_descriptor(
                name,
                help,
                None,
                prometheus_client::metrics::MetricType::Gauge,
            )?;
            for (value, count) in counts {
                let labels = [(label, value)];
                let metric = family.encode_family(&labels)?;
                ConstGauge::new(count as f64).encode(metric)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "rollout_waves",
            "Rollouts by state and the wave each is in",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for ((state, wave), count) in by_wave {
            let labels = [("state", state), ("wave", wave)];
            ConstGauge::new(count as f64).encode(family.encode_family(&labels)?)?;
        }
        let age = oldest_heartbeat
            .map_or(0.0, |beat| (sql_store::now() - beat).num_milliseconds().max(0) as f64 / 1e3);
        let gauge = ConstGauge::new(age);
        let metric = encoder.encode_descriptor(
            "oldest_agent_heartbeat_age_seconds",
            "How long ago the agent heard from longest ago last reported (0 when none has)",
            None,
            gauge.metric_type(),
        )?;
        gauge.encode(metric)?;
        // Every agent of a healthy fleet holds one almost all the time.
        let polling = ConstGauge::new(harmony.polls_waiting() as i64);
        polling.encode(encoder.encode_descriptor(
            "agents_polling",
            "Agents holding a long poll for their desired state on this process",
            None,
            polling.metric_type(),
        )?)?;
        let woken = prometheus_client::metrics::counter::ConstCounter::new(harmony.poll_wakeups());
        woken.encode(encoder.encode_descriptor(
            "agent_poll_wakeups",
            "Times a waiting long poll was woken to read its data plane again (a change wakes \
             only its own plane's polls)",
            None,
            woken.metric_type(),
        )?)?;
        service_admin::encode_store_counts(
            &mut encoder,
            harmony.store.write_counts(),
            harmony.store.readers_waiting(),
            harmony.store.read_count(),
        )
    }
}

/// Readiness: the database answers.
pub fn readiness(server: crate::http::Context) -> service_admin::ReadinessCheck {
    service_admin::blocking_check(move || {
        server
            .harmony
            .data_planes(None, 1, crate::app::newest_version())
            .map(|_| ())
            .map_err(|e| format!("database: {e}"))
    })
}
