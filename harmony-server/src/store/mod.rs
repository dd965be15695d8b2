//! Harmony's store, on SQLite (a file in the data directory, the default)
//! or PostgreSQL (`--database-url`, shared by several replicas). Only this
//! module and its children write SQL: one file per concern (data planes,
//! deployments, manifest revisions, agents, the plane change log, rollouts,
//! leases), the schema
//! in `migrations.rs`, and how rows are encoded in `codec.rs`. This file
//! holds the [`Store`] and its transactions ([`Tx`]).
//!
//! Built on [`sql_store::Database`]: a write is acknowledged only once its
//! commit is durable (SQLite: WAL with `synchronous=FULL`; PostgreSQL: its
//! WAL), so it survives a crash of the process or the machine; writes are
//! committed in groups, serialized across replicas, and reads use their own
//! connections. Every change is one closure ([`Store::write`]): the deployment
//! row and its new manifest revision are written together or not at all.
//! Calls block; the HTTP layer runs them on tokio's blocking pool.
//!
//! Secret values are sealed at rest ([`crate::crypto::Sealer`]): secret
//! environment variables inside stored specs, and whole Secret objects inside
//! stored manifest sets. Values written before sealing existed are read as
//! they are and sealed at their next write.

mod agents;
mod changes;
mod codec;
mod data_planes;
mod deployments;
mod leases;
mod manifests;
mod migrations;
mod rollouts;
mod stored_spec;
mod usage;

pub use agents::HealthReport;
pub use changes::{HISTORY_REVISIONS, PlaneChange, PlaneLog};
pub use codec::{pack, unpack};
pub use deployments::StoredDeployment;
pub use manifests::RenderedObject;
pub use manifests::StoredManifestSet;
pub use migrations::{MIGRATIONS, contract};
pub use rollouts::{PlaneView, StoredRollout, VIEWS_PER_QUERY};
pub use stored_spec::StoredSpec;
pub use usage::PlaneUsage;

use crate::crypto::SecretKey;
use codec::Codec;
pub use sql_store::Location;
use sql_store::{Database, DbError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("stored record could not be decoded")]
    Decode(#[from] serde_json::Error),
    #[error("stored record is invalid: {0}")]
    Invalid(String),
    #[error(
        "this data directory was written with another secret key; start with the key it was \
         written with (its secret values cannot be read without it)"
    )]
    WrongKey,
}

#[derive(Clone)]
pub struct Store {
    db: Database,
    codec: std::sync::Arc<Codec>,
    /// Long polls waiting on a data plane: woken once a write that moved
    /// the plane's desired revision commits.
    wakeups: std::sync::Arc<crate::wakeups::Wakeups>,
    /// Set once changes are heard from the database (PostgreSQL `LISTEN`):
    /// this process's own changes then arrive that way too, so waking
    /// after commit as well would wake each watcher twice.
    listening: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// A write's own error, or the database's.
enum Wrap<E> {
    Own(E),
    Db(DbError),
}

impl<E> From<DbError> for Wrap<E> {
    fn from(e: DbError) -> Self {
        Wrap::Db(e)
    }
}

impl<E: From<StoreError>> Wrap<E> {
    fn into_error(self) -> E {
        match self {
            Wrap::Own(e) => e,
            Wrap::Db(e) => E::from(StoreError::Db(e)),
        }
    }
}

impl Store {
    /// Whether deployments' contact emails may be stored: every binary that
    /// may use the database reads them (migration `contact-emails`
    /// contracted when this store was opened).
    pub fn holds_contact_emails(&self) -> bool {
        self.codec.contact_emails
    }

    /// Opens (creating if needed) the database and brings its schema up to
    /// date.
    /// Refuses data sealed with another key: better not to start than to
    /// fail every read of a secret later.
    pub fn open(location: &Location, key: &SecretKey) -> Result<Store, StoreError> {
        let db = Database::open(location, &MIGRATIONS)?;
        let fingerprint = key.mac_hex(&[b"harmony/key-fingerprint"]);
        let recorded: String = db.write(move |tx| {
            tx.execute(
                "INSERT INTO meta (name, value) VALUES ('key_fingerprint', ?1)
                 ON CONFLICT (name) DO NOTHING",
                &[&fingerprint],
            )?;
            Ok::<_, StoreError>(
                tx.query_one("SELECT value FROM meta WHERE name = 'key_fingerprint'", &[])?
                    .get(0)?,
            )
        })?;
        if recorded != key.mac_hex(&[b"harmony/key-fingerprint"]) {
            return Err(StoreError::WrongKey);
        }
        let pack = db.schema().everyone_knows("manifest-sets-packed");
        // XChaCha20 seals only once no binary that cannot open them uses
        // the store (crypto.rs).
        let sealer = key.sealer(db.schema().everyone_knows("xchacha-seals"));
        let contact_emails = db.schema().everyone_knows("contact-emails");
        Ok(Store {
            db,
            codec: std::sync::Arc::new(Codec { sealer, pack, contact_emails }),
            wakeups: Default::default(),
            listening: Default::default(),
        })
    }

    /// Runs `f` in a write transaction, kept only if `f` succeeds; returns
    /// once the commit is durable, after waking the watchers of every data
    /// plane whose desired revision it moved (when the database announces
    /// changes, its notification wakes them instead: once, at every replica).
    pub fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T, E> + Send + 'static,
    {
        let codec = self.codec.clone();
        self.committed(self.db.write(move |tx| Tx::run(tx, &codec, f).map_err(Wrap::Own)))
    }

    /// [`Store::write`] for async callers, without a blocking thread.
    pub async fn write_async<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T, E> + Send + 'static,
    {
        let codec = self.codec.clone();
        let written =
            self.db.write_async(move |tx| Tx::run(tx, &codec, f).map_err(Wrap::Own)).await;
        self.committed(written)
    }

    /// [`Store::write_async`] for a write whose loss its caller redoes (an
    /// agent's complete report, repeated every round): committed without
    /// waiting for the disk when no durable write shares its group.
    pub async fn write_redoable_async<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T, E> + Send + 'static,
    {
        let codec = self.codec.clone();
        let written =
            self.db.write_redoable(move |tx| Tx::run(tx, &codec, f).map_err(Wrap::Own)).await;
        self.committed(written)
    }

    /// A write's outcome: its value once the planes it moved are woken.
    fn committed<T, E: From<StoreError>>(
        &self,
        written: Result<(T, Vec<String>), Wrap<E>>,
    ) -> Result<T, E> {
        let (value, moved) = written.map_err(Wrap::into_error)?;
        self.wake(&moved);
        Ok(value)
    }

    fn wake(&self, planes: &[String]) {
        if self.is_listening() {
            return;
        }
        for plane in planes {
            self.wakeups.wake(plane);
        }
    }

    /// Who waits for which data plane's desired state.
    pub fn wakeups(&self) -> &std::sync::Arc<crate::wakeups::Wakeups> {
        &self.wakeups
    }

    pub fn backend(&self) -> sql_store::Backend {
        self.db.backend()
    }

    /// Wakes this process's watchers of a data plane whenever its desired
    /// state changes through any replica sharing this database
    /// (PostgreSQL's `LISTEN`, the plane's id as payload), and every watcher
    /// after each (re)connection of the listener. Nothing on SQLite, where
    /// every change comes through this process ([`Store::is_listening`]
    /// says which).
    pub fn listen_for_changes(&self) {
        let wakeups = self.wakeups.clone();
        let listening = self.db.listen(DESIRED_STATE_CHANNEL, move |plane| match plane {
            Some(plane) => wakeups.wake(plane),
            None => wakeups.wake_all(),
        });
        self.listening.store(listening, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether changes are heard from the database ([`Store::listen_for_changes`]
    /// on PostgreSQL).
    pub fn is_listening(&self) -> bool {
        self.listening.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Read transactions run by this process (for the metrics).
    pub fn read_count(&self) -> u64 {
        self.db.read_count()
    }

    /// What this process's writer has committed (for the metrics).
    pub fn write_counts(&self) -> sql_store::WriteCounts {
        self.db.write_counts()
    }

    /// The longest write wait and group since the last call (the
    /// benchmark's figures).
    pub fn take_longest(&self) -> sql_store::Longest {
        self.db.take_longest()
    }

    /// Reads waiting for a database connection now (for the metrics).
    pub fn readers_waiting(&self) -> usize {
        self.db.readers_waiting()
    }

    /// Runs `f` against a consistent read snapshot.
    pub fn read<T, E>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let moved = std::cell::RefCell::default();
        self.db
            .read(|tx| f(&Tx(tx, &self.codec, &moved)).map_err(Wrap::Own))
            .map_err(Wrap::into_error)
    }
}

/// Statements available inside a transaction, sealing secret values on the
/// way in and opening them on the way out.
pub struct Tx<'a>(
    &'a sql_store::Tx<'a>,
    &'a Codec,
    /// Data planes whose desired revision this write moved.
    &'a std::cell::RefCell<Vec<String>>,
);

impl Tx<'_> {
    /// Runs `f` in `tx`; returns its value and the data planes it moved.
    fn run<T, E>(
        tx: &sql_store::Tx<'_>,
        codec: &Codec,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<(T, Vec<String>), E> {
        let moved = std::cell::RefCell::default();
        let value = f(&Tx(tx, codec, &moved))?;
        Ok((value, moved.into_inner()))
    }
}

/// What a change to any data plane's desired state is announced on (to
/// every replica sharing a PostgreSQL database: `Store::listen_for_changes`).
const DESIRED_STATE_CHANNEL: &str = "harmony_desired";
