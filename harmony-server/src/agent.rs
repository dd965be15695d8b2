//! The agent API's HTTP edge ([`harmony_agent_api::HarmonyAgentApi`]),
//! served on a listener of its own ([`crate::start_agent_api`]).
//!
//! Every request is authenticated by its data plane's credential, which also
//! decides whose state it sees: an agent can read only its own data plane.
//! `GET /desired-state` long-polls: it answers as soon as the data plane's
//! desired revision moves past the one the agent knows, or after
//! `wait_seconds` with `changed: false`.

use crate::app::Harmony;
use crate::http::blocking_on;
use dropshot::{HttpError, HttpResponseOk, HttpResponseUpdatedNoContent, Query, RequestContext};
use harmony_agent_api::{
    DesiredState, DesiredStateQuery, HarmonyAgentApi, MAX_WAIT_SECONDS, StatusReport, TimedBody,
};
use std::sync::Arc;
use std::time::Duration;

pub type Context = Arc<Harmony>;

/// Implements [`HarmonyAgentApi`]; never instantiated.
pub enum AgentImpl {}

/// The data plane behind the request's credential.
async fn agent(rqctx: &RequestContext<Context>) -> Result<String, HttpError> {
    let header =
        rqctx.request.headers().get("authorization").map(|v| v.to_str().unwrap_or("").to_owned());
    blocking_on(rqctx.context(), move |h| h.authenticate_agent(header.as_deref())).await
}

impl HarmonyAgentApi for AgentImpl {
    type Context = Context;

    async fn desired_state_get(
        rqctx: RequestContext<Context>,
        query: Query<DesiredStateQuery>,
    ) -> Result<HttpResponseOk<DesiredState>, HttpError> {
        let plane = agent(&rqctx).await?;
        let query = query.into_inner();
        let known = query.known_revision.unwrap_or(0);
        let wait = query.wait_seconds.unwrap_or(0);
        if wait > MAX_WAIT_SECONDS {
            return Err(HttpError::for_bad_request(
                Some("InvalidRequest".to_owned()),
                format!("wait_seconds: must be 0 to {MAX_WAIT_SECONDS}, got {wait}"),
            ));
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait.into());
        // Woken only by a change to this plane (or the process stopping).
        let watch = rqctx.context().wakeups().watch(&plane);
        let recheck = rqctx.context().recheck_every();
        loop {
            // Registered before reading, so a change in between still wakes us.
            let notified = watch.changed();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let p = plane.clone();
            let state = blocking_on(rqctx.context(), move |h| h.desired_state(&p, known)).await?;
            let stopping = rqctx.context().is_stopping();
            if state.changed || stopping || tokio::time::Instant::now() >= deadline {
                return Ok(HttpResponseOk(state));
            }
            // Woken, or due to look again (replicas sharing the store): read
            // again. Timed out with every change announced to this process
            // (SQLite, or PostgreSQL LISTEN): nothing can have been missed,
            // since a wake registered before the read above, so the plane is
            // still at `known` and the answer needs no read.
            let until = match recheck {
                Some(every) => deadline.min(tokio::time::Instant::now() + every),
                None => deadline,
            };
            let woken = {
                let waiting = rqctx.context().polls_waiting.clone();
                waiting.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _counted = Counted(waiting);
                tokio::time::timeout_at(until, notified).await.is_ok()
            };
            if woken {
                let wakeups = &rqctx.context().poll_wakeups;
                wakeups.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            } else if recheck.is_none() {
                return Ok(HttpResponseOk(DesiredState {
                    data_plane_id: state.data_plane_id,
                    revision: known,
                    changed: false,
                    deployments: Vec::new(),
                }));
            }
        }
    }

    async fn status_report(
        rqctx: RequestContext<Context>,
        body: TimedBody<StatusReport>,
    ) -> Result<HttpResponseUpdatedNoContent, HttpError> {
        let plane = agent(&rqctx).await?;
        let report = body.into_inner();
        rqctx.context().report_agent_status(&plane, report).await.map_err(HttpError::from)?;
        Ok(HttpResponseUpdatedNoContent())
    }
}

/// Takes one off a count when dropped (a wait ended, or was cancelled: the
/// agent went away mid-poll and the handler was dropped). The count is
/// `Harmony::polls_waiting`, which the metrics show as `agents_polling`.
struct Counted(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}
