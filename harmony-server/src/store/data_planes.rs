//! Data planes: registration, listing, and the desired revision their agents poll.

use super::codec::{enum_from_str, enum_to_str, kind_str};
use super::{DESIRED_STATE_CHANNEL, StoreError, Tx};
use chrono::{DateTime, Utc};
use harmony_api::latest::{DataPlane, DataPlaneRegistration, DataPlaneStatus};
use sql_store::Row;

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

    /// Moves a data plane's desired revision forward and logs what moved it
    /// (`change`: the deployments whose objects changed and those removed,
    /// for agents on the changes protocol); returns the new revision.
    ///
    /// The log stays complete only while every bump logs: when the plane's
    /// revision is past `logged_through` (a binary that predates the log
    /// bumped it), the log restarts at that revision (`history_from`).
    pub fn bump_desired_revision(
        &self,
        data_plane_id: &str,
        change: &super::PlaneChange,
    ) -> Result<u64, StoreError> {
        let revision: u64 = self
            .0
            .query_one(
                "UPDATE data_planes SET desired_revision = desired_revision + 1,
                     history_from = CASE WHEN logged_through = desired_revision
                                         THEN history_from ELSE desired_revision END,
                     logged_through = desired_revision + 1
                 WHERE id = ?1
                 RETURNING desired_revision",
                &[&data_plane_id],
            )?
            .get(0)?;
        self.log_change(data_plane_id, revision, change)?;
        // The plane's waiting agents, at every replica, look again once
        // this commits.
        self.0.notify(DESIRED_STATE_CHANNEL, data_plane_id)?;
        self.2.borrow_mut().push(data_plane_id.to_owned());
        Ok(revision)
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
