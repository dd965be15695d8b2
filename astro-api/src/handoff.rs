//! The durable handoff to Harmony: each change delivered by its own request's
//! task when it can be, and a delivery worker that drains the rest of the
//! outbox.
//!
//! A public request commits astro-api's record and an outbox entry in one
//! transaction ([`crate::store`]), hands it over ([`Handoff::submit`]) and
//! waits a moment ([`Handoff::wait`]) for the outcome so that, when Harmony
//! is up, the answer already says Harmony has the change. When it is not,
//! the request is answered anyway with the pending status, and the worker
//! keeps trying.
//!
//! The common case takes no worker: a change that is its deployment's only
//! queued one is claimed in the commit that queues it and delivered at once
//! by a task of its own, which records the outcome (so each request costs
//! two commits here, not a round of the worker's). The worker takes what is
//! left: changes queued behind another, retries, claims that expired.
//!
//! - In order per deployment: only the oldest entry of a deployment is ever
//!   in flight, so generations arrive at Harmony in the order accepted.
//! - At least once, applied once: an entry is deleted only after Harmony
//!   accepted it, in a commit of its own; a crash in between delivers it
//!   again, which Harmony's `PUT` (idempotent by deployment id and
//!   generation) turns into a no-op.
//! - Retries back off exponentially with jitter up to a ceiling. What cannot
//!   succeed by retrying (Harmony refuses the change as a conflict or
//!   invalid) is taken out of the queue and shown on the deployment.
//!
//! The worker stops when the [`Handoff`] it serves is dropped.

use crate::clock::{Clock, Random};
use crate::failure::Failure;
use crate::harmony::Cells;
use crate::store::{CLAIM, Delivery, Enqueued, Op, Queued, Store, StoreError, claim_until};
use futures::StreamExt;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::{Notify, oneshot};
use uuid::Uuid;

/// Entries taken per round.
const ROUND: usize = 256;
/// Deliveries in flight at once (each to a different deployment).
const PARALLEL: usize = 64;
/// How long an idle worker sleeps before looking again without being woken
/// (covers entries written by another process on the same database).
const IDLE_POLL: Duration = Duration::from_secs(1);
/// First retry delay; doubled per attempt up to the configured ceiling.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// What a waiting request learns of its change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Harmony has it.
    Delivered,
    /// Not yet; the reason, as the deployment's status will say it.
    Pending(String),
    /// Harmony refused it for good: why, and the quota when it was one.
    Refused(String, Option<crate::quota::Exceeded>),
}

type Waiters = HashMap<(Uuid, u64), Vec<oneshot::Sender<Outcome>>>;

pub struct Handoff {
    store: Store,
    cells: Arc<Cells>,
    wake: Arc<Notify>,
    waiters: Mutex<Waiters>,
    /// Entries this process is delivering, whose claims [`renew`] keeps.
    in_flight: Mutex<std::collections::BTreeSet<i64>>,
    max_backoff: Duration,
    /// Claims, retry times and the worker's sleeps ([`crate::clock`]).
    clock: Arc<dyn Clock>,
    /// The spread of retry times.
    random: Arc<dyn Random>,
    log: slog::Logger,
    /// Changes Harmony refused that astro-api had accepted, by cell: each a
    /// contract gap (docs/operations.md alerts on any).
    refusals: Family<RefusalLabels, Counter>,
    /// Delivery attempts by cell and outcome (`delivered`, `retried`,
    /// `refused`).
    deliveries: Family<DeliveryLabels, Counter>,
}

/// Labels of [`Handoff::deliveries`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct DeliveryLabels {
    pub cell: String,
    pub outcome: &'static str,
}

/// Labels of [`Handoff::refusals`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct RefusalLabels {
    pub cell: String,
}

/// A request's claim on the outcome of one change.
pub struct Ticket(oneshot::Receiver<Outcome>);

impl Handoff {
    /// Creates the handoff and starts its worker on the current runtime.
    pub fn start(
        store: Store,
        cells: Arc<Cells>,
        max_backoff: Duration,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        log: slog::Logger,
    ) -> Arc<Handoff> {
        let handoff = Arc::new(Handoff {
            store,
            cells,
            wake: Arc::new(Notify::new()),
            waiters: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(Default::default()),
            max_backoff,
            clock,
            random,
            log,
            refusals: Family::default(),
            deliveries: Family::default(),
        });
        tokio::spawn(run(Arc::downgrade(&handoff), handoff.wake.clone(), handoff.clock.clone()));
        tokio::spawn(renew(Arc::downgrade(&handoff), handoff.clock.clone()));
        handoff
    }

    /// The count of refused changes (for the metrics registry).
    pub fn refusals(&self) -> Family<RefusalLabels, Counter> {
        self.refusals.clone()
    }

    /// Delivery attempts by cell and outcome (for the metrics registry).
    pub fn deliveries(&self) -> Family<DeliveryLabels, Counter> {
        self.deliveries.clone()
    }

    /// Registers interest in the outcome of `generation` of a deployment.
    /// Taken before the change is committed, so no outcome can be missed.
    pub fn expect(&self, deployment_id: Uuid, generation: u64) -> Ticket {
        let (tx, rx) = oneshot::channel();
        self.waiters().entry((deployment_id, generation)).or_default().push(tx);
        Ticket(rx)
    }

    /// Hands over a change just committed: delivers it at once when it was
    /// claimed for this request (in a task of its own, which a request that
    /// goes away does not stop), else wakes the worker.
    pub fn submit(self: &Arc<Self>, enqueued: Enqueued) {
        match enqueued {
            Enqueued::Behind => self.kick(),
            Enqueued::Claimed(entry) => {
                let handoff = Arc::clone(self);
                tokio::spawn(async move { handoff.deliver_claimed(entry).await });
            }
        }
    }

    /// Delivers an entry claimed for a request, records the outcome and
    /// tells those waiting; the worker is woken when the deployment has
    /// more queued (or this one is to be retried).
    async fn deliver_claimed(&self, entry: Queued) {
        let generation = entry.change.generation;
        let result = self.holding(vec![entry.seq], self.deliver(entry)).await;
        match self.store.record_delivery(result.clone()).await {
            Ok(more) => {
                self.tell(vec![(generation, result)]);
                if more {
                    self.kick();
                }
            }
            Err(e) => {
                // Not recorded: the claim expires and the worker delivers
                // the entry again (Harmony takes a repeat as a no-op).
                slog::error!(self.log, "recording a delivery failed"; "error" => %e);
            }
        }
    }

    /// Waits up to `within` for the first outcome of the ticket's change.
    pub async fn wait(&self, ticket: Ticket, within: Duration) -> Outcome {
        match tokio::time::timeout(within, ticket.0).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) | Err(_) => Outcome::Pending("queued for Harmony".to_owned()),
        }
    }

    /// Wakes the worker without waiting.
    fn kick(&self) {
        self.wake.notify_one();
    }

    fn waiters(&self) -> std::sync::MutexGuard<'_, Waiters> {
        self.waiters.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One round: deliver what is due; returns how long to sleep when idle.
    async fn round(&self) -> Result<Option<Duration>, StoreError> {
        let now = self.clock.now_ms();
        let claimed = self.store.outbox_claim(now, claim_until(now), ROUND).await?;
        for e in &claimed.unreadable {
            slog::warn!(self.log, "an outbox entry cannot be read here; left to a replica that can";
                "error" => %e);
        }
        let due = claimed.due;
        if due.is_empty() {
            let store = self.store.clone();
            let next = sql_store::run_blocking(move || store.outbox_next_due()).await??;
            let wait = next.map_or(IDLE_POLL, |at| {
                Duration::from_millis(at.saturating_sub(now).max(1) as u64).min(IDLE_POLL)
            });
            return Ok(Some(wait));
        }
        let seqs = due.iter().map(|entry| entry.seq).collect();
        let deliveries = futures::stream::iter(due)
            .map(|entry| async move {
                let generation = entry.change.generation;
                (generation, self.deliver(entry).await)
            })
            .buffer_unordered(PARALLEL)
            .collect();
        let results: Vec<(u64, Delivery)> = self.holding(seqs, deliveries).await;
        let records = results.iter().map(|(_, d)| d.clone()).collect();
        self.store.record_deliveries(records).await?;
        self.tell(results);
        Ok(None)
    }

    /// Runs `work` (deliveries of the entries `seqs`, claimed by this
    /// process) with the entries in flight, so [`renew`] keeps their claims:
    /// a slow Harmony does not let them run out under a live delivery, and
    /// a process that dies holds them at most [`CLAIM`] longer. (One task
    /// renews for every delivery: a timer per delivery cost about a tenth
    /// of the create path's throughput.)
    async fn holding<T>(&self, seqs: Vec<i64>, work: impl Future<Output = T>) -> T {
        struct InFlight<'a>(&'a Handoff, Vec<i64>);
        impl Drop for InFlight<'_> {
            fn drop(&mut self) {
                let mut in_flight = self.0.in_flight();
                for seq in &self.1 {
                    in_flight.remove(seq);
                }
            }
        }
        self.in_flight().extend(seqs.iter().copied());
        let _held = InFlight(self, seqs);
        work.await
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeSet<i64>> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tells those waiting for these outcomes; only once they are recorded
    /// (committed: a record lost before it is durable is redone by delivering
    /// again).
    fn tell(&self, results: Vec<(u64, Delivery)>) {
        let mut waiters = self.waiters();
        for (generation, result) in results {
            let id = result.deployment_id();
            let outcome = match result {
                Delivery::Delivered { .. } => Outcome::Delivered,
                Delivery::Retry { error, .. } => Outcome::Pending(error),
                Delivery::Refused { error, quota, .. } => Outcome::Refused(error, quota),
            };
            if let Outcome::Pending(_) = outcome {
                // Later changes of the deployment wait behind this one: their
                // requests need not wait for them to be tried.
                for (_, senders) in
                    waiters.iter_mut().filter(|((d, g), _)| *d == id && *g > generation)
                {
                    for tx in senders.drain(..) {
                        let _ = tx.send(outcome.clone());
                    }
                }
            }
            for tx in waiters.remove(&(id, generation)).unwrap_or_default() {
                let _ = tx.send(outcome.clone());
            }
        }
        waiters.retain(|_, senders| senders.iter().any(|s| !s.is_closed()));
    }

    async fn deliver(&self, entry: Queued) -> Delivery {
        let Queued { seq, attempts, change } = entry;
        let id = change.deployment_id;
        let call = async {
            match &change.op {
                Op::Put(spec) => self.cells.put_deployment(&change.cell, id, spec).await,
                Op::Delete => self.cells.delete_deployment(&change.cell, id, change.kind).await,
            }
        };
        // Harmony logs the id of the request that made the change, whoever
        // delivers it (this request, a worker, another replica).
        let result = match &change.request_id {
            Some(request) => crate::harmony::request_id::scope(request.clone(), call).await,
            None => call.await,
        };
        let outcome = match &result {
            Ok(()) => "delivered",
            Err(failure) if retryable(failure) => "retried",
            Err(_) => "refused",
        };
        self.deliveries.get_or_create(&DeliveryLabels { cell: change.cell.clone(), outcome }).inc();
        match result {
            Ok(()) => Delivery::Delivered { seq, deployment_id: id, generation: change.generation },
            Err(failure) => {
                let what = match change.op {
                    Op::Put(_) => format!("generation {}", change.generation),
                    Op::Delete => "the deletion".to_owned(),
                };
                if retryable(&failure) {
                    let delay = backoff(attempts, self.max_backoff, &*self.random);
                    // The first failure and every tenth after: a long outage
                    // must not flood the log.
                    if attempts % 10 == 0 {
                        slog::warn!(self.log, "handoff to Harmony failed; will retry";
                        "deployment_id" => %id, "seq" => seq, "attempts" => attempts + 1,
                        "retry_in_ms" => delay.as_millis() as u64, "error" => %failure);
                    }
                    Delivery::Retry {
                        seq,
                        deployment_id: id,
                        error: format!("{what} waits for Harmony: {failure}"),
                        next_attempt_at: self.clock.now_ms() + delay.as_millis() as i64,
                    }
                } else if let Failure::QuotaExceeded(quota) = failure {
                    // Not a contract gap: the data plane has no room for it.
                    slog::warn!(self.log, "Harmony refused a change for its data plane's budget; it is dropped from the outbox";
                        "cell" => &change.cell, "deployment_id" => %id, "seq" => seq,
                        "generation" => change.generation, "quota" => quota.quota.name());
                    self.store.count_quota_refusal(&quota);
                    Delivery::Refused {
                        seq,
                        deployment_id: id,
                        error: format!("Harmony refused {what}: {quota}"),
                        quota: Some(quota),
                    }
                } else {
                    // astro-api accepted what a live Harmony does not take:
                    // a contract gap an operator must hear of at once.
                    slog::error!(self.log, "Harmony refused a change astro-api accepted; it is dropped from the outbox";
                        "cell" => &change.cell, "deployment_id" => %id, "seq" => seq,
                        "generation" => change.generation, "reason" => %failure);
                    self.refusals.get_or_create(&RefusalLabels { cell: change.cell.clone() }).inc();
                    Delivery::Refused {
                        seq,
                        deployment_id: id,
                        error: format!("Harmony refused {what}: {failure}"),
                        quota: None,
                    }
                }
            }
        }
    }
}

/// Harmony down, slow, at a version that cannot take the change yet, or
/// failing: worth another try. A refusal of the change itself is not.
fn retryable(failure: &Failure) -> bool {
    match failure {
        Failure::HarmonyUnavailable(_)
        | Failure::HarmonyVersionUnsupported { .. }
        | Failure::HarmonyFailed(_)
        | Failure::Unavailable(_)
        | Failure::Internal(_) => true,
        Failure::Invalid(_)
        | Failure::HarmonyRefused(_)
        | Failure::Unauthenticated(_)
        | Failure::Forbidden(_)
        | Failure::NotFound(_)
        | Failure::Conflict { .. }
        | Failure::PreconditionFailed { .. }
        | Failure::QuotaExceeded(_) => false,
    }
}

/// Exponential, with up to 25% jitter so retries of many entries spread out.
fn backoff(attempts: u32, ceiling: Duration, random: &dyn Random) -> Duration {
    let base = FIRST_BACKOFF.saturating_mul(1 << attempts.min(16)).min(ceiling);
    let jitter = random.below(1000);
    base + base / 4 * jitter / 1000
}

/// Every third of [`CLAIM`], extends the claims of the entries in flight
/// (a delivery that started just now has a fresh claim; extending it does
/// no harm). Ends with the handoff.
async fn renew(handoff: Weak<Handoff>, clock: Arc<dyn Clock>) {
    loop {
        clock.sleep(CLAIM / 3).await;
        let Some(handoff) = handoff.upgrade() else { return };
        let seqs: Vec<i64> = handoff.in_flight().iter().copied().collect();
        if seqs.is_empty() {
            continue;
        }
        let now = clock.now_ms();
        // Should renewing fail, the claims run out and another worker
        // delivers the entries again: Harmony takes a repeat as a no-op.
        if let Err(e) = handoff.store.outbox_renew(seqs, now, claim_until(now)).await {
            slog::warn!(handoff.log, "renewing outbox claims failed"; "error" => %e);
        }
    }
}

async fn run(handoff: Weak<Handoff>, wake: Arc<Notify>, clock: Arc<dyn Clock>) {
    loop {
        let Some(h) = handoff.upgrade() else { return };
        let sleep = match h.round().await {
            Ok(sleep) => sleep,
            Err(e) => {
                slog::error!(h.log, "outbox round failed"; "error" => %e);
                Some(IDLE_POLL)
            }
        };
        drop(h);
        if let Some(sleep) = sleep {
            tokio::select! {
                () = wake.notified() => {}
                () = clock.sleep(sleep) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_ceiling_with_bounded_jitter() {
        let ceiling = Duration::from_secs(5);
        for attempts in 0..20 {
            let base = FIRST_BACKOFF.saturating_mul(1 << attempts.min(16)).min(ceiling);
            let d = backoff(attempts, ceiling, &crate::clock::OsRandom);
            assert!(d >= base && d <= base + base / 4, "attempt {attempts}: {d:?}");
        }
        let late = backoff(30, ceiling, &crate::clock::OsRandom);
        assert!(late >= ceiling && late <= ceiling + ceiling / 4, "{late:?}");
    }

    /// The jitter is the injected randomness's: at its ends, the delay is
    /// the base and a quarter more.
    #[test]
    fn the_jitter_comes_from_the_injected_randomness() {
        struct Fixed(u32);
        impl Random for Fixed {
            fn below(&self, _: u32) -> u32 {
                self.0
            }
        }
        let ceiling = Duration::from_secs(5);
        assert_eq!(backoff(2, ceiling, &Fixed(0)), FIRST_BACKOFF * 4);
        assert_eq!(
            backoff(2, ceiling, &Fixed(999)),
            FIRST_BACKOFF * 4 + FIRST_BACKOFF * 999 / 1000
        );
    }
}
