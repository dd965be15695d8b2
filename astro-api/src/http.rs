//! The HTTP edge: [`AstroImpl`] implements the public API trait. Handlers
//! extract, call [`Astro`], and turn a [`Failure`] into the public error
//! shape with the request's id.

use crate::app::Astro;
use crate::auth::Principal;
use crate::failure::Failure;
use astro_public_api::types::{
    ApiToken, CreatedToken, Deploy, DeployBody, DeployPath, Deployment, DeploymentBody,
    DeploymentHeaders, DeploymentOptions, DeploymentPageSelector, DeploymentPath, DeploymentScan,
    IdPageSelector, Organization, OrganizationPath, PlatformRollouts, Readiness, TokenBody,
    TokenPath, UpdatePreconditions, Workspace, WorkspaceBody, WorkspacePath,
};
use astro_public_api::{AstroApi, AstroError, TimedBody};
use dropshot::{
    EmptyScanParams, Header, HttpResponseCreated, HttpResponseDeleted, HttpResponseHeaders,
    HttpResponseOk, PaginationParams, Path, Query, RequestContext, ResultsPage, WhichPage,
};
use std::sync::Arc;

pub type Context = Arc<Astro>;

/// Implements [`AstroApi`]; never instantiated.
pub enum AstroImpl {}

fn public(rqctx: &RequestContext<Context>) -> impl Fn(Failure) -> AstroError + '_ {
    move |failure| {
        if let Failure::Internal(source) = &failure {
            slog::error!(rqctx.log, "internal error"; "error" => format!("{source:#}"));
        }
        failure.into_public(&rqctx.request_id)
    }
}

/// The path or query parameter holding a NUL, if any. PostgreSQL's text
/// cannot hold U+0000, so one reaching a query failed there as a 500 (issue
/// 34); bodies are checked by their extractor (`body_deadline`). A path
/// segment is named by its variable (dropshot does not expose the values it
/// matched, only their names): `organization_id` is the first, and the
/// endpoint's other string variable, when it has one, the rest.
fn nul_in_uri(rqctx: &RequestContext<Context>, organization_id: &str) -> Option<String> {
    if organization_id.contains('\0') {
        return Some("organization_id".to_owned());
    }
    // A path segment is percent-decoded as dropshot decodes it ('+' is a
    // plus sign there, unlike in a query string).
    let holds_nul = |segment: &str| percent_encoding::percent_decode_str(segment).any(|b| b == 0);
    if rqctx.request.uri().path().split('/').any(holds_nul) {
        let mut others = rqctx.endpoint.variables.keys().filter(|name| *name != "organization_id");
        return Some(match (others.next(), others.next()) {
            (Some(only), None) => only.clone(),
            _ => "path".to_owned(),
        });
    }
    let query = rqctx.request.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| name.replace('\0', "\\0"))
}

/// The caller, from the request's `Authorization` header, for a request on
/// `organization_id`. A NUL in the path or query is refused first (400
/// naming the parameter), so nothing carrying one reaches the store.
async fn caller(
    rqctx: &RequestContext<Context>,
    organization_id: &str,
) -> Result<Principal, AstroError> {
    if let Some(field) = nul_in_uri(rqctx, organization_id) {
        return Err(public(rqctx)(Failure::Invalid(vec![crate::failure::field_error(
            &deployment_rules::rule::PUBLIC_NUL,
            field,
            "format",
            "a NUL character (U+0000) is not allowed",
        )])));
    }
    let header = rqctx
        .request
        .headers()
        .get("authorization")
        // A header that is not text is as malformed as a wrong one.
        .map(|value| value.to_str().unwrap_or(""));
    rqctx.context().authenticate(header, organization_id).await.map_err(public(rqctx))
}

/// The page size and the id a listing ordered by id continues after.
fn id_listing(
    rqctx: &RequestContext<Context>,
    query: PaginationParams<EmptyScanParams, IdPageSelector>,
) -> Result<(usize, Option<String>), dropshot::HttpError> {
    let limit = rqctx.page_limit(&query)?.get() as usize;
    let after = match query.page {
        WhichPage::First(_) => None,
        WhichPage::Next(selector) => Some(selector.last_seen),
    };
    if after.as_deref().is_some_and(|a| a.contains('\0')) {
        return Err(nul_in_page_token());
    }
    Ok((limit, after))
}

/// A page token whose decoded selector holds a NUL (a token is base64 of
/// JSON, so the query string shows none).
fn nul_in_page_token() -> dropshot::HttpError {
    dropshot::HttpError::for_bad_request(
        Some("InvalidRequest".to_owned()),
        "page_token: a NUL character (U+0000) is not allowed".to_owned(),
    )
}

/// A page of a listing ordered by string id.
fn id_page<T: serde::Serialize>(
    items: Vec<T>,
    id: impl Fn(&T) -> String,
) -> Result<ResultsPage<T>, dropshot::HttpError> {
    ResultsPage::new(items, &EmptyScanParams {}, |item, _| IdPageSelector { last_seen: id(item) })
}

impl AstroApi for AstroImpl {
    type Context = Context;

    async fn readiness(
        rqctx: RequestContext<Context>,
    ) -> Result<HttpResponseOk<Readiness>, AstroError> {
        Ok(HttpResponseOk(rqctx.context().readiness().await))
    }

    async fn deployment_options(
        rqctx: RequestContext<Context>,
        path: Path<OrganizationPath>,
    ) -> Result<HttpResponseOk<DeploymentOptions>, AstroError> {
        caller(&rqctx, &path.into_inner().organization_id).await?;
        Ok(HttpResponseOk(crate::validate::options()))
    }

    async fn platform_rollouts(
        rqctx: RequestContext<Context>,
        path: Path<OrganizationPath>,
    ) -> Result<HttpResponseOk<PlatformRollouts>, AstroError> {
        let who = caller(&rqctx, &path.into_inner().organization_id).await?;
        let answer = rqctx.context().platform_rollouts(&who).await.map_err(public(&rqctx))?;
        Ok(HttpResponseOk(answer))
    }

    async fn organization_get(
        rqctx: RequestContext<Context>,
        path: Path<OrganizationPath>,
    ) -> Result<HttpResponseOk<Organization>, AstroError> {
        let who = caller(&rqctx, &path.into_inner().organization_id).await?;
        let org = rqctx.context().organization(&who).await.map_err(public(&rqctx))?;
        Ok(HttpResponseOk(org))
    }

    async fn workspace_create(
        rqctx: RequestContext<Context>,
        path: Path<OrganizationPath>,
        body: TimedBody<WorkspaceBody>,
    ) -> Result<HttpResponseCreated<Workspace>, AstroError> {
        let who = caller(&rqctx, &path.into_inner().organization_id).await?;
        let workspace = rqctx
            .context()
            .create_workspace(&who, body.into_inner().0)
            .await
            .map_err(public(&rqctx))?;
        Ok(HttpResponseCreated(workspace))
    }

    async fn workspace_list(
        rqctx: RequestContext<Context>,
        path: Path<OrganizationPath>,
        query: Query<PaginationParams<EmptyScanParams, IdPageSelector>>,
    ) -> Result<HttpResponseOk<ResultsPage<Workspace>>, AstroError> {
        let who = caller(&rqctx, &path.into_inner().organization_id).await?;
        let (limit, after) = id_listing(&rqctx, query.into_inner()).map_err(AstroError::from)?;
        let items = rqctx.context().workspaces(&who, after, limit).await.map_err(public(&rqctx))?;
        Ok(HttpResponseOk(id_page(items, |w| w.id.clone()).map_err(AstroError::from)?))
    }

    async fn workspace_get(
        rqctx: RequestContext<Context>,
        path: Path<WorkspacePath>,
    ) -> Result<HttpResponseOk<Workspace>, AstroError> {
        let WorkspacePath { organization_id, workspace_id } = path.into_inner();
        let who = caller(&rqctx, &organization_id).await?;
        let workspace =
            rqctx.context().workspace(&who, workspace_id).await.map_err(public(&rqctx))?;
        Ok(HttpResponseOk(workspace))
    }

    async fn token_create(
        rqctx: RequestContext<Context>,
        path: Path<OrganizationPath>,
        body: TimedBody<TokenBody>,
    ) -> Result<HttpResponseCreated<CreatedToken>, AstroError> {
        let who = caller(&rqctx, &path.into_inner().organization_id).await?;
        let created = rqctx
            .context()
            .create_token(&who, body.into_inner().0)
            .await
            .map_err(public(&rqctx))?;
        Ok(HttpResponseCreated(created))
    }

    async fn token_list(
        rqctx: RequestContext<Context>,
        path: Path<OrganizationPath>,
        query: Query<PaginationParams<EmptyScanParams, IdPageSelector>>,
    ) -> Result<HttpResponseOk<ResultsPage<ApiToken>>, AstroError> {
        let who = caller(&rqctx, &path.into_inner().organization_id).await?;
        let (limit, after) = id_listing(&rqctx, query.into_inner()).map_err(AstroError::from)?;
        let items = rqctx.context().tokens(&who, after, limit).await.map_err(public(&rqctx))?;
        Ok(HttpResponseOk(id_page(items, |t| t.id.to_string()).map_err(AstroError::from)?))
    }

    async fn token_delete(
        rqctx: RequestContext<Context>,
        path: Path<TokenPath>,
    ) -> Result<HttpResponseDeleted, AstroError> {
        let TokenPath { organization_id, token_id } = path.into_inner();
        let who = caller(&rqctx, &organization_id).await?;
        rqctx.context().delete_token(&who, token_id).await.map_err(public(&rqctx))?;
        Ok(HttpResponseDeleted())
    }

    async fn deployment_create(
        rqctx: RequestContext<Context>,
        path: Path<OrganizationPath>,
        body: TimedBody<DeploymentBody>,
    ) -> Result<HttpResponseCreated<Deployment>, AstroError> {
        let who = caller(&rqctx, &path.into_inner().organization_id).await?;
        let deployment = traced(&rqctx, rqctx.context().create(&who, body.into_inner().0))
            .await
            .map_err(public(&rqctx))?;
        Ok(HttpResponseCreated(deployment))
    }

    async fn deployment_list(
        rqctx: RequestContext<Context>,
        path: Path<OrganizationPath>,
        query: Query<PaginationParams<DeploymentScan, DeploymentPageSelector>>,
    ) -> Result<HttpResponseOk<ResultsPage<Deployment>>, AstroError> {
        let who = caller(&rqctx, &path.into_inner().organization_id).await?;
        let query = query.into_inner();
        let limit = rqctx.page_limit(&query).map_err(AstroError::from)?.get() as usize;
        let (scan, after) = match query.page {
            WhichPage::First(scan) => (scan, None),
            WhichPage::Next(selector) => {
                let held = [&selector.workspace_id, &selector.name]
                    .into_iter()
                    .any(|s| s.as_deref().is_some_and(|s| s.contains('\0')));
                if held {
                    return Err(AstroError::from(nul_in_page_token()));
                }
                (
                    DeploymentScan { workspace_id: selector.workspace_id, name: selector.name },
                    Some(selector.last_seen),
                )
            }
        };
        let items =
            rqctx.context().list(&who, scan.clone(), after, limit).await.map_err(public(&rqctx))?;
        let page = ResultsPage::new(items, &scan, |d, scan| DeploymentPageSelector {
            workspace_id: scan.workspace_id.clone(),
            name: scan.name.clone(),
            last_seen: d.id,
        })
        .map_err(AstroError::from)?;
        Ok(HttpResponseOk(page))
    }

    async fn deployment_get(
        rqctx: RequestContext<Context>,
        path: Path<DeploymentPath>,
    ) -> Result<HttpResponseHeaders<HttpResponseOk<Deployment>, DeploymentHeaders>, AstroError>
    {
        let DeploymentPath { organization_id, deployment_id } = path.into_inner();
        let who = caller(&rqctx, &organization_id).await?;
        let deployment = traced(&rqctx, rqctx.context().get(&who, deployment_id))
            .await
            .map_err(public(&rqctx))?;
        let headers = DeploymentHeaders::of(&deployment);
        Ok(HttpResponseHeaders::new(HttpResponseOk(deployment), headers))
    }

    async fn deployment_update(
        rqctx: RequestContext<Context>,
        path: Path<DeploymentPath>,
        headers: Header<UpdatePreconditions>,
        body: TimedBody<DeploymentBody>,
    ) -> Result<HttpResponseHeaders<HttpResponseOk<Deployment>, DeploymentHeaders>, AstroError>
    {
        let DeploymentPath { organization_id, deployment_id } = path.into_inner();
        let if_match = headers.into_inner().if_match;
        let who = caller(&rqctx, &organization_id).await?;
        let update = rqctx.context().update(&who, deployment_id, if_match, body.into_inner().0);
        let deployment = traced(&rqctx, update).await.map_err(public(&rqctx))?;
        let headers = DeploymentHeaders::of(&deployment);
        Ok(HttpResponseHeaders::new(HttpResponseOk(deployment), headers))
    }

    async fn deployment_delete(
        rqctx: RequestContext<Context>,
        path: Path<DeploymentPath>,
    ) -> Result<HttpResponseDeleted, AstroError> {
        let DeploymentPath { organization_id, deployment_id } = path.into_inner();
        let who = caller(&rqctx, &organization_id).await?;
        traced(&rqctx, rqctx.context().delete(&who, deployment_id))
            .await
            .map_err(public(&rqctx))?;
        Ok(HttpResponseDeleted())
    }

    async fn deploy_create(
        rqctx: RequestContext<Context>,
        path: Path<DeploymentPath>,
        body: TimedBody<DeployBody>,
    ) -> Result<HttpResponseCreated<Deploy>, AstroError> {
        let DeploymentPath { organization_id, deployment_id } = path.into_inner();
        let who = caller(&rqctx, &organization_id).await?;
        let create = rqctx.context().create_deploy(&who, deployment_id, body.into_inner().0);
        let deploy = traced(&rqctx, create).await.map_err(public(&rqctx))?;
        Ok(HttpResponseCreated(deploy))
    }

    async fn deploy_get(
        rqctx: RequestContext<Context>,
        path: Path<DeployPath>,
    ) -> Result<HttpResponseOk<Deploy>, AstroError> {
        let DeployPath { organization_id, deployment_id, deploy_id } = path.into_inner();
        let who = caller(&rqctx, &organization_id).await?;
        let deploy = rqctx
            .context()
            .get_deploy(&who, deployment_id, deploy_id)
            .await
            .map_err(public(&rqctx))?;
        Ok(HttpResponseOk(deploy))
    }

    async fn deploy_finalize(
        rqctx: RequestContext<Context>,
        path: Path<DeployPath>,
    ) -> Result<HttpResponseOk<Deploy>, AstroError> {
        let DeployPath { organization_id, deployment_id, deploy_id } = path.into_inner();
        let who = caller(&rqctx, &organization_id).await?;
        let finalize = rqctx.context().finalize_deploy(&who, deployment_id, deploy_id);
        let deploy = traced(&rqctx, finalize).await.map_err(public(&rqctx))?;
        Ok(HttpResponseOk(deploy))
    }
}

/// `work` with this request's id sent to Harmony as `x-request-id` on every
/// call it makes, and recorded with every change it queues (delivered later
/// by a worker, the change still carries it): Harmony's log lines for the
/// change can be found by the id astro-api answered with.
async fn traced<T>(
    rqctx: &RequestContext<Context>,
    work: impl std::future::Future<Output = T>,
) -> T {
    crate::harmony::request_id::scope(rqctx.request_id.clone(), work).await
}
