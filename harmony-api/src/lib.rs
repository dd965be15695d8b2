//! Harmony's HTTP contract, and nothing else.
//!
//! Harmony is the internal service that turns the desired state of an Airflow
//! deployment into Kubernetes manifests for the data plane it runs on, and
//! keeps their revisions. This crate is its API as a dropshot trait
//! ([`HarmonyApi`]) plus the wire types of every released version. It does no
//! I/O, so OpenAPI documents can be generated without building the server.
//!
//! # Versions
//!
//! The API is versioned with [`api_versions!`]; a client names the version it
//! speaks in the `api-version` header (progenitor-generated clients do so on
//! every request). Each released version is served until it is retired on
//! purpose:
//!
//! | version | label     | what it is |
//! |---------|-----------|------------|
//! | 4.0.0   | `STATUS`  | a deployment's status on its data plane, from its agent's reports |
//! | 3.0.0   | `ROLLOUTS` | platform releases and their rollouts across data planes |
//! | 2.0.0   | `UNIFIED` | Hosted and Hybrid data planes behind one Harmony |
//! | 1.0.0   | `INITIAL` | the original Harmony, Hybrid data planes only |
//!
//! Endpoints whose types changed exist once per shape: the newest is a
//! required trait method, and older ones are default methods that convert
//! their input to the newest types, delegate, and convert the answer back
//! (failing with 404 `NotVisibleAtVersion` for resources an old client cannot
//! represent). Endpoints whose types never changed are declared once for all
//! versions. Both shapes keep one `operation_id`, so a generated client keeps
//! one method name across versions.
//!
//! # Alternatives rejected
//!
//! - *Version in the path* (`/v2/deployments`): every consumer would need new
//!   routes for a new version, and the server could not share handlers.
//! - *Unversioned, additive-only evolution*: progenitor clients close enums and
//!   reject unknown fields, so "additive" changes still break old clients.
//! - *One trait per version*: duplicates every unchanged endpoint and lets
//!   them drift apart.

pub mod v1;
pub mod v2;
pub mod v3;
pub mod v4;

/// The newest wire types, re-exported explicitly so a new version is a
/// deliberate change of this list.
pub mod latest {
    pub use crate::v4::{
        ApiVersions, AstroMachine, CloudProvider, DataPlane, DataPlaneKind, DataPlanePageSelector,
        DataPlanePath, DataPlaneRegistration, DataPlaneStatus, Deployment, DeploymentPageSelector,
        DeploymentPath, DeploymentReport, DeploymentSpec, DeploymentState, EnvironmentVariable,
        Executor, GateKind, HybridScheduler, ManifestObject, ManifestQuery, ManifestSet,
        PlatformRelease, PlatformReleasePath, PlatformReleaseSpec, Rollout, RolloutAction,
        RolloutCommand, RolloutCreate, RolloutDataPlane, RolloutDataPlanePageSelector,
        RolloutDataPlaneState, RolloutDecision, RolloutDecisionKind, RolloutListQuery, RolloutPath,
        RolloutState, RolloutWave, SchedulerSize, WorkerQueue,
    };
}

/// Request bodies must arrive within the process's read deadline; an
/// implementation names the same type.
pub use body_deadline::TimedBody;
use dropshot::{
    EmptyScanParams, HttpError, HttpResponseCreated, HttpResponseDeleted, HttpResponseOk,
    PaginationParams, Path, Query, RequestContext, ResultsPage,
};
use dropshot_api_manager_types::api_versions;

api_versions!([(4, STATUS), (3, ROLLOUTS), (2, UNIFIED), (1, INITIAL)]);

/// The header a client names its API version in.
pub const VERSION_HEADER: &str = "api-version";

/// Path of the discovery endpoint. A server answers it whatever version the
/// request names (or none), so a client can learn what is served before it
/// has picked a version.
pub const API_VERSIONS_PATH: &str = "/api-versions";

/// Error code of a 400 for a version the server does not serve.
pub const UNSUPPORTED_API_VERSION: &str = "UnsupportedApiVersion";

/// Header on every refusal of an unsupported version, listing the versions
/// the server does serve (comma-separated, oldest first).
pub const VERSIONS_SERVED_HEADER: &str = "api-versions-served";

/// Error code of a 404 for a resource that exists but has no form in the
/// requested (older) API version.
pub const NOT_VISIBLE_AT_VERSION: &str = "NotVisibleAtVersion";

/// Error code of a 422 for a change past a data plane's rendered-bytes
/// budget, at every version. Its message is exactly
/// `quota NAME is LIMIT bytes; USED used; this change needs NEEDED more`
/// (`harmony_client::negotiate::QuotaRefusal` reads it back).
pub const QUOTA_EXCEEDED: &str = "QuotaExceeded";

/// The header of a 400 `InvalidRequest` that lists the identifiers of the
/// declared rules that refused the request (`deployment_rules::rule`),
/// comma-separated: what a client logs, counts and passes on.
pub const REFUSED_BY_HEADER: &str = "harmony-refused-by";

fn not_visible(error: v2::NotRepresentable) -> HttpError {
    HttpError::for_client_error(
        Some(NOT_VISIBLE_AT_VERSION.to_owned()),
        dropshot::ClientErrorStatusCode::NOT_FOUND,
        error.to_string(),
    )
}

#[dropshot::api_description]
pub trait HarmonyApi {
    type Context;

    /// The API versions this Harmony serves. Every version keeps this
    /// endpoint unchanged: version negotiation starts here.
    #[endpoint { method = GET, path = "/api-versions" }]
    async fn api_versions_get(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseOk<v1::ApiVersions>, HttpError>;

    /// Register a data plane, or update its registration (idempotent by id).
    /// The body's schema states the rules the registration must meet.
    #[endpoint {
        method = PUT,
        path = "/data-planes/{data_plane_id}",
        versions = VERSION_STATUS..,
    }]
    async fn data_plane_put(
        rqctx: RequestContext<Self::Context>,
        path: Path<v4::RuledDataPlanePath>,
        body: TimedBody<v4::RuledDataPlaneRegistration>,
    ) -> Result<HttpResponseOk<latest::DataPlane>, HttpError>;

    /// Register a data plane, or update its registration (idempotent by id).
    #[endpoint {
        operation_id = "data_plane_put",
        method = PUT,
        path = "/data-planes/{data_plane_id}",
        versions = VERSION_UNIFIED..VERSION_STATUS,
    }]
    async fn data_plane_put_v2(
        rqctx: RequestContext<Self::Context>,
        path: Path<latest::DataPlanePath>,
        body: TimedBody<latest::DataPlaneRegistration>,
    ) -> Result<HttpResponseOk<latest::DataPlane>, HttpError> {
        Self::data_plane_put(rqctx, path.map(Into::into), body.map(Into::into)).await
    }

    /// Register a (Hybrid) data plane, or update its registration.
    #[endpoint {
        operation_id = "data_plane_put",
        method = PUT,
        path = "/data-planes/{data_plane_id}",
        versions = ..VERSION_UNIFIED,
    }]
    async fn data_plane_put_v1(
        rqctx: RequestContext<Self::Context>,
        path: Path<v1::DataPlanePath>,
        body: TimedBody<v1::DataPlaneRegistration>,
    ) -> Result<HttpResponseOk<v1::DataPlane>, HttpError> {
        let body = body.map(|registration| v4::RuledDataPlaneRegistration(registration.into()));
        let plane = Self::data_plane_put(rqctx, path.map(Into::into), body).await?.0;
        Ok(HttpResponseOk(plane.try_into().map_err(not_visible)?))
    }

    /// Fetch one data plane.
    #[endpoint {
        method = GET,
        path = "/data-planes/{data_plane_id}",
        versions = VERSION_STATUS..,
    }]
    async fn data_plane_get(
        rqctx: RequestContext<Self::Context>,
        path: Path<v4::RuledDataPlanePath>,
    ) -> Result<HttpResponseOk<latest::DataPlane>, HttpError>;

    /// Fetch one data plane.
    #[endpoint {
        operation_id = "data_plane_get",
        method = GET,
        path = "/data-planes/{data_plane_id}",
        versions = VERSION_UNIFIED..VERSION_STATUS,
    }]
    async fn data_plane_get_v2(
        rqctx: RequestContext<Self::Context>,
        path: Path<latest::DataPlanePath>,
    ) -> Result<HttpResponseOk<latest::DataPlane>, HttpError> {
        Self::data_plane_get(rqctx, path.map(Into::into)).await
    }

    /// Fetch one (Hybrid) data plane.
    #[endpoint {
        operation_id = "data_plane_get",
        method = GET,
        path = "/data-planes/{data_plane_id}",
        versions = ..VERSION_UNIFIED,
    }]
    async fn data_plane_get_v1(
        rqctx: RequestContext<Self::Context>,
        path: Path<v1::DataPlanePath>,
    ) -> Result<HttpResponseOk<v1::DataPlane>, HttpError> {
        let plane = Self::data_plane_get(rqctx, path.map(Into::into)).await?.0;
        Ok(HttpResponseOk(plane.try_into().map_err(not_visible)?))
    }

    /// List data planes, ordered by id.
    #[endpoint {
        method = GET,
        path = "/data-planes",
        versions = VERSION_UNIFIED..,
    }]
    async fn data_plane_list(
        rqctx: RequestContext<Self::Context>,
        query: Query<PaginationParams<EmptyScanParams, latest::DataPlanePageSelector>>,
    ) -> Result<HttpResponseOk<ResultsPage<latest::DataPlane>>, HttpError>;

    /// List (Hybrid) data planes, ordered by id. A page may hold fewer items
    /// than the limit, since Hosted data planes are left out.
    #[endpoint {
        operation_id = "data_plane_list",
        method = GET,
        path = "/data-planes",
        versions = ..VERSION_UNIFIED,
    }]
    async fn data_plane_list_v1(
        rqctx: RequestContext<Self::Context>,
        query: Query<PaginationParams<EmptyScanParams, v1::DataPlanePageSelector>>,
    ) -> Result<HttpResponseOk<ResultsPage<v1::DataPlane>>, HttpError> {
        let page = Self::data_plane_list(rqctx, query).await?.0;
        Ok(HttpResponseOk(ResultsPage {
            next_page: page.next_page,
            items: page.items.into_iter().filter_map(|p| p.try_into().ok()).collect(),
        }))
    }

    /// Create or replace a deployment's desired state (idempotent by id and
    /// generation). Renders a new manifest revision when the input changed.
    /// The body's schema states the rules the spec must meet.
    #[endpoint {
        method = PUT,
        path = "/deployments/{deployment_id}",
        versions = VERSION_STATUS..,
    }]
    async fn deployment_put(
        rqctx: RequestContext<Self::Context>,
        path: Path<latest::DeploymentPath>,
        body: TimedBody<v4::RuledDeploymentSpec>,
    ) -> Result<HttpResponseOk<latest::Deployment>, HttpError>;

    /// Create or replace a deployment's desired state (idempotent by id and
    /// generation). Renders a new manifest revision when the input changed.
    #[endpoint {
        operation_id = "deployment_put",
        method = PUT,
        path = "/deployments/{deployment_id}",
        versions = VERSION_UNIFIED..VERSION_STATUS,
    }]
    async fn deployment_put_v2(
        rqctx: RequestContext<Self::Context>,
        path: Path<latest::DeploymentPath>,
        body: TimedBody<v3::DeploymentSpec>,
    ) -> Result<HttpResponseOk<v3::Deployment>, HttpError> {
        let body = body.map(|spec| v4::RuledDeploymentSpec(spec.into()));
        Ok(HttpResponseOk(Self::deployment_put(rqctx, path, body).await?.0.into()))
    }

    /// Create or replace a (Hybrid) deployment's desired state.
    #[endpoint {
        operation_id = "deployment_put",
        method = PUT,
        path = "/deployments/{deployment_id}",
        versions = ..VERSION_UNIFIED,
    }]
    async fn deployment_put_v1(
        rqctx: RequestContext<Self::Context>,
        path: Path<v1::DeploymentPath>,
        body: TimedBody<v1::DeploymentSpec>,
    ) -> Result<HttpResponseOk<v1::Deployment>, HttpError> {
        let body = body.map(|spec| v4::RuledDeploymentSpec(v3::DeploymentSpec::from(spec).into()));
        let deployment = v3::Deployment::from(Self::deployment_put(rqctx, path, body).await?.0);
        Ok(HttpResponseOk(deployment.try_into().map_err(not_visible)?))
    }

    /// Fetch one deployment.
    #[endpoint {
        method = GET,
        path = "/deployments/{deployment_id}",
        versions = VERSION_STATUS..,
    }]
    async fn deployment_get(
        rqctx: RequestContext<Self::Context>,
        path: Path<latest::DeploymentPath>,
    ) -> Result<HttpResponseOk<latest::Deployment>, HttpError>;

    /// Fetch one deployment.
    #[endpoint {
        operation_id = "deployment_get",
        method = GET,
        path = "/deployments/{deployment_id}",
        versions = VERSION_UNIFIED..VERSION_STATUS,
    }]
    async fn deployment_get_v2(
        rqctx: RequestContext<Self::Context>,
        path: Path<latest::DeploymentPath>,
    ) -> Result<HttpResponseOk<v3::Deployment>, HttpError> {
        Ok(HttpResponseOk(Self::deployment_get(rqctx, path).await?.0.into()))
    }

    /// Fetch one (Hybrid) deployment.
    #[endpoint {
        operation_id = "deployment_get",
        method = GET,
        path = "/deployments/{deployment_id}",
        versions = ..VERSION_UNIFIED,
    }]
    async fn deployment_get_v1(
        rqctx: RequestContext<Self::Context>,
        path: Path<v1::DeploymentPath>,
    ) -> Result<HttpResponseOk<v1::Deployment>, HttpError> {
        let deployment = v3::Deployment::from(Self::deployment_get(rqctx, path).await?.0);
        Ok(HttpResponseOk(deployment.try_into().map_err(not_visible)?))
    }

    /// List deployments, ordered by id.
    #[endpoint {
        method = GET,
        path = "/deployments",
        versions = VERSION_STATUS..,
    }]
    async fn deployment_list(
        rqctx: RequestContext<Self::Context>,
        query: Query<PaginationParams<EmptyScanParams, latest::DeploymentPageSelector>>,
    ) -> Result<HttpResponseOk<ResultsPage<latest::Deployment>>, HttpError>;

    /// List deployments, ordered by id.
    #[endpoint {
        operation_id = "deployment_list",
        method = GET,
        path = "/deployments",
        versions = VERSION_UNIFIED..VERSION_STATUS,
    }]
    async fn deployment_list_v2(
        rqctx: RequestContext<Self::Context>,
        query: Query<PaginationParams<EmptyScanParams, latest::DeploymentPageSelector>>,
    ) -> Result<HttpResponseOk<ResultsPage<v3::Deployment>>, HttpError> {
        let page = Self::deployment_list(rqctx, query).await?.0;
        Ok(HttpResponseOk(ResultsPage {
            next_page: page.next_page,
            items: page.items.into_iter().map(Into::into).collect(),
        }))
    }

    /// List (Hybrid) deployments, ordered by id. A page may hold fewer items
    /// than the limit, since Hosted deployments are left out.
    #[endpoint {
        operation_id = "deployment_list",
        method = GET,
        path = "/deployments",
        versions = ..VERSION_UNIFIED,
    }]
    async fn deployment_list_v1(
        rqctx: RequestContext<Self::Context>,
        query: Query<PaginationParams<EmptyScanParams, v1::DeploymentPageSelector>>,
    ) -> Result<HttpResponseOk<ResultsPage<v1::Deployment>>, HttpError> {
        let page = Self::deployment_list(rqctx, query).await?.0;
        Ok(HttpResponseOk(ResultsPage {
            next_page: page.next_page,
            items: page
                .items
                .into_iter()
                .filter_map(|d| v1::Deployment::try_from(v3::Deployment::from(d)).ok())
                .collect(),
        }))
    }

    /// Delete a deployment and its manifest revisions.
    #[endpoint {
        method = DELETE,
        path = "/deployments/{deployment_id}",
    }]
    async fn deployment_delete(
        rqctx: RequestContext<Self::Context>,
        path: Path<v1::DeploymentPath>,
    ) -> Result<HttpResponseDeleted, HttpError>;

    /// Fetch a deployment's rendered manifest set: the newest revision, or
    /// the one named by `revision`.
    #[endpoint {
        method = GET,
        path = "/deployments/{deployment_id}/manifests",
    }]
    async fn deployment_manifests_get(
        rqctx: RequestContext<Self::Context>,
        path: Path<v1::DeploymentPath>,
        query: Query<v1::ManifestQuery>,
    ) -> Result<HttpResponseOk<v1::ManifestSet>, HttpError>;

    /// A deployment's status on its data plane: DEPLOYING until the agent
    /// reports its newest manifest revision, then HEALTHY or UNHEALTHY as
    /// reported; UNKNOWN while the data plane's agent is not reporting.
    #[endpoint {
        method = GET,
        path = "/deployments/{deployment_id}/status",
        versions = VERSION_STATUS..,
    }]
    async fn deployment_status_get(
        rqctx: RequestContext<Self::Context>,
        path: Path<v4::DeploymentPath>,
    ) -> Result<HttpResponseOk<v4::DeploymentReport>, HttpError>;

    /// Register a platform release (a version of the manifest templates and
    /// what it supports). Immutable: the same content again is a no-op,
    /// other content a conflict.
    /// The path's and the body's schemas state the rules they must meet.
    #[endpoint {
        method = PUT,
        path = "/platform-releases/{version}",
        versions = VERSION_STATUS..,
    }]
    async fn platform_release_put(
        rqctx: RequestContext<Self::Context>,
        path: Path<v4::RuledPlatformReleasePath>,
        body: TimedBody<v4::RuledPlatformReleaseSpec>,
    ) -> Result<HttpResponseOk<v3::PlatformRelease>, HttpError>;

    /// Register a platform release (a version of the manifest templates and
    /// what it supports). Immutable: the same content again is a no-op,
    /// other content a conflict.
    #[endpoint {
        operation_id = "platform_release_put",
        method = PUT,
        path = "/platform-releases/{version}",
        versions = VERSION_ROLLOUTS..VERSION_STATUS,
    }]
    async fn platform_release_put_v3(
        rqctx: RequestContext<Self::Context>,
        path: Path<v3::PlatformReleasePath>,
        body: TimedBody<v3::PlatformReleaseSpec>,
    ) -> Result<HttpResponseOk<v3::PlatformRelease>, HttpError> {
        Self::platform_release_put(rqctx, path.map(Into::into), body.map(Into::into)).await
    }

    /// Every registered platform release, by version.
    #[endpoint {
        method = GET,
        path = "/platform-releases",
        versions = VERSION_ROLLOUTS..,
    }]
    async fn platform_release_list(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseOk<Vec<v3::PlatformRelease>>, HttpError>;

    /// Start a rollout of a platform release under this Harmony's
    /// environment's policy. At most one rollout runs at a time.
    /// The body's schema states the rules it must meet.
    #[endpoint {
        method = POST,
        path = "/rollouts",
        versions = VERSION_STATUS..,
    }]
    async fn rollout_create(
        rqctx: RequestContext<Self::Context>,
        body: TimedBody<v4::RuledRolloutCreate>,
    ) -> Result<HttpResponseCreated<v3::Rollout>, HttpError>;

    /// Start a rollout of a platform release under this Harmony's
    /// environment's policy. At most one rollout runs at a time.
    #[endpoint {
        operation_id = "rollout_create",
        method = POST,
        path = "/rollouts",
        versions = VERSION_ROLLOUTS..VERSION_STATUS,
    }]
    async fn rollout_create_v3(
        rqctx: RequestContext<Self::Context>,
        body: TimedBody<v3::RolloutCreate>,
    ) -> Result<HttpResponseCreated<v3::Rollout>, HttpError> {
        Self::rollout_create(rqctx, body.map(Into::into)).await
    }

    /// Rollouts, newest first.
    #[endpoint {
        method = GET,
        path = "/rollouts",
        versions = VERSION_ROLLOUTS..,
    }]
    async fn rollout_list(
        rqctx: RequestContext<Self::Context>,
        query: Query<v3::RolloutListQuery>,
    ) -> Result<HttpResponseOk<Vec<v3::Rollout>>, HttpError>;

    /// One rollout, with every decision.
    #[endpoint {
        method = GET,
        path = "/rollouts/{rollout_id}",
        versions = VERSION_ROLLOUTS..,
    }]
    async fn rollout_get(
        rqctx: RequestContext<Self::Context>,
        path: Path<v3::RolloutPath>,
    ) -> Result<HttpResponseOk<v3::Rollout>, HttpError>;

    /// The data planes a rollout targets, ordered by id.
    #[endpoint {
        method = GET,
        path = "/rollouts/{rollout_id}/data-planes",
        versions = VERSION_ROLLOUTS..,
    }]
    async fn rollout_data_plane_list(
        rqctx: RequestContext<Self::Context>,
        path: Path<v3::RolloutPath>,
        query: Query<PaginationParams<EmptyScanParams, v3::RolloutDataPlanePageSelector>>,
    ) -> Result<HttpResponseOk<ResultsPage<v3::RolloutDataPlane>>, HttpError>;

    /// Pause, resume, approve, abort, roll back, or bypass (audited).
    #[endpoint {
        method = POST,
        path = "/rollouts/{rollout_id}/commands",
        versions = VERSION_ROLLOUTS..,
    }]
    async fn rollout_command(
        rqctx: RequestContext<Self::Context>,
        path: Path<v3::RolloutPath>,
        body: TimedBody<v3::RolloutCommand>,
    ) -> Result<HttpResponseOk<v3::Rollout>, HttpError>;
}
