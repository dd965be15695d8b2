//! astro-api's application layer: validate, keep the record, hand the change
//! to Harmony.
//!
//! Every accepted change is committed with an outbox entry in one
//! transaction, then delivered through [`crate::handoff`]; the
//! request waits a moment for the delivery so that, with Harmony up, its
//! answer already says Harmony has the change. With Harmony down, the change
//! is still accepted (201 or 200, `status` CREATING or DEPLOYING,
//! `delivered_generation` behind `generation`, `status_reason` saying what it
//! waits for) and delivered when Harmony is back. What is refused at once,
//! with nothing written: invalid input, and a change the cell is known not
//! to serve a version for (503 with the version gap).

use crate::auth::Principal;
use crate::clock::Clock;
use crate::failure::{Failure, field_error};
use crate::handoff::{Handoff, Outcome};
use crate::harmony::{self, Cells, Plane};
use crate::store::{self, Op, Outgoing, Row, Store, StoreError};
use crate::validate;
use astro_public_api::types::{
    CellStatus, Deploy, DeployInput, DeployStatus, Deployment, DeploymentInput, DeploymentScan,
    DeploymentStatus, DeploymentType, EnvironmentVariable, Readiness,
};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Upper bound on a page of results.
pub const MAX_PAGE: usize = 1000;

pub struct Astro {
    pub(crate) store: Store,
    cells: Arc<Cells>,
    handoff: Arc<Handoff>,
    /// How long a request waits for its change to reach Harmony before it
    /// is answered with the pending status.
    handoff_wait: Duration,
    /// Records' timestamps and tokens' expiry ([`crate::clock`]).
    pub(crate) clock: Arc<dyn Clock>,
}

impl Astro {
    /// Changes Harmony refused after astro-api accepted them, by cell.
    pub fn refusals(
        &self,
    ) -> prometheus_client::metrics::family::Family<
        crate::handoff::RefusalLabels,
        prometheus_client::metrics::counter::Counter,
    > {
        self.handoff.refusals()
    }

    /// Delivery attempts to Harmony, by cell and outcome.
    pub fn deliveries(
        &self,
    ) -> prometheus_client::metrics::family::Family<
        crate::handoff::DeliveryLabels,
        prometheus_client::metrics::counter::Counter,
    > {
        self.handoff.deliveries()
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Failure {
        match error {
            StoreError::NameTaken => name_taken(),
            StoreError::WorkspaceNameTaken => Failure::Conflict {
                message: "a workspace of this organization already has the name".to_owned(),
                field_errors: vec![field_error("name", "unique", "already used")],
            },
            other => Failure::Internal(other.into()),
        }
    }
}

fn name_taken() -> Failure {
    Failure::Conflict {
        message: "the name is already used in this workspace".to_owned(),
        field_errors: vec![field_error("name", "unique", "already used in this workspace")],
    }
}

fn changed_meanwhile(id: Uuid) -> Failure {
    Failure::Conflict {
        message: format!("deployment {id} was changed by another request; fetch it and retry"),
        field_errors: Vec::new(),
    }
}

impl Astro {
    pub fn new(
        store: Store,
        cells: Arc<Cells>,
        handoff: Arc<Handoff>,
        handoff_wait: Duration,
        clock: Arc<dyn Clock>,
    ) -> Astro {
        Astro { store, cells, handoff, handoff_wait, clock }
    }

    /// Runs a blocking store call off the async executor.
    pub(crate) async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Failure> {
        let store = self.store.clone();
        sql_store::run_blocking(move || f(&store))
            .await
            .map_err(|e| Failure::Internal(e.into()))?
            .map_err(Failure::from)
    }

    /// A read of one row by its key. On SQLite that is answered from the
    /// page cache in microseconds, less than a hand-off to the blocking pool
    /// and back costs, so it runs on the calling task; on PostgreSQL it is
    /// a round trip to the server and goes to the blocking pool like any
    /// other store call.
    pub(crate) async fn lookup<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Failure> {
        match self.store.backend() {
            sql_store::Backend::Sqlite => f(&self.store).map_err(Failure::from),
            sql_store::Backend::Postgres => self.db(f).await,
        }
    }

    /// Platform rollouts across the data planes the organization's
    /// deployments run on, cell by cell; a cell that cannot say is listed
    /// as unavailable.
    pub async fn platform_rollouts(
        &self,
        who: &Principal,
    ) -> Result<astro_public_api::types::PlatformRollouts, Failure> {
        who.may_see_platform()?;
        let org = who.organization_id.clone();
        let pairs = self.db(move |s| s.data_planes_of(&org)).await?;
        let mut by_cell: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (cell, plane) in pairs {
            by_cell.entry(cell).or_default().push(plane);
        }
        let mut answer = astro_public_api::types::PlatformRollouts {
            rollouts: Vec::new(),
            unavailable: Vec::new(),
        };
        for (cell, planes) in by_cell {
            match self.cells.rollouts(&cell, &planes, self.clock.now()).await {
                Ok(rollouts) => answer.rollouts.extend(rollouts),
                Err(unavailable) => answer.unavailable.push(unavailable),
            }
        }
        answer.rollouts.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        Ok(answer)
    }

    pub async fn readiness(&self) -> Readiness {
        let newest = harmony::newest_spoken();
        let cells: Vec<CellStatus> = self
            .cells
            .status()
            .await
            .into_iter()
            .map(|cell| match cell.negotiated {
                Ok(n) => CellStatus {
                    name: cell.name,
                    reachable: true,
                    degraded: Some(&n.version) != newest.as_ref(),
                    api_version: Some(n.version.to_string()),
                    served: n.served.iter().map(ToString::to_string).collect(),
                    detail: None,
                },
                Err(detail) => CellStatus {
                    name: cell.name,
                    reachable: false,
                    degraded: true,
                    api_version: None,
                    served: Vec::new(),
                    detail: Some(detail),
                },
            })
            .collect();
        Readiness { ready: cells.iter().all(|c| c.reachable), cells }
    }

    /// Waits (briefly) for a committed change to reach Harmony and says
    /// where the deployment stands.
    /// A change Harmony refused while the request waited is answered 502
    /// naming the refusal (it is recorded, and the deployment says so): the
    /// caller must not read a 201 as "it will arrive".
    async fn settle(
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
            Outcome::Refused(error) => return Err(Failure::HarmonyRefused(error)),
        };
        set_status(&mut deployment, &delivery);
        Ok(deployment)
    }

    pub async fn create(
        &self,
        who: &Principal,
        input: DeploymentInput,
    ) -> Result<Deployment, Failure> {
        who.may_change()?;
        let org = who.organization_id.clone();
        let mut errors = validate::deployment(&input, None);
        if !self.workspace_visible(who, &input.workspace_id).await? {
            errors.push(field_error(
                "workspace_id",
                "not_found",
                format!("no workspace {:?} in this organization", input.workspace_id),
            ));
        }
        if !errors.is_empty() {
            return Err(Failure::Invalid(errors));
        }
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
        input: DeploymentInput,
    ) -> Result<Deployment, Failure> {
        let Row { deployment: current, cell, delivery } = self.row(who, id).await?;
        who.may_change()?;
        let org = who.organization_id.clone();
        let current_tag = astro_public_api::types::etag(current.generation);
        if let Some(tag) = if_match.as_deref().map(str::trim)
            && tag != "*"
            && tag.trim_start_matches("W/") != current_tag
        {
            return Err(Failure::PreconditionFailed { current: current_tag });
        }
        let errors = validate::deployment(&input, Some(&current));
        if !errors.is_empty() {
            return Err(Failure::Invalid(errors));
        }
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
    async fn row(&self, who: &Principal, id: Uuid) -> Result<Row, Failure> {
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

    /// The data plane a new deployment of `organization_id` goes to, or
    /// field errors saying why there is none. A cluster named by id must
    /// belong to the organization: another organization's cluster, or one
    /// registered without an owner, is answered exactly as a cluster that
    /// does not exist (nothing tells an outsider which ids exist, or their
    /// kind).
    async fn resolve_plane(
        &self,
        organization_id: &str,
        input: &DeploymentInput,
    ) -> Result<Plane, Failure> {
        let want = harmony::plane_kind(input);
        match (input.deployment_type, &input.cluster_id, input.cloud_provider, &input.region) {
            (DeploymentType::Standard, _, Some(cloud), Some(region)) => {
                self.cells.shared_data_plane(cloud, region).await?.ok_or_else(|| {
                    Failure::Invalid(vec![field_error(
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
                        "cluster_id",
                        "not_found",
                        format!("no cluster {cluster_id:?}"),
                    )]));
                };
                if plane.kind != want {
                    return Err(Failure::Invalid(vec![field_error(
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
struct Artifacts {
    image_tag: String,
    dag_bundle_version: Option<String>,
}

impl Artifacts {
    /// Harmony's spec of `input` running these, at `generation`.
    fn spec(
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

fn image_tag(input: &DeploymentInput, current: Option<&Deployment>) -> String {
    input
        .image_tag
        .clone()
        .or_else(|| current.map(|c| c.image_tag.clone()))
        .unwrap_or_else(|| format!("runtime-{}", input.runtime_version))
}

/// The input that produced a stored deployment. Secret values are not kept
/// here; sent without them, Harmony keeps the ones it has.
fn input_of(d: &Deployment) -> DeploymentInput {
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
fn put(id: Uuid, plane: &Plane, spec: harmony::Spec) -> Outgoing {
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
