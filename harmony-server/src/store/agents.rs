//! Agents: their credentials and what they report.

use super::{StoreError, Tx};
use chrono::{DateTime, Utc};
use uuid::Uuid;

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

impl Tx<'_> {
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
}
