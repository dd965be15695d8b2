//! astro-api's SQLite store. Only this module writes SQL.
//!
//! Built on [`sqlite_store::Database`] (WAL, `synchronous=FULL`, group
//! commit by one writer thread, reads on their own connection).
//!
//! Deployments are stored as their public form (secret values are never
//! stored here: Harmony keeps them, and an update that omits one keeps it
//! there), with the columns needed for uniqueness and listing.

use astro_public_api::types::{Deploy, Deployment};
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
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored record could not be decoded")]
    Decode(#[from] serde_json::Error),
    #[error("the name is already used in this workspace")]
    NameTaken,
    #[error("database unavailable")]
    Db(#[from] DbError),
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

impl Store {
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        Ok(Store { db: Database::open(&data_dir.join("astro.sqlite3"), MIGRATIONS)? })
    }

    /// Inserts a new deployment, recording the Harmony cell it lives in.
    pub fn insert(&self, d: &Deployment, cell: &str) -> Result<(), StoreError> {
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
            Ok(())
        })
    }

    /// Replaces a deployment if it is still at `expected_generation`;
    /// false when someone else changed it first.
    pub fn update(&self, d: &Deployment, expected_generation: u64) -> Result<bool, StoreError> {
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
            Ok(n == 1)
        })
    }

    /// A deployment and the Harmony cell it lives in.
    pub fn get(
        &self,
        organization_id: &str,
        id: Uuid,
    ) -> Result<Option<(Deployment, String)>, StoreError> {
        let row: Option<(String, String)> = self.db.read(|tx| {
            Ok::<_, StoreError>(
                tx.query_row(
                    "SELECT record, cell FROM deployments WHERE id = ?1 AND organization_id = ?2",
                    params![id.to_string(), organization_id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?,
            )
        })?;
        row.map(|(record, cell)| Ok((serde_json::from_str(&record)?, cell))).transpose()
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
    ) -> Result<Vec<Deployment>, StoreError> {
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        let records: Vec<String> = self.db.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT record FROM deployments
                 WHERE organization_id = ?1 AND (?2 IS NULL OR workspace_id = ?2) AND id > ?3
                   AND (?5 IS NULL OR name = ?5)
                 ORDER BY id LIMIT ?4",
            )?;
            let rows = stmt
                .query_map(
                    params![organization_id, workspace_id, after, limit as i64, name],
                    |row| row.get::<_, String>(0),
                )?
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, StoreError>(rows)
        })?;
        records.iter().map(|r| Ok(serde_json::from_str(r)?)).collect()
    }

    pub fn delete(&self, organization_id: &str, id: Uuid) -> Result<bool, StoreError> {
        let organization_id = organization_id.to_owned();
        self.db.write(move |tx| {
            Ok(tx.execute(
                "DELETE FROM deployments WHERE id = ?1 AND organization_id = ?2",
                params![id.to_string(), organization_id],
            )? == 1)
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

    /// Marks a deploy finalized and stores the deployment it changed, both or
    /// neither; false when the deployment moved past `expected_generation`.
    pub fn finalize_deploy(
        &self,
        deploy: &Deploy,
        deployment: &Deployment,
        expected_generation: u64,
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
            Ok(true)
        })
    }
}
