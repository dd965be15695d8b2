//! The agent API's HTTP edge ([`harmony_agent_api::HarmonyAgentApi`]),
//! served on a listener of its own ([`crate::start_agent_api`]).
//!
//! Every request is authenticated by its data plane's credential, which also
//! decides whose state it sees: an agent can read only its own data plane.
//! `GET /desired-state` (the whole state) and `GET /changes` (what moved
//! since a plane revision) long-poll: they answer as soon as the data
//! plane's desired revision moves past the one the agent knows, or after
//! `wait_seconds` with nothing new.

use crate::app::{HarmonyApp, HarmonyError};
use crate::http::blocking_on;
use deployment_rules::{Refusals, rule};
use dropshot::{HttpError, HttpResponseOk, HttpResponseUpdatedNoContent, Query, RequestContext};
use harmony_agent_api::{
    Changes, ChangesQuery, DesiredState, DesiredStateQuery, HarmonyAgentApi, MAX_WAIT_SECONDS,
    StatusReport, TimedBody,
};
use std::sync::Arc;
use std::time::Duration;

pub type Context = Arc<HarmonyApp>;

/// Implements [`HarmonyAgentApi`]; never instantiated.
pub enum AgentImpl {}

/// The data plane behind the request's credential.
async fn agent(rqctx: &RequestContext<Context>) -> Result<String, HttpError> {
    let header =
        rqctx.request.headers().get("authorization").map(|v| v.to_str().unwrap_or("").to_owned());
    blocking_on(rqctx.context(), move |h| h.authenticate_agent(header.as_deref())).await
}

/// `wait_seconds` as asked, or its refusal.
fn wait_seconds(asked: Option<u32>) -> Result<u32, HttpError> {
    let wait = asked.unwrap_or(0);
    if wait > MAX_WAIT_SECONDS {
        return Err(HarmonyError::Invalid(Refusals::one(
            crate::app::agent_api_version(1),
            &rule::AGENT_WAIT,
            "wait_seconds",
            format!("must be 0 to {MAX_WAIT_SECONDS}, got {wait}"),
        ))
        .into());
    }
    Ok(wait)
}

/// Reads with `read` until `news` says the answer has news, the process
/// stops, or `wait` seconds pass (then answers the last read, which has
/// none). Woken only by a change to `plane`.
async fn long_poll<T: Send + 'static>(
    rqctx: &RequestContext<Context>,
    plane: &str,
    wait: u32,
    read: impl Fn(&HarmonyApp) -> Result<T, HarmonyError> + Clone + Send + 'static,
    news: impl Fn(&T) -> bool,
) -> Result<T, HttpError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait.into());
    // Woken only by a change to this plane (or the process stopping).
    let watch = rqctx.context().wakeups().watch(plane);
    let recheck = rqctx.context().recheck_every();
    loop {
        // Registered before reading, so a change in between still wakes us.
        let notified = watch.changed();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let answer = blocking_on(rqctx.context(), read.clone()).await?;
        let stopping = rqctx.context().is_stopping();
        if news(&answer) || stopping || tokio::time::Instant::now() >= deadline {
            return Ok(answer);
        }
        // Woken, or due to look again (replicas sharing the store): read
        // again. Timed out with every change announced to this process
        // (SQLite, or PostgreSQL LISTEN): nothing can have been missed,
        // since a wake registered before the read above, so the answer
        // read then still holds.
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
            return Ok(answer);
        }
    }
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
        let wait = wait_seconds(query.wait_seconds)?;
        let p = plane.clone();
        let read = move |h: &HarmonyApp| h.desired_state(&p, known);
        let state = long_poll(&rqctx, &plane, wait, read, |s: &DesiredState| s.changed).await?;
        Ok(HttpResponseOk(state))
    }

    async fn changes_get(
        rqctx: RequestContext<Context>,
        query: Query<ChangesQuery>,
    ) -> Result<HttpResponseOk<Changes>, HttpError> {
        let plane = agent(&rqctx).await?;
        let ChangesQuery { since, page_token, wait_seconds: asked } = query.into_inner();
        let wait = wait_seconds(asked)?;
        // A page of a pass in flight is answered at once.
        let wait = if page_token.is_some() { 0 } else { wait };
        let p = plane.clone();
        let read = move |h: &HarmonyApp| h.changes(&p, since, page_token.as_deref());
        let news = move |c: &Changes| c.full || Some(c.revision) != since || c.next_page.is_some();
        Ok(HttpResponseOk(long_poll(&rqctx, &plane, wait, read, news).await?))
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
/// `HarmonyApp::polls_waiting`, which the metrics show as `agents_polling`.
struct Counted(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}
