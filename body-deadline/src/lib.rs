//! `TimedBody<T>`: dropshot's [`TypedBody`] with a deadline on reading it.
//!
//! Dropshot reads a request's body inside its extractor, before any handler
//! code runs, and gives a body as long as it wants (hyper's header read
//! timeout, which dropshot arms, ends only a connection whose *headers*
//! stall). A client that sends its headers and then part of a body, a byte
//! now and then or nothing at all, would hold its connection, a task and
//! up to the body limit in memory for ever: 200 such sockets to astro-api
//! were all still open after 150 s. Dropshot exposes neither its acceptor
//! nor a read deadline, but it does let an API take its body through any
//! [`ExclusiveExtractor`]; this one runs `TypedBody`'s own extraction under
//! a deadline and answers 408 when the body has not arrived in time. The
//! extraction is dropped with the connection's body, so hyper closes the
//! connection after the answer.
//!
//! The document is unchanged: [`TimedBody::metadata`] is `TypedBody`'s, so
//! an API that swaps one for the other describes the same request body
//! (`cargo xtask check` holds every released document to that).
//!
//! **No NUL in any string of a body.** PostgreSQL's text cannot hold U+0000
//! (SQLite's can), so a NUL reaching a query failed there as a 500 while
//! SQLite took it (issue 34). Every body of the three APIs comes through
//! here, so a body holding one anywhere, in a value or a key, is answered
//! `400 InvalidRequest` naming the field (`worker_queues[1].name`), before
//! any handler runs.
//!
//! The deadline is one value per process ([`set_read_timeout`]), because an
//! extractor sees the server's context only as a generic type; each server
//! binary sets it from its `--body-read-timeout` flag before it serves.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use dropshot::{
    ApiEndpointBodyContentType, ClientErrorStatusCode, ExclusiveExtractor, ExtractorMetadata,
    HttpError, RequestContext, ServerContext, TypedBody,
};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The deadline a server starts with: a whole body (at most a few hundred
/// KiB in these services) in 30 s is 10 KB/s, far below any client that is
/// not stalling, and the same as hyper's header read timeout.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

static READ_TIMEOUT_MILLIS: AtomicU64 = AtomicU64::new(DEFAULT_READ_TIMEOUT.as_millis() as u64);

/// Sets how long every `TimedBody` in this process may take to arrive,
/// from the moment its handler is chosen (headers read) to the last byte.
/// Zero is raised to one millisecond.
pub fn set_read_timeout(timeout: Duration) {
    let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX).max(1);
    READ_TIMEOUT_MILLIS.store(millis, Ordering::Relaxed);
}

/// The deadline in force (see [`set_read_timeout`]).
pub fn read_timeout() -> Duration {
    Duration::from_millis(READ_TIMEOUT_MILLIS.load(Ordering::Relaxed))
}

/// `body`, and where it holds a NUL ([`nul_field`]).
fn body_nul<T>(body: TypedBody<T>) -> (TypedBody<T>, Option<String>)
where
    T: JsonSchema + DeserializeOwned + Serialize + Send + Sync + 'static,
{
    let mut found = None;
    let body = body.map(|inner| {
        found = nul_field(&inner);
        inner
    });
    (body, found)
}

/// The first field of `body` (as a path: `a.b[2].c`, `body` for the whole)
/// whose string value or key holds a NUL, if any.
pub fn nul_field<T: Serialize + ?Sized>(body: &T) -> Option<String> {
    fn walk(value: &serde_json::Value, path: &mut String) -> bool {
        match value {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            serde_json::Value::Object(fields) => fields.iter().any(|(key, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key.replace('\0', "\\0"));
                let found = key.contains('\0') || walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let value = serde_json::to_value(body).ok()?;
    let mut path = String::new();
    walk(&value, &mut path).then(|| if path.is_empty() { "body".to_owned() } else { path })
}

/// A JSON request body, as [`TypedBody`], that must arrive within
/// [`read_timeout`] or is answered `408 Request Timeout`.
pub struct TimedBody<T>(TypedBody<T>)
where
    T: JsonSchema + DeserializeOwned + Serialize + Send + Sync + 'static;

impl<T> TimedBody<T>
where
    T: JsonSchema + DeserializeOwned + Serialize + Send + Sync + 'static,
{
    /// The parsed body.
    pub fn into_inner(self) -> T {
        self.0.into_inner()
    }

    /// The same body as another type (as [`TypedBody::map`]): older
    /// versions' endpoints convert theirs and call the newest.
    pub fn map<U, F>(self, f: F) -> TimedBody<U>
    where
        U: JsonSchema + DeserializeOwned + Serialize + Send + Sync + 'static,
        F: FnOnce(T) -> U,
    {
        TimedBody(self.0.map(f))
    }
}

#[async_trait]
impl<T> ExclusiveExtractor for TimedBody<T>
where
    T: JsonSchema + DeserializeOwned + Serialize + Send + Sync + 'static,
{
    async fn from_request<Context: ServerContext>(
        rqctx: &RequestContext<Context>,
        request: http::Request<dropshot::Body>,
    ) -> Result<Self, HttpError> {
        let timeout = read_timeout();
        match tokio::time::timeout(timeout, TypedBody::from_request(rqctx, request)).await {
            Ok(Ok(body)) => match body_nul(body) {
                (body, None) => Ok(TimedBody(body)),
                (_, Some(field)) => {
                    let rule = deployment_rules::rule::body_text_rule(&T::schema_name())
                        .map_or(String::new(), |rule| format!(" (rule {})", rule.id()));
                    Err(HttpError::for_bad_request(
                        Some("InvalidRequest".to_string()),
                        format!(
                            "{field}: a NUL character (U+0000) is not allowed in any text{rule}"
                        ),
                    ))
                }
            },
            Ok(Err(e)) => Err(e),
            Err(_) => Err(HttpError::for_client_error(
                Some("RequestBodyTimeout".to_string()),
                ClientErrorStatusCode::REQUEST_TIMEOUT,
                format!("the request body did not arrive within {} ms", timeout.as_millis()),
            )),
        }
    }

    fn metadata(content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        TypedBody::<T>::metadata(content_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_is_found_and_named_wherever_it_is() {
        let body = serde_json::json!({
            "name": "ok",
            "worker_queues": [{"name": "a"}, {"name": "b\u{0}c"}],
        });
        assert_eq!(nul_field(&body).as_deref(), Some("worker_queues[1].name"));
        assert_eq!(nul_field(&serde_json::json!({"k\u{0}": 1})).as_deref(), Some("k\\0"));
        assert_eq!(nul_field(&serde_json::json!("\u{0}")).as_deref(), Some("body"));
        assert_eq!(nul_field(&serde_json::json!({"text": "\\u0000 is six characters"})), None);
        assert_eq!(nul_field(&serde_json::json!({"n": [1, 2, {"x": null}]})), None);
    }
}
