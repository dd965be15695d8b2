//! Platform releases, rollouts, and what a rollout reads and writes of a data plane.

use super::codec::enum_to_str;
use super::{StoreError, Tx};
use chrono::{DateTime, Utc};
use harmony_api::latest::DataPlaneRegistration;
use std::collections::BTreeMap;
use uuid::Uuid;

/// What the store needs of a rollout to keep it: its id, state and times
/// as columns (the state as its serialized name), the whole as JSON. The
/// rollout state machine (`crate::rollout::Rollout`) implements it, so the
/// store knows no type of the layers above it.
pub trait StoredRollout: serde::Serialize + serde::de::DeserializeOwned {
    type State: serde::Serialize;
    fn id(&self) -> Uuid;
    fn state(&self) -> &Self::State;
    fn created_at(&self) -> DateTime<Utc>;
    fn updated_at(&self) -> DateTime<Utc>;
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

impl Tx<'_> {
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
    pub fn put_rollout<R: StoredRollout>(&self, rollout: &R) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT INTO rollouts (id, state, body, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET
                 state = excluded.state, body = excluded.body, updated_at = excluded.updated_at",
            &[
                &rollout.id().to_string(),
                &enum_to_str(rollout.state())?,
                &serde_json::to_string(rollout)?,
                &rollout.created_at(),
                &rollout.updated_at(),
            ],
        )?;
        Ok(())
    }

    pub fn rollout<R: StoredRollout>(&self, id: Uuid) -> Result<Option<R>, StoreError> {
        self.0
            .query_opt("SELECT body FROM rollouts WHERE id = ?1", &[&id.to_string()])?
            .map(|r| Ok(serde_json::from_str(&r.get::<String>(0)?)?))
            .transpose()
    }

    /// The newest rollout when it was stopped (aborted or rolled back):
    /// only it can still be giving data planes back, as a rollout is refused
    /// while another runs or restores. Its state is read first, so a tick
    /// after a rollout that succeeded reads no body.
    pub fn stopped_rollout<R: StoredRollout>(&self) -> Result<Option<R>, StoreError> {
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
    pub fn rollouts<R: StoredRollout>(&self, active: bool) -> Result<Vec<R>, StoreError> {
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
}
