//! The caller's request id, sent to Harmony as `x-request-id` on every
//! request made inside [`scope`], so Harmony's log lines for a change can be
//! found by the id of the request that made it (Harmony logs the header as
//! `hdr_x_request_id`). Every generated client calls [`stamp`] before it
//! sends (a pre-request hook set when they are generated).

use std::future::Future;

tokio::task_local! {
    static CURRENT: String;
}

/// The header the id travels in (dropshot answers every request with it).
pub const HEADER: &str = "x-request-id";

/// Runs `work` with `id` as the request id of every Harmony call it makes.
pub async fn scope<F: Future>(id: String, work: F) -> F::Output {
    CURRENT.scope(id, work).await
}

/// The id of the [`scope`] this runs in, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Adds the current [`scope`]'s id to `request` (the generated clients'
/// hook). Outside a scope, or for an id that is no header value, nothing.
pub fn stamp(request: &mut reqwest::Request) {
    let _ = CURRENT.try_with(|id| {
        if let Ok(value) = reqwest::header::HeaderValue::from_str(id) {
            request.headers_mut().insert(HEADER, value);
        }
    });
}
