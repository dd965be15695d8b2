//! astro-api's metrics (docs/operations.md): requests by operation, status
//! and API version (from dropshot's completion records, `service_admin`),
//! and the refusals Harmony made after astro-api accepted a change. What
//! the admin listener reads at each scrape (the outbox, the cells) is
//! [`crate::admin`]'s.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use service_admin::RequestMetrics;

/// Fields a Harmony refused after astro-api accepted them, by the declared
/// rule Harmony named (`undeclared` for one this build does not know).
/// Process-wide: counted where a Harmony answer is read, deep in a cell.
static HARMONY_RULES: std::sync::LazyLock<Family<RuleLabels, Counter>> =
    std::sync::LazyLock::new(Family::default);

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct RuleLabels {
    pub rule: &'static str,
}

/// Counts one refusal by Harmony's rule `rule`.
pub(crate) fn count_harmony_rule(rule: &'static str) {
    HARMONY_RULES.get_or_create(&RuleLabels { rule }).inc();
}

/// The registry (prefixed `astro`) and its request metrics, which
/// [`RequestMetrics::drain`] feeds from the service's logger.
pub fn registry() -> (Registry, RequestMetrics) {
    let mut registry = Registry::with_prefix("astro");
    let document: serde_json::Value =
        serde_json::from_str(include_str!("../../openapi/astro.json"))
            .expect("the committed document parses");
    // Lockstep: its one document's version is the only one counted by name.
    let requests = RequestMetrics::register(&mut registry, &[document], []);
    registry.register(
        "harmony_rule_refusals",
        "Requests a Harmony refused after astro-api accepted them, by the rule Harmony named",
        HARMONY_RULES.clone(),
    );
    (registry, requests)
}
