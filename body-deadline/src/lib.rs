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

/// A JSON request body, as [`TypedBody`], that must arrive within
/// [`read_timeout`] or is answered `408 Request Timeout`.
pub struct TimedBody<T>(TypedBody<T>)
where
    T: JsonSchema + DeserializeOwned + Send + Sync + 'static;

impl<T> TimedBody<T>
where
    T: JsonSchema + DeserializeOwned + Send + Sync + 'static,
{
    /// The parsed body.
    pub fn into_inner(self) -> T {
        self.0.into_inner()
    }

    /// The same body as another type (as [`TypedBody::map`]): older
    /// versions' endpoints convert theirs and call the newest.
    pub fn map<U, F>(self, f: F) -> TimedBody<U>
    where
        U: JsonSchema + DeserializeOwned + Send + Sync + 'static,
        F: FnOnce(T) -> U,
    {
        TimedBody(self.0.map(f))
    }
}

#[async_trait]
impl<T> ExclusiveExtractor for TimedBody<T>
where
    T: JsonSchema + DeserializeOwned + Send + Sync + 'static,
{
    async fn from_request<Context: ServerContext>(
        rqctx: &RequestContext<Context>,
        request: http::Request<dropshot::Body>,
    ) -> Result<Self, HttpError> {
        let timeout = read_timeout();
        match tokio::time::timeout(timeout, TypedBody::from_request(rqctx, request)).await {
            Ok(body) => body.map(TimedBody),
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
