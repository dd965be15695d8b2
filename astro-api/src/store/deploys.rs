//! Deploys: a change made in two steps, finalized with its deployment.

use super::outbox::{Enqueued, Outgoing};
use super::{Store, StoreError};
use astro_public_api::types::{Deploy, Deployment};
use uuid::Uuid;

impl Store {
    pub fn insert_deploy(&self, deploy: &Deploy) -> Result<(), StoreError> {
        let (record, deploy) = (serde_json::to_string(deploy)?, deploy.clone());
        self.db.write(move |tx| {
            tx.execute(
                "INSERT INTO deploys (id, deployment_id, organization_id, record)
                 VALUES (?1, ?2, ?3, ?4)",
                &[
                    &deploy.id.to_string(),
                    &deploy.deployment_id.to_string(),
                    &deploy.organization_id,
                    &record,
                ],
            )?;
            Ok(())
        })
    }

    pub fn get_deploy(
        &self,
        organization_id: &str,
        deployment_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Deploy>, StoreError> {
        let row = self.db.read(|tx| {
            tx.query_opt(
                "SELECT record FROM deploys
                 WHERE id = ?1 AND deployment_id = ?2 AND organization_id = ?3",
                &[&id.to_string(), &deployment_id.to_string(), &organization_id],
            )
        })?;
        row.map(|r| Ok(serde_json::from_str(&r.get::<String>(0)?)?)).transpose()
    }

    /// Marks a deploy finalized and stores the deployment it changed, with
    /// the deployment's outbox entry: all or nothing; `None` when the
    /// deployment moved past `expected_generation`.
    pub async fn finalize_deploy(
        &self,
        deploy: &Deploy,
        deployment: &Deployment,
        expected_generation: u64,
        change: Outgoing,
    ) -> Result<Option<Enqueued>, StoreError> {
        let deploy_record = serde_json::to_string(deploy)?;
        let deployment_record = serde_json::to_string(deployment)?;
        let (deploy_id, d) = (deploy.id, deployment.clone());
        let queued = self.to_queue(&d.organization_id, change)?;
        let result = self
            .db
            .write_async(move |tx| {
                let n = tx.execute(
                    "UPDATE deployments SET generation = ?3, record = ?4
                     WHERE id = ?1 AND organization_id = ?2 AND generation = ?5",
                    &[
                        &d.id.to_string(),
                        &d.organization_id,
                        &(d.generation as i64),
                        &deployment_record,
                        &(expected_generation as i64),
                    ],
                )?;
                if n != 1 {
                    return Ok(None);
                }
                tx.execute(
                    "UPDATE deploys SET record = ?2 WHERE id = ?1",
                    &[&deploy_id.to_string(), &deploy_record],
                )?;
                queued.enqueue(tx).map(Some)
            })
            .await;
        self.counted(result)
    }
}
