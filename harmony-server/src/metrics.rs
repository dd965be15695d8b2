//! Harmony's metrics (docs/operations.md): requests on both listeners by
//! operation, status and API version (from dropshot's completion records,
//! `service_admin`), and the counters the application adds to (renders,
//! ignored platform keys). The fleet's gauges, read from the store at each
//! scrape, are [`crate::fleet`]'s.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use service_admin::RequestMetrics;

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
