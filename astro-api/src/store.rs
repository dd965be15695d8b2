//! astro-api's SQLite store. Only this module writes SQL.
//!
//! Built on [`sqlite_store::Database`] (WAL, `synchronous=FULL`, group
//! commit by one writer thread, reads on their own connection).
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
use chrono::{DateTime, Utc};
use harmony_client::v2::types as h;
use rusqlite::{OptionalExtension, params};
use sqlite_store::{Database, DbError};
use std::path::Path;
use uuid::Uuid;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE deployments (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    name TEXT NOT NULL,
    generation INTEGER NOT NULL,
    record TEXT NOT NULL,
    UNIQUE (organization_id, workspace_id, name)
) STRICT;
CREATE INDEX deployments_by_organization ON deployments (organization_id, id);
"#,
    r#"
ALTER TABLE deployments ADD COLUMN cell TEXT NOT NULL DEFAULT 'default';
"#,
    r#"
CREATE TABLE deploys (
    id TEXT PRIMARY KEY NOT NULL,
    deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL,
    record TEXT NOT NULL
) STRICT;
CREATE INDEX deploys_by_deployment ON deploys (deployment_id);
"#,
    // The durable handoff: every change Harmony must hear of is an outbox
    // entry committed with the record it belongs to. Deployments stored
    // before it were handed over synchronously, so Harmony has them.
    r#"
ALTER TABLE deployments ADD COLUMN delivered_generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN handoff_error TEXT;
ALTER TABLE deployments ADD COLUMN handoff_refused INTEGER NOT NULL DEFAULT 0;
UPDATE deployments SET delivered_generation = generation;
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id TEXT NOT NULL,
    cell TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('HOSTED', 'HYBRID')),
    generation INTEGER NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('PUT', 'DELETE')),
    spec TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
) STRICT;
CREATE INDEX outbox_by_deployment ON outbox (deployment_id, seq);
"#,
    // Tenancy: organizations, their workspaces and API tokens (a SHA-256 of
    // each token's secret, never the secret).
    r#"
CREATE TABLE organizations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE TABLE workspaces (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    description TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (organization_id, name)
) STRICT;
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('OWNER', 'WORKSPACE_MEMBER', 'READ_ONLY')),
    workspace_id TEXT REFERENCES workspaces (id),
    secret_sha256 BLOB NOT NULL,
    expires_at TEXT,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX api_tokens_by_organization ON api_tokens (organization_id, id);
"#,
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored record could not be decoded")]
    Decode(#[from] serde_json::Error),
    #[error("the name is already used in this workspace")]
    NameTaken,
    #[error("a workspace of this organization already has the name")]
    WorkspaceNameTaken,
    #[error("database unavailable")]
    Db(#[from] DbError),
    #[error("stored id {0:?} is not a UUID")]
    BadId(String),
}

fn constraint_to_name_taken(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::NameTaken
        }
        other => other.into(),
    }
}

#[derive(Clone)]
pub struct Store {
    db: Database,
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
}

#[derive(Clone, Debug)]
pub enum Op {
    /// The deployment's full desired state (secret values included until it
    /// is delivered; the entry is deleted then).
    Put(Box<h::DeploymentSpec>),
    Delete,
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

/// How far a deployment's changes have reached Harmony.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Handoff {
    /// The newest generation Harmony has accepted (0: none yet).
    pub delivered_generation: u64,
    /// Why the last attempt did not deliver.
    pub error: Option<String>,
    /// Harmony refused the last change for good.
    pub refused: bool,
}

/// A stored deployment: its public record, its cell and its handoff.
#[derive(Clone, Debug)]
pub struct Row {
    pub deployment: Deployment,
    pub cell: String,
    pub handoff: Handoff,
}

fn kind_name(kind: h::DataPlaneKind) -> &'static str {
    match kind {
        h::DataPlaneKind::Hosted => "HOSTED",
        h::DataPlaneKind::Hybrid => "HYBRID",
    }
}

/// Queues `change` in the transaction that stores what it is about, and
/// starts the deployment's handoff over.
fn enqueue(tx: &rusqlite::Transaction<'_>, change: &Outgoing) -> Result<(), StoreError> {
    let (op, spec) = match &change.op {
        Op::Put(spec) => ("PUT", Some(serde_json::to_string(spec)?)),
        Op::Delete => ("DELETE", None),
    };
    tx.execute(
        "INSERT INTO outbox (deployment_id, cell, kind, generation, op, spec)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            change.deployment_id.to_string(),
            change.cell,
            kind_name(change.kind),
            change.generation as i64,
            op,
            spec,
        ],
    )?;
    tx.execute(
        "UPDATE deployments SET handoff_error = NULL, handoff_refused = 0 WHERE id = ?1",
        params![change.deployment_id.to_string()],
    )?;
    Ok(())
}

const ROW_COLUMNS: &str = "record, cell, delivered_generation, handoff_error, handoff_refused";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, i64, Option<String>, bool)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn decode(raw: (String, String, i64, Option<String>, bool)) -> Result<Row, StoreError> {
    let (record, cell, delivered, error, refused) = raw;
    Ok(Row {
        deployment: serde_json::from_str(&record)?,
        cell,
        handoff: Handoff { delivered_generation: delivered as u64, error, refused },
    })
}

impl Store {
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        Ok(Store { db: Database::open(&data_dir.join("astro.sqlite3"), MIGRATIONS)? })
    }

    /// Inserts a new deployment, recording the Harmony cell it lives in,
    /// with its outbox entry: both or neither.
    pub fn insert(&self, d: &Deployment, cell: &str, change: Outgoing) -> Result<(), StoreError> {
        let (record, d, cell) = (serde_json::to_string(d)?, d.clone(), cell.to_owned());
        self.db.write(move |tx| {
            tx.execute(
                "INSERT INTO deployments
                     (id, organization_id, workspace_id, name, generation, record, cell)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    d.id.to_string(),
                    d.organization_id,
                    d.workspace_id,
                    d.name,
                    d.generation as i64,
                    record,
                    cell,
                ],
            )
            .map_err(constraint_to_name_taken)?;
            enqueue(tx, &change)
        })
    }

    /// Replaces a deployment if it is still at `expected_generation`, with
    /// its outbox entry; false when someone else changed it first.
    pub fn update(
        &self,
        d: &Deployment,
        expected_generation: u64,
        change: Outgoing,
    ) -> Result<bool, StoreError> {
        let (record, d) = (serde_json::to_string(d)?, d.clone());
        self.db.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE deployments SET name = ?3, generation = ?4, record = ?5
                     WHERE id = ?1 AND organization_id = ?2 AND generation = ?6",
                    params![
                        d.id.to_string(),
                        d.organization_id,
                        d.name,
                        d.generation as i64,
                        record,
                        expected_generation as i64,
                    ],
                )
                .map_err(constraint_to_name_taken)?;
            if n != 1 {
                return Ok(false);
            }
            enqueue(tx, &change)?;
            Ok(true)
        })
    }

    /// The (cell, data plane) pairs an organization's deployments run on.
    pub fn data_planes_of(
        &self,
        organization_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.db.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT DISTINCT cell, json_extract(record, '$.data_plane_id') FROM deployments
                 WHERE organization_id = ?1 ORDER BY 1, 2",
            )?;
            let pairs = stmt
                .query_map([organization_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, StoreError>(pairs)
        })
    }

    /// A deployment, the Harmony cell it lives in and its handoff.
    pub fn get(&self, organization_id: &str, id: Uuid) -> Result<Option<Row>, StoreError> {
        let raw = self.db.read(|tx| {
            Ok::<_, StoreError>(
                tx.query_row(
                    &format!(
                        "SELECT {ROW_COLUMNS} FROM deployments
                         WHERE id = ?1 AND organization_id = ?2"
                    ),
                    params![id.to_string(), organization_id],
                    row,
                )
                .optional()?,
            )
        })?;
        raw.map(decode).transpose()
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
        self.db.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT 1 FROM deployments
                     WHERE organization_id = ?1 AND workspace_id = ?2 AND name = ?3 AND id != ?4",
                    params![organization_id, workspace_id, name, except],
                    |_| Ok(()),
                )
                .optional()?
                .is_some())
        })
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
        let raws = self.db.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {ROW_COLUMNS} FROM deployments
                 WHERE organization_id = ?1 AND (?2 IS NULL OR workspace_id = ?2) AND id > ?3
                   AND (?5 IS NULL OR name = ?5)
                 ORDER BY id LIMIT ?4"
            ))?;
            let rows = stmt
                .query_map(params![organization_id, workspace_id, after, limit as i64, name], row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, StoreError>(rows)
        })?;
        raws.into_iter().map(decode).collect()
    }

    /// Deletes a deployment and queues its deletion at Harmony; false (and
    /// nothing queued) when there was no such deployment.
    pub fn delete(
        &self,
        organization_id: &str,
        id: Uuid,
        change: Outgoing,
    ) -> Result<bool, StoreError> {
        let organization_id = organization_id.to_owned();
        self.db.write(move |tx| {
            let n = tx.execute(
                "DELETE FROM deployments WHERE id = ?1 AND organization_id = ?2",
                params![id.to_string(), organization_id],
            )?;
            if n != 1 {
                return Ok(false);
            }
            enqueue(tx, &change)?;
            Ok(true)
        })
    }
}

/// The outbox, as the delivery worker sees it.
impl Store {
    /// The oldest undelivered entry of each deployment whose next attempt is
    /// due at `now_ms`: one per deployment, so each deployment's changes
    /// reach Harmony in the order they were accepted.
    pub fn outbox_due(&self, now_ms: i64, limit: usize) -> Result<Vec<Queued>, StoreError> {
        type Raw = (i64, String, String, String, i64, String, Option<String>, i64);
        let raws: Vec<Raw> = self.db.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT o.seq, o.deployment_id, o.cell, o.kind, o.generation, o.op, o.spec,
                        o.attempts
                 FROM outbox o
                 WHERE o.next_attempt_at <= ?1
                   AND o.seq = (SELECT MIN(i.seq) FROM outbox i
                                WHERE i.deployment_id = o.deployment_id)
                 ORDER BY o.seq LIMIT ?2",
            )?;
            let rows = stmt
                .query_map(params![now_ms, limit as i64], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, StoreError>(rows)
        })?;
        raws.into_iter()
            .map(|(seq, id, cell, kind, generation, op, spec, attempts)| {
                let op = match (op.as_str(), spec) {
                    ("PUT", Some(spec)) => Op::Put(Box::new(serde_json::from_str(&spec)?)),
                    _ => Op::Delete,
                };
                Ok(Queued {
                    seq,
                    attempts: attempts as u32,
                    change: Outgoing {
                        deployment_id: id.parse().map_err(|_| StoreError::BadId(id))?,
                        cell,
                        kind: if kind == "HOSTED" {
                            h::DataPlaneKind::Hosted
                        } else {
                            h::DataPlaneKind::Hybrid
                        },
                        generation: generation as u64,
                        op,
                    },
                })
            })
            .collect()
    }

    /// When the next entry falls due (Unix milliseconds), if any is waiting.
    pub fn outbox_next_due(&self) -> Result<Option<i64>, StoreError> {
        self.db.read(|tx| {
            Ok(tx.query_row("SELECT MIN(next_attempt_at) FROM outbox", [], |r| r.get(0))?)
        })
    }

    /// Records a round of delivery attempts in one commit.
    pub fn record_deliveries(&self, results: Vec<Delivery>) -> Result<(), StoreError> {
        self.db.write(move |tx| {
            for result in &results {
                match result {
                    Delivery::Delivered { seq, deployment_id, generation } => {
                        tx.execute("DELETE FROM outbox WHERE seq = ?1", params![seq])?;
                        tx.execute(
                            "UPDATE deployments
                             SET delivered_generation = MAX(delivered_generation, ?2),
                                 handoff_error = NULL, handoff_refused = 0
                             WHERE id = ?1",
                            params![deployment_id.to_string(), *generation as i64],
                        )?;
                    }
                    Delivery::Retry { seq, deployment_id, error, next_attempt_at } => {
                        tx.execute(
                            "UPDATE outbox
                             SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3
                             WHERE seq = ?1",
                            params![seq, next_attempt_at, error],
                        )?;
                        tx.execute(
                            "UPDATE deployments SET handoff_error = ?2 WHERE id = ?1",
                            params![deployment_id.to_string(), error],
                        )?;
                    }
                    Delivery::Refused { seq, deployment_id, error } => {
                        tx.execute("DELETE FROM outbox WHERE seq = ?1", params![seq])?;
                        tx.execute(
                            "UPDATE deployments SET handoff_error = ?2, handoff_refused = 1
                             WHERE id = ?1",
                            params![deployment_id.to_string(), error],
                        )?;
                    }
                }
            }
            Ok(())
        })
    }
}

impl Store {
    pub fn insert_deploy(&self, deploy: &Deploy) -> Result<(), StoreError> {
        let (record, deploy) = (serde_json::to_string(deploy)?, deploy.clone());
        self.db.write(move |tx| {
            tx.execute(
                "INSERT INTO deploys (id, deployment_id, organization_id, record)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    deploy.id.to_string(),
                    deploy.deployment_id.to_string(),
                    deploy.organization_id,
                    record
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
        let record: Option<String> = self.db.read(|tx| {
            Ok::<_, StoreError>(
                tx.query_row(
                    "SELECT record FROM deploys
                     WHERE id = ?1 AND deployment_id = ?2 AND organization_id = ?3",
                    params![id.to_string(), deployment_id.to_string(), organization_id],
                    |row| row.get(0),
                )
                .optional()?,
            )
        })?;
        Ok(record.map(|r| serde_json::from_str(&r)).transpose()?)
    }

    /// Marks a deploy finalized and stores the deployment it changed, with
    /// the deployment's outbox entry: all or nothing; false when the
    /// deployment moved past `expected_generation`.
    pub fn finalize_deploy(
        &self,
        deploy: &Deploy,
        deployment: &Deployment,
        expected_generation: u64,
        change: Outgoing,
    ) -> Result<bool, StoreError> {
        let deploy_record = serde_json::to_string(deploy)?;
        let deployment_record = serde_json::to_string(deployment)?;
        let (deploy_id, d) = (deploy.id, deployment.clone());
        self.db.write(move |tx| {
            let n = tx.execute(
                "UPDATE deployments SET generation = ?3, record = ?4
                 WHERE id = ?1 AND organization_id = ?2 AND generation = ?5",
                params![
                    d.id.to_string(),
                    d.organization_id,
                    d.generation as i64,
                    deployment_record,
                    expected_generation as i64,
                ],
            )?;
            if n != 1 {
                return Ok(false);
            }
            tx.execute(
                "UPDATE deploys SET record = ?2 WHERE id = ?1",
                params![deploy_id.to_string(), deploy_record],
            )?;
            enqueue(tx, &change)?;
            Ok(true)
        })
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

fn time(text: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

const TOKEN_COLUMNS: &str =
    "id, organization_id, name, role, workspace_id, expires_at, created_at, secret_sha256";

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ApiToken, Vec<u8>)> {
    let id: String = r.get(0)?;
    let expires_at: Option<String> = r.get(5)?;
    Ok((
        ApiToken {
            id: id.parse().map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?,
            organization_id: r.get(1)?,
            name: r.get(2)?,
            role: role_of(&r.get::<_, String>(3)?),
            workspace_id: r.get(4)?,
            expires_at: expires_at.as_deref().map(time).transpose()?,
            created_at: time(&r.get::<_, String>(6)?)?,
        },
        r.get(7)?,
    ))
}

const WORKSPACE_COLUMNS: &str = "id, organization_id, name, description, created_at";

fn workspace_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Workspace> {
    Ok(Workspace {
        id: r.get(0)?,
        organization_id: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        created_at: time(&r.get::<_, String>(4)?)?,
    })
}

fn insert_workspace(tx: &rusqlite::Transaction<'_>, w: &Workspace) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO workspaces (id, organization_id, name, description, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![w.id, w.organization_id, w.name, w.description, w.created_at.to_rfc3339()],
    )
    .map_err(|e| match constraint_to_name_taken(e) {
        StoreError::NameTaken => StoreError::WorkspaceNameTaken,
        other => other,
    })?;
    Ok(())
}

fn insert_token(
    tx: &rusqlite::Transaction<'_>,
    t: &ApiToken,
    secret_sha256: &[u8],
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO api_tokens
             (id, organization_id, name, role, workspace_id, secret_sha256, expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            t.id.to_string(),
            t.organization_id,
            t.name,
            role_name(t.role),
            t.workspace_id,
            secret_sha256,
            t.expires_at.map(|e| e.to_rfc3339()),
            t.created_at.to_rfc3339(),
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
                params![o.id, o.name, o.created_at.to_rfc3339()],
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
        self.db.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT id, name, created_at FROM organizations WHERE id = ?1",
                    params![id],
                    |r| {
                        Ok(Organization {
                            id: r.get(0)?,
                            name: r.get(1)?,
                            created_at: time(&r.get::<_, String>(2)?)?,
                        })
                    },
                )
                .optional()?)
        })
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
        self.db.read(|tx| {
            Ok(tx
                .query_row(
                    &format!(
                        "SELECT {WORKSPACE_COLUMNS} FROM workspaces
                         WHERE id = ?1 AND organization_id = ?2"
                    ),
                    params![id, organization_id],
                    workspace_row,
                )
                .optional()?)
        })
    }

    /// Workspaces of an organization by id (only `only`, when given).
    pub fn workspaces(
        &self,
        organization_id: &str,
        only: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Workspace>, StoreError> {
        self.db.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {WORKSPACE_COLUMNS} FROM workspaces
                 WHERE organization_id = ?1 AND (?2 IS NULL OR id = ?2) AND id > ?3
                 ORDER BY id LIMIT ?4"
            ))?;
            let rows = stmt
                .query_map(
                    params![organization_id, only, after.unwrap_or(""), limit as i64],
                    workspace_row,
                )?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    pub fn insert_token(&self, token: &ApiToken, secret_sha256: Vec<u8>) -> Result<(), StoreError> {
        let t = token.clone();
        self.db.write(move |tx| insert_token(tx, &t, &secret_sha256))
    }

    /// A token and the SHA-256 of its secret.
    pub fn token(&self, id: Uuid) -> Result<Option<(ApiToken, Vec<u8>)>, StoreError> {
        self.db.read(|tx| {
            Ok(tx
                .query_row(
                    &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = ?1"),
                    params![id.to_string()],
                    token_row,
                )
                .optional()?)
        })
    }

    pub fn tokens(
        &self,
        organization_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ApiToken>, StoreError> {
        self.db.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM api_tokens
                 WHERE organization_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
            ))?;
            let rows = stmt
                .query_map(params![organization_id, after.unwrap_or(""), limit as i64], |r| {
                    token_row(r).map(|(t, _)| t)
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    pub fn delete_token(&self, organization_id: &str, id: Uuid) -> Result<bool, StoreError> {
        let organization_id = organization_id.to_owned();
        self.db.write(move |tx| {
            Ok(tx.execute(
                "DELETE FROM api_tokens WHERE id = ?1 AND organization_id = ?2",
                params![id.to_string(), organization_id],
            )? == 1)
        })
    }
}
