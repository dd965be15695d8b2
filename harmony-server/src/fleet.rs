//! What the admin listener shows of the fleet (docs/operations.md): its
//! state as the store holds it, read at each scrape (so every replica
//! reports the one shared fleet): data planes by status, the oldest agent
//! heartbeat, rollouts by state, and this process's agents holding a long
//! poll; and readiness (the database answers).

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;

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
