//! What the admin listener shows (docs/operations.md): what waits in the
//! outbox, read from the store at each scrape (so every replica reports the
//! one shared outbox), each Harmony cell's state, and readiness.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// Adds the outbox's state, read at each scrape from `astro`'s store, and
/// the count of changes Harmony refused after astro-api accepted them.
pub fn register_outbox(registry: &mut Registry, astro: Arc<crate::app::Astro>) {
    registry.register(
        "harmony_refusals",
        "Changes a Harmony cell refused after astro-api accepted them (a contract gap), by cell",
        astro.refusals(),
    );
    registry.register(
        "deliveries",
        "Attempts to deliver a change to Harmony, by cell and outcome (delivered, retried, refused)",
        astro.deliveries(),
    );
    registry.register(
        "quota_refusals",
        "Changes refused by a quota an operator set, by quota (docs/security.md)",
        astro.store.quota_refusals(),
    );
    let limits = prometheus_client::metrics::family::Family::<
        crate::store::QuotaLabels,
        prometheus_client::metrics::gauge::Gauge,
    >::default();
    let quotas = astro.store.quotas();
    for quota in crate::quota::Quota::OWN {
        let value = i64::try_from(quotas.limit(quota).unwrap_or(0)).unwrap_or(i64::MAX);
        limits.get_or_create(&crate::store::QuotaLabels { quota: quota.name() }).set(value);
    }
    registry.register("quota_limit", "Each quota's value, as the operator set it", limits);
    registry.register_collector(Box::new(Outbox(astro)));
}

struct Outbox(Arc<crate::app::Astro>);

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Outbox")
    }
}

impl Collector for Outbox {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        // A store that does not answer leaves the outbox out of this scrape
        // (readiness says why); the request metrics are still served.
        let Ok(summary) = self.0.store.outbox_summary() else { return Ok(()) };
        let now = self.0.clock.now_ms();
        let age = summary.oldest_queued_ms.map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0);
        let gauges: [(&str, &str, ConstGauge<f64>); 3] = [
            (
                "outbox_entries",
                "Changes waiting to be delivered to Harmony",
                ConstGauge::new(summary.entries as f64),
            ),
            (
                "outbox_oldest_entry_age_seconds",
                "How long the oldest waiting change has waited (0 when none)",
                ConstGauge::new(age),
            ),
            (
                "outbox_most_attempts",
                "Most delivery attempts of any waiting change",
                ConstGauge::new(summary.most_attempts as f64),
            ),
        ];
        for (name, help, gauge) in gauges {
            let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
            gauge.encode(metric)?;
        }
        service_admin::encode_store_counts(
            &mut encoder,
            self.0.store.write_counts(),
            self.0.store.readers_waiting(),
            self.0.store.read_count(),
        )
    }
}

/// Readiness: the database answers, and some Harmony cell can be asked
/// (its API versions learned). Without either, changes could not be taken
/// or could never be delivered.
pub fn readiness(astro: Arc<crate::app::Astro>) -> service_admin::ReadinessCheck {
    Arc::new(move || {
        let astro = astro.clone();
        Box::pin(async move {
            let store = astro.clone();
            sql_store::run_blocking(move || store.store.outbox_summary())
                .await
                .map_err(|e| format!("database: {e}"))?
                .map_err(|e| format!("database: {e}"))?;
            let readiness = astro.readiness().await;
            if readiness.cells.iter().any(|cell| cell.reachable) {
                return Ok(());
            }
            let cells: Vec<String> = readiness
                .cells
                .iter()
                .map(|cell| {
                    format!("{} ({})", cell.name, cell.detail.as_deref().unwrap_or("unreachable"))
                })
                .collect();
            Err(format!("no Harmony cell can be asked: {}", cells.join(", ")))
        })
    })
}

/// Labels of the per-cell gauges.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct CellLabels {
    cell: String,
}

/// Labels of `cell_api_version`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct CellVersionLabels {
    cell: String,
    version: String,
}

/// Adds each Harmony cell's state (`cell_reachable`, `cell_degraded`, and
/// `cell_api_version` set to 1 for the version negotiated with it); the
/// returned refresh brings them up to date before each scrape (negotiation
/// is cached, so a scrape asks a cell only when its answer is due again).
pub fn register_cells(
    registry: &mut Registry,
    astro: Arc<crate::app::Astro>,
) -> service_admin::Refresh {
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::gauge::Gauge;
    let reachable: Family<CellLabels, Gauge> = Family::default();
    let degraded: Family<CellLabels, Gauge> = Family::default();
    let version: Family<CellVersionLabels, Gauge> = Family::default();
    registry.register("cell_reachable", "1 when the cell answered negotiation", reachable.clone());
    registry.register(
        "cell_degraded",
        "1 when the cell serves an API older than the newest astro-api speaks (some requests get a version-gap 503)",
        degraded.clone(),
    );
    registry.register(
        "cell_api_version",
        "1 for the API version spoken with the cell",
        version.clone(),
    );
    Arc::new(move || {
        let (astro, reachable, degraded, version) =
            (astro.clone(), reachable.clone(), degraded.clone(), version.clone());
        Box::pin(async move {
            let readiness = astro.readiness().await;
            version.clear();
            for cell in readiness.cells {
                let labels = CellLabels { cell: cell.name.clone() };
                reachable.get_or_create(&labels).set(i64::from(cell.reachable));
                degraded.get_or_create(&labels).set(i64::from(cell.degraded));
                if let Some(spoken) = cell.api_version {
                    let labels = CellVersionLabels { cell: cell.name, version: spoken };
                    version.get_or_create(&labels).set(1);
                }
            }
        })
    })
}
