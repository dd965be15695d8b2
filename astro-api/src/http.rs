//! The HTTP edge: [`AstroImpl`] implements the public API trait. Handlers
//! extract, call [`Astro`], and turn a [`Failure`] into the public error
//! shape with the request's id.

use crate::app::Astro;
use crate::failure::Failure;
use astro_public_api::types::{
    Deploy, DeployInput, DeployPath, Deployment, DeploymentHeaders, DeploymentInput,
    DeploymentOptions, DeploymentPageSelector, DeploymentPath, DeploymentScan, OrganizationPath,
    Readiness, UpdatePreconditions,
};
use astro_public_api::{AstroApi, AstroError};
use dropshot::{
    Header, HttpResponseCreated, HttpResponseDeleted, HttpResponseHeaders, HttpResponseOk,
    PaginationParams, Path, Query, RequestContext, ResultsPage, TypedBody, WhichPage,
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
        let _ = (rqctx, path.into_inner());
        Ok(HttpResponseOk(crate::validate::options()))
    }

    async fn deployment_create(
        rqctx: RequestContext<Context>,
        path: Path<OrganizationPath>,
        body: TypedBody<DeploymentInput>,
    ) -> Result<HttpResponseCreated<Deployment>, AstroError> {
        let org = path.into_inner().organization_id;
        let deployment =
            rqctx.context().create(org, body.into_inner()).await.map_err(public(&rqctx))?;
        Ok(HttpResponseCreated(deployment))
    }

    async fn deployment_list(
        rqctx: RequestContext<Context>,
        path: Path<OrganizationPath>,
        query: Query<PaginationParams<DeploymentScan, DeploymentPageSelector>>,
    ) -> Result<HttpResponseOk<ResultsPage<Deployment>>, AstroError> {
        let org = path.into_inner().organization_id;
        let query = query.into_inner();
        let limit = rqctx.page_limit(&query).map_err(AstroError::from)?.get() as usize;
        let (scan, after) = match query.page {
            WhichPage::First(scan) => (scan, None),
            WhichPage::Next(selector) => (
                DeploymentScan { workspace_id: selector.workspace_id, name: selector.name },
                Some(selector.last_seen),
            ),
        };
        let items =
            rqctx.context().list(org, scan.clone(), after, limit).await.map_err(public(&rqctx))?;
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
        let deployment =
            rqctx.context().get(organization_id, deployment_id).await.map_err(public(&rqctx))?;
        let headers = DeploymentHeaders::of(&deployment);
        Ok(HttpResponseHeaders::new(HttpResponseOk(deployment), headers))
    }

    async fn deployment_update(
        rqctx: RequestContext<Context>,
        path: Path<DeploymentPath>,
        headers: Header<UpdatePreconditions>,
        body: TypedBody<DeploymentInput>,
    ) -> Result<HttpResponseHeaders<HttpResponseOk<Deployment>, DeploymentHeaders>, AstroError>
    {
        let DeploymentPath { organization_id, deployment_id } = path.into_inner();
        let if_match = headers.into_inner().if_match;
        let deployment = rqctx
            .context()
            .update(organization_id, deployment_id, if_match, body.into_inner())
            .await
            .map_err(public(&rqctx))?;
        let headers = DeploymentHeaders::of(&deployment);
        Ok(HttpResponseHeaders::new(HttpResponseOk(deployment), headers))
    }

    async fn deployment_delete(
        rqctx: RequestContext<Context>,
        path: Path<DeploymentPath>,
    ) -> Result<HttpResponseDeleted, AstroError> {
        let DeploymentPath { organization_id, deployment_id } = path.into_inner();
        rqctx.context().delete(organization_id, deployment_id).await.map_err(public(&rqctx))?;
        Ok(HttpResponseDeleted())
    }

    async fn deploy_create(
        rqctx: RequestContext<Context>,
        path: Path<DeploymentPath>,
        body: TypedBody<DeployInput>,
    ) -> Result<HttpResponseCreated<Deploy>, AstroError> {
        let DeploymentPath { organization_id, deployment_id } = path.into_inner();
        let deploy = rqctx
            .context()
            .create_deploy(organization_id, deployment_id, body.into_inner())
            .await
            .map_err(public(&rqctx))?;
        Ok(HttpResponseCreated(deploy))
    }

    async fn deploy_get(
        rqctx: RequestContext<Context>,
        path: Path<DeployPath>,
    ) -> Result<HttpResponseOk<Deploy>, AstroError> {
        let DeployPath { organization_id, deployment_id, deploy_id } = path.into_inner();
        let deploy = rqctx
            .context()
            .get_deploy(organization_id, deployment_id, deploy_id)
            .await
            .map_err(public(&rqctx))?;
        Ok(HttpResponseOk(deploy))
    }

    async fn deploy_finalize(
        rqctx: RequestContext<Context>,
        path: Path<DeployPath>,
    ) -> Result<HttpResponseOk<Deploy>, AstroError> {
        let DeployPath { organization_id, deployment_id, deploy_id } = path.into_inner();
        let deploy = rqctx
            .context()
            .finalize_deploy(organization_id, deployment_id, deploy_id)
            .await
            .map_err(public(&rqctx))?;
        Ok(HttpResponseOk(deploy))
    }
}
