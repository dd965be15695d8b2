//! astro-api's own types for what it exchanges with Harmony, and the
//! mappings between them and Harmony's wire types (2.0.0, and 1.0.0 for
//! a Hybrid spec).

use super::*;

/// The two kinds of data plane. astro-api's own type: Harmony's wire enum
/// stays in this module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaneKind {
    Hosted,
    Hybrid,
}

impl From<h::DataPlaneKind> for PlaneKind {
    fn from(kind: h::DataPlaneKind) -> PlaneKind {
        match kind {
            h::DataPlaneKind::Hosted => PlaneKind::Hosted,
            h::DataPlaneKind::Hybrid => PlaneKind::Hybrid,
        }
    }
}

impl From<PlaneKind> for h::DataPlaneKind {
    fn from(kind: PlaneKind) -> h::DataPlaneKind {
        match kind {
            PlaneKind::Hosted => h::DataPlaneKind::Hosted,
            PlaneKind::Hybrid => h::DataPlaneKind::Hybrid,
        }
    }
}

/// A deployment's desired state as Harmony takes it (made by
/// `harmony_spec`): what an outbox entry carries. Its 2.0.0 spec, and the
/// contact emails 4.0.0 takes as well (`None`: as Harmony has them, which
/// is what a spec says until every astro-api on the database knows them).
/// Opaque outside this module but for its generation and its JSON, which
/// the store seals.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    pub(super) spec: h::DeploymentSpec,
    pub(super) contact_emails: Option<Vec<String>>,
}

impl Spec {
    pub fn generation(&self) -> u64 {
        self.spec.generation
    }

    /// The 2.0.0 spec's JSON, with `contact_emails` when they are set: the
    /// 4.0.0 spec's JSON (which has the same shape). An astro-api from
    /// before them cannot read such an entry, and leaves it to one that can.
    pub fn to_json(&self) -> serde_json::Result<serde_json::Value> {
        let mut json = serde_json::to_value(&self.spec)?;
        if let Some(emails) = &self.contact_emails {
            json["contact_emails"] = serde_json::to_value(emails)?;
        }
        Ok(json)
    }

    /// The spec [`Spec::to_json`] wrote; an error when the JSON is not
    /// Harmony's 2.0.0 spec and its contact emails.
    pub fn from_json(mut json: serde_json::Value) -> serde_json::Result<Spec> {
        let contact_emails = match json.as_object_mut().and_then(|o| o.remove("contact_emails")) {
            Some(emails) => Some(serde_json::from_value(emails)?),
            None => None,
        };
        Ok(Spec { spec: serde_json::from_value(json)?, contact_emails })
    }

    /// The spec without contact emails: Harmony keeps what it has (what a
    /// spec says until every astro-api on the database reads them).
    pub fn forget_contact_emails(&mut self) {
        self.contact_emails = None;
    }

    /// The spec as 4.0.0 takes it. Its JSON is the same but for the
    /// contact emails; an error names what 4.0.0 refuses of it (astro-api
    /// checks the same grammars, so that is a bug of its own).
    pub(super) fn to_v4(&self) -> Result<harmony_client::v4::types::DeploymentSpec, String> {
        let json = self.to_json().map_err(|e| e.to_string())?;
        serde_json::from_value(json).map_err(|e| format!("not a 4.0.0 deployment spec: {e}"))
    }
}

/// A deployment's status as its data plane's agent reports it, through
/// Harmony's [`STATUS_API`].
pub struct Reported(pub(super) harmony_client::v4::types::DeploymentReport);

impl Reported {
    /// Sets `d`'s status to what the data plane reports, for the generation
    /// Harmony has (a report about an older generation changes nothing).
    pub fn apply_to(&self, d: &mut pub_types::Deployment) {
        use harmony_client::v4::types::DeploymentState as S;
        let reported = &self.0;
        if reported.generation < d.generation {
            return;
        }
        // The agent's words, bounded and without controls: an agent is not
        // trusted to write into a user's view.
        let said = reported
            .message
            .as_deref()
            .map(|m| format!(": {}", deployment_rules::shown(m, MAX_SHOWN)))
            .unwrap_or_default();
        let (status, reason) = match reported.state {
            S::Healthy => (
                pub_types::DeploymentStatus::Healthy,
                format!(
                    "the data plane runs revision {} and reports it healthy{said}",
                    reported.revision
                ),
            ),
            S::Unhealthy => (
                pub_types::DeploymentStatus::Unhealthy,
                format!("the data plane reports revision {} unhealthy{said}", reported.revision),
            ),
            S::Applied => (
                pub_types::DeploymentStatus::Unknown,
                format!(
                    "the data plane's agent applied revision {} and cannot observe its workloads, \
                     so their health is unknown{said}",
                    reported.revision
                ),
            ),
            S::Unknown => (
                pub_types::DeploymentStatus::Unknown,
                "the data plane's agent is not reporting; its state is unknown".to_owned(),
            ),
            // What the handoff already says: waiting for the data plane.
            S::Deploying => return,
        };
        d.status = status;
        d.status_reason = Some(reason);
    }
}

/// The 1.0.0 form of a spec, when it has one (Hybrid only).
pub(super) fn to_v1(spec: &h::DeploymentSpec) -> Option<v1::types::DeploymentSpec> {
    use v1::types as o;
    if spec.kind != h::DataPlaneKind::Hybrid {
        return None;
    }
    let scheduler = spec.scheduler.as_ref()?;
    Some(o::DeploymentSpec {
        organization_id: spec.organization_id.clone(),
        workspace_id: spec.workspace_id.clone(),
        data_plane_id: spec.data_plane_id.clone(),
        name: spec.name.clone(),
        runtime_version: spec.runtime_version.clone(),
        executor: match spec.executor {
            h::Executor::Celery => o::Executor::Celery,
            h::Executor::Kubernetes => o::Executor::Kubernetes,
            h::Executor::Astro => return None,
        },
        scheduler: o::HybridScheduler { au: scheduler.au, replicas: scheduler.replicas },
        worker_queues: spec
            .worker_queues
            .iter()
            .map(|q| {
                Some(o::WorkerQueue {
                    name: q.name.clone(),
                    is_default: q.is_default,
                    min_worker_count: q.min_worker_count,
                    max_worker_count: q.max_worker_count,
                    worker_concurrency: q.worker_concurrency,
                    node_pool_id: q.node_pool_id.clone()?,
                })
            })
            .collect::<Option<Vec<_>>>()?,
        environment_variables: spec
            .environment_variables
            .iter()
            // Never rendered at any version (rule platform_environment_keys).
            .filter(|v| !deployment_rules::platform_key(&v.key))
            .map(|v| o::EnvironmentVariable {
                key: v.key.clone(),
                value: v.value.clone(),
                is_secret: v.is_secret,
            })
            .collect(),
        image_tag: spec.image_tag.clone(),
        dag_bundle_version: spec.dag_bundle_version.clone(),
        generation: spec.generation,
    })
}

/// The kind of data plane a deployment's type lands on.
pub(crate) fn plane_kind(input: &pub_types::DeploymentInput) -> PlaneKind {
    match input.deployment_type {
        pub_types::DeploymentType::Hybrid => PlaneKind::Hybrid,
        pub_types::DeploymentType::Standard | pub_types::DeploymentType::Dedicated => {
            PlaneKind::Hosted
        }
    }
}

pub(super) fn harmony_cloud(cloud: pub_types::CloudProvider) -> h::CloudProvider {
    match cloud {
        pub_types::CloudProvider::Aws => h::CloudProvider::Aws,
        pub_types::CloudProvider::Azure => h::CloudProvider::Azure,
        pub_types::CloudProvider::Gcp => h::CloudProvider::Gcp,
    }
}

/// The Harmony 2.0.0 spec for an input.
pub(crate) fn harmony_spec(
    org: &str,
    input: &pub_types::DeploymentInput,
    plane: &Plane,
    generation: u64,
    image_tag: &str,
    dag_bundle_version: Option<&str>,
) -> Spec {
    let spec = h::DeploymentSpec {
        kind: plane.kind.into(),
        organization_id: org.to_owned(),
        workspace_id: input.workspace_id.clone(),
        data_plane_id: plane.id.clone(),
        name: input.name.clone(),
        runtime_version: input.runtime_version.clone(),
        executor: match input.executor {
            pub_types::Executor::Celery => h::Executor::Celery,
            pub_types::Executor::Kubernetes => h::Executor::Kubernetes,
            pub_types::Executor::Astro => h::Executor::Astro,
        },
        scheduler_size: input.scheduler_size.map(|size| match size {
            pub_types::SchedulerSize::Small => h::SchedulerSize::Small,
            pub_types::SchedulerSize::Medium => h::SchedulerSize::Medium,
            pub_types::SchedulerSize::Large => h::SchedulerSize::Large,
            pub_types::SchedulerSize::ExtraLarge => h::SchedulerSize::ExtraLarge,
        }),
        scheduler: input.scheduler.map(|s| h::HybridScheduler { au: s.au, replicas: s.replicas }),
        is_high_availability: input.is_high_availability,
        worker_queues: input
            .worker_queues
            .iter()
            .map(|q| h::WorkerQueue {
                name: q.name.clone(),
                is_default: q.is_default,
                min_worker_count: q.min_worker_count,
                max_worker_count: q.max_worker_count,
                worker_concurrency: q.worker_concurrency,
                astro_machine: q.astro_machine.map(|m| match m {
                    pub_types::AstroMachine::A5 => h::AstroMachine::A5,
                    pub_types::AstroMachine::A10 => h::AstroMachine::A10,
                    pub_types::AstroMachine::A20 => h::AstroMachine::A20,
                    pub_types::AstroMachine::A40 => h::AstroMachine::A40,
                    pub_types::AstroMachine::A60 => h::AstroMachine::A60,
                    pub_types::AstroMachine::A120 => h::AstroMachine::A120,
                    pub_types::AstroMachine::A160 => h::AstroMachine::A160,
                }),
                node_pool_id: q.node_pool_id.clone(),
            })
            .collect(),
        environment_variables: input
            .environment_variables
            .iter()
            // A key the platform sets: refused by 4.0.0, never rendered by
            // any Harmony (rule platform_environment_keys); a deployment
            // stored with one keeps it here and sends it nowhere.
            .filter(|v| !deployment_rules::platform_key(&v.key))
            .map(|v| h::EnvironmentVariable {
                key: v.key.clone(),
                value: v.value.clone(),
                is_secret: v.is_secret,
            })
            .collect(),
        image_tag: image_tag.to_owned(),
        dag_bundle_version: dag_bundle_version.map(str::to_owned),
        generation,
    };
    Spec { spec, contact_emails: input.contact_emails.clone() }
}
