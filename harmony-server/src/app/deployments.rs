//! Deployments: validated specs, generations, and the immutable manifest
//! revisions rendered from them.

use super::validate::validate_spec;
use super::{HarmonyApp, HarmonyError, MAX_PAGE, is_dns_label, not_found};
use crate::render;
use crate::store::{PlaneChange, StoredDeployment, StoredManifestSet};
use chrono::{DateTime, Utc};
use deployment_rules::{ApiVersion, Refusals, rule};
use harmony_api::latest::{
    DataPlane, Deployment, DeploymentSpec, EnvironmentVariable, ManifestObject, ManifestSet,
};
use uuid::Uuid;

impl HarmonyApp {
    /// Accepts a deployment's desired state.
    ///
    /// Generations only move forward: an older generation is refused; the
    /// stored generation with the same spec is an idempotent no-op (a retry);
    /// the stored generation with another spec is a conflict. A new manifest
    /// revision is written only when the rendering input changed.
    ///
    /// Everything, rendering included, runs in the write: the task waits
    /// for the commit without holding a thread. (Validating and rendering
    /// against a snapshot first, re-checked in the write, was measured: it
    /// costs more CPU per request than it takes off the writer.)
    pub async fn put_deployment(
        &self,
        id: Uuid,
        mut spec: DeploymentSpec,
        at: ApiVersion,
    ) -> Result<Deployment, HarmonyError> {
        let now = self.clock.now();
        let key = self.key.clone();
        let budgets = self.budgets;
        let holds_contact_emails = self.store.holds_contact_emails();
        self.store
            .write_async(move |tx| {
                // Only a DNS label can name a data plane (validation says so).
                let plane = match is_dns_label(&spec.data_plane_id) {
                    true => tx.data_plane(&spec.data_plane_id)?,
                    false => None,
                };
                let existing = tx.deployment(id)?;
                merge_secrets(&mut spec, existing.as_ref().map(|e| &e.spec), at)?;
                validate_spec(&spec, plane.as_ref(), existing.as_ref().map(|e| &e.spec), at)?;
                // Absent (every version before 4.0.0): as they are.
                if spec.contact_emails.is_none() {
                    let kept = existing.as_ref().and_then(|e| e.spec.contact_emails.clone());
                    spec.contact_emails = Some(kept.unwrap_or_default());
                }
                if !holds_contact_emails
                    && spec.contact_emails.as_ref().is_some_and(|e| !e.is_empty())
                {
                    return Err(HarmonyError::Unavailable(
                        "contact_emails are stored once every Harmony binary on this database \
                         reads them: after the rollout, run `harmony-server contract-schema` \
                         and restart; until then send none"
                            .to_owned(),
                    ));
                }
                let plane = plane.ok_or_else(|| not_found("data plane", &spec.data_plane_id))?;

                if let Some(existing) = &existing {
                    let stored = existing.spec.generation;
                    if spec.generation < stored {
                        return Err(HarmonyError::Conflict {
                            code: "StaleGeneration",
                            message: format!(
                                "generation {} is older than the stored generation {stored}",
                                spec.generation
                            ),
                        });
                    }
                    if spec.generation == stored {
                        if spec == existing.spec {
                            return Ok(to_api(existing.clone()));
                        }
                        return Err(HarmonyError::Conflict {
                            code: "GenerationConflict",
                            message: format!(
                                "generation {stored} was already accepted with a different spec; \
                             send generation {} for a change",
                                stored + 1
                            ),
                        });
                    }
                }

                let input_hash = render::input_hash(&key, id, &spec, &plane);
                let previous_revision = existing.as_ref().map_or(0, |e| e.revision);
                let unchanged = existing.as_ref().is_some_and(|e| e.input_hash == input_hash);
                let revision = if unchanged { previous_revision } else { previous_revision + 1 };
                let stored = StoredDeployment {
                    id,
                    spec,
                    input_hash,
                    revision,
                    created_at: existing.as_ref().map_or(now, |e| e.created_at),
                    updated_at: now,
                };
                // The deployment row must exist before its first manifest set
                // references it; SQLite checks foreign keys at each statement.
                tx.put_deployment(&stored)?;
                if !unchanged {
                    tx.bump_desired_revision(&plane.id, &PlaneChange::changed(id))?;
                    insert_revision(
                        tx,
                        &key,
                        &stored,
                        &plane,
                        now,
                        Cause::Change(at),
                        Some(&budgets),
                    )?;
                }
                Ok(to_api(stored))
            })
            .await
    }

    pub fn deployment(&self, id: Uuid) -> Result<Deployment, HarmonyError> {
        self.store
            .read(|tx| Ok::<_, HarmonyError>(tx.deployment(id)?))?
            .map(to_api)
            .ok_or_else(|| not_found("deployment", &id.to_string()))
    }

    pub fn deployments(
        &self,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<Deployment>, HarmonyError> {
        let rows = self
            .store
            .read(|tx| Ok::<_, HarmonyError>(tx.deployments_after(after, limit.min(MAX_PAGE))?))?;
        Ok(rows.into_iter().map(to_api).collect())
    }

    pub fn delete_deployment(&self, id: Uuid) -> Result<(), HarmonyError> {
        let deleted = self.store.write(move |tx| {
            let Some(existing) = tx.deployment(id)? else {
                return Ok::<_, HarmonyError>(false);
            };
            tx.delete_deployment(id)?;
            tx.bump_desired_revision(&existing.spec.data_plane_id, &PlaneChange::removed(id))?;
            Ok(true)
        })?;
        if deleted { Ok(()) } else { Err(not_found("deployment", &id.to_string())) }
    }

    /// A manifest set as handed to Astro API: Secret bodies left out.
    pub fn manifests(&self, id: Uuid, revision: Option<u64>) -> Result<ManifestSet, HarmonyError> {
        let set = self.store.read(|tx| {
            let deployment =
                tx.deployment(id)?.ok_or_else(|| not_found("deployment", &id.to_string()))?;
            let revision = revision.unwrap_or(deployment.revision);
            tx.manifest_set(id, revision)?.ok_or_else(|| HarmonyError::NotFound {
                what: "manifest revision",
                id: format!("{revision} of deployment {id}"),
            })
        })?;
        Ok(ManifestSet {
            deployment_id: set.deployment_id,
            revision: set.revision,
            generation: set.generation,
            platform_release: set.platform_release,
            input_hash: set.input_hash,
            objects: set
                .objects
                .into_iter()
                .map(|object| {
                    let manifest = (object.meta.kind != "Secret").then(|| object.value());
                    ManifestObject { manifest, ..object.meta }
                })
                .collect(),
            created_at: set.created_at,
        })
    }
}

/// Why a manifest set is rendered.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cause {
    /// A deployment's spec changed, by a request at this API version.
    Change(ApiVersion),
    /// Its data plane moved to another platform release (no request: judged
    /// at the newest version).
    Rollout,
}

impl Cause {
    fn label(self) -> &'static str {
        match self {
            Cause::Change(_) => "change",
            Cause::Rollout => "rollout",
        }
    }

    fn at(self) -> ApiVersion {
        match self {
            Cause::Change(at) => at,
            Cause::Rollout => super::newest_version(),
        }
    }
}

/// Renders `stored` for `plane` (timed, by `cause`, in the metrics) and
/// writes it as manifest revision
/// `stored.revision` (the deployment row must already say so). A set larger
/// than `deployment_rules::MAX_RENDERED_SET_BYTES` is refused (400) and
/// nothing is written, so every set stored can be handed to its agent. With
/// `budgets`, a set whose growth would take its plane, or its organization
/// on a shared plane, past a budget is refused (422 `QuotaExceeded`) too;
/// the plane's sums move by the set's growth either way.
pub(crate) fn insert_revision(
    tx: &crate::store::Tx<'_>,
    key: &render::SecretKey,
    stored: &StoredDeployment,
    plane: &DataPlane,
    now: DateTime<Utc>,
    cause: Cause,
    budgets: Option<&crate::budget::PlaneBudgets>,
) -> Result<(), HarmonyError> {
    let at = cause.at();
    let started = std::time::Instant::now();
    let objects = render::objects(key, stored.id, &stored.spec, plane);
    // What the renderer left out, reported: a deployment that carries a key
    // the platform sets keeps working on the platform's value.
    for var in &stored.spec.environment_variables {
        if let Some(key) =
            deployment_rules::rule::PLATFORM_ENVIRONMENT_KEYS.iter().find(|k| **k == var.key)
        {
            let labels = crate::metrics::KeyLabels { key };
            crate::metrics::PLATFORM_KEYS_IGNORED.get_or_create(&labels).inc();
        }
    }
    crate::metrics::RENDERS
        .get_or_create(&crate::metrics::RenderLabels { cause: cause.label() })
        .observe(started.elapsed().as_secs_f64());
    let size: usize = objects.iter().map(|o| o.body.get().len()).sum();
    if size > deployment_rules::MAX_RENDERED_SET_BYTES {
        return Err(HarmonyError::Invalid(Refusals::one(
            at,
            &rule::RENDERED_SIZE,
            "environment_variables",
            format!(
                "the rendered manifest set would be {size} bytes, more than the {} a data plane \
                 is served; fewer or smaller variables, or fewer worker queues",
                deployment_rules::MAX_RENDERED_SET_BYTES
            ),
        )));
    }
    let organization = &stored.spec.organization_id;
    let before = tx.rendered_bytes(stored.id)?;
    if let Some(budgets) = budgets {
        let shared = plane.labels.get(crate::budget::SHARED_LABEL).is_some_and(|v| v == "true");
        let usage = tx.plane_usage(&plane.id, organization)?;
        budgets
            .admit(shared, usage.plane_bytes, usage.organization_bytes, before, size as u64)
            .map_err(HarmonyError::OverBudget)?;
    }
    tx.record_rendered_bytes(stored.id, &plane.id, organization, before, size as u64)?;
    // `stored.input_hash` is `render::input_hash` of the same input.
    Ok(tx.insert_manifest_set(&StoredManifestSet {
        deployment_id: stored.id,
        revision: stored.revision,
        generation: stored.spec.generation,
        platform_release: plane.platform_release.clone(),
        input_hash: stored.input_hash.clone(),
        objects,
        created_at: now,
    })?)
}

/// The API form of a stored deployment: secret values removed.
fn to_api(stored: StoredDeployment) -> Deployment {
    let StoredDeployment { id, spec, revision, created_at, updated_at, input_hash: _ } = stored;
    let DeploymentSpec {
        kind,
        organization_id,
        workspace_id,
        data_plane_id,
        name,
        runtime_version,
        executor,
        scheduler_size,
        scheduler,
        is_high_availability,
        worker_queues,
        environment_variables,
        image_tag,
        dag_bundle_version,
        generation,
        contact_emails,
    } = spec;
    Deployment {
        id,
        kind,
        organization_id,
        workspace_id,
        data_plane_id,
        name,
        runtime_version,
        executor,
        scheduler_size,
        scheduler,
        is_high_availability,
        worker_queues,
        environment_variables: environment_variables
            .into_iter()
            .map(|v| EnvironmentVariable { value: if v.is_secret { None } else { v.value }, ..v })
            .collect(),
        image_tag,
        dag_bundle_version,
        generation,
        revision,
        created_at,
        updated_at,
        contact_emails: contact_emails.unwrap_or_default(),
    }
}

/// A secret sent without a value keeps the value stored for the same key.
fn merge_secrets(
    spec: &mut DeploymentSpec,
    previous: Option<&DeploymentSpec>,
    at: ApiVersion,
) -> Result<(), HarmonyError> {
    let mut problems = Refusals::new(at);
    for (i, var) in spec.environment_variables.iter_mut().enumerate() {
        if !var.is_secret || var.value.is_some() {
            continue;
        }
        let kept = previous.and_then(|p| {
            p.environment_variables.iter().find(|old| old.key == var.key && old.is_secret)
        });
        match kept {
            Some(old) => var.value = old.value.clone(),
            None => problems.refuse(
                &rule::SECRET_VALUE,
                format!("environment_variables[{i}].value"),
                format!("required for a new secret ({})", var.key),
            ),
        }
    }
    problems.into_result().map_err(HarmonyError::Invalid)
}
