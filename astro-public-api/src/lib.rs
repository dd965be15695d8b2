//! Astro's public API contract, and nothing else.
//!
//! Every user action on an Airflow deployment goes through this API; astro-api
//! implements it and forwards each change to Harmony. The document lives at
//! `openapi/astro.json`: the public API moves in lockstep with its one
//! implementation, so it has a single version rather than Harmony's
//! per-version documents.
//!
//! Everything but `/readyz` sits under `/organizations/{organization_id}` and
//! needs an API token of that organization, sent as `Authorization: Bearer
//! <token>`: without one, or with a malformed, unknown, revoked or expired
//! one, 401; with another organization's, 404 (existence does not leak);
//! with one whose role does not allow the operation, 403. Every error,
//! whatever its cause, has one shape: [`AstroError`], with `field_errors`
//! naming every bad field of a rejected request at once.

mod error;
pub mod types;

pub use error::{AstroError, FieldError, QuotaUsage, VersionGap};

/// Request bodies must arrive within the process's read deadline; an
/// implementation names the same type.
pub use body_deadline::TimedBody;
use dropshot::{
    EmptyScanParams, Header, HttpResponseCreated, HttpResponseDeleted, HttpResponseHeaders,
    HttpResponseOk, PaginationParams, Path, Query, RequestContext, ResultsPage,
};
use types::{
    ApiToken, CreatedToken, Deploy, DeployBody, DeployPath, Deployment, DeploymentBody,
    DeploymentHeaders, DeploymentOptions, DeploymentPageSelector, DeploymentPath, DeploymentScan,
    IdPageSelector, Organization, OrganizationPath, PlatformRollouts, Readiness, TokenBody,
    TokenPath, UpdatePreconditions, Workspace, WorkspaceBody, WorkspacePath,
};

/// The public API's version (lockstep: one at a time).
pub const API_VERSION: semver::Version = semver::Version::new(1, 0, 0);

#[dropshot::api_description]
pub trait AstroApi {
    type Context;

    /// Readiness: each Harmony cell, whether it answers, and the API version
    /// astro-api negotiated with it.
    #[endpoint { method = GET, path = "/readyz" }]
    async fn readiness(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseOk<Readiness>, AstroError>;

    /// The organization the token belongs to.
    #[endpoint { method = GET, path = "/organizations/{organization_id}" }]
    async fn organization_get(
        rqctx: RequestContext<Self::Context>,
        path: Path<OrganizationPath>,
    ) -> Result<HttpResponseOk<Organization>, AstroError>;

    /// Create a workspace (owners).
    #[endpoint { method = POST, path = "/organizations/{organization_id}/workspaces" }]
    async fn workspace_create(
        rqctx: RequestContext<Self::Context>,
        path: Path<OrganizationPath>,
        body: TimedBody<WorkspaceBody>,
    ) -> Result<HttpResponseCreated<Workspace>, AstroError>;

    /// List the workspaces the token can see (a workspace member's token:
    /// its own).
    #[endpoint { method = GET, path = "/organizations/{organization_id}/workspaces" }]
    async fn workspace_list(
        rqctx: RequestContext<Self::Context>,
        path: Path<OrganizationPath>,
        query: Query<PaginationParams<EmptyScanParams, IdPageSelector>>,
    ) -> Result<HttpResponseOk<ResultsPage<Workspace>>, AstroError>;

    /// Fetch a workspace.
    #[endpoint {
        method = GET,
        path = "/organizations/{organization_id}/workspaces/{workspace_id}",
    }]
    async fn workspace_get(
        rqctx: RequestContext<Self::Context>,
        path: Path<WorkspacePath>,
    ) -> Result<HttpResponseOk<Workspace>, AstroError>;

    /// Create an API token (owners). The answer is the only time the
    /// token's value is shown.
    #[endpoint { method = POST, path = "/organizations/{organization_id}/tokens" }]
    async fn token_create(
        rqctx: RequestContext<Self::Context>,
        path: Path<OrganizationPath>,
        body: TimedBody<TokenBody>,
    ) -> Result<HttpResponseCreated<CreatedToken>, AstroError>;

    /// List the organization's API tokens (owners); never their values.
    #[endpoint { method = GET, path = "/organizations/{organization_id}/tokens" }]
    async fn token_list(
        rqctx: RequestContext<Self::Context>,
        path: Path<OrganizationPath>,
        query: Query<PaginationParams<EmptyScanParams, IdPageSelector>>,
    ) -> Result<HttpResponseOk<ResultsPage<ApiToken>>, AstroError>;

    /// Revoke an API token (owners); it stops working at once. A token
    /// cannot revoke itself (409), so an organization keeps an owner token.
    #[endpoint { method = DELETE, path = "/organizations/{organization_id}/tokens/{token_id}" }]
    async fn token_delete(
        rqctx: RequestContext<Self::Context>,
        path: Path<TokenPath>,
    ) -> Result<HttpResponseDeleted, AstroError>;

    /// What a deployment may be configured with: runtime releases,
    /// executors, machines and ranges. Everything listed passes validation.
    #[endpoint { method = GET, path = "/organizations/{organization_id}/deployment-options" }]
    async fn deployment_options(
        rqctx: RequestContext<Self::Context>,
        path: Path<OrganizationPath>,
    ) -> Result<HttpResponseOk<DeploymentOptions>, AstroError>;

    /// Platform upgrades rolling across the data planes this organization's
    /// deployments run on (owners; read-only).
    #[endpoint { method = GET, path = "/organizations/{organization_id}/platform-rollouts" }]
    async fn platform_rollouts(
        rqctx: RequestContext<Self::Context>,
        path: Path<OrganizationPath>,
    ) -> Result<HttpResponseOk<PlatformRollouts>, AstroError>;

    /// Create a deployment.
    #[endpoint { method = POST, path = "/organizations/{organization_id}/deployments" }]
    async fn deployment_create(
        rqctx: RequestContext<Self::Context>,
        path: Path<OrganizationPath>,
        body: TimedBody<DeploymentBody>,
    ) -> Result<HttpResponseCreated<Deployment>, AstroError>;

    /// List an organization's deployments, optionally of one workspace or
    /// with one name.
    #[endpoint { method = GET, path = "/organizations/{organization_id}/deployments" }]
    async fn deployment_list(
        rqctx: RequestContext<Self::Context>,
        path: Path<OrganizationPath>,
        query: Query<PaginationParams<DeploymentScan, DeploymentPageSelector>>,
    ) -> Result<HttpResponseOk<ResultsPage<Deployment>>, AstroError>;

    /// Fetch a deployment.
    #[endpoint {
        method = GET,
        path = "/organizations/{organization_id}/deployments/{deployment_id}",
    }]
    async fn deployment_get(
        rqctx: RequestContext<Self::Context>,
        path: Path<DeploymentPath>,
    ) -> Result<HttpResponseHeaders<HttpResponseOk<Deployment>, DeploymentHeaders>, AstroError>;

    /// Replace a deployment's settings (a full replacement: send every
    /// field). `type`, `cluster_id` and `workspace_id` cannot change. With
    /// `If-Match`, a deployment changed since it was read is refused (412).
    #[endpoint {
        method = POST,
        path = "/organizations/{organization_id}/deployments/{deployment_id}",
    }]
    async fn deployment_update(
        rqctx: RequestContext<Self::Context>,
        path: Path<DeploymentPath>,
        headers: Header<UpdatePreconditions>,
        body: TimedBody<DeploymentBody>,
    ) -> Result<HttpResponseHeaders<HttpResponseOk<Deployment>, DeploymentHeaders>, AstroError>;

    /// Delete a deployment.
    #[endpoint {
        method = DELETE,
        path = "/organizations/{organization_id}/deployments/{deployment_id}",
    }]
    async fn deployment_delete(
        rqctx: RequestContext<Self::Context>,
        path: Path<DeploymentPath>,
    ) -> Result<HttpResponseDeleted, AstroError>;

    /// Start a deploy of a new image, DAG bundle, or both.
    #[endpoint {
        method = POST,
        path = "/organizations/{organization_id}/deployments/{deployment_id}/deploys",
    }]
    async fn deploy_create(
        rqctx: RequestContext<Self::Context>,
        path: Path<DeploymentPath>,
        body: TimedBody<DeployBody>,
    ) -> Result<HttpResponseCreated<Deploy>, AstroError>;

    /// Fetch a deploy.
    #[endpoint {
        method = GET,
        path = "/organizations/{organization_id}/deployments/{deployment_id}/deploys/{deploy_id}",
    }]
    async fn deploy_get(
        rqctx: RequestContext<Self::Context>,
        path: Path<DeployPath>,
    ) -> Result<HttpResponseOk<Deploy>, AstroError>;

    /// Finalize a deploy: the deployment's desired image or DAG bundle becomes
    /// the deploy's, and Harmony renders it. Finalizing again is a no-op.
    #[endpoint {
        method = POST,
        path = "/organizations/{organization_id}/deployments/{deployment_id}/deploys/{deploy_id}/finalize",
    }]
    async fn deploy_finalize(
        rqctx: RequestContext<Self::Context>,
        path: Path<DeployPath>,
    ) -> Result<HttpResponseOk<Deploy>, AstroError>;
}
