//! The plane change log: which deployments changed or left a data plane at
//! which plane revision, for agents that ask what changed since a revision
//! (the agent API's changes protocol, `harmony_agent_api`).
//!
//! A deployment row carries the plane revision of its last change
//! (`changed_at`); a removal leaves a row in `plane_removals`. Both are
//! written by [`Tx::bump_desired_revision`], in the transaction that makes
//! the change. Reads are by index on `(data_plane_id, changed_at, id)` and
//! `(data_plane_id, at_revision, deployment_id)`, so what one answer costs
//! follows what it lists, never the size of the plane.

use super::{StoreError, Tx};
use uuid::Uuid;

/// How many plane revisions of removals are kept: an agent further behind
/// than this syncs in full.
pub const HISTORY_REVISIONS: u64 = 10_000;

/// What one write changed on a data plane.
#[derive(Clone, Debug, Default)]
pub struct PlaneChange {
    /// Deployments whose desired objects changed (created, re-rendered).
    pub changed: Vec<Uuid>,
    /// Deployments removed from the plane.
    pub removed: Vec<Uuid>,
}

impl PlaneChange {
    pub fn changed(id: Uuid) -> PlaneChange {
        PlaneChange { changed: vec![id], removed: Vec::new() }
    }
    pub fn removed(id: Uuid) -> PlaneChange {
        PlaneChange { changed: Vec::new(), removed: vec![id] }
    }
}

/// Where a plane's log stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaneLog {
    /// The plane's revision.
    pub desired: u64,
    /// Every change up to this revision is logged.
    pub logged_through: u64,
    /// The log is complete from this revision on.
    pub history_from: u64,
}

/// One entry of the log: a deployment changed (`removed` false) or removed
/// at a plane revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogEntry {
    pub at: u64,
    pub deployment_id: Uuid,
    pub removed: bool,
    /// The deployment's manifest revision (0 for a removal).
    pub manifest_revision: u64,
}

fn uuid(text: &str) -> Result<Uuid, StoreError> {
    text.parse().map_err(|_| StoreError::Invalid(format!("bad deployment id {text}")))
}

impl Tx<'_> {
    /// Logs `change` at plane revision `at` (called by
    /// [`Tx::bump_desired_revision`]), and forgets removals older than
    /// [`HISTORY_REVISIONS`].
    pub(super) fn log_change(
        &self,
        data_plane_id: &str,
        at: u64,
        change: &PlaneChange,
    ) -> Result<(), StoreError> {
        for id in &change.changed {
            self.0.execute(
                "UPDATE deployments SET changed_at = ?2 WHERE id = ?1",
                &[&id.to_string(), &(at as i64)],
            )?;
        }
        if change.removed.is_empty() {
            return Ok(());
        }
        for id in &change.removed {
            self.0.execute(
                "INSERT INTO plane_removals (data_plane_id, deployment_id, at_revision)
                 VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                &[&data_plane_id, &id.to_string(), &(at as i64)],
            )?;
        }
        let horizon = at.saturating_sub(HISTORY_REVISIONS) as i64;
        self.0.execute(
            "DELETE FROM plane_removals WHERE data_plane_id = ?1 AND at_revision <= ?2",
            &[&data_plane_id, &horizon],
        )?;
        Ok(())
    }

    /// Where a data plane's log stands; `None` for no such plane.
    pub fn plane_log(&self, data_plane_id: &str) -> Result<Option<PlaneLog>, StoreError> {
        self.0
            .query_opt(
                "SELECT desired_revision, logged_through, history_from FROM data_planes
                 WHERE id = ?1",
                &[&data_plane_id],
            )?
            .map(|r| {
                Ok(PlaneLog {
                    desired: r.get(0)?,
                    logged_through: r.get(1)?,
                    history_from: r.get(2)?,
                })
            })
            .transpose()
    }

    /// Up to `limit` log entries of a plane with `since < at <= upto`,
    /// after `(after_at, after_id)`, in `(at, id)` order: changes and
    /// removals merged (a removal first when both share a place).
    pub fn log_entries(
        &self,
        data_plane_id: &str,
        since: u64,
        upto: u64,
        after: (u64, &str),
        limit: usize,
    ) -> Result<(Vec<LogEntry>, bool), StoreError> {
        let params = |sql: &'static str| {
            self.0.query(
                sql,
                &[
                    &data_plane_id,
                    &(since as i64),
                    &(upto as i64),
                    &(after.0 as i64),
                    &after.1,
                    &(limit as i64),
                ],
            )
        };
        // `at > since` bounds the index range; `(at, id) > after` is the
        // place in it.
        let changed = params(
            "SELECT changed_at, id, revision FROM deployments
             WHERE data_plane_id = ?1 AND changed_at > ?2 AND changed_at <= ?3
               AND (changed_at > ?4 OR (changed_at = ?4 AND id > ?5))
             ORDER BY changed_at, id LIMIT ?6",
        )?;
        let removed = params(
            "SELECT at_revision, deployment_id FROM plane_removals
             WHERE data_plane_id = ?1 AND at_revision > ?2 AND at_revision <= ?3
               AND (at_revision > ?4 OR (at_revision = ?4 AND deployment_id > ?5))
             ORDER BY at_revision, deployment_id LIMIT ?6",
        )?;
        let mut entries = Vec::with_capacity(changed.len() + removed.len());
        for r in &changed {
            entries.push(LogEntry {
                at: r.get(0)?,
                deployment_id: uuid(&r.get::<String>(1)?)?,
                removed: false,
                manifest_revision: r.get(2)?,
            });
        }
        for r in &removed {
            entries.push(LogEntry {
                at: r.get(0)?,
                deployment_id: uuid(&r.get::<String>(1)?)?,
                removed: true,
                manifest_revision: 0,
            });
        }
        entries.sort_by_key(|e| (e.at, e.deployment_id, !e.removed));
        // Past the last entry of a list that was cut at `limit`, the other
        // list's entries may interleave with ones not read: stop there.
        let mut more = false;
        for (list, was_full) in [(false, changed.len() == limit), (true, removed.len() == limit)] {
            if was_full
                && let Some(last) = entries.iter().rev().find(|e| e.removed == list).copied()
            {
                entries.retain(|e| (e.at, e.deployment_id) <= (last.at, last.deployment_id));
                more = true;
            }
        }
        Ok((entries, more))
    }

    /// Up to `limit` deployments of a plane after `after` (an id), in id
    /// order: `(id, manifest revision)`, for a full sync.
    pub fn plane_page(
        &self,
        data_plane_id: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(Uuid, u64)>, StoreError> {
        self.0
            .query(
                "SELECT id, revision FROM deployments WHERE data_plane_id = ?1 AND id > ?2
                 ORDER BY id LIMIT ?3",
                &[&data_plane_id, &after, &(limit as i64)],
            )?
            .iter()
            .map(|r| Ok((uuid(&r.get::<String>(0)?)?, r.get(1)?)))
            .collect()
    }
}
