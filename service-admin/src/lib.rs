//! The admin listener both services run beside their API: Prometheus
//! metrics (`GET /metrics`), liveness (`GET /livez`) and readiness
//! (`GET /readyz`). It needs no credential and serves nothing else, so it
//! belongs on an address only the cluster's monitoring and probes reach
//! (`--admin-bind`; docs/operations.md).
//!
//! **Request metrics come from dropshot's own completion records.** Dropshot
//! has no middleware, and a handler never sees the requests refused before
//! it runs (a body that does not parse, a stalled body's 408, a version it
//! does not serve), but dropshot logs every request it completes, with its
//! method, URI, status and latency, and (with `log_headers`) its
//! `api-version` header. [`RequestMetrics::drain`] wraps a logger's drain:
//! each "request completed" record is counted and timed by operation,
//! method, status and API version, before it goes on to be written. It
//! sits before the level filter, so `--log-level warn` keeps the metrics.
//!
//! **No label value comes from a caller.** Every label takes its value
//! from a closed set fixed at start: the operation from the API's path
//! templates (`unknown` otherwise), the method from HTTP's own (`other`
//! otherwise), the API version from the versions the service serves
//! (`other` otherwise, empty when none was named), the status from what
//! the server answered. Requests reach these records before any credential
//! is checked, so a label that copied what a request said would let anyone
//! who can reach a listener grow the process's memory and every scrape for
//! ever (issue 34: 2,000 distinct `api-version` values took `/metrics`
//! from 0.45 MB to 88 MB).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use dropshot::{
    ApiDescription, Body, ConfigDropshot, HttpError, HttpServer, RequestContext, ServerBuilder,
    endpoint,
};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of the request metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The API operation (`deployment_put`), `unknown` for a path no
    /// operation has.
    pub operation: String,
    /// One of [`METHODS`], or `other`.
    pub method: &'static str,
    pub status: u16,
    /// The `api-version` the request named when the service serves it,
    /// `other` when it does not, empty when none was named.
    pub api_version: String,
}

/// The methods counted by name; any other is counted as `other`.
pub const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The label value of a request's method.
fn method_label(method: &str) -> &'static str {
    METHODS.iter().find(|m| **m == method).copied().unwrap_or("other")
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// Request count and latency by operation, status and API version.
#[derive(Clone)]
pub struct RequestMetrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram, fn() -> Histogram>,
    routes: Arc<Routes>,
    /// The API versions counted by name (see the crate's doc).
    versions: Arc<std::collections::BTreeSet<String>>,
}

impl RequestMetrics {
    /// Registers the two families in `registry` (prefixed as it is), for
    /// the operations of `documents` (OpenAPI documents of the APIs whose
    /// requests this counts) and the API `versions` the service serves
    /// (every document's own `info.version` is counted by name too).
    pub fn register(
        registry: &mut Registry,
        documents: &[serde_json::Value],
        versions: impl IntoIterator<Item = String>,
    ) -> RequestMetrics {
        let versions = documents
            .iter()
            .filter_map(|d| d["info"]["version"].as_str().map(str::to_owned))
            .chain(versions)
            .collect();
        let metrics = RequestMetrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            routes: Arc::new(Routes::from_openapi(documents)),
            versions: Arc::new(versions),
        };
        registry.register(
            "http_requests",
            "Requests completed, by operation, status and API version",
            metrics.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's headers to its answer",
            metrics.latency.clone(),
        );
        metrics
    }

    /// `inner`, counting every request dropshot completes on the way.
    pub fn drain<D>(&self, inner: D) -> MetricsDrain<D> {
        MetricsDrain { inner, metrics: self.clone() }
    }

    /// A logger writing through `base` that counts every request dropshot
    /// completes: give it to the servers whose requests are measured.
    pub fn logger(&self, base: slog::Logger) -> slog::Logger {
        slog::Logger::root(slog::Drain::fuse(self.drain(base)), slog::o!())
    }

    fn observe(&self, seen: &Completed) {
        if seen.listener.as_deref() == Some(ADMIN) {
            return;
        }
        let (Some(method), Some(uri), Some(status)) = (&seen.method, &seen.uri, seen.status) else {
            return;
        };
        let api_version = match seen.api_version.as_deref() {
            None | Some("") => String::new(),
            Some(v) if self.versions.contains(v) => v.to_owned(),
            Some(_) => "other".to_owned(),
        };
        let labels = RequestLabels {
            operation: self.routes.operation(method, uri).to_owned(),
            method: method_label(method),
            status,
            api_version,
        };
        self.requests.get_or_create(&labels).inc();
        if let Some(micros) = seen.latency_us {
            self.latency.get_or_create(&labels).observe(micros as f64 / 1e6);
        }
    }
}

/// A drain that counts dropshot's "request completed" records (see the
/// crate's doc) and passes every record on to `inner`.
pub struct MetricsDrain<D> {
    inner: D,
    metrics: RequestMetrics,
}

// The metric families sit behind locks that are not `RefUnwindSafe`; a
// panic while one is held can at worst lose the increment in progress
// (counters hold no invariant that a half-done update could break), so a
// logger may carry them across an unwind boundary, as slog requires.
impl<D: std::panic::RefUnwindSafe> std::panic::RefUnwindSafe for MetricsDrain<D> {}
impl<D: std::panic::UnwindSafe> std::panic::UnwindSafe for MetricsDrain<D> {}

impl<D: slog::Drain> slog::Drain for MetricsDrain<D> {
    type Ok = D::Ok;
    type Err = D::Err;

    fn log(
        &self,
        record: &slog::Record<'_>,
        values: &slog::OwnedKVList,
    ) -> Result<Self::Ok, Self::Err> {
        if record.msg().as_str() == Some("request completed") {
            let mut seen = Completed::default();
            let _ = slog::KV::serialize(&record.kv(), record, &mut seen);
            let _ = slog::KV::serialize(values, record, &mut seen);
            self.metrics.observe(&seen);
        }
        self.inner.log(record, values)
    }
}

/// What a completion record says about its request.
#[derive(Default)]
struct Completed {
    method: Option<String>,
    uri: Option<String>,
    status: Option<u16>,
    latency_us: Option<u64>,
    api_version: Option<String>,
    /// `admin` on the admin listener's own records, which are not counted.
    listener: Option<String>,
}

impl slog::Serializer for Completed {
    fn emit_arguments(&mut self, key: slog::Key, value: &std::fmt::Arguments<'_>) -> slog::Result {
        let text = || value.to_string();
        match key.as_ref() {
            "method" => self.method = Some(text()),
            "uri" => self.uri = Some(text()),
            "response_code" => self.status = text().parse().ok(),
            "latency_us" => self.latency_us = text().parse().ok(),
            "hdr_api_version" => self.api_version = Some(text()),
            "listener" => self.listener = Some(text()),
            _ => {}
        }
        Ok(())
    }
}

/// The operations of one or more APIs by method and path template.
struct Routes(Vec<(String, Vec<Segment>, String)>);

enum Segment {
    Literal(String),
    Variable,
}

impl Routes {
    fn from_openapi(documents: &[serde_json::Value]) -> Routes {
        let mut routes = BTreeMap::new();
        for document in documents {
            let Some(paths) = document["paths"].as_object() else { continue };
            for (path, operations) in paths {
                let Some(operations) = operations.as_object() else { continue };
                for (method, operation) in operations {
                    let Some(id) = operation["operationId"].as_str() else { continue };
                    let segments = path
                        .split('/')
                        .filter(|s| !s.is_empty())
                        .map(|s| match s.starts_with('{') {
                            true => Segment::Variable,
                            false => Segment::Literal(s.to_owned()),
                        })
                        .collect::<Vec<_>>();
                    routes
                        .entry((method.to_uppercase(), path.clone()))
                        .or_insert((segments, id.to_owned()));
                }
            }
        }
        Routes(
            routes
                .into_iter()
                .map(|((method, _), (segments, id))| (method, segments, id))
                .collect(),
        )
    }

    /// The operation `method` on `uri` reaches, `unknown` when none. A
    /// literal segment beats a variable one (`/rollouts/x` vs `/rollouts/{id}`).
    fn operation(&self, method: &str, uri: &str) -> &str {
        let path = uri.split(['?', '#']).next().unwrap_or_default();
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut best: Option<(usize, &str)> = None;
        for (m, segments, id) in &self.0 {
            if m != method || segments.len() != parts.len() {
                continue;
            }
            let mut literals = 0;
            let matches = segments.iter().zip(&parts).all(|(segment, part)| match segment {
                Segment::Literal(l) => {
                    literals += 1;
                    l == part
                }
                Segment::Variable => true,
            });
            if matches && best.is_none_or(|(most, _)| literals > most) {
                best = Some((literals, id));
            }
        }
        best.map_or("unknown", |(_, id)| id)
    }
}

/// Encodes a store writer's `counts` as `store_write_groups`,
/// `store_writes`, `store_failed_write_groups`, `store_commit_seconds` and
/// `store_write_wait_seconds` counters (rates of them give the mean group
/// size, commit latency and queueing of this process's writer), and the reads waiting for a connection now as
/// the `store_readers_waiting` gauge, and the read transactions run as the
/// `store_reads` counter (what waiting clients cost the store shows here).
pub fn encode_store_counts(
    encoder: &mut prometheus_client::encoding::DescriptorEncoder<'_>,
    counts: sql_store::WriteCounts,
    readers_waiting: usize,
    reads: u64,
) -> Result<(), std::fmt::Error> {
    let sql_store::WriteCounts {
        groups,
        durable_groups,
        writes,
        failed_groups: failed,
        commit_micros: micros,
        wait_micros,
    } = counts;
    use prometheus_client::encoding::EncodeMetric;
    use prometheus_client::metrics::counter::ConstCounter;
    let waiting = prometheus_client::metrics::gauge::ConstGauge::new(readers_waiting as i64);
    waiting.encode(encoder.encode_descriptor(
        "store_readers_waiting",
        "Reads waiting for a database connection now (every reader busy)",
        None,
        waiting.metric_type(),
    )?)?;
    for (name, help, value) in [
        (
            "store_write_groups",
            "Write groups this process's writer committed (one commit each)",
            groups,
        ),
        (
            "store_durable_write_groups",
            "Of those, groups whose commit waited for the disk (one sync each)",
            durable_groups,
        ),
        ("store_writes", "Writes in those groups", writes),
        ("store_failed_write_groups", "Write groups whose transaction failed", failed),
        ("store_reads", "Read transactions this process ran", reads),
    ] {
        let counter = ConstCounter::new(value);
        counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
    }
    for (name, help, micros) in [
        (
            "store_commit_seconds",
            "Time the committed groups took, first statement to commit",
            micros,
        ),
        (
            "store_write_wait_seconds",
            "Time writes waited from being queued until they ran (behind other writes, and on \
             PostgreSQL behind other replicas' write lock)",
            wait_micros,
        ),
    ] {
        let seconds = ConstCounter::new(micros as f64 / 1e6);
        seconds.encode(encoder.encode_descriptor(name, help, None, seconds.metric_type())?)?;
    }
    Ok(())
}

/// The admin listener's name in its log records (its own requests are not
/// counted: a scrape every few seconds would drown the API's).
const ADMIN: &str = "admin";

/// Whether the service can do its work: `Err(reason)` when not. Asked on
/// every `/readyz`; it may wait on a database or another service (a check
/// that blocks runs its blocking part with `spawn_blocking`).
pub type ReadinessCheck = Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>
        + Send
        + Sync,
>;

/// A [`ReadinessCheck`] from a blocking one (run off the async threads).
pub fn blocking_check(
    check: impl Fn() -> Result<(), String> + Send + Sync + 'static,
) -> ReadinessCheck {
    let check = Arc::new(check);
    Arc::new(move || {
        let check = check.clone();
        Box::pin(async move {
            sql_store::run_blocking(move || check())
                .await
                .unwrap_or_else(|e| Err(format!("the readiness check failed: {e}")))
        })
    })
}

/// Run before each scrape is encoded: brings gauges a collector cannot read
/// synchronously up to date (astro-api's cells, whose versions it learns
/// over the network, cached).
pub type Refresh =
    Arc<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync>;

/// The admin listener's state.
pub struct Admin {
    registry: Arc<Registry>,
    ready: ReadinessCheck,
    refresh: Option<Refresh>,
}

/// Starts the admin listener on `bind`: `/metrics` encodes `registry`,
/// `/readyz` runs `ready`.
pub fn start(
    bind: SocketAddr,
    registry: Arc<Registry>,
    ready: ReadinessCheck,
    refresh: Option<Refresh>,
    log: &slog::Logger,
) -> Result<HttpServer<Admin>, String> {
    let mut api = ApiDescription::new();
    api.register(metrics_get).map_err(|e| e.to_string())?;
    api.register(livez_get).map_err(|e| e.to_string())?;
    api.register(readyz_get).map_err(|e| e.to_string())?;
    let config = ConfigDropshot { bind_address: bind, ..Default::default() };
    ServerBuilder::new(
        api,
        Admin { registry, ready, refresh },
        log.new(slog::o!("listener" => ADMIN)),
    )
    .config(config)
    .start()
    .map_err(|e| format!("the admin listener on {bind}: {e}"))
}

/// Where the admin listener is (the address clients reach), for a
/// service's start-up line.
pub fn describe(admin: Option<SocketAddr>) -> String {
    match admin {
        Some(admin) => format!("metrics, health: http://{admin}"),
        None => "no admin listener: --admin-bind ADDR serves metrics and health".to_owned(),
    }
}

fn text(status: http::StatusCode, content_type: &str, body: String) -> http::Response<Body> {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(body.into())
        .expect("a status, a content type and a body make a response")
}

/// Every metric, in the OpenMetrics text format Prometheus scrapes.
#[endpoint { method = GET, path = "/metrics" }]
async fn metrics_get(rqctx: RequestContext<Admin>) -> Result<http::Response<Body>, HttpError> {
    if let Some(refresh) = &rqctx.context().refresh {
        refresh().await;
    }
    // Off the async threads: collectors read the services' stores.
    let registry = rqctx.context().registry.clone();
    let out = sql_store::run_blocking(move || {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).map(|()| out)
    })
    .await
    .map_err(|e| HttpError::for_internal_error(format!("encoding metrics: {e}")))?
    .map_err(|e| HttpError::for_internal_error(format!("encoding metrics: {e}")))?;
    Ok(text(
        http::StatusCode::OK,
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
        out,
    ))
}

/// Liveness: the process answers.
#[endpoint { method = GET, path = "/livez" }]
async fn livez_get(_rqctx: RequestContext<Admin>) -> Result<http::Response<Body>, HttpError> {
    Ok(text(http::StatusCode::OK, "text/plain; charset=utf-8", "ok\n".to_owned()))
}

/// Readiness: 200 when the service can do its work (its database answers;
/// for astro-api, some Harmony cell can be asked too), 503 with the reason
/// otherwise.
#[endpoint { method = GET, path = "/readyz" }]
async fn readyz_get(rqctx: RequestContext<Admin>) -> Result<http::Response<Body>, HttpError> {
    let answer = (rqctx.context().ready)().await;
    Ok(match answer {
        Ok(()) => text(http::StatusCode::OK, "text/plain; charset=utf-8", "ready\n".to_owned()),
        Err(reason) => text(
            http::StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            format!("not ready: {reason}\n"),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uri_is_counted_under_its_operation() {
        let doc = serde_json::json!({"paths": {
            "/rollouts": {"get": {"operationId": "rollout_list"}, "post": {"operationId": "rollout_create"}},
            "/rollouts/{rollout_id}": {"get": {"operationId": "rollout_get"}},
            "/rollouts/{rollout_id}/commands": {"post": {"operationId": "rollout_command"}},
            "/deployments/{id}": {"put": {"operationId": "deployment_put"}},
        }});
        let routes = Routes::from_openapi(&[doc]);
        assert_eq!(routes.operation("GET", "/rollouts?limit=3"), "rollout_list");
        assert_eq!(routes.operation("POST", "/rollouts"), "rollout_create");
        assert_eq!(routes.operation("GET", "/rollouts/abc"), "rollout_get");
        assert_eq!(routes.operation("POST", "/rollouts/abc/commands"), "rollout_command");
        assert_eq!(routes.operation("PUT", "/deployments/x%0Ay"), "deployment_put");
        assert_eq!(routes.operation("DELETE", "/deployments/x"), "unknown");
        assert_eq!(routes.operation("GET", "/no/such/path"), "unknown");
    }

    /// What a caller sends never becomes a label value: 10,000 distinct
    /// versions, methods and paths add no series past the closed sets'.
    #[test]
    fn label_values_come_from_closed_sets() {
        let doc = serde_json::json!({"info": {"version": "2.0.0"}, "paths": {
            "/deployments/{id}": {"put": {"operationId": "deployment_put"}},
        }});
        let mut registry = Registry::default();
        let metrics = RequestMetrics::register(&mut registry, &[doc], ["1.0.0".to_owned()]);
        let record = |method: &str, uri: &str, version: Option<&str>| Completed {
            method: Some(method.to_owned()),
            uri: Some(uri.to_owned()),
            status: Some(400),
            latency_us: Some(10),
            api_version: version.map(str::to_owned),
            listener: None,
        };
        for i in 0..10_000 {
            metrics.observe(&record(&format!("M{i}"), &format!("/x{i}"), Some(&format!("9.{i}"))));
            metrics.observe(&record("PUT", &format!("/deployments/{i}"), Some(&format!("{i}"))));
        }
        metrics.observe(&record("PUT", "/deployments/a", Some("1.0.0")));
        metrics.observe(&record("PUT", "/deployments/a", Some("2.0.0")));
        metrics.observe(&record("GET", "/deployments/a", None));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        let series: Vec<&str> =
            text.lines().filter(|l| l.starts_with("http_requests_total{")).collect();
        assert_eq!(series.len(), 5, "{series:#?}");
        for expected in [
            r#"operation="unknown",method="other",status="400",api_version="other""#,
            r#"operation="deployment_put",method="PUT",status="400",api_version="other""#,
            r#"operation="deployment_put",method="PUT",status="400",api_version="1.0.0""#,
            r#"operation="deployment_put",method="PUT",status="400",api_version="2.0.0""#,
            r#"operation="unknown",method="GET",status="400",api_version="""#,
        ] {
            assert!(series.iter().any(|s| s.contains(expected)), "{expected} in {series:#?}");
        }
    }
}
