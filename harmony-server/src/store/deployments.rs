//! Deployments: their rows, specs sealed at rest.

use super::{StoreError, Tx};
use chrono::{DateTime, Utc};
use harmony_api::latest::DeploymentSpec;
use sql_store::Row;
use uuid::Uuid;

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

impl Tx<'_> {
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

    /// Deletes a deployment and its revisions; false when there was none.
    /// Deletes a deployment (its bytes off its plane's sums).
    pub fn delete_deployment(&self, id: Uuid) -> Result<bool, StoreError> {
        self.forget_rendered_bytes(id)?;
        Ok(self.0.execute("DELETE FROM deployments WHERE id = ?1", &[&id.to_string()])? > 0)
    }
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
