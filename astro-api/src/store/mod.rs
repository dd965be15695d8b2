//! astro-api's store, on SQLite (a file in the data directory, the
//! default) or PostgreSQL (`--database-url`). Only this module and its
//! children write SQL: one file per concern (deployments, deploys, the
//! outbox, placements, tenancy), the schema in `migrations.rs`, and how
//! outbox specs are sealed in `codec.rs`. This file holds the [`Store`].
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

mod codec;
mod deployments;
mod deploys;
mod migrations;
mod outbox;
mod placements;
mod tenancy;

pub use deployments::{DeliveryState, Row};
pub use migrations::{MIGRATIONS, contract};
pub use outbox::{
    CLAIM, Claimed, Delivery, Enqueued, Op, OutboxSummary, Outgoing, Queued, claim_until,
};

pub use sql_store::Location;
use sql_store::{Database, DbError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("stored record could not be decoded")]
    Decode(#[from] serde_json::Error),
    #[error("the name is already used in this workspace")]
    NameTaken,
    #[error("a workspace of this organization already has the name")]
    WorkspaceNameTaken,
    #[error("the organization's last owner token that does not expire cannot be revoked")]
    LastOwner,
    /// A change a quota refused; nothing of it was written.
    #[error(transparent)]
    Quota(#[from] crate::quota::Exceeded),
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("stored id {0:?} is not a UUID")]
    BadId(String),
    #[error(transparent)]
    Sealed(#[from] crate::seal::Unopenable),
    #[error(transparent)]
    Panicked(#[from] sql_store::Panicked),
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
    /// The outbox's claims and queue times, placements' times.
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    /// What a change is held to ([`crate::quota`]), inside its write.
    quotas: crate::quota::Quotas,
    /// Changes refused by each quota (for the metrics).
    quota_refusals: QuotaRefusals,
    /// Whether every binary on the database reads a record's
    /// `contact_emails` (migration `contact-emails` contracted).
    contact_emails: bool,
}

/// Refusals by quota, as the metrics count them.
pub type QuotaRefusals = prometheus_client::metrics::family::Family<
    QuotaLabels,
    prometheus_client::metrics::counter::Counter,
>;

/// Labels of [`QuotaRefusals`]: one of [`crate::quota::Quota::name`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct QuotaLabels {
    pub quota: &'static str,
}

impl Store {
    /// Opens the store; `sealer` seals secret values before they are
    /// written (and opens them when an entry is delivered).
    pub fn open(location: &Location, sealer: crate::seal::Sealer) -> Result<Store, StoreError> {
        let db = Database::open(location, &MIGRATIONS)?;
        let contact_emails = db.schema().everyone_knows("contact-emails");
        let store = Store {
            db,
            contact_emails,
            sealer,
            clock: std::sync::Arc::new(crate::clock::SystemClock),
            quotas: crate::quota::Quotas::default(),
            quota_refusals: QuotaRefusals::default(),
        };
        store.recount_deployments()?;
        Ok(store)
    }

    /// Whether a deployment's record may hold contact emails: every binary
    /// using the database reads them (after `astro-api contract-schema`).
    pub fn holds_contact_emails(&self) -> bool {
        self.contact_emails
    }

    /// The store holding changes to `quotas` instead of the defaults.
    pub fn with_quotas(mut self, quotas: crate::quota::Quotas) -> Store {
        self.quotas = quotas;
        self
    }

    pub fn quotas(&self) -> crate::quota::Quotas {
        self.quotas
    }

    /// Changes refused by each quota so far.
    pub fn quota_refusals(&self) -> QuotaRefusals {
        self.quota_refusals.clone()
    }

    /// `result`, counting a quota's refusal on the way.
    fn counted<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(StoreError::Quota(refused)) = &result {
            self.count_quota_refusal(refused);
        }
        result
    }

    /// Counts a change `refused` by a quota (astro-api's, or a data
    /// plane's at Harmony).
    pub fn count_quota_refusal(&self, refused: &crate::quota::Exceeded) {
        self.quota_refusals.get_or_create(&QuotaLabels { quota: refused.quota.name() }).inc();
    }

    /// The store on another clock (the application's, [`crate::clock`]).
    pub fn with_clock(mut self, clock: std::sync::Arc<dyn crate::clock::Clock>) -> Store {
        self.clock = clock;
        self
    }

    pub fn backend(&self) -> sql_store::Backend {
        self.db.backend()
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
}
