//! Deployments: the public record, its cell and how far its changes reached Harmony.

use super::outbox::{Enqueued, Outgoing};
use super::{Store, StoreError, constraint_to_name_taken};
use astro_public_api::types::Deployment;
use uuid::Uuid;

/// How far a deployment's changes have reached Harmony (the deliverer
/// itself is [`crate::handoff::Handoff`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryState {
    /// The newest generation Harmony has accepted (0: none yet).
    pub delivered_generation: u64,
    /// Why the last attempt did not deliver.
    pub error: Option<String>,
    /// Harmony refused the last change for good.
    pub refused: bool,
}

/// A stored deployment: its public record, its cell and its delivery.
#[derive(Clone, Debug)]
pub struct Row {
    pub deployment: Deployment,
    pub cell: String,
    pub delivery: DeliveryState,
}

const ROW_COLUMNS: &str = "record, cell, delivered_generation, handoff_error, handoff_refused";

fn decode(r: &sql_store::Row) -> Result<Row, StoreError> {
    Ok(Row {
        deployment: serde_json::from_str(&r.get::<String>(0)?)?,
        cell: r.get(1)?,
        delivery: DeliveryState {
            delivered_generation: r.get(2)?,
            error: r.get(3)?,
            refused: r.get(4)?,
        },
    })
}

/// Moves a workspace's kept count of deployments by `by`.
fn count_deployment(
    tx: &sql_store::Tx<'_>,
    organization_id: &str,
    workspace_id: &str,
    by: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO deployment_counts (organization_id, workspace_id, deployments)
         VALUES (?1, ?2, ?3)
         ON CONFLICT (organization_id, workspace_id)
         DO UPDATE SET deployments = deployment_counts.deployments + excluded.deployments",
        &[&organization_id, &workspace_id, &by],
    )?;
    Ok(())
}

impl Store {
    /// Recounts every workspace's deployments into `deployment_counts`, in
    /// one write: older binaries sharing the database do not keep them.
    pub(super) fn recount_deployments(&self) -> Result<(), StoreError> {
        self.db.write(|tx| {
            tx.execute("DELETE FROM deployment_counts", &[])?;
            tx.execute(
                "INSERT INTO deployment_counts (organization_id, workspace_id, deployments)
                 SELECT organization_id, workspace_id, COUNT(*) FROM deployments
                 GROUP BY organization_id, workspace_id",
                &[],
            )?;
            Ok::<_, StoreError>(())
        })
    }

    /// Inserts a new deployment, recording the Harmony cell it lives in,
    /// with its outbox entry: both or neither. Refused, with nothing
    /// written, when the organization or the workspace holds its quota of
    /// deployments already, or the change rate is spent.
    pub async fn insert(
        &self,
        d: &Deployment,
        cell: &str,
        change: Outgoing,
    ) -> Result<Enqueued, StoreError> {
        let (record, d, cell) = (serde_json::to_string(d)?, d.clone(), cell.to_owned());
        let queued = self.to_queue(&d.organization_id, change)?;
        let quotas = self.quotas;
        let result = self
            .db
            .write_async(move |tx| {
                use crate::quota::{Exceeded, Quota};
                // The kept counts (`deployment_counts`): a row per workspace,
                // whatever the organization holds.
                for (quota, sql) in [
                    (
                        Quota::DeploymentsPerOrganization,
                        "SELECT CAST(COALESCE(SUM(deployments), 0) AS BIGINT)
                         FROM deployment_counts WHERE organization_id = ?1",
                    ),
                    (
                        Quota::DeploymentsPerWorkspace,
                        "SELECT CAST(COALESCE(SUM(deployments), 0) AS BIGINT)
                         FROM deployment_counts WHERE organization_id = ?1 AND workspace_id = ?2",
                    ),
                ] {
                    let params: &[&dyn sql_store::ToValue] = match quota {
                        Quota::DeploymentsPerWorkspace => &[&d.organization_id, &d.workspace_id],
                        _ => &[&d.organization_id],
                    };
                    let used = tx.query_one(sql, params)?.get::<i64>(0)?.max(0) as u64;
                    let limit = quotas.limit(quota).unwrap_or(u64::MAX);
                    if used >= limit {
                        return Err(Exceeded { quota, limit, used, retry_after_ms: None }.into());
                    }
                }
                tx.execute(
                    "INSERT INTO deployments
                         (id, organization_id, workspace_id, name, generation, record, cell)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    &[
                        &d.id.to_string(),
                        &d.organization_id,
                        &d.workspace_id,
                        &d.name,
                        &(d.generation as i64),
                        &record,
                        &cell,
                    ],
                )
                .map_err(constraint_to_name_taken)?;
                count_deployment(tx, &d.organization_id, &d.workspace_id, 1)?;
                queued.enqueue(tx)
            })
            .await;
        self.counted(result)
    }

    /// Replaces a deployment if it is still at `expected_generation`, with
    /// its outbox entry; `None` when someone else changed it first.
    pub async fn update(
        &self,
        d: &Deployment,
        expected_generation: u64,
        change: Outgoing,
    ) -> Result<Option<Enqueued>, StoreError> {
        let (record, d) = (serde_json::to_string(d)?, d.clone());
        let queued = self.to_queue(&d.organization_id, change)?;
        let result = self
            .db
            .write_async(move |tx| {
                let n = tx
                    .execute(
                        "UPDATE deployments SET name = ?3, generation = ?4, record = ?5
                         WHERE id = ?1 AND organization_id = ?2 AND generation = ?6",
                        &[
                            &d.id.to_string(),
                            &d.organization_id,
                            &d.name,
                            &(d.generation as i64),
                            &record,
                            &(expected_generation as i64),
                        ],
                    )
                    .map_err(constraint_to_name_taken)?;
                if n != 1 {
                    return Ok(None);
                }
                queued.enqueue(tx).map(Some)
            })
            .await;
        self.counted(result)
    }

    /// Removes a new deployment whose only change Harmony refused for a
    /// quota (nothing of it is at Harmony, and nothing is queued): the
    /// create leaves nothing behind. False when it is not such a deployment.
    pub fn forget_refused_create(&self, id: Uuid) -> Result<bool, StoreError> {
        self.db.write(move |tx| {
            let id = id.to_string();
            let Some(gone) = tx.query_opt(
                "DELETE FROM deployments
                 WHERE id = ?1 AND generation = 1 AND handoff_refused = 1
                   AND NOT EXISTS (SELECT 1 FROM outbox WHERE deployment_id = ?1)
                 RETURNING organization_id, workspace_id",
                &[&id],
            )?
            else {
                return Ok(false);
            };
            count_deployment(tx, &gone.get::<String>(0)?, &gone.get::<String>(1)?, -1)?;
            Ok(true)
        })
    }

    /// The (cell, data plane) pairs an organization's deployments run on.
    pub fn data_planes_of(
        &self,
        organization_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = self.db.read(|tx| {
            tx.query(
                "SELECT cell, record FROM deployments WHERE organization_id = ?1",
                &[&organization_id],
            )
        })?;
        let mut pairs = std::collections::BTreeSet::new();
        for r in &rows {
            let d: Deployment = serde_json::from_str(&r.get::<String>(1)?)?;
            pairs.insert((r.get::<String>(0)?, d.data_plane_id));
        }
        Ok(pairs.into_iter().collect())
    }

    /// A deployment, the Harmony cell it lives in and its delivery.
    pub fn get(&self, organization_id: &str, id: Uuid) -> Result<Option<Row>, StoreError> {
        self.db
            .read(|tx| {
                tx.query_opt(
                    &format!(
                        "SELECT {ROW_COLUMNS} FROM deployments
                         WHERE id = ?1 AND organization_id = ?2"
                    ),
                    &[&id.to_string(), &organization_id],
                )
            })?
            .as_ref()
            .map(decode)
            .transpose()
    }

    /// Whether another deployment of the workspace already has `name`.
    pub fn name_taken(
        &self,
        organization_id: &str,
        workspace_id: &str,
        name: &str,
        except: Option<Uuid>,
    ) -> Result<bool, StoreError> {
        let except = except.map(|id| id.to_string()).unwrap_or_default();
        Ok(self
            .db
            .read(|tx| {
                tx.query_opt(
                    "SELECT 1 FROM deployments
                     WHERE organization_id = ?1 AND workspace_id = ?2 AND name = ?3 AND id != ?4",
                    &[&organization_id, &workspace_id, &name, &except],
                )
            })?
            .is_some())
    }

    pub fn list(
        &self,
        organization_id: &str,
        workspace_id: Option<&str>,
        name: Option<&str>,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        self.db
            .read(|tx| {
                tx.query(
                    &format!(
                        "SELECT {ROW_COLUMNS} FROM deployments
                         WHERE organization_id = ?1
                           AND (CAST(?2 AS TEXT) IS NULL OR workspace_id = ?2) AND id > ?3
                           AND (CAST(?5 AS TEXT) IS NULL OR name = ?5)
                         ORDER BY id LIMIT ?4"
                    ),
                    &[&organization_id, &workspace_id, &after, &(limit as i64), &name],
                )
            })?
            .iter()
            .map(decode)
            .collect()
    }

    /// Deletes a deployment and queues its deletion at Harmony; `None` (and
    /// nothing queued) when there was no such deployment.
    pub async fn delete(
        &self,
        organization_id: &str,
        id: Uuid,
        change: Outgoing,
    ) -> Result<Option<Enqueued>, StoreError> {
        let organization_id = organization_id.to_owned();
        let queued = self.to_queue(&organization_id, change)?;
        self.db
            .write_async(move |tx| {
                let Some(gone) = tx.query_opt(
                    "DELETE FROM deployments WHERE id = ?1 AND organization_id = ?2
                     RETURNING workspace_id",
                    &[&id.to_string(), &organization_id],
                )?
                else {
                    return Ok(None);
                };
                count_deployment(tx, &organization_id, &gone.get::<String>(0)?, -1)?;
                queued.enqueue(tx).map(Some)
            })
            .await
    }
}
