//! The outbox: every change Harmony must hear of, committed with the record
//! it belongs to, claimed and delivered in order per deployment.

use super::codec::{kind_name, kind_of};
use super::{Store, StoreError};
use crate::harmony::{PlaneKind, Spec};
use sql_store::Tx;
use uuid::Uuid;

/// What waits in the outbox ([`Store::outbox_summary`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboxSummary {
    pub entries: i64,
    pub oldest_queued_ms: Option<i64>,
    pub most_attempts: i64,
}

/// What a worker claimed ([`Store::outbox_claim`]).
pub struct Claimed {
    /// Entries to deliver, in order.
    pub due: Vec<Queued>,
    /// Entries this binary cannot read, left to a replica that can.
    pub unreadable: Vec<StoreError>,
}

/// A change Harmony must hear of, queued in the outbox with the record it
/// belongs to.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub deployment_id: Uuid,
    pub cell: String,
    pub kind: PlaneKind,
    pub generation: u64,
    pub op: Op,
    /// The id of the request that made the change, sent to Harmony with it.
    pub request_id: Option<String>,
}

#[derive(Clone, Debug)]
pub enum Op {
    /// The deployment's full desired state (secret values included until it
    /// is delivered; the entry is deleted then).
    Put(Box<Spec>),
    Delete,
}

/// Where a change just queued stands.
#[derive(Debug)]
pub enum Enqueued {
    /// It was its deployment's only entry: claimed, in the commit that
    /// queued it, for the request that made it, which delivers it at once
    /// ([`crate::handoff::Handoff::submit`]).
    Claimed(Queued),
    /// An older change of the deployment is still queued: the delivery
    /// worker takes this one after it.
    Behind,
}

/// An outbox entry waiting for delivery.
#[derive(Clone, Debug)]
pub struct Queued {
    pub seq: i64,
    pub attempts: u32,
    pub change: Outgoing,
}

/// What one delivery attempt came to.
#[derive(Clone, Debug)]
pub enum Delivery {
    /// Harmony has it: the entry goes.
    Delivered { seq: i64, deployment_id: Uuid, generation: u64 },
    /// Not now (Harmony down, slow, or at a version that cannot take it):
    /// tried again at `next_attempt_at` (Unix milliseconds).
    Retry { seq: i64, deployment_id: Uuid, error: String, next_attempt_at: i64 },
    /// Harmony said no for good: the entry goes, and the deployment says why.
    Refused {
        seq: i64,
        deployment_id: Uuid,
        error: String,
        /// The quota it was refused for, when it was one.
        quota: Option<crate::quota::Exceeded>,
    },
}

impl Delivery {
    pub fn deployment_id(&self) -> Uuid {
        match self {
            Delivery::Delivered { deployment_id, .. }
            | Delivery::Retry { deployment_id, .. }
            | Delivery::Refused { deployment_id, .. } => *deployment_id,
        }
    }
}

/// A change ready to be queued in the transaction that stores what it is
/// about ([`Store::to_queue`]): its spec as the outbox keeps it
/// ([`Store::stored_spec`]: secret values sealed, done before the write),
/// and the clock its claim and queue time are read from.
pub(super) struct ToQueue {
    pub(super) change: Outgoing,
    /// The organization whose change rate a `PUT` counts against, and the
    /// rate (deletes are never refused).
    rate: Option<(String, u32)>,
    pub(super) spec: Option<String>,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
}

impl Store {
    /// `change` of a deployment of `organization_id`, ready to queue.
    /// A spec's contact emails are queued only once every astro-api on the
    /// database reads them ([`Store::holds_contact_emails`]): until then
    /// there are none (astro-api refuses to take any), and an entry that
    /// said so anyway would wait for a replica that can read it. Both the
    /// entry and the change its caller delivers at once say the same.
    pub(super) fn to_queue(
        &self,
        organization_id: &str,
        mut change: Outgoing,
    ) -> Result<ToQueue, StoreError> {
        if let (Op::Put(spec), false) = (&mut change.op, self.contact_emails) {
            spec.forget_contact_emails();
        }
        let rate = matches!(change.op, Op::Put(_))
            .then(|| (organization_id.to_owned(), self.quotas.changes_per_minute));
        Ok(ToQueue { spec: self.stored_spec(&change)?, change, rate, clock: self.clock.clone() })
    }
}

impl ToQueue {
    /// Queues the change in `tx`, and starts the deployment's handoff over.
    /// When no older change of the deployment is queued, the entry is
    /// claimed (as the delivery worker claims, until [`CLAIM`] from now) for
    /// the caller to deliver: no worker, here or on another replica, takes
    /// it meanwhile, and should the caller die, the claim expires and a
    /// worker does.
    /// A `PUT` is first held to its organization's change rate
    /// ([`crate::quota::admit_change`]): refused, the whole write is.
    pub(super) fn enqueue(self, tx: &Tx<'_>) -> Result<Enqueued, StoreError> {
        let ToQueue { change, spec, rate, clock } = self;
        let now_ms = clock.now_ms();
        if let Some((organization_id, per_minute)) = rate {
            admit_change(tx, &organization_id, per_minute, now_ms)?;
        }
        let op = match &change.op {
            Op::Put(_) => "PUT",
            Op::Delete => "DELETE",
        };
        let id = change.deployment_id.to_string();
        let behind = has_queued(tx, &id)?;
        let claimed_until = if behind { 0 } else { claim_until(now_ms) };
        let seq: i64 = tx
            .query_one(
                "INSERT INTO outbox
                     (deployment_id, cell, kind, generation, op, spec, claimed_until, queued_at,
                      request_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING seq",
                &[
                    &id,
                    &change.cell,
                    &kind_name(change.kind),
                    &(change.generation as i64),
                    &op,
                    &spec,
                    &claimed_until,
                    &now_ms,
                    &change.request_id,
                ],
            )?
            .get(0)?;
        tx.execute(
            "UPDATE deployments SET handoff_error = NULL, handoff_refused = 0 WHERE id = ?1",
            &[&id],
        )?;
        Ok(if behind {
            Enqueued::Behind
        } else {
            Enqueued::Claimed(Queued { seq, attempts: 0, change })
        })
    }
}

/// Takes one change of `organization_id` at `now_ms` against its rate, or
/// refuses it.
fn admit_change(
    tx: &Tx<'_>,
    organization_id: &str,
    per_minute: u32,
    now_ms: i64,
) -> Result<(), StoreError> {
    let tat: Option<i64> = tx
        .query_opt(
            "SELECT tat_ms FROM change_rates WHERE organization_id = ?1",
            &[&organization_id],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    let next = crate::quota::admit_change(per_minute, tat, now_ms)?;
    tx.execute(
        "INSERT INTO change_rates (organization_id, tat_ms) VALUES (?1, ?2)
         ON CONFLICT (organization_id) DO UPDATE SET tat_ms = excluded.tat_ms",
        &[&organization_id, &next],
    )?;
    Ok(())
}

/// Whether the deployment has an outbox entry.
fn has_queued(tx: &Tx<'_>, deployment_id: &str) -> Result<bool, StoreError> {
    Ok(tx.query_opt("SELECT 1 FROM outbox WHERE deployment_id = ?1", &[&deployment_id])?.is_some())
}

/// How long a claim on an entry lasts unrenewed. While the worker or
/// request that holds it is delivering it, the process renews it every
/// third of that (`Handoff::holding`), so no other replica delivers the entry meanwhile
/// however slow Harmony is; a process that dies stops renewing, and the
/// entry is delivered by another worker (or the restarted process) once
/// the claim runs out.
pub const CLAIM: std::time::Duration = std::time::Duration::from_secs(10);

/// When a claim taken or renewed at `now_ms` runs out.
pub fn claim_until(now_ms: i64) -> i64 {
    now_ms + CLAIM.as_millis() as i64
}

impl Store {
    /// Claims, until `claim_until_ms`, the oldest undelivered entry of each
    /// deployment whose next attempt is due at `now_ms` and that no delivery
    /// worker holds: one per deployment, so each deployment's changes reach
    /// Harmony in the order they were accepted, and one worker per entry
    /// when several replicas share the database. A worker that dies leaves
    /// its claims to expire; another takes them up then.
    ///
    /// An entry this binary cannot read (an operation or a sealed value a
    /// newer replica wrote) is returned apart, in `unreadable`: its claim is
    /// left to expire, so a replica that can read it delivers it, and the
    /// entries beside it are delivered meanwhile.
    pub async fn outbox_claim(
        &self,
        now_ms: i64,
        claim_until_ms: i64,
        limit: usize,
    ) -> Result<Claimed, StoreError> {
        let rows = self
            .db
            .write_async(move |tx| {
                let rows = tx.query(
                    "SELECT o.seq, o.deployment_id, o.cell, o.kind, o.generation, o.op, o.spec,
                            o.attempts, o.request_id
                     FROM outbox o
                     WHERE o.next_attempt_at <= ?1 AND o.claimed_until <= ?1
                       AND o.seq = (SELECT MIN(i.seq) FROM outbox i
                                    WHERE i.deployment_id = o.deployment_id)
                     ORDER BY o.seq LIMIT ?2",
                    &[&now_ms, &(limit as i64)],
                )?;
                for r in &rows {
                    tx.execute(
                        "UPDATE outbox SET claimed_until = ?2 WHERE seq = ?1",
                        &[&r.get::<i64>(0)?, &claim_until_ms],
                    )?;
                }
                Ok::<_, StoreError>(rows)
            })
            .await?;
        let mut claimed = Claimed { due: Vec::new(), unreadable: Vec::new() };
        for read in rows.iter().map(|r| {
            let id: String = r.get(1)?;
            let deployment_id = id.parse().map_err(|_| StoreError::BadId(id))?;
            // Never a catch-all: an operation a newer replica queued
            // (or a PUT without its spec) must not become a DELETE.
            let op = match (r.get::<String>(5)?, r.get::<Option<String>>(6)?) {
                (op, Some(spec)) if op == "PUT" => {
                    Op::Put(Box::new(self.spec_of(deployment_id, &spec)?))
                }
                (op, None) if op == "DELETE" => Op::Delete,
                (op, spec) => {
                    return Err(StoreError::UnknownOp {
                        seq: r.get(0)?,
                        op,
                        with_spec: spec.is_some(),
                    });
                }
            };
            Ok(Queued {
                seq: r.get(0)?,
                attempts: r.get(7)?,
                change: Outgoing {
                    deployment_id,
                    cell: r.get(2)?,
                    kind: kind_of(&r.get::<String>(3)?),
                    generation: r.get(4)?,
                    op,
                    request_id: r.get(8)?,
                },
            })
        }) {
            match read {
                Ok(entry) => claimed.due.push(entry),
                Err(e) => claimed.unreadable.push(e),
            }
        }
        Ok(claimed)
    }

    /// When the next entry can be taken (Unix milliseconds: due, and its
    /// claim, if any, expired), if any is waiting.
    pub fn outbox_next_due(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.db.read(|tx| {
            tx.query_one(
                "SELECT MIN(CASE WHEN claimed_until > next_attempt_at THEN claimed_until
                                 ELSE next_attempt_at END) FROM outbox",
                &[],
            )?
            .get(0)
        })?)
    }

    /// Checks that every secret value waiting in the outbox opens with this
    /// store's key: the first entry whose values do not (written under
    /// another key), as (seq, deployment). Entries a newer replica wrote in
    /// a form this one does not know are left to it, as the worker does.
    pub fn first_unopenable_entry(&self) -> Result<Option<(i64, Uuid)>, StoreError> {
        let rows = self.db.read(|tx| {
            tx.query(
                "SELECT seq, deployment_id, spec FROM outbox WHERE spec IS NOT NULL ORDER BY seq",
                &[],
            )
        })?;
        for row in rows {
            let (seq, id, spec): (i64, String, String) = (row.get(0)?, row.get(1)?, row.get(2)?);
            let id: Uuid = id.parse().map_err(|_| StoreError::BadId(id.clone()))?;
            match self.spec_of(id, &spec) {
                Err(StoreError::Sealed(_)) => return Ok(Some((seq, id))),
                Ok(_) | Err(StoreError::Decode(_)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(None)
    }

    /// How much waits to be delivered: the entries, when the oldest of them
    /// was queued (Unix milliseconds; entries older binaries queued say
    /// nothing), and the most attempts any has had.
    pub fn outbox_summary(&self) -> Result<OutboxSummary, StoreError> {
        Ok(self.db.read(|tx| {
            let row = tx.query_one(
                "SELECT COUNT(*), MIN(CASE WHEN queued_at > 0 THEN queued_at END),
                        CAST(COALESCE(MAX(attempts), 0) AS BIGINT)
                 FROM outbox",
                &[],
            )?;
            Ok::<_, sql_store::DbError>(OutboxSummary {
                entries: row.get(0)?,
                oldest_queued_ms: row.get(1)?,
                most_attempts: row.get(2)?,
            })
        })?)
    }

    /// Extends the claims on `seqs` to `until_ms`, those still held at
    /// `now_ms` (an entry settled or whose claim ran out is left alone).
    pub async fn outbox_renew(
        &self,
        seqs: Vec<i64>,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<(), StoreError> {
        self.db
            .write_async(move |tx| {
                for seq in &seqs {
                    tx.execute(
                        "UPDATE outbox SET claimed_until = ?2 WHERE seq = ?1 AND claimed_until > ?3",
                        &[seq, &until_ms, &now_ms],
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// Records a round of delivery attempts in one commit (a retried
    /// entry's claim ends with it). Redoable writes (see `sql_store`): a record
    /// lost to a power failure leaves its entry queued, so the change is
    /// delivered again and Harmony takes the repeat as a no-op; whoever
    /// was told of the outcome was told the truth.
    pub async fn record_deliveries(&self, results: Vec<Delivery>) -> Result<(), StoreError> {
        self.db
            .write_redoable(move |tx| results.iter().try_for_each(|result| record(tx, result)))
            .await
    }

    /// Records one delivery attempt (redoable, as above); returns whether
    /// its deployment still has an entry queued (a later change, or the
    /// retried one).
    pub async fn record_delivery(&self, result: Delivery) -> Result<bool, StoreError> {
        self.db
            .write_redoable(move |tx| {
                record(tx, &result)?;
                has_queued(tx, &result.deployment_id().to_string())
            })
            .await
    }
}

fn record(tx: &Tx<'_>, result: &Delivery) -> Result<(), StoreError> {
    match result {
        Delivery::Delivered { seq, deployment_id, generation } => {
            tx.execute("DELETE FROM outbox WHERE seq = ?1", &[seq])?;
            tx.execute(
                "UPDATE deployments
                 SET delivered_generation = ?2, handoff_error = NULL,
                     handoff_refused = 0
                 WHERE id = ?1 AND delivered_generation < ?2",
                &[&deployment_id.to_string(), &(*generation as i64)],
            )?;
        }
        Delivery::Retry { seq, deployment_id, error, next_attempt_at } => {
            tx.execute(
                "UPDATE outbox
                 SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3,
                     claimed_until = 0
                 WHERE seq = ?1",
                &[seq, next_attempt_at, error],
            )?;
            tx.execute(
                "UPDATE deployments SET handoff_error = ?2 WHERE id = ?1",
                &[&deployment_id.to_string(), error],
            )?;
        }
        Delivery::Refused { seq, deployment_id, error, .. } => {
            tx.execute("DELETE FROM outbox WHERE seq = ?1", &[seq])?;
            tx.execute(
                "UPDATE deployments SET handoff_error = ?2, handoff_refused = 1
                 WHERE id = ?1",
                &[&deployment_id.to_string(), error],
            )?;
        }
    }
    Ok(())
}
