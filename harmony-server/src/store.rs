//! Harmony's SQLite store. Only this module writes SQL.
//!
//! Built on [`sqlite_store::Database`]: WAL with `synchronous=FULL`, so an
//! acknowledged write survives a crash of the process or the machine; writes
//! are committed in groups by one writer thread, reads use their own
//! connection. Every change is one closure ([`Store::write`]): the deployment
//! row and its new manifest revision are written together or not at all.
//! Calls block; the HTTP layer runs them on tokio's blocking pool.
//!
//! Secret values are sealed at rest ([`crate::crypto::Sealer`]): secret
//! environment variables inside stored specs, and whole Secret objects inside
//! stored manifest sets. Values written before sealing existed are read as
//! they are and sealed at their next write.

use crate::crypto::{Sealer, SecretKey};
use chrono::{DateTime, Utc};
use harmony_api::latest::{
    DataPlane, DataPlaneKind, DataPlaneRegistration, DataPlaneStatus, DeploymentSpec,
    ManifestObject,
};
use rusqlite::{OptionalExtension, Transaction, params};
use sqlite_store::{Database, DbError};
use std::path::Path;
use uuid::Uuid;

/// Schema migrations, applied in order; `PRAGMA user_version` records how
/// many have run. Append only: a released migration never changes.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE data_planes (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    registration TEXT NOT NULL,
    status TEXT NOT NULL,
    last_heartbeat TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE deployments (
    id TEXT PRIMARY KEY NOT NULL,
    generation INTEGER NOT NULL,
    spec TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    revision INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE manifest_sets (
    deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    platform_release TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    objects TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (deployment_id, revision)
) STRICT;
"#,
    // Which secret key the data was sealed with (a fingerprint, not the key).
    r#"
CREATE TABLE meta (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
"#,
    // The agent protocol: a desired and an applied revision per data plane,
    // agents' credentials (a SHA-256 of the secret), their health reports.
    r#"
ALTER TABLE data_planes ADD COLUMN desired_revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE data_planes ADD COLUMN applied_revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN data_plane_id TEXT;
UPDATE deployments SET data_plane_id = json_extract(spec, '$.data_plane_id');
CREATE INDEX deployments_by_data_plane ON deployments (data_plane_id, id);
CREATE TABLE agent_credentials (
    data_plane_id TEXT PRIMARY KEY NOT NULL REFERENCES data_planes (id),
    secret_sha256 BLOB NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE TABLE deployment_health (
    deployment_id TEXT PRIMARY KEY NOT NULL,
    data_plane_id TEXT NOT NULL,
    manifest_revision INTEGER NOT NULL,
    health TEXT NOT NULL,
    message TEXT,
    reported_at TEXT NOT NULL
) STRICT;
"#,
    // Rollouts: platform releases, rollouts (the controller's whole state as
    // one JSON document, rewritten by each step), and per data plane the
    // desired revision at which its current release was handed out (an
    // agent that applied it runs the release).
    r#"
CREATE TABLE platform_releases (
    version TEXT PRIMARY KEY NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE TABLE rollouts (
    id TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX rollouts_by_state ON rollouts (state);
ALTER TABLE data_planes ADD COLUMN release_revision INTEGER NOT NULL DEFAULT 0;
"#,
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database unavailable")]
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

/// A data plane as a rollout sees it (see [`Tx::plane_rollout_view`]).
#[derive(Clone, Debug)]
pub struct PlaneView {
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub applied: u64,
    pub release_revision: u64,
    /// Per deployment on it: its last reported health and when.
    pub health: Vec<(Option<String>, Option<DateTime<Utc>>)>,
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
    pub objects: Vec<StoredObject>,
    pub created_at: DateTime<Utc>,
}

/// A rendered object with its full body (Secret data included), kept as
/// the JSON text it was rendered to: hashed, stored and handed out without
/// being rebuilt as a tree.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StoredObject {
    pub meta: ManifestObject,
    pub body: Box<serde_json::value::RawValue>,
}

impl StoredObject {
    /// The body as a JSON tree.
    pub fn value(&self) -> serde_json::Value {
        // The body was produced by serializing an object, so it parses.
        serde_json::from_str(self.body.get()).unwrap_or(serde_json::Value::Null)
    }
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
    sealer: std::sync::Arc<Sealer>,
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

impl Store {
    /// Opens (creating if needed) `harmony.sqlite3` in `data_dir` and brings
    /// its schema up to date.
    /// Refuses data sealed with another key: better not to start than to
    /// fail every read of a secret later.
    pub fn open(data_dir: &Path, key: &SecretKey) -> Result<Store, StoreError> {
        let db = Database::open(&data_dir.join("harmony.sqlite3"), MIGRATIONS)?;
        let fingerprint = key.mac_hex(&[b"harmony/key-fingerprint"]);
        let recorded: String = db.write(move |tx| {
            tx.execute(
                "INSERT INTO meta (name, value) VALUES ('key_fingerprint', ?1)
                 ON CONFLICT (name) DO NOTHING",
                [&fingerprint],
            )?;
            Ok::<_, StoreError>(tx.query_row(
                "SELECT value FROM meta WHERE name = 'key_fingerprint'",
                [],
                |r| r.get(0),
            )?)
        })?;
        if recorded != key.mac_hex(&[b"harmony/key-fingerprint"]) {
            return Err(StoreError::WrongKey);
        }
        Ok(Store { db, sealer: std::sync::Arc::new(key.sealer()) })
    }

    /// Runs `f` in a write transaction, kept only if `f` succeeds; returns
    /// once the commit is durable.
    pub fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T, E> + Send + 'static,
    {
        let sealer = self.sealer.clone();
        self.db.write(move |tx| f(&Tx(tx, &sealer)).map_err(Wrap::Own)).map_err(|w| match w {
            Wrap::Own(e) => e,
            Wrap::Db(e) => E::from(StoreError::Db(e)),
        })
    }

    /// Runs `f` against a consistent read snapshot.
    pub fn read<T, E>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.db.read(|tx| f(&Tx(tx, &self.sealer)).map_err(Wrap::Own)).map_err(|w| match w {
            Wrap::Own(e) => e,
            Wrap::Db(e) => E::from(StoreError::Db(e)),
        })
    }
}

/// Statements available inside a transaction, sealing secret values on the
/// way in and opening them on the way out.
pub struct Tx<'a>(&'a Transaction<'a>, &'a Sealer);

/// Where a secret environment variable's sealed value belongs.
fn env_context(deployment: &str, key: &str) -> Vec<u8> {
    format!("deployment/{deployment}/env/{key}").into_bytes()
}

/// Where a sealed Secret object belongs.
fn object_context(deployment: &str, revision: u64, name: &str) -> Vec<u8> {
    format!("deployment/{deployment}/revision/{revision}/secret/{name}").into_bytes()
}

impl Tx<'_> {
    /// A spec as stored: secret values sealed.
    fn sealed_spec(&self, id: &str, spec: &DeploymentSpec) -> Result<String, StoreError> {
        let mut spec = spec.clone();
        for var in spec.environment_variables.iter_mut().filter(|v| v.is_secret) {
            if let Some(value) = &var.value {
                var.value = Some(self.1.seal(value, &env_context(id, &var.key)));
            }
        }
        Ok(serde_json::to_string(&spec)?)
    }

    fn opened_spec(&self, id: &str, text: &str) -> Result<DeploymentSpec, StoreError> {
        let mut spec: DeploymentSpec = serde_json::from_str(text)?;
        for var in spec.environment_variables.iter_mut().filter(|v| v.is_secret) {
            if let Some(value) = &var.value {
                var.value = Some(
                    self.1
                        .open(value, &env_context(id, &var.key))
                        .map_err(|e| StoreError::Invalid(e.to_string()))?,
                );
            }
        }
        Ok(spec)
    }

    /// Objects as stored: each Secret's body sealed whole.
    fn sealed_objects(&self, set: &StoredManifestSet) -> Result<String, StoreError> {
        let id = set.deployment_id.to_string();
        let objects = set
            .objects
            .iter()
            .map(|o| {
                if o.meta.kind != "Secret" {
                    return Ok(o.clone());
                }
                let context = object_context(&id, set.revision, &o.meta.name);
                let sealed = SealedBody { sealed: self.1.seal(o.body.get(), &context) };
                let body = serde_json::value::to_raw_value(&sealed)?;
                Ok(StoredObject { meta: o.meta.clone(), body })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(serde_json::to_string(&objects)?)
    }

    fn opened_objects(
        &self,
        deployment_id: Uuid,
        revision: u64,
        text: &str,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let mut objects: Vec<StoredObject> = serde_json::from_str(text)?;
        let id = deployment_id.to_string();
        for o in objects.iter_mut().filter(|o| o.meta.kind == "Secret") {
            // A Secret stored before sealing existed is its plain body.
            let Ok(SealedBody { sealed }) = serde_json::from_str(o.body.get()) else {
                continue;
            };
            let context = object_context(&id, revision, &o.meta.name);
            let plain =
                self.1.open(&sealed, &context).map_err(|e| StoreError::Invalid(e.to_string()))?;
            o.body = serde_json::value::RawValue::from_string(plain)?;
        }
        Ok(objects)
    }
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
            params![
                id,
                kind_str(registration.kind),
                serde_json::to_string(registration)?,
                enum_to_str(&DataPlaneStatus::Ready)?,
                now,
            ],
        )?;
        self.data_plane(id)?.ok_or_else(|| StoreError::Invalid(format!("data plane {id} vanished")))
    }

    pub fn data_plane(&self, id: &str) -> Result<Option<DataPlane>, StoreError> {
        self.0
            .query_row(
                "SELECT id, registration, status, last_heartbeat, created_at, updated_at
                 FROM data_planes WHERE id = ?1",
                [id],
                DataPlaneRow::from_row,
            )
            .optional()?
            .map(DataPlaneRow::into_data_plane)
            .transpose()
    }

    pub fn data_planes_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DataPlane>, StoreError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT id, registration, status, last_heartbeat, created_at, updated_at
             FROM data_planes WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![after.unwrap_or(""), limit as i64], DataPlaneRow::from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(DataPlaneRow::into_data_plane).collect()
    }

    pub fn deployment(&self, id: Uuid) -> Result<Option<StoredDeployment>, StoreError> {
        self.0
            .query_row(
                "SELECT id, spec, input_hash, revision, created_at, updated_at
                 FROM deployments WHERE id = ?1",
                [id.to_string()],
                DeploymentRow::from_row,
            )
            .optional()?
            .map(|row| row.into_stored(self))
            .transpose()
    }

    pub fn deployments_after(
        &self,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredDeployment>, StoreError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT id, spec, input_hash, revision, created_at, updated_at
             FROM deployments WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        let rows = stmt
            .query_map(params![after, limit as i64], DeploymentRow::from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(|row| row.into_stored(self)).collect()
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
            params![
                d.id.to_string(),
                d.spec.generation as i64,
                self.sealed_spec(&d.id.to_string(), &d.spec)?,
                d.input_hash,
                d.revision as i64,
                d.created_at,
                d.updated_at,
                d.spec.data_plane_id,
            ],
        )?;
        Ok(())
    }

    /// Moves a data plane's desired revision forward; returns the new one.
    pub fn bump_desired_revision(&self, data_plane_id: &str) -> Result<u64, StoreError> {
        Ok(self.0.query_row(
            "UPDATE data_planes SET desired_revision = desired_revision + 1 WHERE id = ?1
             RETURNING desired_revision",
            [data_plane_id],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Gives a data plane another platform release (its deployments must be
    /// re-rendered by the caller in the same transaction).
    pub fn set_plane_release(&self, data_plane_id: &str, release: &str) -> Result<(), StoreError> {
        self.0.execute(
            "UPDATE data_planes SET registration = json_set(registration, '$.platform_release', ?2)
             WHERE id = ?1",
            params![data_plane_id, release],
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
            params![data_plane_id, revision as i64],
        )?;
        Ok(())
    }

    /// What a rollout needs to see of a data plane: its last heartbeat, the
    /// revision its agent applied, the revision its release was handed out
    /// at, and its deployments' health reports (health, reported at).
    pub fn plane_rollout_view(&self, data_plane_id: &str) -> Result<Option<PlaneView>, StoreError> {
        let Some((last_heartbeat, applied, release_revision)) = self
            .0
            .query_row(
                "SELECT last_heartbeat, applied_revision, release_revision
                 FROM data_planes WHERE id = ?1",
                [data_plane_id],
                |r| {
                    Ok((
                        r.get::<_, Option<DateTime<Utc>>>(0)?,
                        r.get::<_, i64>(1)? as u64,
                        r.get::<_, i64>(2)? as u64,
                    ))
                },
            )
            .optional()?
        else {
            return Ok(None);
        };
        let mut stmt = self.0.prepare_cached(
            // A report about an older revision says nothing about this one.
            "SELECT d.id,
                    CASE WHEN h.manifest_revision = d.revision THEN h.health END,
                    h.reported_at
             FROM deployments d LEFT JOIN deployment_health h ON h.deployment_id = d.id
             WHERE d.data_plane_id = ?1",
        )?;
        let health = stmt
            .query_map([data_plane_id], |r| {
                Ok((r.get::<_, Option<String>>(1)?, r.get::<_, Option<DateTime<Utc>>>(2)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(PlaneView { last_heartbeat, applied, release_revision, health }))
    }

    pub fn platform_release(
        &self,
        version: &str,
    ) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        Ok(self
            .0
            .query_row(
                "SELECT body, created_at FROM platform_releases WHERE version = ?1",
                [version],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    pub fn insert_platform_release(
        &self,
        version: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT INTO platform_releases (version, body, created_at) VALUES (?1, ?2, ?3)",
            params![version, body, now],
        )?;
        Ok(())
    }

    pub fn platform_releases(&self) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT body, created_at FROM platform_releases ORDER BY version")?;
        Ok(stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<Vec<_>, _>>()?)
    }

    /// Inserts or rewrites a rollout's state.
    pub fn put_rollout(&self, rollout: &crate::rollout::Rollout) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT INTO rollouts (id, state, body, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET
                 state = excluded.state, body = excluded.body, updated_at = excluded.updated_at",
            params![
                rollout.id.to_string(),
                enum_to_str(&rollout.state)?,
                serde_json::to_string(rollout)?,
                rollout.created_at,
                rollout.updated_at,
            ],
        )?;
        Ok(())
    }

    pub fn rollout(&self, id: Uuid) -> Result<Option<crate::rollout::Rollout>, StoreError> {
        let body: Option<String> = self
            .0
            .query_row("SELECT body FROM rollouts WHERE id = ?1", [id.to_string()], |r| r.get(0))
            .optional()?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
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
        let mut stmt = self.0.prepare_cached(sql)?;
        let bodies =
            stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
        Ok(bodies.iter().map(|b| serde_json::from_str(b)).collect::<Result<_, _>>()?)
    }

    /// A data plane's desired and applied revisions.
    pub fn plane_revisions(&self, data_plane_id: &str) -> Result<Option<(u64, u64)>, StoreError> {
        Ok(self
            .0
            .query_row(
                "SELECT desired_revision, applied_revision FROM data_planes WHERE id = ?1",
                [data_plane_id],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .optional()?)
    }

    /// Every deployment on a data plane, secrets opened.
    pub fn deployments_on(&self, data_plane_id: &str) -> Result<Vec<StoredDeployment>, StoreError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT id, spec, input_hash, revision, created_at, updated_at
             FROM deployments WHERE data_plane_id = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([data_plane_id], DeploymentRow::from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(|row| row.into_stored(self)).collect()
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
            params![data_plane_id, secret_sha256, now],
        )?;
        Ok(())
    }

    pub fn agent_credential(&self, data_plane_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .0
            .query_row(
                "SELECT secret_sha256 FROM agent_credentials WHERE data_plane_id = ?1",
                [data_plane_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// An agent's report: the applied revision, a heartbeat, and each
    /// deployment's health (reports for deployments no longer on the data
    /// plane are dropped).
    pub fn record_agent_status(
        &self,
        data_plane_id: &str,
        applied_revision: u64,
        reports: &[(Uuid, u64, String, Option<String>)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.0.execute(
            "UPDATE data_planes
             SET applied_revision = ?2, last_heartbeat = ?3, status = 'READY'
             WHERE id = ?1",
            params![data_plane_id, applied_revision as i64, now],
        )?;
        for (deployment_id, revision, health, message) in reports {
            self.0.execute(
                "INSERT INTO deployment_health
                     (deployment_id, data_plane_id, manifest_revision, health, message,
                      reported_at)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6
                 WHERE EXISTS (SELECT 1 FROM deployments WHERE id = ?1 AND data_plane_id = ?2)
                 ON CONFLICT (deployment_id) DO UPDATE SET
                     manifest_revision = excluded.manifest_revision,
                     health = excluded.health, message = excluded.message,
                     reported_at = excluded.reported_at",
                params![
                    deployment_id.to_string(),
                    data_plane_id,
                    *revision as i64,
                    health,
                    message,
                    now
                ],
            )?;
        }
        Ok(())
    }

    /// The last health report of a deployment: (manifest revision, health,
    /// message).
    pub fn deployment_health(
        &self,
        deployment_id: Uuid,
    ) -> Result<Option<(u64, String, Option<String>)>, StoreError> {
        Ok(self
            .0
            .query_row(
                "SELECT manifest_revision, health, message FROM deployment_health
                 WHERE deployment_id = ?1",
                [deployment_id.to_string()],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    }

    /// Deletes a deployment and its revisions; false when there was none.
    pub fn delete_deployment(&self, id: Uuid) -> Result<bool, StoreError> {
        Ok(self.0.execute("DELETE FROM deployments WHERE id = ?1", [id.to_string()])? > 0)
    }

    /// Writes a new manifest revision. Revisions are immutable: writing an
    /// existing (deployment, revision) pair fails.
    pub fn insert_manifest_set(&self, set: &StoredManifestSet) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT INTO manifest_sets
                 (deployment_id, revision, generation, platform_release, input_hash,
                  objects, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                set.deployment_id.to_string(),
                set.revision as i64,
                set.generation as i64,
                set.platform_release,
                set.input_hash,
                self.sealed_objects(set)?,
                set.created_at,
            ],
        )?;
        Ok(())
    }

    pub fn manifest_set(
        &self,
        deployment_id: Uuid,
        revision: u64,
    ) -> Result<Option<StoredManifestSet>, StoreError> {
        let row = self
            .0
            .query_row(
                "SELECT revision, generation, platform_release, input_hash, objects, created_at
                 FROM manifest_sets WHERE deployment_id = ?1 AND revision = ?2",
                params![deployment_id.to_string(), revision as i64],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, DateTime<Utc>>(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((revision, generation, platform_release, input_hash, objects, created_at)) = row
        else {
            return Ok(None);
        };
        Ok(Some(StoredManifestSet {
            deployment_id,
            revision: revision as u64,
            generation: generation as u64,
            platform_release,
            input_hash,
            objects: self.opened_objects(deployment_id, revision as u64, &objects)?,
            created_at,
        }))
    }
}

struct DataPlaneRow {
    id: String,
    registration: String,
    status: String,
    last_heartbeat: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl DataPlaneRow {
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(DataPlaneRow {
            id: row.get(0)?,
            registration: row.get(1)?,
            status: row.get(2)?,
            last_heartbeat: row.get(3)?,
            created_at: row.get(4)?,
            updated_at: row.get(5)?,
        })
    }

    fn into_data_plane(self) -> Result<DataPlane, StoreError> {
        let DataPlaneRegistration {
            kind,
            cloud_provider,
            region,
            labels,
            kubernetes_version,
            agent_version,
            platform_release,
        } = serde_json::from_str(&self.registration)?;
        Ok(DataPlane {
            id: self.id,
            kind,
            cloud_provider,
            region,
            labels,
            kubernetes_version,
            agent_version,
            platform_release,
            status: enum_from_str(&self.status)?,
            last_heartbeat: self.last_heartbeat,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

struct DeploymentRow {
    id: String,
    spec: String,
    input_hash: String,
    revision: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl DeploymentRow {
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(DeploymentRow {
            id: row.get(0)?,
            spec: row.get(1)?,
            input_hash: row.get(2)?,
            revision: row.get(3)?,
            created_at: row.get(4)?,
            updated_at: row.get(5)?,
        })
    }

    fn into_stored(self, tx: &Tx<'_>) -> Result<StoredDeployment, StoreError> {
        Ok(StoredDeployment {
            id: self.id.parse().map_err(|_| StoreError::Invalid(format!("bad id {}", self.id)))?,
            spec: tx.opened_spec(&self.id, &self.spec)?,
            input_hash: self.input_hash,
            revision: self.revision as u64,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}
