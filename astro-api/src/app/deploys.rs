//! Deploys: an image or DAG bundle prepared first and finalized later,
//! which then changes its deployment like an update.

use super::Astro;
use super::deployments::{Artifacts, input_of, put};
use crate::auth::Principal;
use crate::failure::Failure;
use crate::harmony::{self, Plane};
use crate::store::Row;
use crate::validate;
use astro_public_api::types::{Deploy, DeployInput, DeployStatus};
use uuid::Uuid;

impl Astro {
    pub async fn create_deploy(
        &self,
        who: &Principal,
        deployment_id: Uuid,
        input: DeployInput,
    ) -> Result<Deploy, Failure> {
        let deployment = self.get(who, deployment_id).await?;
        who.may_change()?;
        let org = who.organization_id.clone();
        let errors = validate::deploy(&input, &deployment);
        if !errors.is_empty() {
            return Err(Failure::Invalid(errors));
        }
        let now = self.clock.now();
        let deploy = Deploy {
            id: Uuid::new_v4(),
            deployment_id,
            organization_id: org,
            deploy_type: input.deploy_type,
            status: DeployStatus::Initialized,
            image_tag: input.image_tag,
            dag_tarball_version: input.dag_tarball_version,
            description: input.description,
            created_at: now,
            updated_at: now,
        };
        let stored = deploy.clone();
        self.db(move |s| s.insert_deploy(&stored)).await?;
        Ok(deploy)
    }

    pub async fn get_deploy(
        &self,
        who: &Principal,
        deployment_id: Uuid,
        id: Uuid,
    ) -> Result<Deploy, Failure> {
        // Its deployment must be one the caller sees.
        self.row(who, deployment_id).await?;
        let org = who.organization_id.clone();
        self.db(move |s| s.get_deploy(&org, deployment_id, id))
            .await?
            .ok_or_else(|| Failure::NotFound(format!("deploy {id} of deployment {deployment_id}")))
    }

    /// Points the deployment at the deploy's image and bundle (a new
    /// generation, queued for Harmony) and marks the deploy DEPLOYED, both
    /// in one commit. A finalized deploy is returned as it is.
    pub async fn finalize_deploy(
        &self,
        who: &Principal,
        deployment_id: Uuid,
        id: Uuid,
    ) -> Result<Deploy, Failure> {
        who.may_change()?;
        let org = who.organization_id.clone();
        for _ in 0..3 {
            let deploy = self.get_deploy(who, deployment_id, id).await?;
            if deploy.status != DeployStatus::Initialized {
                return Ok(deploy);
            }
            let Row { deployment: current, cell, .. } = self.row(who, deployment_id).await?;
            let mut next = current.clone();
            if let Some(tag) = &deploy.image_tag {
                next.image_tag = tag.clone();
            }
            if let Some(version) = &deploy.dag_tarball_version {
                next.dag_bundle_version = Some(version.clone());
            }
            next.generation = current.generation + 1;
            next.updated_at = self.clock.now();
            let input = input_of(&current);
            // Placed at creation, when its owner was checked.
            let plane = Plane {
                cell: cell.clone(),
                id: current.data_plane_id.clone(),
                kind: harmony::plane_kind(&input),
                owner: None,
            };
            self.cells.accepts(&plane.cell, plane.kind).await?;
            let artifacts = Artifacts {
                image_tag: next.image_tag.clone(),
                dag_bundle_version: next.dag_bundle_version.clone(),
            };
            let spec = artifacts.spec(&org, &input, &plane, next.generation);
            let change = put(deployment_id, &plane, spec);
            let finalized =
                Deploy { status: DeployStatus::Deployed, updated_at: next.updated_at, ..deploy };
            let ticket = self.handoff.expect(deployment_id, next.generation);
            if let Some(enqueued) =
                self.store.finalize_deploy(&finalized, &next, current.generation, change).await?
            {
                self.handoff.submit(enqueued);
                // As for updates: with Harmony up, it has the change when
                // the finalize is answered; the deployment says if not.
                let _ = self.handoff.wait(ticket, self.handoff_wait).await;
                return Ok(finalized);
            }
            // Another change landed first; look again (it may have been this
            // deploy's own finalize).
        }
        Err(Failure::Conflict {
            message: format!("deployment {deployment_id} kept changing; retry the finalize"),
            field_errors: Vec::new(),
        })
    }
}
