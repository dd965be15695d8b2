//! Data planes: registration (an agent or an operator says what a cluster
//! is) and listing, each shown with its liveness.

use super::{
    HarmonyApp, HarmonyError, MAX_PAGE, check_dns_label, check_written, is_dns_label, not_found,
};
use deployment_rules::{ApiVersion, Refusals, rule};
use harmony_api::latest::{DataPlane, DataPlaneRegistration};

/// The label recording, at registration, the organization a Hybrid or
/// Dedicated data plane belongs to (docs/security.md).
pub const OWNER_LABEL: &str = "astronomer.io/organization";

impl HarmonyApp {
    pub fn register_data_plane(
        &self,
        id: &str,
        registration: DataPlaneRegistration,
        at: ApiVersion,
    ) -> Result<DataPlane, HarmonyError> {
        let mut problems = Refusals::new(at);
        check_dns_label(&mut problems, &rule::PLANE_ID, "data_plane_id", id);
        for (field, value) in [
            ("region", &registration.region),
            ("agent_version", &registration.agent_version),
            ("platform_release", &registration.platform_release),
        ] {
            check_written(&mut problems, &rule::REGISTRATION_WRITTEN, field, value);
        }
        if let Err(detail) = deployment_rules::kubernetes_version(&registration.kubernetes_version)
        {
            problems.refuse(
                &rule::KUBERNETES_VERSION,
                "kubernetes_version",
                format!("{detail}, got {:?}", registration.kubernetes_version),
            );
        }
        // A Hybrid data plane belongs to one organization, named when it
        // registers (deployment_rules::REGISTRATION_RULES): without it the
        // plane could take any organization's deployments.
        let owner = registration.labels.get(OWNER_LABEL);
        if registration.kind == harmony_api::latest::DataPlaneKind::Hybrid {
            match owner {
                None => problems.refuse(
                    &rule::HYBRID_OWNER,
                    "labels",
                    format!(
                        "a HYBRID data plane names the organization it belongs to in label \
                         {OWNER_LABEL}"
                    ),
                ),
                Some(owner) => check_written(
                    &mut problems,
                    &rule::HYBRID_OWNER,
                    &format!("labels.{OWNER_LABEL}"),
                    owner,
                ),
            }
        }
        problems.into_result().map_err(HarmonyError::Invalid)?;
        let now = self.clock.now();
        let id = id.to_owned();
        self.store.write(move |tx| {
            if let Some(existing) = tx.data_plane(&id)? {
                if existing.kind != registration.kind {
                    return Err(HarmonyError::Conflict {
                        code: "DataPlaneKindChanged",
                        message: format!(
                            "data plane {id} is registered as {:?}; its kind cannot change",
                            existing.kind
                        ),
                    });
                }
                // A registration names the release a data plane starts on;
                // after that only rollouts move it (and re-render its
                // deployments), so a re-registration cannot quietly undo one.
                if existing.labels.get(OWNER_LABEL) != registration.labels.get(OWNER_LABEL) {
                    return Err(HarmonyError::Conflict {
                        code: "DataPlaneOwnerChanged",
                        message: format!(
                            "data plane {id} belongs to {}; the organization a data plane \
                             belongs to (label {OWNER_LABEL}) cannot change",
                            existing.labels.get(OWNER_LABEL).map_or("no organization", |o| o)
                        ),
                    });
                }
                if existing.platform_release != registration.platform_release {
                    return Err(HarmonyError::Conflict {
                        code: "PlatformReleaseManagedByRollouts",
                        message: format!(
                            "data plane {id} is on platform release {}; a registration cannot \
                             change it (send {} again, and change releases with a rollout, \
                             API 3.0.0)",
                            existing.platform_release, existing.platform_release
                        ),
                    });
                }
            }
            Ok(tx.upsert_data_plane(&id, &registration, now)?)
        })
    }

    pub fn data_plane(&self, id: &str) -> Result<DataPlane, HarmonyError> {
        // Registration admits only DNS labels: anything else names no data
        // plane (and is not sent to the database, which may not be able to
        // hold it: PostgreSQL text cannot contain NUL).
        if !is_dns_label(id) {
            return Err(not_found("data plane", id));
        }
        self.store
            .read(|tx| Ok::<_, HarmonyError>(tx.data_plane(id)?))?
            .map(|plane| self.with_liveness(plane))
            .ok_or_else(|| not_found("data plane", id))
    }

    pub fn data_planes(
        &self,
        after: Option<&str>,
        limit: usize,
        at: ApiVersion,
    ) -> Result<Vec<DataPlane>, HarmonyError> {
        if let Some(after) = after
            && !is_dns_label(after)
        {
            let detail = format!("names no data plane ({after:?})");
            return Err(HarmonyError::Invalid(Refusals::one(
                at,
                &rule::PAGE_TOKEN,
                "page_token",
                detail,
            )));
        }
        let planes = self
            .store
            .read(|tx| Ok::<_, HarmonyError>(tx.data_planes_after(after, limit.min(MAX_PAGE))?))?;
        Ok(planes.into_iter().map(|p| self.with_liveness(p)).collect())
    }
}
