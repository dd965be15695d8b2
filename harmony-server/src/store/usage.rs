//! What deployments take on their data planes: each deployment's rendered
//! bytes, and their sums per plane and per organization on a plane
//! (`plane_usage`, the plane's total under organization ''), moved in the
//! write that changes a deployment's set or deletes it, so a budget check
//! reads two rows however many deployments the plane holds.
//!
//! Binaries older than migration `plane-usage` do not keep the sums; every
//! binary that knows them recounts them when it opens the store
//! ([`Store::recount_usage`]), so a rollback and roll forward leaves them
//! right. A set rendered before the migration counts from its next render.

use super::{Store, StoreError, Tx};
use uuid::Uuid;

/// The plane's total in `plane_usage`.
const PLANE_TOTAL: &str = "";

/// What a data plane holds, and what one organization holds on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlaneUsage {
    pub plane_bytes: u64,
    pub organization_bytes: u64,
}

impl Tx<'_> {
    /// The bytes the current set of deployment `id` is counted at (0 for
    /// one not counted yet).
    pub fn rendered_bytes(&self, id: Uuid) -> Result<u64, StoreError> {
        Ok(self
            .0
            .query_opt("SELECT rendered_bytes FROM deployments WHERE id = ?1", &[&id.to_string()])?
            .map(|r| r.get::<Option<i64>>(0))
            .transpose()?
            .flatten()
            .unwrap_or(0)
            .max(0) as u64)
    }

    /// What `plane` holds in all, and what `organization` holds on it.
    pub fn plane_usage(&self, plane: &str, organization: &str) -> Result<PlaneUsage, StoreError> {
        let rows = self.0.query(
            "SELECT organization_id, rendered_bytes FROM plane_usage
             WHERE data_plane_id = ?1 AND organization_id IN (?2, ?3)",
            &[&plane, &PLANE_TOTAL, &organization],
        )?;
        let mut usage = PlaneUsage::default();
        for row in rows {
            let bytes = row.get::<i64>(1)?.max(0) as u64;
            match row.get::<String>(0)?.as_str() {
                PLANE_TOTAL => usage.plane_bytes = bytes,
                _ => usage.organization_bytes = bytes,
            }
        }
        Ok(usage)
    }

    /// Records that deployment `id` (of `organization`, on `plane`; its row
    /// written already) now takes `bytes` instead of `before` (what
    /// [`Tx::rendered_bytes`] said), moving the sums by the difference.
    pub fn record_rendered_bytes(
        &self,
        id: Uuid,
        plane: &str,
        organization: &str,
        before: u64,
        bytes: u64,
    ) -> Result<(), StoreError> {
        self.0.execute(
            "UPDATE deployments SET rendered_bytes = ?2, organization_id = ?3 WHERE id = ?1",
            &[&id.to_string(), &(bytes as i64), &organization],
        )?;
        self.move_usage(plane, organization, bytes as i64 - before as i64)
    }

    /// Takes a deleted deployment's bytes off the sums (call before the
    /// row is deleted).
    pub(super) fn forget_rendered_bytes(&self, id: Uuid) -> Result<(), StoreError> {
        let row = self.0.query_opt(
            "SELECT data_plane_id, organization_id, rendered_bytes FROM deployments WHERE id = ?1",
            &[&id.to_string()],
        )?;
        if let Some(row) = row
            && let (Some(plane), Some(organization), Some(bytes)) = (
                row.get::<Option<String>>(0)?,
                row.get::<Option<String>>(1)?,
                row.get::<Option<i64>>(2)?,
            )
        {
            self.move_usage(&plane, &organization, -bytes)?;
        }
        Ok(())
    }

    fn move_usage(&self, plane: &str, organization: &str, by: i64) -> Result<(), StoreError> {
        if by == 0 {
            return Ok(());
        }
        for who in [PLANE_TOTAL, organization] {
            self.0.execute(
                "INSERT INTO plane_usage (data_plane_id, organization_id, rendered_bytes)
                 VALUES (?1, ?2, ?3)
                 ON CONFLICT (data_plane_id, organization_id)
                 DO UPDATE SET rendered_bytes = plane_usage.rendered_bytes + excluded.rendered_bytes",
                &[&plane, &who, &by],
            )?;
        }
        Ok(())
    }
}

impl Store {
    /// Recounts every plane's sums from the deployments' own figures, in
    /// one write: what older binaries, which do not keep the sums, left
    /// behind is right again. Once per start.
    pub fn recount_usage(&self) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.0.execute("DELETE FROM plane_usage", &[])?;
            // The plane's total, then each organization's on it.
            for (who, group) in [("''", ""), ("organization_id", ", organization_id")] {
                tx.0.execute(
                    &format!(
                        "INSERT INTO plane_usage (data_plane_id, organization_id, rendered_bytes)
                         SELECT data_plane_id, {who}, CAST(SUM(rendered_bytes) AS BIGINT)
                         FROM deployments
                         WHERE rendered_bytes IS NOT NULL AND organization_id IS NOT NULL
                           AND data_plane_id IS NOT NULL
                         GROUP BY data_plane_id{group}"
                    ),
                    &[],
                )?;
            }
            Ok::<_, StoreError>(())
        })
    }
}
