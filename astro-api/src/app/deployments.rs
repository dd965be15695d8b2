//! Deployments: create, update, read, list and delete, each change
//! committed with its outbox entry and handed to Harmony.

use super::{Astro, MAX_PAGE, changed_meanwhile};
use crate::auth::Principal;
use crate::failure::{Failure, field_error};
use crate::handoff::Outcome;
use crate::harmony::{self, Plane};
use crate::store::{self, Op, Outgoing, Row};
use crate::validate;
use astro_public_api::types::{
    Deployment, DeploymentInput, DeploymentScan, DeploymentStatus, DeploymentType,
    EnvironmentVariable,
};
use std::time::Duration;
use uuid::Uuid;

impl Astro {
    /// Waits (briefly) for a committed change to reach Harmony and says
    /// where the deployment stands.
    /// A change Harmony refused while the request waited is answered 502
    /// naming the refusal (it is recorded, and the deployment says so): the
    /// caller must not read a 201 as "it will arrive".
    pub(super) async fn settle(
        &self,
        ticket: crate::handoff::Ticket,
        mut deployment: Deployment,
        delivered_before: u64,
    ) -> Result<Deployment, Failure> {
        let delivery = match self.handoff.wait(ticket, self.handoff_wait).await {
            Outcome::Delivered => store::DeliveryState {
                delivered_generation: deployment.generation,
                ..Default::default()
            },
            Outcome::Pending(error) => store::DeliveryState {
                delivered_generation: delivered_before,
                error: Some(error),
                refused: false,
            },
            Outcome::Refused(_, Some(quota)) => {
                // A create its data plane has no room for leaves nothing.
                if delivered_before == 0 && deployment.generation == 1 {
                    let id = deployment.id;
                    self.db(move |s| s.forget_refused_create(id)).await?;
                }
                return Err(Failure::QuotaExceeded(quota));
            }
            Outcome::Refused(error, None) => return Err(Failure::HarmonyRefused(error)),
        };
        set_status(&mut deployment, &delivery);
        Ok(deployment)
    }

    /// Resolves `input`'s contact emails: absent means as they are (none
    /// for a new deployment). Before every astro-api on the database knows
    /// them (`Store::holds_contact_emails`: `astro-api contract-schema`
    /// after the rollout), a record that would hold some is refused with a
    /// 503 that says so, and nothing is written: an older replica would
    /// drop them when it next rewrote the record.
    fn contact_emails(
        &self,
        input: &mut DeploymentInput,
        current: Option<&Deployment>,
    ) -> Result<(), Failure> {
        let kept = current.map(|c| c.contact_emails.clone()).unwrap_or_default();
        let emails = input.contact_emails.get_or_insert(kept);
        if !emails.is_empty() && !self.store.holds_contact_emails() {
            return Err(Failure::Unavailable(
                "contact_emails are stored once every astro-api on this database reads them: \
                 after the rollout, run `astro-api contract-schema` and restart; until then \
                 send none"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    pub async fn create(
        &self,
        who: &Principal,
        mut input: DeploymentInput,
    ) -> Result<Deployment, Failure> {
        who.may_change()?;
        let org = who.organization_id.clone();
        let mut errors = validate::deployment(&input, None);
        if !self.workspace_visible(who, &input.workspace_id).await? {
            errors.push(field_error(
                &deployment_rules::rule::PUBLIC_WORKSPACE_ID,
                "workspace_id",
                "not_found",
                format!("no workspace {:?} in this organization", input.workspace_id),
            ));
        }
        if !errors.is_empty() {
            return Err(Failure::Invalid(errors));
        }
        self.contact_emails(&mut input, None)?;
        let plane = self.resolve_plane(&org, &input).await?;
        self.cells.accepts(&plane.cell, plane.kind).await?;
        // Time-ordered: new deployments land at the end of every index keyed
        // by id (here and at Harmony) instead of on a random page each, which
        // is most of what a commit writes.
        let id = Uuid::now_v7();
        let generation = 1;
        let artifacts = Artifacts { image_tag: image_tag(&input, None), dag_bundle_version: None };
        let spec = artifacts.spec(&org, &input, &plane, generation);
        let change = put(id, &plane, spec);
        let now = self.clock.now();
        let stamp = Stamp { generation, created_at: now, updated_at: now };
        let cell = plane.cell.clone();
        let record = public_record(id, org, input, plane.id, artifacts, stamp);
        let ticket = self.handoff.expect(id, generation);
        let enqueued = self.store.insert(&record, &cell, change).await?;
        self.handoff.submit(enqueued);
        self.settle(ticket, record, 0).await
    }

    pub async fn update(
        &self,
        who: &Principal,
        id: Uuid,
        if_match: Option<String>,
        mut input: DeploymentInput,
    ) -> Result<Deployment, Failure> {
        let Row { deployment: current, cell, delivery } = self.row(who, id).await?;
        who.may_change()?;
        let org = who.organization_id.clone();
        // A body no version of the deployment would take is a 400 whatever
        // its precondition says: the client must fix the body, not re-read.
        let errors = validate::deployment(&input, Some(&current));
        if !errors.is_empty() {
            return Err(Failure::Invalid(errors));
        }
        let current_tag = astro_public_api::types::etag(current.generation);
        if let Some(tag) = if_match.as_deref().map(str::trim)
            && tag != "*"
            && tag.trim_start_matches("W/") != current_tag
        {
            return Err(Failure::PreconditionFailed { current: current_tag });
        }
        self.contact_emails(&mut input, Some(&current))?;
        // Placed at creation, when its owner was checked.
        let plane = Plane {
            cell,
            id: current.data_plane_id.clone(),
            kind: harmony::plane_kind(&input),
            owner: None,
        };
        self.cells.accepts(&plane.cell, plane.kind).await?;
        let generation = current.generation + 1;
        let artifacts = Artifacts {
            image_tag: image_tag(&input, Some(&current)),
            dag_bundle_version: current.dag_bundle_version.clone(),
        };
        let spec = artifacts.spec(&org, &input, &plane, generation);
        let change = put(id, &plane, spec);
        let stamp =
            Stamp { generation, created_at: current.created_at, updated_at: self.clock.now() };
        let record = public_record(id, org, input, plane.id, artifacts, stamp);
        let ticket = self.handoff.expect(id, generation);
        let Some(enqueued) = self.store.update(&record, current.generation, change).await? else {
            return Err(changed_meanwhile(id));
        };
        self.handoff.submit(enqueued);
        if delivery.delivered_generation < current.generation && delivery.error.is_some() {
            // Queued behind a change that is already waiting for Harmony:
            // it cannot arrive sooner, so there is nothing to wait for.
            let mut record = record;
            set_status(&mut record, &delivery);
            return Ok(record);
        }
        self.settle(ticket, record, delivery.delivered_generation).await
    }

    /// A deployment. Once Harmony has its newest generation, the status is
    /// what the data plane's agent reports (through Harmony 4.0.0); a cell
    /// that does not serve that yet, or cannot answer within
    /// [`STATUS_WAIT`], leaves the status as the handoff tells it.
    pub async fn get(&self, who: &Principal, id: Uuid) -> Result<Deployment, Failure> {
        let row = self.row(who, id).await?;
        let cell = row.cell.clone();
        let delivered = row.delivery.delivered_generation >= row.deployment.generation;
        let mut deployment = with_status(row);
        if delivered {
            let asked = self.cells.deployment_status(&cell, id);
            if let Ok(Ok(reported)) = tokio::time::timeout(STATUS_WAIT, asked).await {
                reported.apply_to(&mut deployment);
            }
        }
        Ok(deployment)
    }

    /// A deployment the caller may see (404 for one it may not, as for one
    /// that does not exist).
    pub(super) async fn row(&self, who: &Principal, id: Uuid) -> Result<Row, Failure> {
        let org = who.organization_id.clone();
        self.db(move |s| s.get(&org, id))
            .await?
            .filter(|row| who.sees(&row.deployment.workspace_id))
            .ok_or_else(|| Failure::NotFound(format!("deployment {id}")))
    }

    pub async fn list(
        &self,
        who: &Principal,
        mut scan: DeploymentScan,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<Deployment>, Failure> {
        if let Some(own) = who.confined_to() {
            match &scan.workspace_id {
                Some(asked) if asked != own => return Ok(Vec::new()),
                _ => scan.workspace_id = Some(own.to_owned()),
            }
        }
        let org = who.organization_id.clone();
        let limit = limit.min(MAX_PAGE);
        let rows = self
            .db(move |s| {
                s.list(&org, scan.workspace_id.as_deref(), scan.name.as_deref(), after, limit)
            })
            .await?;
        Ok(rows.into_iter().map(with_status).collect())
    }

    /// Deletes the deployment here and queues its deletion at Harmony.
    pub async fn delete(&self, who: &Principal, id: Uuid) -> Result<(), Failure> {
        let Row { deployment: current, cell, .. } = self.row(who, id).await?;
        who.may_change()?;
        let org = who.organization_id.clone();
        let kind = harmony::plane_kind(&input_of(&current));
        self.cells.accepts(&cell, kind).await?;
        // The deletion is the deployment's last change.
        let generation = current.generation + 1;
        let change = Outgoing {
            deployment_id: id,
            cell,
            kind,
            generation,
            op: Op::Delete,
            request_id: harmony::request_id::current(),
        };
        let ticket = self.handoff.expect(id, generation);
        let Some(enqueued) = self.store.delete(&org, id, change).await? else {
            return Err(Failure::NotFound(format!("deployment {id}")));
        };
        self.handoff.submit(enqueued);
        let _ = self.handoff.wait(ticket, self.handoff_wait).await;
        Ok(())
    }

    /// The data plane a new deployment of `organization_id` goes to, or
    /// field errors saying why there is none. A cluster named by id must
    /// belong to the organization: another organization's cluster, or one
    /// registered without an owner, is answered exactly as a cluster that
    /// does not exist (nothing tells an outsider which ids exist, or their
    /// kind).
    pub(super) async fn resolve_plane(
        &self,
        organization_id: &str,
        input: &DeploymentInput,
    ) -> Result<Plane, Failure> {
        let want = harmony::plane_kind(input);
        match (input.deployment_type, &input.cluster_id, input.cloud_provider, &input.region) {
            (DeploymentType::Standard, _, Some(cloud), Some(region)) => {
                self.cells.shared_data_plane(cloud, region).await?.ok_or_else(|| {
                    Failure::Invalid(vec![field_error(
                        &deployment_rules::rule::PUBLIC_STANDARD_PLACEMENT,
                        "region",
                        "unavailable",
                        format!("no shared cluster is available in {cloud:?} {region}"),
                    )])
                })
            }
            (_, Some(cluster_id), _, _) => {
                let found = self.cells.data_plane(cluster_id).await?;
                let owned = found.filter(|p| p.owner.as_deref() == Some(organization_id));
                let Some(plane) = owned else {
                    return Err(Failure::Invalid(vec![field_error(
                        &deployment_rules::rule::PUBLIC_CLUSTER_PLACEMENT,
                        "cluster_id",
                        "not_found",
                        format!("no cluster {cluster_id:?}"),
                    )]));
                };
                if plane.kind != want {
                    return Err(Failure::Invalid(vec![field_error(
                        &deployment_rules::rule::PUBLIC_CLUSTER_PLACEMENT,
                        "cluster_id",
                        "kind",
                        format!(
                            "cluster {cluster_id:?} is {:?}; a {:?} deployment needs a {want:?} cluster",
                            plane.kind, input.deployment_type
                        ),
                    )]));
                }
                Ok(plane)
            }
            // Validation has already required what is missing here.
            _ => Err(Failure::Internal(anyhow::anyhow!("unvalidated placement"))),
        }
    }
}

/// What a deployment runs: its image and DAG bundle. Set at creation and by
/// deploys; an update that names no image keeps the current one.
pub(super) struct Artifacts {
    pub(super) image_tag: String,
    pub(super) dag_bundle_version: Option<String>,
}

impl Artifacts {
    /// Harmony's spec of `input` running these, at `generation`.
    pub(super) fn spec(
        &self,
        org: &str,
        input: &DeploymentInput,
        plane: &Plane,
        generation: u64,
    ) -> harmony::Spec {
        let bundle = self.dag_bundle_version.as_deref();
        harmony::harmony_spec(org, input, plane, generation, &self.image_tag, bundle)
    }
}

pub(super) fn image_tag(input: &DeploymentInput, current: Option<&Deployment>) -> String {
    input
        .image_tag
        .clone()
        .or_else(|| current.map(|c| c.image_tag.clone()))
        .unwrap_or_else(|| format!("runtime-{}", input.runtime_version))
}

/// The input that produced a stored deployment. Secret values are not kept
/// here; sent without them, Harmony keeps the ones it has.
pub(super) fn input_of(d: &Deployment) -> DeploymentInput {
    DeploymentInput {
        workspace_id: d.workspace_id.clone(),
        name: d.name.clone(),
        description: d.description.clone(),
        deployment_type: d.deployment_type,
        cloud_provider: d.cloud_provider,
        region: d.region.clone(),
        cluster_id: d.cluster_id.clone(),
        runtime_version: d.runtime_version.clone(),
        executor: d.executor,
        scheduler_size: d.scheduler_size,
        scheduler: d.scheduler,
        is_high_availability: d.is_high_availability,
        is_development_mode: d.is_development_mode,
        resource_quota_cpu: d.resource_quota_cpu.clone(),
        resource_quota_memory: d.resource_quota_memory.clone(),
        default_task_pod_cpu: d.default_task_pod_cpu.clone(),
        default_task_pod_memory: d.default_task_pod_memory.clone(),
        is_cicd_enforced: d.is_cicd_enforced,
        is_dag_deploy_enabled: d.is_dag_deploy_enabled,
        worker_queues: d.worker_queues.clone(),
        environment_variables: d.environment_variables.clone(),
        image_tag: Some(d.image_tag.clone()),
        contact_emails: Some(d.contact_emails.clone()),
    }
}

/// The public record: the input with secret values removed, plus what the
/// server owns.
/// What the server stamps on every stored version of a deployment.
struct Stamp {
    generation: u64,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

fn public_record(
    id: Uuid,
    organization_id: String,
    input: DeploymentInput,
    data_plane_id: String,
    artifacts: Artifacts,
    stamp: Stamp,
) -> Deployment {
    let Artifacts { image_tag, dag_bundle_version } = artifacts;
    let Stamp { generation, created_at, updated_at } = stamp;
    let DeploymentInput {
        workspace_id,
        name,
        description,
        deployment_type,
        cloud_provider,
        region,
        cluster_id,
        runtime_version,
        executor,
        scheduler_size,
        scheduler,
        is_high_availability,
        is_development_mode,
        resource_quota_cpu,
        resource_quota_memory,
        default_task_pod_cpu,
        default_task_pod_memory,
        is_cicd_enforced,
        is_dag_deploy_enabled,
        worker_queues,
        environment_variables,
        image_tag: _,
        contact_emails,
    } = input;
    let hosted = deployment_type != DeploymentType::Hybrid;
    let or_default = |value: Option<String>, default: &str| {
        hosted.then(|| value.unwrap_or_else(|| default.to_owned()))
    };
    let quotas = validate::DEFAULT_QUOTAS;
    Deployment {
        id,
        organization_id,
        workspace_id,
        name,
        description,
        deployment_type,
        cloud_provider,
        region,
        cluster_id,
        runtime_version,
        executor,
        scheduler_size,
        scheduler,
        is_high_availability,
        is_development_mode,
        resource_quota_cpu: or_default(resource_quota_cpu, quotas.resource_quota_cpu),
        resource_quota_memory: or_default(resource_quota_memory, quotas.resource_quota_memory),
        default_task_pod_cpu: or_default(default_task_pod_cpu, quotas.default_task_pod_cpu),
        default_task_pod_memory: or_default(
            default_task_pod_memory,
            quotas.default_task_pod_memory,
        ),
        is_cicd_enforced,
        is_dag_deploy_enabled,
        worker_queues,
        environment_variables: environment_variables
            .into_iter()
            .map(|v| EnvironmentVariable { value: if v.is_secret { None } else { v.value }, ..v })
            .collect(),
        // The caller resolved absent (as they are) already.
        contact_emails: contact_emails.unwrap_or_default(),
        image_tag,
        dag_bundle_version,
        // Set from the handoff by `set_status` before anyone sees it.
        status: DeploymentStatus::Creating,
        status_reason: None,
        data_plane_id,
        generation,
        delivered_generation: 0,
        created_at,
        updated_at,
    }
}

/// The outbox entry that hands `spec` to the cell of `plane`.
pub(super) fn put(id: Uuid, plane: &Plane, spec: harmony::Spec) -> Outgoing {
    Outgoing {
        deployment_id: id,
        cell: plane.cell.clone(),
        kind: plane.kind,
        generation: spec.generation(),
        op: Op::Put(Box::new(spec)),
        // The request being served (http.rs scopes each change's handler).
        request_id: harmony::request_id::current(),
    }
}

/// How long a read waits for Harmony's view of a deployment's status
/// before answering with what astro-api knows itself.
pub const STATUS_WAIT: Duration = Duration::from_secs(1);

fn with_status(row: Row) -> Deployment {
    let mut deployment = row.deployment;
    set_status(&mut deployment, &row.delivery);
    deployment
}

/// A deployment's status as far as the control plane knows it: whether its
/// newest generation has reached Harmony, and if not, why. (What the data
/// plane reports after that comes with the agents' health reports.)
fn set_status(d: &mut Deployment, delivery: &store::DeliveryState) {
    d.delivered_generation = delivery.delivered_generation;
    let waiting = delivery.error.clone().unwrap_or_else(|| "queued for Harmony".to_owned());
    let (status, reason) = if delivery.delivered_generation >= d.generation {
        (
            DeploymentStatus::Deploying,
            format!(
                "Harmony has generation {}; waiting for the data plane to apply it",
                d.generation
            ),
        )
    } else if delivery.refused {
        (DeploymentStatus::Unknown, waiting)
    } else if delivery.delivered_generation == 0 {
        (DeploymentStatus::Creating, waiting)
    } else {
        (DeploymentStatus::Deploying, waiting)
    };
    d.status = status;
    d.status_reason = Some(reason);
}
