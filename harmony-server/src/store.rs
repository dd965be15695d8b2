//! Harmony's store, on SQLite (a file in the data directory, the default)
//! or PostgreSQL (`--database-url`, shared by several replicas). Only this
//! module writes SQL.
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

use crate::crypto::{Sealer, SecretKey};
use crate::render::RenderedObject;
use chrono::{DateTime, Utc};
use harmony_api::latest::{
    DataPlane, DataPlaneKind, DataPlaneRegistration, DataPlaneStatus, DeploymentSpec,
    ManifestObject,
};
pub use sql_store::Location;
use sql_store::{Database, DbError, Migrations, Row, Step, step};
use std::collections::BTreeMap;
use uuid::Uuid;

use crate::stored::StoredSpec;

/// Schema migrations per backend, applied in order. Append only: a
/// released migration never changes.
pub const MIGRATIONS: Migrations =
    Migrations { store: "harmony", sqlite: SQLITE_MIGRATIONS, postgres: POSTGRES_MIGRATIONS };

/// Each a file under `migrations/`; its first line says whether binaries
/// that predate it keep working after it ran (see `sql_store::Step`).
const SQLITE_MIGRATIONS: &[Step] = &[
    step!("sqlite/0001-initial.sql"),
    step!("sqlite/0002-meta.sql"),
    step!("sqlite/0003-agents.sql"),
    step!("sqlite/0004-rollouts.sql"),
    step!("sqlite/0005-leases.sql"),
    step!("sqlite/0006-manifest-sets-packed.sql"),
    step!("sqlite/0007-xchacha-seals.sql"),
    step!("sqlite/0008-agent-observes.sql"),
];

/// The same schema on PostgreSQL, which started at SQLite's migration
/// 5 (its first file creates what SQLite's first 5 did).
const POSTGRES_MIGRATIONS: &[Step] = &[
    step!("postgres/0005-initial.sql"),
    step!("postgres/0006-manifest-sets-packed.sql"),
    step!("postgres/0007-xchacha-seals.sql"),
    step!("postgres/0008-agent-observes.sql"),
];

/// Raises the database's floor to every migration this binary knows (the
/// contract step, `sql_store::contract`).
pub fn contract(location: &Location) -> Result<(usize, usize), DbError> {
    sql_store::contract(location, &MIGRATIONS)
}

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

/// Data planes [`Tx::plane_rollout_views`] asks for in one query (well
/// under SQLite's 32,766 parameters).
pub const VIEWS_PER_QUERY: usize = 500;

/// A data plane as a rollout sees it (see [`Tx::plane_rollout_view`]).
#[derive(Clone, Debug)]
pub struct PlaneView {
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub applied: u64,
    pub release_revision: u64,
    /// Per deployment on it: its last reported health and when.
    pub health: Vec<(Option<String>, Option<DateTime<Utc>>)>,
}

/// An agent's last report on a deployment.
#[derive(Clone, Debug)]
pub struct HealthReport {
    /// The manifest revision it reported on.
    pub revision: u64,
    /// HEALTHY, UNHEALTHY or UNKNOWN, as the agent said.
    pub health: String,
    pub message: Option<String>,
    pub at: DateTime<Utc>,
}

/// A deployment as stored, secret values included.
#[derive(Clone, Debug)]
pub struct StoredDeployment {
    pub id: Uuid,
    pub spec: DeploymentSpec,
    pub input_hash: String,
    pub revision: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One stored manifest revision.
#[derive(Clone, Debug)]
pub struct StoredManifestSet {
    pub deployment_id: Uuid,
    pub revision: u64,
    pub generation: u64,
    pub platform_release: String,
    pub input_hash: String,
    pub objects: Vec<RenderedObject>,
    pub created_at: DateTime<Utc>,
}

/// A Secret object's body at rest.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SealedBody {
    sealed: String,
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

/// How rows are encoded: secrets sealed with the key, and manifest sets
/// packed once every binary on the database reads packed sets.
struct Codec {
    sealer: Sealer,
    /// Whether to write manifest sets packed (LZ4): only after the schema
    /// was contracted past `manifest-sets-packed`, since binaries from
    /// before it read only `objects`. Every binary since reads both.
    pack: bool,
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
        Ok(Store {
            db,
            codec: std::sync::Arc::new(Codec { sealer, pack }),
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

/// Where a secret environment variable's sealed value belongs.
fn env_context(deployment: &str, key: &str) -> Vec<u8> {
    format!("deployment/{deployment}/env/{key}").into_bytes()
}

/// Where a sealed Secret object belongs.
fn object_context(deployment: &str, revision: u64, name: &str) -> Vec<u8> {
    format!("deployment/{deployment}/revision/{revision}/secret/{name}").into_bytes()
}

impl Tx<'_> {
    /// A spec as stored: the store's own type ([`StoredSpec`]), secret
    /// values sealed.
    fn sealed_spec(&self, id: &str, spec: &DeploymentSpec) -> Result<String, StoreError> {
        let mut spec = StoredSpec::from(spec.clone());
        let generation = spec.generation;
        for var in spec.environment_variables.iter_mut().filter(|v| v.is_secret) {
            if let Some(value) = &var.value {
                var.value = Some(self.1.sealer.seal(value, &env_context(id, &var.key), generation));
            }
        }
        Ok(serde_json::to_string(&spec)?)
    }

    fn opened_spec(&self, id: &str, text: &str) -> Result<DeploymentSpec, StoreError> {
        let mut spec: StoredSpec = serde_json::from_str(text)?;
        let generation = spec.generation;
        for var in spec.environment_variables.iter_mut().filter(|v| v.is_secret) {
            if let Some(value) = &var.value {
                var.value = Some(
                    self.1
                        .sealer
                        .open(value, &env_context(id, &var.key), generation)
                        .map_err(|e| StoreError::Invalid(format!("{} ({})", e, var.key)))?,
                );
            }
        }
        Ok(spec.into())
    }

    /// Objects as stored: each Secret's body sealed whole.
    fn sealed_objects(&self, set: &StoredManifestSet) -> Result<String, StoreError> {
        /// A [`RenderedObject`] as written, borrowing what is not sealed.
        #[derive(serde::Serialize)]
        struct Written<'a> {
            meta: &'a ManifestObject,
            body: std::borrow::Cow<'a, serde_json::value::RawValue>,
        }
        let id = set.deployment_id.to_string();
        let objects = set
            .objects
            .iter()
            .map(|o| {
                let body = match o.meta.kind == "Secret" {
                    false => std::borrow::Cow::Borrowed(&*o.body),
                    true => {
                        let context = object_context(&id, set.revision, &o.meta.name);
                        let sealed = SealedBody {
                            sealed: self.1.sealer.seal(o.body.get(), &context, set.revision),
                        };
                        std::borrow::Cow::Owned(serde_json::value::to_raw_value(&sealed)?)
                    }
                };
                Ok(Written { meta: &o.meta, body })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(serde_json::to_string(&objects)?)
    }

    fn opened_objects(
        &self,
        deployment_id: Uuid,
        revision: u64,
        text: &str,
    ) -> Result<Vec<RenderedObject>, StoreError> {
        let mut objects: Vec<RenderedObject> = serde_json::from_str(text)?;
        let id = deployment_id.to_string();
        for o in objects.iter_mut().filter(|o| o.meta.kind == "Secret") {
            // Every Secret is stored sealed: a plain body is refused, never
            // served as a Secret.
            let SealedBody { sealed } = serde_json::from_str(o.body.get()).map_err(|_| {
                StoreError::Invalid(format!("Secret {} is stored without a seal", o.meta.name))
            })?;
            let context = object_context(&id, revision, &o.meta.name);
            let plain = self
                .1
                .sealer
                .open(&sealed, &context, revision)
                .map_err(|e| StoreError::Invalid(format!("{e} (Secret {})", o.meta.name)))?;
            o.body = serde_json::value::RawValue::from_string(plain)?;
        }
        Ok(objects)
    }
}

/// A manifest set's stored JSON, compressed (LZ4 block, its length first):
/// a set is tens of KB of JSON that compresses about sevenfold, and every
/// byte stored is written twice (the log, then the database file).
/// Sealed Secret bodies are ciphertext and do not compress; the rest does.
pub fn pack(text: &str) -> Vec<u8> {
    lz4_flex::block::compress_prepend_size(text.as_bytes())
}

/// Most a packed set may claim to expand to: a corrupt length must not
/// make a read allocate gigabytes.
const MAX_UNPACKED: usize = 64 << 20;

/// The JSON of a packed manifest set.
pub fn unpack(packed: &[u8]) -> Result<String, StoreError> {
    let bad = |why: String| StoreError::Invalid(format!("a stored manifest set is damaged: {why}"));
    let claimed = packed
        .first_chunk::<4>()
        .map(|len| u32::from_le_bytes(*len) as usize)
        .ok_or_else(|| bad("shorter than its length".to_owned()))?;
    if claimed > MAX_UNPACKED {
        return Err(bad(format!("claims {claimed} bytes")));
    }
    let bytes =
        lz4_flex::block::decompress_size_prepended(packed).map_err(|e| bad(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| bad(e.to_string()))
}

fn kind_str(kind: DataPlaneKind) -> &'static str {
    match kind {
        DataPlaneKind::Hosted => "HOSTED",
        DataPlaneKind::Hybrid => "HYBRID",
    }
}

fn enum_from_str<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    Ok(serde_json::from_value(serde_json::Value::String(s.to_owned()))?)
}

fn enum_to_str<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    match serde_json::to_value(value)? {
        serde_json::Value::String(s) => Ok(s),
        other => Err(StoreError::Invalid(format!("{other} is not a string enum"))),
    }
}

/// What a change to any data plane's desired state is announced on (to
/// every replica sharing a PostgreSQL database: `Store::listen_for_changes`).
const DESIRED_STATE_CHANNEL: &str = "harmony_desired";

impl Tx<'_> {
    pub fn upsert_data_plane(
        &self,
        id: &str,
        registration: &DataPlaneRegistration,
        now: DateTime<Utc>,
    ) -> Result<DataPlane, StoreError> {
        self.0.execute(
            "INSERT INTO data_planes
                 (id, kind, registration, status, last_heartbeat, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?5)
             ON CONFLICT (id) DO UPDATE SET
                 kind = excluded.kind,
                 registration = excluded.registration,
                 status = excluded.status,
                 last_heartbeat = excluded.last_heartbeat,
                 updated_at = excluded.updated_at",
            &[
                &id,
                &kind_str(registration.kind),
                &serde_json::to_string(registration)?,
                &enum_to_str(&DataPlaneStatus::Ready)?,
                &now,
            ],
        )?;
        self.data_plane(id)?.ok_or_else(|| StoreError::Invalid(format!("data plane {id} vanished")))
    }

    pub fn data_plane(&self, id: &str) -> Result<Option<DataPlane>, StoreError> {
        self.0
            .query_opt(
                "SELECT id, registration, status, last_heartbeat, created_at, updated_at
                 FROM data_planes WHERE id = ?1",
                &[&id],
            )?
            .map(|row| data_plane_of(&row))
            .transpose()
    }

    /// Data planes whose agent said, in its last report, that it cannot
    /// observe workloads' health.
    pub fn planes_blind_to_health(&self) -> Result<std::collections::BTreeSet<String>, StoreError> {
        self.0
            .query("SELECT id FROM data_planes WHERE NOT observes_health", &[])?
            .iter()
            .map(|r| Ok(r.get(0)?))
            .collect()
    }

    pub fn data_planes_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DataPlane>, StoreError> {
        self.0
            .query(
                "SELECT id, registration, status, last_heartbeat, created_at, updated_at
                 FROM data_planes WHERE id > ?1 ORDER BY id LIMIT ?2",
                &[&after.unwrap_or(""), &(limit as i64)],
            )?
            .iter()
            .map(data_plane_of)
            .collect()
    }

    pub fn deployment(&self, id: Uuid) -> Result<Option<StoredDeployment>, StoreError> {
        self.0
            .query_opt(
                "SELECT id, spec, input_hash, revision, created_at, updated_at
                 FROM deployments WHERE id = ?1",
                &[&id.to_string()],
            )?
            .map(|row| self.stored_deployment(&row))
            .transpose()
    }

    pub fn deployments_after(
        &self,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredDeployment>, StoreError> {
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        self.0
            .query(
                "SELECT id, spec, input_hash, revision, created_at, updated_at
                 FROM deployments WHERE id > ?1 ORDER BY id LIMIT ?2",
                &[&after, &(limit as i64)],
            )?
            .iter()
            .map(|row| self.stored_deployment(row))
            .collect()
    }

    /// Inserts or replaces a deployment row.
    pub fn put_deployment(&self, d: &StoredDeployment) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT INTO deployments
                 (id, generation, spec, input_hash, revision, created_at, updated_at,
                  data_plane_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (id) DO UPDATE SET
                 generation = excluded.generation,
                 spec = excluded.spec,
                 input_hash = excluded.input_hash,
                 revision = excluded.revision,
                 updated_at = excluded.updated_at",
            &[
                &d.id.to_string(),
                &(d.spec.generation as i64),
                &self.sealed_spec(&d.id.to_string(), &d.spec)?,
                &d.input_hash,
                &(d.revision as i64),
                &d.created_at,
                &d.updated_at,
                &d.spec.data_plane_id,
            ],
        )?;
        Ok(())
    }

    /// Moves a data plane's desired revision forward; returns the new one.
    pub fn bump_desired_revision(&self, data_plane_id: &str) -> Result<u64, StoreError> {
        let revision = self
            .0
            .query_one(
                "UPDATE data_planes SET desired_revision = desired_revision + 1 WHERE id = ?1
                 RETURNING desired_revision",
                &[&data_plane_id],
            )?
            .get(0)?;
        // The plane's waiting agents, at every replica, look again once
        // this commits.
        self.0.notify(DESIRED_STATE_CHANNEL, data_plane_id)?;
        self.2.borrow_mut().push(data_plane_id.to_owned());
        Ok(revision)
    }

    /// Gives a data plane another platform release (its deployments must be
    /// re-rendered by the caller in the same transaction).
    pub fn set_plane_release(&self, data_plane_id: &str, release: &str) -> Result<(), StoreError> {
        let Some(row) = self
            .0
            .query_opt("SELECT registration FROM data_planes WHERE id = ?1", &[&data_plane_id])?
        else {
            return Ok(());
        };
        let mut registration: DataPlaneRegistration = serde_json::from_str(&row.get::<String>(0)?)?;
        registration.platform_release = release.to_owned();
        self.0.execute(
            "UPDATE data_planes SET registration = ?2 WHERE id = ?1",
            &[&data_plane_id, &serde_json::to_string(&registration)?],
        )?;
        Ok(())
    }

    /// Records the desired revision at which a data plane's release was
    /// handed out.
    pub fn set_release_revision(
        &self,
        data_plane_id: &str,
        revision: u64,
    ) -> Result<(), StoreError> {
        self.0.execute(
            "UPDATE data_planes SET release_revision = ?2 WHERE id = ?1",
            &[&data_plane_id, &(revision as i64)],
        )?;
        Ok(())
    }

    /// What a rollout needs to see of a data plane: its last heartbeat, the
    /// revision its agent applied, the revision its release was handed out
    /// at, and its deployments' health reports (health, reported at).
    pub fn plane_rollout_view(&self, data_plane_id: &str) -> Result<Option<PlaneView>, StoreError> {
        Ok(self.plane_rollout_views(&[data_plane_id])?.remove(data_plane_id))
    }

    /// [`Tx::plane_rollout_view`] of many data planes, two queries per
    /// [`VIEWS_PER_QUERY`] of them instead of two each (a rollout's gates
    /// look at a whole wave in one transaction). Unknown ids are left out.
    pub fn plane_rollout_views(
        &self,
        ids: &[&str],
    ) -> Result<BTreeMap<String, PlaneView>, StoreError> {
        let mut views = BTreeMap::new();
        for chunk in ids.chunks(VIEWS_PER_QUERY) {
            let list = (1..=chunk.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
            let params: Vec<&dyn sql_store::ToValue> =
                chunk.iter().map(|id| id as &dyn sql_store::ToValue).collect();
            for row in self.0.query(
                &format!(
                    "SELECT id, last_heartbeat, applied_revision, release_revision
                     FROM data_planes WHERE id IN ({list})"
                ),
                &params,
            )? {
                views.insert(
                    row.get::<String>(0)?,
                    PlaneView {
                        last_heartbeat: row.get(1)?,
                        applied: row.get(2)?,
                        release_revision: row.get(3)?,
                        health: Vec::new(),
                    },
                );
            }
            for row in self.0.query(
                &format!(
                    // A report about an older revision says nothing about this one.
                    "SELECT d.data_plane_id,
                            CASE WHEN h.manifest_revision = d.revision THEN h.health END,
                            h.reported_at
                     FROM deployments d LEFT JOIN deployment_health h ON h.deployment_id = d.id
                     WHERE d.data_plane_id IN ({list})"
                ),
                &params,
            )? {
                if let Some(view) = views.get_mut(&row.get::<String>(0)?) {
                    view.health.push((row.get(1)?, row.get(2)?));
                }
            }
        }
        Ok(views)
    }

    pub fn platform_release(
        &self,
        version: &str,
    ) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        self.0
            .query_opt(
                "SELECT body, created_at FROM platform_releases WHERE version = ?1",
                &[&version],
            )?
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .transpose()
    }

    pub fn insert_platform_release(
        &self,
        version: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT INTO platform_releases (version, body, created_at) VALUES (?1, ?2, ?3)",
            &[&version, &body, &now],
        )?;
        Ok(())
    }

    pub fn platform_releases(&self) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        self.0
            .query("SELECT body, created_at FROM platform_releases ORDER BY version", &[])?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect()
    }

    /// Inserts or rewrites a rollout's state.
    pub fn put_rollout(&self, rollout: &crate::rollout::Rollout) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT INTO rollouts (id, state, body, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET
                 state = excluded.state, body = excluded.body, updated_at = excluded.updated_at",
            &[
                &rollout.id.to_string(),
                &enum_to_str(&rollout.state)?,
                &serde_json::to_string(rollout)?,
                &rollout.created_at,
                &rollout.updated_at,
            ],
        )?;
        Ok(())
    }

    pub fn rollout(&self, id: Uuid) -> Result<Option<crate::rollout::Rollout>, StoreError> {
        self.0
            .query_opt("SELECT body FROM rollouts WHERE id = ?1", &[&id.to_string()])?
            .map(|r| Ok(serde_json::from_str(&r.get::<String>(0)?)?))
            .transpose()
    }

    /// The newest rollout when it was stopped (aborted or rolled back):
    /// only it can still be giving data planes back, as a rollout is refused
    /// while another runs or restores. Its state is read first, so a tick
    /// after a rollout that succeeded reads no body.
    pub fn stopped_rollout(&self) -> Result<Option<crate::rollout::Rollout>, StoreError> {
        let newest = self.0.query_opt(
            "SELECT id, state FROM rollouts ORDER BY created_at DESC, id LIMIT 1",
            &[],
        )?;
        let Some(row) = newest else { return Ok(None) };
        if !matches!(row.get::<String>(1)?.as_str(), "ABORTED" | "ROLLED_BACK") {
            return Ok(None);
        }
        let id: String = row.get(0)?;
        self.0
            .query_opt("SELECT body FROM rollouts WHERE id = ?1", &[&id])?
            .map(|r| Ok(serde_json::from_str(&r.get::<String>(0)?)?))
            .transpose()
    }

    /// Rollouts, newest first; only those still running when `active`.
    pub fn rollouts(&self, active: bool) -> Result<Vec<crate::rollout::Rollout>, StoreError> {
        let sql = if active {
            "SELECT body FROM rollouts
             WHERE state NOT IN ('SUCCEEDED', 'ABORTED', 'ROLLED_BACK')
             ORDER BY created_at DESC, id"
        } else {
            "SELECT body FROM rollouts ORDER BY created_at DESC, id"
        };
        self.0
            .query(sql, &[])?
            .iter()
            .map(|r| Ok(serde_json::from_str(&r.get::<String>(0)?)?))
            .collect()
    }

    /// A data plane's desired and applied revisions.
    pub fn plane_revisions(&self, data_plane_id: &str) -> Result<Option<(u64, u64)>, StoreError> {
        self.0
            .query_opt(
                "SELECT desired_revision, applied_revision FROM data_planes WHERE id = ?1",
                &[&data_plane_id],
            )?
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .transpose()
    }

    /// Every deployment on a data plane, secrets opened.
    pub fn deployments_on(&self, data_plane_id: &str) -> Result<Vec<StoredDeployment>, StoreError> {
        self.0
            .query(
                "SELECT id, spec, input_hash, revision, created_at, updated_at
                 FROM deployments WHERE data_plane_id = ?1 ORDER BY id",
                &[&data_plane_id],
            )?
            .iter()
            .map(|row| self.stored_deployment(row))
            .collect()
    }

    /// Replaces a data plane's agent credential (only its digest is kept).
    pub fn put_agent_credential(
        &self,
        data_plane_id: &str,
        secret_sha256: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT INTO agent_credentials (data_plane_id, secret_sha256, created_at)
             VALUES (?1, ?2, ?3)
             ON CONFLICT (data_plane_id) DO UPDATE SET
                 secret_sha256 = excluded.secret_sha256, created_at = excluded.created_at",
            &[&data_plane_id, &secret_sha256, &now],
        )?;
        Ok(())
    }

    pub fn agent_credential(&self, data_plane_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0
            .query_opt(
                "SELECT secret_sha256 FROM agent_credentials WHERE data_plane_id = ?1",
                &[&data_plane_id],
            )?
            .map(|r| Ok(r.get(0)?))
            .transpose()
    }

    /// An agent's report: the applied revision, a heartbeat, what the agent
    /// can observe (`observes_health`, `None`: it did not say), and each
    /// deployment's health (reports for deployments no longer on the data
    /// plane are dropped).
    pub fn record_agent_status(
        &self,
        data_plane_id: &str,
        applied_revision: u64,
        reports: &[(Uuid, u64, String, Option<String>)],
        observes_health: Option<bool>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.0.execute(
            "UPDATE data_planes
             SET applied_revision = ?2, last_heartbeat = ?3, status = 'READY',
                 observes_health = ?4
             WHERE id = ?1",
            &[&data_plane_id, &(applied_revision as i64), &now, &observes_health],
        )?;
        for (deployment_id, revision, health, message) in reports {
            let id = deployment_id.to_string();
            let on_plane = self
                .0
                .query_opt(
                    "SELECT 1 FROM deployments WHERE id = ?1 AND data_plane_id = ?2",
                    &[&id, &data_plane_id],
                )?
                .is_some();
            if !on_plane {
                continue;
            }
            self.0.execute(
                "INSERT INTO deployment_health
                     (deployment_id, data_plane_id, manifest_revision, health, message,
                      reported_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (deployment_id) DO UPDATE SET
                     manifest_revision = excluded.manifest_revision,
                     health = excluded.health, message = excluded.message,
                     reported_at = excluded.reported_at",
                &[&id, &data_plane_id, &(*revision as i64), health, message, &now],
            )?;
        }
        Ok(())
    }

    /// The last health report of a deployment.
    pub fn deployment_report(
        &self,
        deployment_id: Uuid,
    ) -> Result<Option<HealthReport>, StoreError> {
        self.0
            .query_opt(
                "SELECT manifest_revision, health, message, reported_at FROM deployment_health
                 WHERE deployment_id = ?1",
                &[&deployment_id.to_string()],
            )?
            .map(|r| {
                Ok(HealthReport {
                    revision: r.get(0)?,
                    health: r.get(1)?,
                    message: r.get(2)?,
                    at: r.get(3)?,
                })
            })
            .transpose()
    }

    /// Deletes a deployment and its revisions; false when there was none.
    pub fn delete_deployment(&self, id: Uuid) -> Result<bool, StoreError> {
        Ok(self.0.execute("DELETE FROM deployments WHERE id = ?1", &[&id.to_string()])? > 0)
    }

    /// Writes a new manifest revision. Revisions are immutable: writing an
    /// existing (deployment, revision) pair fails.
    /// The set is written packed only once every binary on the database
    /// reads packed sets ([`Codec::pack`]); as JSON text before.
    pub fn insert_manifest_set(&self, set: &StoredManifestSet) -> Result<(), StoreError> {
        let text = self.sealed_objects(set)?;
        let (objects, packed) = match self.1.pack {
            true => (String::new(), Some(pack(&text))),
            false => (text, None),
        };
        self.0.execute(
            "INSERT INTO manifest_sets
                 (deployment_id, revision, generation, platform_release, input_hash,
                  objects, packed, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            &[
                &set.deployment_id.to_string(),
                &(set.revision as i64),
                &(set.generation as i64),
                &set.platform_release,
                &set.input_hash,
                &objects,
                &packed,
                &set.created_at,
            ],
        )?;
        Ok(())
    }

    pub fn manifest_set(
        &self,
        deployment_id: Uuid,
        revision: u64,
    ) -> Result<Option<StoredManifestSet>, StoreError> {
        let Some(row) = self.0.query_opt(
            "SELECT revision, generation, platform_release, input_hash, objects, created_at,
                    packed
             FROM manifest_sets WHERE deployment_id = ?1 AND revision = ?2",
            &[&deployment_id.to_string(), &(revision as i64)],
        )?
        else {
            return Ok(None);
        };
        let revision: u64 = row.get(0)?;
        let text = match row.get::<Option<Vec<u8>>>(6)? {
            Some(packed) => unpack(&packed)?,
            None => row.get::<String>(4)?,
        };
        Ok(Some(StoredManifestSet {
            deployment_id,
            revision,
            generation: row.get(1)?,
            platform_release: row.get(2)?,
            input_hash: row.get(3)?,
            objects: self.opened_objects(deployment_id, revision, &text)?,
            created_at: row.get(5)?,
        }))
    }

    /// Takes or keeps the lease `name` for `holder` until `until`: true
    /// when `holder` has it (it was free, expired at `now`, or already
    /// `holder`'s). Replicas share background work through leases: one
    /// holder at a time, and a holder that dies is replaced once its lease
    /// expires.
    pub fn claim_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.0.execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?4)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                 expires_at = excluded.expires_at
             WHERE leases.holder = excluded.holder OR leases.expires_at <= ?3",
            &[&name, &holder, &now, &until],
        )?;
        let current: String =
            self.0.query_one("SELECT holder FROM leases WHERE name = ?1", &[&name])?.get(0)?;
        Ok(current == holder)
    }
}

fn data_plane_of(row: &Row) -> Result<DataPlane, StoreError> {
    let DataPlaneRegistration {
        kind,
        cloud_provider,
        region,
        labels,
        kubernetes_version,
        agent_version,
        platform_release,
    } = serde_json::from_str(&row.get::<String>(1)?)?;
    Ok(DataPlane {
        id: row.get(0)?,
        kind,
        cloud_provider,
        region,
        labels,
        kubernetes_version,
        agent_version,
        platform_release,
        status: enum_from_str(&row.get::<String>(2)?)?,
        last_heartbeat: row.get(3)?,
        created_at: row.get(4)?,
        updated_at: row.get(5)?,
    })
}

impl Tx<'_> {
    /// A deployment from `id, spec, input_hash, revision, created_at,
    /// updated_at`, secrets opened.
    fn stored_deployment(&self, row: &Row) -> Result<StoredDeployment, StoreError> {
        let id: String = row.get(0)?;
        Ok(StoredDeployment {
            id: id.parse().map_err(|_| StoreError::Invalid(format!("bad id {id}")))?,
            spec: self.opened_spec(&id, &row.get::<String>(1)?)?,
            input_hash: row.get(2)?,
            revision: row.get(3)?,
            created_at: row.get(4)?,
            updated_at: row.get(5)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_set_unpacks_to_its_text() {
        let text = r#"[{"meta":{"kind":"ConfigMap"},"body":{"data":"ünïcode"}}]"#.repeat(50);
        let packed = pack(&text);
        assert!(packed.len() < text.len() / 5, "{} bytes from {}", packed.len(), text.len());
        assert_eq!(unpack(&packed).unwrap(), text);
    }

    #[test]
    fn a_damaged_set_is_an_error_not_a_panic_or_a_huge_allocation() {
        let packed = pack(&"manifest ".repeat(100));
        let cases: [(&str, Vec<u8>); 4] = [
            ("empty", vec![]),
            ("truncated", packed[..packed.len() / 2].to_vec()),
            ("huge length", [&u32::MAX.to_le_bytes()[..], &packed[4..]].concat()),
            (
                "not UTF-8",
                pack("\u{e9}").iter().map(|b| if *b == 0xc3 { 0xff } else { *b }).collect(),
            ),
        ];
        for (case, bytes) in cases {
            let e = unpack(&bytes).expect_err(case).to_string();
            assert!(e.contains("damaged"), "{case}: {e}");
        }
    }
}
