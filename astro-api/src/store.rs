//! astro-api's store, on SQLite (a file in the data directory, the
//! default) or PostgreSQL (`--database-url`). Only this module writes SQL.
//!
//! Built on [`sql_store::Database`] (durable commits, group commit by one
//! writer thread, writes serialized across replicas, reads on their own
//! connections).
//!
//! Every change Harmony must hear of is an outbox entry committed in the same
//! transaction as the record it belongs to; the delivery worker
//! ([`crate::handoff`]) reads entries back in order per deployment.
//!
//! Deployments are stored as their public form (secret values are not kept
//! in records: Harmony keeps them, and an update that omits one keeps it
//! there), with the columns needed for uniqueness and listing. A secret value
//! sits in an outbox entry only until Harmony has it; the entry is then
//! deleted (`secure_delete` overwrites the freed pages).

use astro_public_api::types::{ApiToken, Deploy, Deployment, Organization, Role, Workspace};
use harmony_client::v2::types as h;
pub use sql_store::Location;
use sql_store::{Database, DbError, Migrations, Step, Tx, step};
use uuid::Uuid;

pub const MIGRATIONS: Migrations =
    Migrations { store: "astro", sqlite: SQLITE_MIGRATIONS, postgres: POSTGRES_MIGRATIONS };

/// What waits in the outbox ([`Store::outbox_summary`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboxSummary {
    pub entries: i64,
    pub oldest_queued_ms: Option<i64>,
    pub most_attempts: i64,
}

/// Each a file under `migrations/`; its first line says whether binaries
/// that predate it keep working after it ran (see `sql_store::Step`).
const SQLITE_MIGRATIONS: &[Step] = &[
    step!("sqlite/0001-initial.sql"),
    step!("sqlite/0002-cells.sql"),
    step!("sqlite/0003-deploys.sql"),
    step!("sqlite/0004-outbox.sql"),
    step!("sqlite/0005-tenancy.sql"),
    step!("sqlite/0006-outbox-claims.sql"),
    step!("sqlite/0007-placements.sql"),
    step!("sqlite/0008-placements-owner.sql"),
    step!("sqlite/0009-outbox-queued-at.sql"),
    step!("sqlite/0010-outbox-request-id.sql"),
];

/// The same schema on PostgreSQL, which started at SQLite's migration
/// 6 (its first file creates what SQLite's first 6 did).
const POSTGRES_MIGRATIONS: &[Step] = &[
    step!("postgres/0006-initial.sql"),
    step!("postgres/0007-placements.sql"),
    step!("postgres/0008-placements-owner.sql"),
    step!("postgres/0009-outbox-queued-at.sql"),
    step!("postgres/0010-outbox-request-id.sql"),
];

/// Raises the database's floor to every migration this binary knows (the
/// contract step, `sql_store::contract`).
pub fn contract(location: &Location) -> Result<(usize, usize), DbError> {
    sql_store::contract(location, &MIGRATIONS)
}

/// What a worker claimed ([`Store::outbox_claim`]).
pub struct Claimed {
    /// Entries to deliver, in order.
    pub due: Vec<Queued>,
    /// Entries this binary cannot read, left to a replica that can.
    pub unreadable: Vec<StoreError>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("stored record could not be decoded")]
    Decode(#[from] serde_json::Error),
    #[error("the name is already used in this workspace")]
    NameTaken,
    #[error("a workspace of this organization already has the name")]
    WorkspaceNameTaken,
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("stored id {0:?} is not a UUID")]
    BadId(String),
    #[error(transparent)]
    Sealed(#[from] crate::seal::Unopenable),
    #[error(
        "outbox entry {seq} holds operation {op:?} (with{} a spec), which this astro-api does \
         not know: a newer replica queued it; it is left for one that knows it",
        if *.with_spec { "" } else { "out" }
    )]
    UnknownOp { seq: i64, op: String, with_spec: bool },
}

fn constraint_to_name_taken(e: DbError) -> StoreError {
    if e.is_unique_violation() { StoreError::NameTaken } else { e.into() }
}

#[derive(Clone)]
pub struct Store {
    db: Database,
    sealer: crate::seal::Sealer,
}

/// A change Harmony must hear of, queued in the outbox with the record it
/// belongs to.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub deployment_id: Uuid,
    pub cell: String,
    pub kind: h::DataPlaneKind,
    pub generation: u64,
    pub op: Op,
    /// The id of the request that made the change, sent to Harmony with it.
    pub request_id: Option<String>,
}

#[derive(Clone, Debug)]
pub enum Op {
    /// The deployment's full desired state (secret values included until it
    /// is delivered; the entry is deleted then).
    Put(Box<h::DeploymentSpec>),
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
    Refused { seq: i64, deployment_id: Uuid, error: String },
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

/// How far a deployment's changes have reached Harmony (the deliverer
/// itself is [`crate::handoff::Handoff`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryState {
    /// The newest generation Harmony has accepted (0: none yet).
    pub delivered_generation: u64,
    /// Why the last attempt did not deliver.
    pub error: Option<String>,
    /// Harmony refused the last change for good.
    pub refused: bool,
}

/// A stored deployment: its public record, its cell and its delivery.
#[derive(Clone, Debug)]
pub struct Row {
    pub deployment: Deployment,
    pub cell: String,
    pub delivery: DeliveryState,
}

fn kind_name(kind: h::DataPlaneKind) -> &'static str {
    match kind {
        h::DataPlaneKind::Hosted => "HOSTED",
        h::DataPlaneKind::Hybrid => "HYBRID",
    }
}

/// The kind [`kind_name`] wrote (the columns' CHECK admits nothing else).
fn kind_of(name: &str) -> h::DataPlaneKind {
    if name == "HOSTED" { h::DataPlaneKind::Hosted } else { h::DataPlaneKind::Hybrid }
}

/// Queues `change` in the transaction that stores what it is about, and
/// starts the deployment's handoff over. When no older change of the
/// deployment is queued, the entry is claimed (as the delivery worker
/// claims, until [`CLAIM`] from now) for the caller to deliver: no worker,
/// here or on another replica, takes it meanwhile, and should the caller
/// die, the claim expires and a worker does.
/// `spec` is the change's spec as stored ([`Store::stored_spec`]: secret
/// values sealed).
fn enqueue(tx: &Tx<'_>, change: Outgoing, spec: Option<String>) -> Result<Enqueued, StoreError> {
    let op = match &change.op {
        Op::Put(_) => "PUT",
        Op::Delete => "DELETE",
    };
    let id = change.deployment_id.to_string();
    let behind = has_queued(tx, &id)?;
    let claimed_until = if behind { 0 } else { claim_until(now_ms()) };
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
                &now_ms(),
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

/// Unix milliseconds, the outbox's clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

const ROW_COLUMNS: &str = "record, cell, delivered_generation, handoff_error, handoff_refused";

fn decode(r: &sql_store::Row) -> Result<Row, StoreError> {
    Ok(Row {
        deployment: serde_json::from_str(&r.get::<String>(0)?)?,
        cell: r.get(1)?,
        delivery: DeliveryState {
            delivered_generation: r.get(2)?,
            error: r.get(3)?,
            refused: r.get(4)?,
        },
    })
}

impl Store {
    /// Opens the store; `sealer` seals secret values before they are
    /// written (and opens them when an entry is delivered).
    pub fn open(location: &Location, sealer: crate::seal::Sealer) -> Result<Store, StoreError> {
        Ok(Store { db: Database::open(location, &MIGRATIONS)?, sealer })
    }

    /// A change's spec as the outbox keeps it: JSON, every secret value
    /// sealed for its deployment and variable and written as an object,
    /// `{"sealed": "..."}`, where the wire type has a string. A replica
    /// of an older astro-api sharing the database (a rolling upgrade)
    /// cannot decode such an entry: it fails to claim it and leaves it to
    /// a replica that can, instead of sending the sealed text to Harmony
    /// as the secret's value.
    fn stored_spec(&self, change: &Outgoing) -> Result<Option<String>, StoreError> {
        let Op::Put(spec) = &change.op else { return Ok(None) };
        let mut stored = serde_json::to_value(&**spec)?;
        // `get_mut`, not indexing: indexing would insert a null where the
        // wire type leaves an empty list out.
        if let Some(vars) = stored.get_mut("environment_variables").and_then(|v| v.as_array_mut()) {
            for var in vars.iter_mut().filter(|v| v["is_secret"] == true) {
                let (Some(key), Some(value)) = (var["key"].as_str(), var["value"].as_str()) else {
                    continue;
                };
                let sealed = self.sealer.seal(change.deployment_id, key, value);
                var["value"] = serde_json::json!({ "sealed": sealed });
            }
        }
        Ok(Some(serde_json::to_string(&stored)?))
    }

    /// The spec [`Store::stored_spec`] wrote, secret values opened. A
    /// plain string value was queued by an astro-api that did not seal.
    fn spec_of(&self, deployment_id: Uuid, text: &str) -> Result<h::DeploymentSpec, StoreError> {
        let mut stored: serde_json::Value = serde_json::from_str(text)?;
        // `get_mut`, not indexing: indexing would insert a null where the
        // wire type leaves an empty list out.
        if let Some(vars) = stored.get_mut("environment_variables").and_then(|v| v.as_array_mut()) {
            for var in vars.iter_mut() {
                let (Some(key), Some(sealed)) =
                    (var["key"].as_str(), var["value"]["sealed"].as_str())
                else {
                    continue;
                };
                let opened = self.sealer.open(deployment_id, key, sealed)?;
                var["value"] = serde_json::Value::String(opened);
            }
        }
        Ok(serde_json::from_value(stored)?)
    }

    pub fn backend(&self) -> sql_store::Backend {
        self.db.backend()
    }

    /// Inserts a new deployment, recording the Harmony cell it lives in,
    /// with its outbox entry: both or neither.
    pub async fn insert(
        &self,
        d: &Deployment,
        cell: &str,
        change: Outgoing,
    ) -> Result<Enqueued, StoreError> {
        let (record, d, cell) = (serde_json::to_string(d)?, d.clone(), cell.to_owned());
        let spec = self.stored_spec(&change)?;
        self.db
            .write_async(move |tx| {
                tx.execute(
                    "INSERT INTO deployments
                         (id, organization_id, workspace_id, name, generation, record, cell)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    &[
                        &d.id.to_string(),
                        &d.organization_id,
                        &d.workspace_id,
                        &d.name,
                        &(d.generation as i64),
                        &record,
                        &cell,
                    ],
                )
                .map_err(constraint_to_name_taken)?;
                enqueue(tx, change, spec)
            })
            .await
    }

    /// Replaces a deployment if it is still at `expected_generation`, with
    /// its outbox entry; `None` when someone else changed it first.
    pub async fn update(
        &self,
        d: &Deployment,
        expected_generation: u64,
        change: Outgoing,
    ) -> Result<Option<Enqueued>, StoreError> {
        let (record, d) = (serde_json::to_string(d)?, d.clone());
        let spec = self.stored_spec(&change)?;
        self.db
            .write_async(move |tx| {
                let n = tx
                    .execute(
                        "UPDATE deployments SET name = ?3, generation = ?4, record = ?5
                         WHERE id = ?1 AND organization_id = ?2 AND generation = ?6",
                        &[
                            &d.id.to_string(),
                            &d.organization_id,
                            &d.name,
                            &(d.generation as i64),
                            &record,
                            &(expected_generation as i64),
                        ],
                    )
                    .map_err(constraint_to_name_taken)?;
                if n != 1 {
                    return Ok(None);
                }
                enqueue(tx, change, spec).map(Some)
            })
            .await
    }

    /// The (cell, data plane) pairs an organization's deployments run on.
    pub fn data_planes_of(
        &self,
        organization_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = self.db.read(|tx| {
            tx.query(
                "SELECT cell, record FROM deployments WHERE organization_id = ?1",
                &[&organization_id],
            )
        })?;
        let mut pairs = std::collections::BTreeSet::new();
        for r in &rows {
            let d: Deployment = serde_json::from_str(&r.get::<String>(1)?)?;
            pairs.insert((r.get::<String>(0)?, d.data_plane_id));
        }
        Ok(pairs.into_iter().collect())
    }

    /// A deployment, the Harmony cell it lives in and its delivery.
    pub fn get(&self, organization_id: &str, id: Uuid) -> Result<Option<Row>, StoreError> {
        self.db
            .read(|tx| {
                tx.query_opt(
                    &format!(
                        "SELECT {ROW_COLUMNS} FROM deployments
                         WHERE id = ?1 AND organization_id = ?2"
                    ),
                    &[&id.to_string(), &organization_id],
                )
            })?
            .as_ref()
            .map(decode)
            .transpose()
    }

    /// Whether another deployment of the workspace already has `name`.
    pub fn name_taken(
        &self,
        organization_id: &str,
        workspace_id: &str,
        name: &str,
        except: Option<Uuid>,
    ) -> Result<bool, StoreError> {
        let except = except.map(|id| id.to_string()).unwrap_or_default();
        Ok(self
            .db
            .read(|tx| {
                tx.query_opt(
                    "SELECT 1 FROM deployments
                     WHERE organization_id = ?1 AND workspace_id = ?2 AND name = ?3 AND id != ?4",
                    &[&organization_id, &workspace_id, &name, &except],
                )
            })?
            .is_some())
    }

    pub fn list(
        &self,
        organization_id: &str,
        workspace_id: Option<&str>,
        name: Option<&str>,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        self.db
            .read(|tx| {
                tx.query(
                    &format!(
                        "SELECT {ROW_COLUMNS} FROM deployments
                         WHERE organization_id = ?1
                           AND (CAST(?2 AS TEXT) IS NULL OR workspace_id = ?2) AND id > ?3
                           AND (CAST(?5 AS TEXT) IS NULL OR name = ?5)
                         ORDER BY id LIMIT ?4"
                    ),
                    &[&organization_id, &workspace_id, &after, &(limit as i64), &name],
                )
            })?
            .iter()
            .map(decode)
            .collect()
    }

    /// Deletes a deployment and queues its deletion at Harmony; `None` (and
    /// nothing queued) when there was no such deployment.
    pub async fn delete(
        &self,
        organization_id: &str,
        id: Uuid,
        change: Outgoing,
    ) -> Result<Option<Enqueued>, StoreError> {
        let organization_id = organization_id.to_owned();
        let spec = self.stored_spec(&change)?;
        self.db
            .write_async(move |tx| {
                let n = tx.execute(
                    "DELETE FROM deployments WHERE id = ?1 AND organization_id = ?2",
                    &[&id.to_string(), &organization_id],
                )?;
                if n != 1 {
                    return Ok(None);
                }
                enqueue(tx, change, spec).map(Some)
            })
            .await
    }
}

/// Placements: where a data plane (or a region's shared one) was last found.
impl Store {
    /// Records that `key` was found as `plane`.
    pub fn remember_placement(
        &self,
        key: &str,
        plane: &crate::harmony::Plane,
    ) -> Result<(), StoreError> {
        let (key, cell, id, owner, now) = (
            key.to_owned(),
            plane.cell.clone(),
            plane.id.clone(),
            plane.owner.clone(),
            sql_store::now(),
        );
        let kind = kind_name(plane.kind);
        self.db.write(move |tx| {
            tx.execute(
                "INSERT INTO placements (key, cell, data_plane_id, kind, seen_at, owner)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (key) DO UPDATE SET cell = excluded.cell,
                     data_plane_id = excluded.data_plane_id, kind = excluded.kind,
                     seen_at = excluded.seen_at, owner = excluded.owner",
                &[&key, &cell, &id, &kind, &now, &owner],
            )?;
            Ok(())
        })
    }

    /// Where `key` was last found. A row written before owners were
    /// recorded has none, so it places nothing by id until a cell is asked
    /// again.
    pub fn placement(&self, key: &str) -> Result<Option<crate::harmony::Plane>, StoreError> {
        let row = self.db.read(|tx| {
            tx.query_opt(
                "SELECT cell, data_plane_id, kind, owner FROM placements WHERE key = ?1",
                &[&key],
            )
        })?;
        row.map(|r| {
            Ok(crate::harmony::Plane {
                cell: r.get(0)?,
                id: r.get(1)?,
                kind: kind_of(&r.get::<String>(2)?),
                owner: r.get(3)?,
            })
        })
        .transpose()
    }
}

/// The outbox, as the delivery worker sees it.
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

    /// What this process's writer has committed (for the metrics).
    pub fn write_counts(&self) -> sql_store::WriteCounts {
        self.db.write_counts()
    }

    /// Reads waiting for a database connection now (for the metrics).
    pub fn readers_waiting(&self) -> usize {
        self.db.readers_waiting()
    }

    /// Read transactions run by this process (for the metrics).
    pub fn read_count(&self) -> u64 {
        self.db.read_count()
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
        Delivery::Refused { seq, deployment_id, error } => {
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

impl Store {
    pub fn insert_deploy(&self, deploy: &Deploy) -> Result<(), StoreError> {
        let (record, deploy) = (serde_json::to_string(deploy)?, deploy.clone());
        self.db.write(move |tx| {
            tx.execute(
                "INSERT INTO deploys (id, deployment_id, organization_id, record)
                 VALUES (?1, ?2, ?3, ?4)",
                &[
                    &deploy.id.to_string(),
                    &deploy.deployment_id.to_string(),
                    &deploy.organization_id,
                    &record,
                ],
            )?;
            Ok(())
        })
    }

    pub fn get_deploy(
        &self,
        organization_id: &str,
        deployment_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Deploy>, StoreError> {
        let row = self.db.read(|tx| {
            tx.query_opt(
                "SELECT record FROM deploys
                 WHERE id = ?1 AND deployment_id = ?2 AND organization_id = ?3",
                &[&id.to_string(), &deployment_id.to_string(), &organization_id],
            )
        })?;
        row.map(|r| Ok(serde_json::from_str(&r.get::<String>(0)?)?)).transpose()
    }

    /// Marks a deploy finalized and stores the deployment it changed, with
    /// the deployment's outbox entry: all or nothing; `None` when the
    /// deployment moved past `expected_generation`.
    pub async fn finalize_deploy(
        &self,
        deploy: &Deploy,
        deployment: &Deployment,
        expected_generation: u64,
        change: Outgoing,
    ) -> Result<Option<Enqueued>, StoreError> {
        let deploy_record = serde_json::to_string(deploy)?;
        let deployment_record = serde_json::to_string(deployment)?;
        let (deploy_id, d) = (deploy.id, deployment.clone());
        let spec = self.stored_spec(&change)?;
        self.db
            .write_async(move |tx| {
                let n = tx.execute(
                    "UPDATE deployments SET generation = ?3, record = ?4
                     WHERE id = ?1 AND organization_id = ?2 AND generation = ?5",
                    &[
                        &d.id.to_string(),
                        &d.organization_id,
                        &(d.generation as i64),
                        &deployment_record,
                        &(expected_generation as i64),
                    ],
                )?;
                if n != 1 {
                    return Ok(None);
                }
                tx.execute(
                    "UPDATE deploys SET record = ?2 WHERE id = ?1",
                    &[&deploy_id.to_string(), &deploy_record],
                )?;
                enqueue(tx, change, spec).map(Some)
            })
            .await
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Owner => "OWNER",
        Role::WorkspaceMember => "WORKSPACE_MEMBER",
        Role::ReadOnly => "READ_ONLY",
    }
}

fn role_of(name: &str) -> Role {
    match name {
        "OWNER" => Role::Owner,
        "WORKSPACE_MEMBER" => Role::WorkspaceMember,
        // The column's CHECK admits nothing else.
        _ => Role::ReadOnly,
    }
}

const TOKEN_COLUMNS: &str =
    "id, organization_id, name, role, workspace_id, expires_at, created_at, secret_sha256";

fn token_row(r: &sql_store::Row) -> Result<(ApiToken, Vec<u8>), StoreError> {
    let id: String = r.get(0)?;
    Ok((
        ApiToken {
            id: id.parse().map_err(|_| StoreError::BadId(id))?,
            organization_id: r.get(1)?,
            name: r.get(2)?,
            role: role_of(&r.get::<String>(3)?),
            workspace_id: r.get(4)?,
            expires_at: r.get(5)?,
            created_at: r.get(6)?,
        },
        r.get(7)?,
    ))
}

const WORKSPACE_COLUMNS: &str = "id, organization_id, name, description, created_at";

fn workspace_row(r: &sql_store::Row) -> Result<Workspace, StoreError> {
    Ok(Workspace {
        id: r.get(0)?,
        organization_id: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        created_at: r.get(4)?,
    })
}

fn insert_workspace(tx: &Tx<'_>, w: &Workspace) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO workspaces (id, organization_id, name, description, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        &[&w.id, &w.organization_id, &w.name, &w.description, &w.created_at],
    )
    .map_err(|e| match constraint_to_name_taken(e) {
        StoreError::NameTaken => StoreError::WorkspaceNameTaken,
        other => other,
    })?;
    Ok(())
}

fn insert_token(tx: &Tx<'_>, t: &ApiToken, secret_sha256: &[u8]) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO api_tokens
             (id, organization_id, name, role, workspace_id, secret_sha256, expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &[
            &t.id.to_string(),
            &t.organization_id,
            &t.name,
            &role_name(t.role),
            &t.workspace_id,
            &secret_sha256,
            &t.expires_at,
            &t.created_at,
        ],
    )?;
    Ok(())
}

/// Tenancy: organizations, workspaces, API tokens.
impl Store {
    /// Creates an organization with its first workspace and owner token;
    /// false (and nothing written) when the organization exists.
    pub fn bootstrap(
        &self,
        organization: &Organization,
        workspace: &Workspace,
        token: &ApiToken,
        secret_sha256: Vec<u8>,
    ) -> Result<bool, StoreError> {
        let (o, w, t) = (organization.clone(), workspace.clone(), token.clone());
        self.db.write(move |tx| {
            let n = tx.execute(
                "INSERT INTO organizations (id, name, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO NOTHING",
                &[&o.id, &o.name, &o.created_at],
            )?;
            if n == 0 {
                return Ok(false);
            }
            insert_workspace(tx, &w)?;
            insert_token(tx, &t, &secret_sha256)?;
            Ok(true)
        })
    }

    pub fn organization(&self, id: &str) -> Result<Option<Organization>, StoreError> {
        let row = self.db.read(|tx| {
            tx.query_opt("SELECT id, name, created_at FROM organizations WHERE id = ?1", &[&id])
        })?;
        row.map(|r| Ok(Organization { id: r.get(0)?, name: r.get(1)?, created_at: r.get(2)? }))
            .transpose()
    }

    pub fn insert_workspace(&self, workspace: &Workspace) -> Result<(), StoreError> {
        let w = workspace.clone();
        self.db.write(move |tx| insert_workspace(tx, &w))
    }

    pub fn workspace(
        &self,
        organization_id: &str,
        id: &str,
    ) -> Result<Option<Workspace>, StoreError> {
        self.db
            .read(|tx| {
                tx.query_opt(
                    &format!(
                        "SELECT {WORKSPACE_COLUMNS} FROM workspaces
                         WHERE id = ?1 AND organization_id = ?2"
                    ),
                    &[&id, &organization_id],
                )
            })?
            .as_ref()
            .map(workspace_row)
            .transpose()
    }

    /// Workspaces of an organization by id (only `only`, when given).
    pub fn workspaces(
        &self,
        organization_id: &str,
        only: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Workspace>, StoreError> {
        self.db
            .read(|tx| {
                tx.query(
                    &format!(
                        "SELECT {WORKSPACE_COLUMNS} FROM workspaces
                         WHERE organization_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR id = ?2)
                           AND id > ?3
                         ORDER BY id LIMIT ?4"
                    ),
                    &[&organization_id, &only, &after.unwrap_or(""), &(limit as i64)],
                )
            })?
            .iter()
            .map(workspace_row)
            .collect()
    }

    pub fn insert_token(&self, token: &ApiToken, secret_sha256: Vec<u8>) -> Result<(), StoreError> {
        let t = token.clone();
        self.db.write(move |tx| insert_token(tx, &t, &secret_sha256))
    }

    /// A token and the SHA-256 of its secret.
    pub fn token(&self, id: Uuid) -> Result<Option<(ApiToken, Vec<u8>)>, StoreError> {
        self.db
            .read(|tx| {
                tx.query_opt(
                    &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = ?1"),
                    &[&id.to_string()],
                )
            })?
            .as_ref()
            .map(token_row)
            .transpose()
    }

    pub fn tokens(
        &self,
        organization_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ApiToken>, StoreError> {
        self.db
            .read(|tx| {
                tx.query(
                    &format!(
                        "SELECT {TOKEN_COLUMNS} FROM api_tokens
                         WHERE organization_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
                    ),
                    &[&organization_id, &after.unwrap_or(""), &(limit as i64)],
                )
            })?
            .iter()
            .map(|r| token_row(r).map(|(t, _)| t))
            .collect()
    }

    pub fn delete_token(&self, organization_id: &str, id: Uuid) -> Result<bool, StoreError> {
        let organization_id = organization_id.to_owned();
        self.db.write(move |tx| {
            Ok(tx.execute(
                "DELETE FROM api_tokens WHERE id = ?1 AND organization_id = ?2",
                &[&id.to_string(), &organization_id],
            )? == 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored spec with a secret: opens back to the spec, holds no value
    /// in clear, and does not decode as the wire type an older astro-api
    /// reads it as (so an older replica never delivers the sealed text).
    #[test]
    fn a_stored_spec_seals_secrets_and_an_older_reader_cannot_take_it() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::Sqlite(dir.path().join("astro.sqlite3"));
        let store = Store::open(&location, crate::seal::Sealer::new([9; 32])).unwrap();
        let spec: h::DeploymentSpec = serde_json::from_value(serde_json::json!({
            "kind": "HYBRID", "organization_id": "o", "workspace_id": "w", "data_plane_id": "p",
            "name": "n", "runtime_version": "13.1.0", "executor": "CELERY",
            "scheduler": {"au": 5, "replicas": 1}, "is_high_availability": false,
            "worker_queues": [], "image_tag": "v1", "generation": 1,
            "environment_variables": [
                {"key": "PLAIN", "value": "visible", "is_secret": false},
                {"key": "TOKEN", "value": "hunter2", "is_secret": true},
            ],
        }))
        .unwrap();
        // Without variables (the wire form leaves the list out): as it was.
        let mut bare = spec.clone();
        bare.environment_variables.clear();
        let outgoing = |spec: &h::DeploymentSpec| Outgoing {
            deployment_id: Uuid::new_v4(),
            cell: "c".into(),
            kind: h::DataPlaneKind::Hybrid,
            generation: 1,
            op: Op::Put(Box::new(spec.clone())),
            request_id: None,
        };
        let none = outgoing(&bare);
        let stored = store.stored_spec(&none).unwrap().unwrap();
        assert_eq!(store.spec_of(none.deployment_id, &stored).unwrap(), bare, "{stored}");
        let change = outgoing(&spec);
        let stored = store.stored_spec(&change).unwrap().unwrap();
        assert!(!stored.contains("hunter2") && stored.contains("visible"), "{stored}");
        assert!(
            serde_json::from_str::<h::DeploymentSpec>(&stored).is_err(),
            "an older reader decodes it"
        );
        assert_eq!(store.spec_of(change.deployment_id, &stored).unwrap(), spec);
        // An entry an older astro-api queued, value in clear, still reads.
        let plain = serde_json::to_string(&spec).unwrap();
        assert_eq!(store.spec_of(change.deployment_id, &plain).unwrap(), spec);
    }
}
