//! astro-api's SQLite store. Only this module writes SQL.
//!
//! Deployments are stored as their public form (secret values are never
//! stored here: Harmony keeps them, and an update that omits one keeps it
//! there), with the columns needed for uniqueness and listing.

use astro_public_api::types::Deployment;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::{Arc, Mutex};
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
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored record could not be decoded")]
    Decode(#[from] serde_json::Error),
    #[error("the name is already used in this workspace")]
    NameTaken,
    #[error("database schema version {0} is newer than this binary knows")]
    TooNew(usize),
}

#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

impl Store {
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        let mut conn = Connection::open(data_dir.join("astro.sqlite3"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let applied: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if applied > MIGRATIONS.len() {
            return Err(StoreError::TooNew(applied));
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", index + 1)?;
            tx.commit()?;
        }
        Ok(Store { conn: Arc::new(Mutex::new(conn)) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Inserts a new deployment, recording the Harmony cell it lives in.
    pub fn insert(&self, d: &Deployment, cell: &str) -> Result<(), StoreError> {
        let result = self.conn().execute(
            "INSERT INTO deployments
                 (id, organization_id, workspace_id, name, generation, record, cell)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                d.id.to_string(),
                d.organization_id,
                d.workspace_id,
                d.name,
                d.generation as i64,
                serde_json::to_string(d)?,
                cell,
            ],
        );
        match result {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(StoreError::NameTaken)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces a deployment if it is still at `expected_generation`;
    /// false when someone else changed it first.
    pub fn update(&self, d: &Deployment, expected_generation: u64) -> Result<bool, StoreError> {
        let result = self.conn().execute(
            "UPDATE deployments SET name = ?3, generation = ?4, record = ?5
             WHERE id = ?1 AND organization_id = ?2 AND generation = ?6",
            params![
                d.id.to_string(),
                d.organization_id,
                d.name,
                d.generation as i64,
                serde_json::to_string(d)?,
                expected_generation as i64,
            ],
        );
        match result {
            Ok(n) => Ok(n == 1),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(StoreError::NameTaken)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A deployment and the Harmony cell it lives in.
    pub fn get(
        &self,
        organization_id: &str,
        id: Uuid,
    ) -> Result<Option<(Deployment, String)>, StoreError> {
        let row: Option<(String, String)> = self
            .conn()
            .query_row(
                "SELECT record, cell FROM deployments WHERE id = ?1 AND organization_id = ?2",
                params![id.to_string(), organization_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
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
        Ok(self
            .conn()
            .query_row(
                "SELECT 1 FROM deployments
                 WHERE organization_id = ?1 AND workspace_id = ?2 AND name = ?3 AND id != ?4",
                params![organization_id, workspace_id, name, except],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    pub fn list(
        &self,
        organization_id: &str,
        workspace_id: Option<&str>,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT record FROM deployments
             WHERE organization_id = ?1 AND (?2 IS NULL OR workspace_id = ?2) AND id > ?3
             ORDER BY id LIMIT ?4",
        )?;
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        let records = stmt
            .query_map(params![organization_id, workspace_id, after, limit as i64], |row| {
                row.get::<_, String>(0)
            })?
            .collect::<Result<Vec<_>, _>>()?;
        records.iter().map(|r| Ok(serde_json::from_str(r)?)).collect()
    }

    pub fn delete(&self, organization_id: &str, id: Uuid) -> Result<bool, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM deployments WHERE id = ?1 AND organization_id = ?2",
            params![id.to_string(), organization_id],
        )? == 1)
    }
}
