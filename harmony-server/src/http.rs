//! The HTTP edge: [`HarmonyImpl`] implements the API trait. Handlers extract,
//! call [`HarmonyApp`] on the blocking pool, and convert the error.

use crate::app::{HarmonyApp, HarmonyError};
use dropshot::{
    ClientErrorStatusCode, EmptyScanParams, HttpError, HttpResponseCreated, HttpResponseDeleted,
    HttpResponseOk, PaginationParams, Path, Query, RequestContext, ResultsPage, WhichPage,
};
use harmony_api::latest::{
    ApiVersions, DataPlane, DataPlanePageSelector, Deployment, DeploymentPageSelector,
    DeploymentPath, DeploymentReport, ManifestQuery, ManifestSet, PlatformRelease, Rollout,
    RolloutCommand, RolloutDataPlane, RolloutDataPlanePageSelector, RolloutListQuery, RolloutPath,
};
use harmony_api::{HarmonyApi, TimedBody};
use std::sync::Arc;

/// What handlers see: the application layer, and the versions this process
/// serves (for discovery).
pub struct ServerState {
    pub harmony: HarmonyApp,
    pub served: Vec<semver::Version>,
}

pub type Context = Arc<ServerState>;

/// Implements [`HarmonyApi`]; never instantiated.
pub enum HarmonyImpl {}

impl From<HarmonyError> for HttpError {
    fn from(error: HarmonyError) -> HttpError {
        match error {
            HarmonyError::NotFound { .. } => HttpError::for_client_error(
                Some("NotFound".to_owned()),
                ClientErrorStatusCode::NOT_FOUND,
                error.to_string(),
            ),
            HarmonyError::Invalid(refusals) => refused(refusals),
            HarmonyError::Conflict { code, message } => HttpError::for_client_error(
                Some(code.to_owned()),
                ClientErrorStatusCode::CONFLICT,
                message,
            ),
            // Not the request's shape but the plane's room: its own status,
            // and a message that names the quota, its value and its use.
            HarmonyError::OverBudget(over) => HttpError::for_client_error(
                Some(harmony_api::QUOTA_EXCEEDED.to_owned()),
                ClientErrorStatusCode::UNPROCESSABLE_ENTITY,
                over.to_string(),
            ),
            HarmonyError::Unauthenticated(message) => HttpError::for_client_error(
                Some("Unauthenticated".to_owned()),
                ClientErrorStatusCode::UNAUTHORIZED,
                message,
            ),
            // The reason is the service's own state, for the caller to act
            // on (it names what ends it): shown, unlike dropshot's default.
            HarmonyError::Unavailable(message) => {
                let mut error = HttpError::for_unavail(Some("Unavailable".to_owned()), message);
                error.external_message = error.internal_message.clone();
                error
            }
            // The detail goes to the log, never to the caller.
            HarmonyError::Store(source) => HttpError::for_internal_error(format!(
                "{source}: {}",
                std::error::Error::source(&source).map(|s| s.to_string()).unwrap_or_default()
            )),
        }
    }
}

/// A 400 naming every refusal, its field and its rule, with the rules'
/// identifiers in the [`harmony_api::REFUSED_BY_HEADER`] header. A refusal
/// by a rule the request's version does not declare is this service
/// breaking its published contract: counted and logged always, and in a
/// debug build (every test run) a 500, so no test passes over it.
fn refused(refusals: deployment_rules::Refusals) -> HttpError {
    let undeclared: Vec<String> = refusals.undeclared().map(ToString::to_string).collect();
    for refusal in refusals.list() {
        crate::metrics::count_refusal(refusal.rule().id(), refusal.declared());
    }
    if !undeclared.is_empty() && cfg!(debug_assertions) {
        return HttpError::for_internal_error(format!(
            "refused by a rule that API version {} does not declare: {}",
            refusals.at(),
            undeclared.join("; ")
        ));
    }
    let ids = refusals.rule_ids().join(",");
    let mut error = HttpError::for_bad_request(
        Some("InvalidRequest".to_owned()),
        format!("invalid request: {refusals}"),
    );
    if !undeclared.is_empty() {
        error.internal_message =
            format!("UNDECLARED RULE at {}: {}", refusals.at(), undeclared.join("; "));
    }
    // Identifiers are plain ASCII words, which a header always takes.
    let _ = error.add_header(harmony_api::REFUSED_BY_HEADER, ids);
    error
}

/// The API version a request was admitted at (its `api-version` header,
/// which admission checked); the newest served when it names none.
pub(crate) fn request_version(rqctx: &RequestContext<Context>) -> deployment_rules::ApiVersion {
    rqctx
        .request
        .headers()
        .get(harmony_api::VERSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(deployment_rules::ApiVersion::parse)
        .unwrap_or_else(crate::app::newest_version)
}

/// Runs a blocking application call off the async executor, for either
/// API's handlers: its error as the API's, a panic as a 500.
pub(crate) async fn blocking_on<T: Send + 'static>(
    harmony: &HarmonyApp,
    f: impl FnOnce(&HarmonyApp) -> Result<T, HarmonyError> + Send + 'static,
) -> Result<T, HttpError> {
    let harmony = harmony.clone();
    sql_store::run_blocking(move || f(&harmony))
        .await
        .map_err(|e| HttpError::for_internal_error(e.to_string()))?
        .map_err(HttpError::from)
}

/// [`blocking_on`] the request's Harmony.
async fn blocking<T: Send + 'static>(
    rqctx: &RequestContext<Context>,
    f: impl FnOnce(&HarmonyApp) -> Result<T, HarmonyError> + Send + 'static,
) -> Result<T, HttpError> {
    blocking_on(&rqctx.context().harmony, f).await
}

/// Where a page starts (after the `last_seen` key of the page before; the
/// first page has none) and how long it is.
fn page<S, K>(
    rqctx: &RequestContext<Context>,
    query: PaginationParams<EmptyScanParams, S>,
    last_seen: fn(S) -> K,
) -> Result<(Option<K>, usize), HttpError>
where
    S: serde::de::DeserializeOwned + serde::Serialize + Send + Sync + 'static,
{
    let limit = rqctx.page_limit(&query)?.get() as usize;
    let after = match query.page {
        WhichPage::First(_) => None,
        WhichPage::Next(selector) => Some(last_seen(selector)),
    };
    Ok((after, limit))
}

impl HarmonyApi for HarmonyImpl {
    type Context = Context;

    async fn api_versions_get(
        rqctx: RequestContext<Context>,
    ) -> Result<HttpResponseOk<ApiVersions>, HttpError> {
        let served = rqctx.context().served.iter().map(ToString::to_string).collect();
        Ok(HttpResponseOk(ApiVersions { served }))
    }

    async fn data_plane_put(
        rqctx: RequestContext<Context>,
        path: Path<harmony_api::v4::RuledDataPlanePath>,
        body: TimedBody<harmony_api::v4::RuledDataPlaneRegistration>,
    ) -> Result<HttpResponseOk<DataPlane>, HttpError> {
        let id = path.into_inner().data_plane_id;
        let registration = body.into_inner().0;
        let plane = {
            let at = request_version(&rqctx);
            blocking(&rqctx, move |h| h.register_data_plane(&id, registration, at)).await?
        };
        Ok(HttpResponseOk(plane))
    }

    async fn data_plane_get(
        rqctx: RequestContext<Context>,
        path: Path<harmony_api::v4::RuledDataPlanePath>,
    ) -> Result<HttpResponseOk<DataPlane>, HttpError> {
        let id = path.into_inner().data_plane_id;
        Ok(HttpResponseOk(blocking(&rqctx, move |h| h.data_plane(&id)).await?))
    }

    async fn data_plane_list(
        rqctx: RequestContext<Context>,
        query: Query<PaginationParams<EmptyScanParams, DataPlanePageSelector>>,
    ) -> Result<HttpResponseOk<ResultsPage<DataPlane>>, HttpError> {
        let (after, limit) = page(&rqctx, query.into_inner(), |s| s.last_seen)?;
        let at = request_version(&rqctx);
        let planes = blocking(&rqctx, move |h| h.data_planes(after.as_deref(), limit, at)).await?;
        Ok(HttpResponseOk(ResultsPage::new(planes, &EmptyScanParams {}, |p, _| {
            DataPlanePageSelector { last_seen: p.id.clone() }
        })?))
    }

    async fn deployment_put(
        rqctx: RequestContext<Context>,
        path: Path<DeploymentPath>,
        body: TimedBody<harmony_api::v4::RuledDeploymentSpec>,
    ) -> Result<HttpResponseOk<Deployment>, HttpError> {
        let id = path.into_inner().deployment_id;
        let spec = body.into_inner().0;
        let at = request_version(&rqctx);
        Ok(HttpResponseOk(rqctx.context().harmony.put_deployment(id, spec, at).await?))
    }

    async fn deployment_get(
        rqctx: RequestContext<Context>,
        path: Path<DeploymentPath>,
    ) -> Result<HttpResponseOk<Deployment>, HttpError> {
        let id = path.into_inner().deployment_id;
        Ok(HttpResponseOk(blocking(&rqctx, move |h| h.deployment(id)).await?))
    }

    async fn deployment_list(
        rqctx: RequestContext<Context>,
        query: Query<PaginationParams<EmptyScanParams, DeploymentPageSelector>>,
    ) -> Result<HttpResponseOk<ResultsPage<Deployment>>, HttpError> {
        let (after, limit) = page(&rqctx, query.into_inner(), |s| s.last_seen)?;
        let deployments = blocking(&rqctx, move |h| h.deployments(after, limit)).await?;
        Ok(HttpResponseOk(ResultsPage::new(deployments, &EmptyScanParams {}, |d, _| {
            DeploymentPageSelector { last_seen: d.id }
        })?))
    }

    async fn deployment_delete(
        rqctx: RequestContext<Context>,
        path: Path<DeploymentPath>,
    ) -> Result<HttpResponseDeleted, HttpError> {
        let id = path.into_inner().deployment_id;
        blocking(&rqctx, move |h| h.delete_deployment(id)).await?;
        Ok(HttpResponseDeleted())
    }

    async fn deployment_manifests_get(
        rqctx: RequestContext<Context>,
        path: Path<DeploymentPath>,
        query: Query<ManifestQuery>,
    ) -> Result<HttpResponseOk<ManifestSet>, HttpError> {
        let id = path.into_inner().deployment_id;
        let revision = query.into_inner().revision;
        Ok(HttpResponseOk(blocking(&rqctx, move |h| h.manifests(id, revision)).await?))
    }

    async fn deployment_status_get(
        rqctx: RequestContext<Context>,
        path: Path<DeploymentPath>,
    ) -> Result<HttpResponseOk<DeploymentReport>, HttpError> {
        let id = path.into_inner().deployment_id;
        Ok(HttpResponseOk(blocking(&rqctx, move |h| h.deployment_status(id)).await?))
    }

    async fn platform_release_put(
        rqctx: RequestContext<Context>,
        path: Path<harmony_api::v4::RuledPlatformReleasePath>,
        body: TimedBody<harmony_api::v4::RuledPlatformReleaseSpec>,
    ) -> Result<HttpResponseOk<PlatformRelease>, HttpError> {
        let version = path.into_inner().version;
        let spec = body.into_inner().0;
        let at = request_version(&rqctx);
        let release = blocking(&rqctx, move |h| h.put_platform_release(&version, spec, at)).await?;
        Ok(HttpResponseOk(release))
    }

    async fn platform_release_list(
        rqctx: RequestContext<Context>,
    ) -> Result<HttpResponseOk<Vec<PlatformRelease>>, HttpError> {
        Ok(HttpResponseOk(blocking(&rqctx, |h| h.platform_releases()).await?))
    }

    async fn rollout_create(
        rqctx: RequestContext<Context>,
        body: TimedBody<harmony_api::v4::RuledRolloutCreate>,
    ) -> Result<HttpResponseCreated<Rollout>, HttpError> {
        let create = body.into_inner().0;
        let at = request_version(&rqctx);
        Ok(HttpResponseCreated(blocking(&rqctx, move |h| h.create_rollout(create, at)).await?))
    }

    async fn rollout_list(
        rqctx: RequestContext<Context>,
        query: Query<RolloutListQuery>,
    ) -> Result<HttpResponseOk<Vec<Rollout>>, HttpError> {
        let plane = query.into_inner().data_plane_id;
        Ok(HttpResponseOk(blocking(&rqctx, move |h| h.rollouts(plane.as_deref())).await?))
    }

    async fn rollout_get(
        rqctx: RequestContext<Context>,
        path: Path<RolloutPath>,
    ) -> Result<HttpResponseOk<Rollout>, HttpError> {
        let id = path.into_inner().rollout_id;
        Ok(HttpResponseOk(blocking(&rqctx, move |h| h.rollout(id)).await?))
    }

    async fn rollout_data_plane_list(
        rqctx: RequestContext<Context>,
        path: Path<RolloutPath>,
        query: Query<PaginationParams<EmptyScanParams, RolloutDataPlanePageSelector>>,
    ) -> Result<HttpResponseOk<ResultsPage<RolloutDataPlane>>, HttpError> {
        let id = path.into_inner().rollout_id;
        let (after, limit) = page(&rqctx, query.into_inner(), |s| s.last_seen)?;
        let planes =
            blocking(&rqctx, move |h| h.rollout_data_planes(id, after.as_deref(), limit)).await?;
        Ok(HttpResponseOk(ResultsPage::new(planes, &EmptyScanParams {}, |p, _| {
            RolloutDataPlanePageSelector { last_seen: p.data_plane_id.clone() }
        })?))
    }

    async fn rollout_command(
        rqctx: RequestContext<Context>,
        path: Path<RolloutPath>,
        body: TimedBody<RolloutCommand>,
    ) -> Result<HttpResponseOk<Rollout>, HttpError> {
        let id = path.into_inner().rollout_id;
        let command = body.into_inner();
        Ok(HttpResponseOk({
            let at = request_version(&rqctx);
            blocking(&rqctx, move |h| h.rollout_command(id, command, at)).await?
        }))
    }
}
