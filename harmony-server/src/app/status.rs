//! What Harmony shows of a data plane and a deployment: liveness from the
//! agent's heartbeat, and a deployment's state from its agent's report.

use super::{HarmonyApp, HarmonyError, not_found};
use harmony_api::latest::{DataPlane, DeploymentReport, DeploymentState};
use uuid::Uuid;

/// An agent whose last report is older than this has its data plane shown
/// UNREACHABLE.
pub const HEARTBEAT_TIMEOUT: chrono::Duration = chrono::Duration::seconds(90);

impl HarmonyApp {
    /// A data plane whose agent has reported before but not within
    /// [`HEARTBEAT_TIMEOUT`] is UNREACHABLE, whatever it last said.
    pub(super) fn with_liveness(&self, mut plane: DataPlane) -> DataPlane {
        if let Some(beat) = plane.last_heartbeat
            && self.clock.now() - beat > HEARTBEAT_TIMEOUT
        {
            plane.status = harmony_api::latest::DataPlaneStatus::Unreachable;
        }
        plane
    }

    /// Where a deployment stands on its data plane, from its agent's last
    /// report: DEPLOYING until the agent reports its newest manifest
    /// revision, then HEALTHY or UNHEALTHY as reported, or APPLIED when the
    /// agent applied it and cannot observe health (it reports UNKNOWN);
    /// UNKNOWN when the data plane stopped reporting.
    pub fn deployment_status(&self, id: Uuid) -> Result<DeploymentReport, HarmonyError> {
        let (deployment, report, plane) = self.store.read(|tx| {
            let d = tx.deployment(id)?.ok_or_else(|| not_found("deployment", &id.to_string()))?;
            let plane = tx.data_plane(&d.spec.data_plane_id)?;
            Ok::<_, HarmonyError>((d, tx.deployment_report(id)?, plane))
        })?;
        let reachable = plane
            .map(|p| self.with_liveness(p).status)
            .is_some_and(|s| s != harmony_api::latest::DataPlaneStatus::Unreachable);
        let state = match &report {
            _ if !reachable => DeploymentState::Unknown,
            Some(r) if r.revision == deployment.revision => match r.health.as_str() {
                "HEALTHY" => DeploymentState::Healthy,
                "UNHEALTHY" => DeploymentState::Unhealthy,
                // Applied, and the agent cannot tell more.
                "UNKNOWN" => DeploymentState::Applied,
                _ => DeploymentState::Deploying,
            },
            _ => DeploymentState::Deploying,
        };
        Ok(DeploymentReport {
            deployment_id: id,
            generation: deployment.spec.generation,
            revision: deployment.revision,
            state,
            reported_revision: report.as_ref().map(|r| r.revision),
            reported_at: report.as_ref().map(|r| r.at),
            message: report.and_then(|r| r.message),
        })
    }
}
