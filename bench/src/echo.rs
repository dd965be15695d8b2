//! The baseline for the control-plane path: a two-hop echo. A front dropshot
//! server takes the same request astro-api takes and forwards a spec through
//! the same generated Harmony client to a back dropshot server, which answers
//! without validating, storing or rendering anything.

use dropshot::{
    ApiDescription, ConfigDropshot, HttpError, HttpResponseCreated, HttpResponseOk, HttpServer,
    Path, RequestContext, ServerBuilder, TypedBody, endpoint,
};
use harmony_client::v2::types as h;
use std::sync::Arc;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct DeploymentPath {
    #[allow(dead_code)]
    deployment_id: uuid::Uuid,
}

/// The back hop: echoes the spec as a Deployment.
#[endpoint { method = PUT, path = "/deployments/{deployment_id}" }]
async fn back(
    _rqctx: RequestContext<()>,
    path: Path<DeploymentPath>,
    body: TypedBody<harmony_api::latest::DeploymentSpec>,
) -> Result<HttpResponseOk<harmony_api::latest::Deployment>, HttpError> {
    let id = path.into_inner().deployment_id;
    let s = body.into_inner();
    let now = chrono::Utc::now();
    Ok(HttpResponseOk(harmony_api::latest::Deployment {
        id,
        kind: s.kind,
        organization_id: s.organization_id,
        workspace_id: s.workspace_id,
        data_plane_id: s.data_plane_id,
        name: s.name,
        runtime_version: s.runtime_version,
        executor: s.executor,
        scheduler_size: s.scheduler_size,
        scheduler: s.scheduler,
        is_high_availability: s.is_high_availability,
        worker_queues: s.worker_queues,
        environment_variables: s.environment_variables,
        image_tag: s.image_tag,
        dag_bundle_version: s.dag_bundle_version,
        generation: s.generation,
        revision: 1,
        created_at: now,
        updated_at: now,
        contact_emails: s.contact_emails.unwrap_or_default(),
    }))
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct OrgPath {
    #[allow(dead_code)]
    organization_id: String,
}

/// The front hop: takes the public request, forwards a spec, answers 201.
#[endpoint { method = POST, path = "/organizations/{organization_id}/deployments" }]
async fn front(
    rqctx: RequestContext<Arc<harmony_client::v2::Client>>,
    _path: Path<OrgPath>,
    body: TypedBody<astro_public_api::types::DeploymentInput>,
) -> Result<HttpResponseCreated<serde_json::Value>, HttpError> {
    let input = body.into_inner();
    let spec = h::DeploymentSpec {
        kind: h::DataPlaneKind::Hybrid,
        organization_id: "org".into(),
        workspace_id: input.workspace_id,
        data_plane_id: input.cluster_id.unwrap_or_default(),
        name: input.name,
        runtime_version: input.runtime_version,
        executor: h::Executor::Celery,
        scheduler_size: None,
        scheduler: input.scheduler.map(|s| h::HybridScheduler { au: s.au, replicas: s.replicas }),
        is_high_availability: false,
        worker_queues: input
            .worker_queues
            .into_iter()
            .map(|q| h::WorkerQueue {
                name: q.name,
                is_default: q.is_default,
                min_worker_count: q.min_worker_count,
                max_worker_count: q.max_worker_count,
                worker_concurrency: q.worker_concurrency,
                astro_machine: None,
                node_pool_id: q.node_pool_id,
            })
            .collect(),
        environment_variables: input
            .environment_variables
            .into_iter()
            .map(|v| h::EnvironmentVariable { key: v.key, value: v.value, is_secret: v.is_secret })
            .collect(),
        image_tag: "v1".into(),
        dag_bundle_version: None,
        generation: 1,
    };
    let answer = rqctx
        .context()
        .deployment_put(&uuid::Uuid::new_v4(), &spec)
        .await
        .map_err(|e| HttpError::for_unavail(None, e.to_string()))?;
    let body = serde_json::to_value(answer.into_inner())
        .map_err(|e| HttpError::for_internal_error(e.to_string()))?;
    Ok(HttpResponseCreated(body))
}

fn quiet() -> slog::Logger {
    slog::Logger::root(slog::Discard, slog::o!())
}

fn config() -> ConfigDropshot {
    ConfigDropshot {
        bind_address: "127.0.0.1:0".parse().unwrap(),
        default_request_body_max_bytes: 1024 * 1024,
        ..Default::default()
    }
}

/// Starts both hops; returns the front's base URL and the servers.
pub fn start()
-> anyhow::Result<(String, HttpServer<Arc<harmony_client::v2::Client>>, HttpServer<()>)> {
    let mut api = ApiDescription::new();
    api.register(back).map_err(|e| anyhow::anyhow!("{e}"))?;
    let back_server = ServerBuilder::new(api, (), quiet())
        .config(config())
        .start()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let client =
        Arc::new(harmony_client::v2::Client::new(&format!("http://{}", back_server.local_addr())));
    let mut api = ApiDescription::new();
    api.register(front).map_err(|e| anyhow::anyhow!("{e}"))?;
    let front_server = ServerBuilder::new(api, client, quiet())
        .config(config())
        .start()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((format!("http://{}", front_server.local_addr()), front_server, back_server))
}
