//! The local-run example (`cargo xtask run` runs it): creates a STANDARD
//! deployment through the generated client, waits for it to reach Harmony,
//! and prints what astro-api says about it.
//!
//! Reads `ASTRO_URL`, `ASTRO_TOKEN` and `ASTRO_ORG` (and `ASTRO_WORKSPACE`,
//! default `default`) from the environment.

use astro_client::types;
use std::time::Duration;

fn env(name: &str, default: Option<&str>) -> String {
    std::env::var(name)
        .ok()
        .or_else(|| default.map(str::to_owned))
        .unwrap_or_else(|| panic!("set {name}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = env("ASTRO_URL", Some("http://127.0.0.1:8080"));
    let token = env("ASTRO_TOKEN", None);
    let org = env("ASTRO_ORG", Some("local"));
    let workspace = env("ASTRO_WORKSPACE", Some("default"));
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse()?);
    let http = reqwest::Client::builder().default_headers(headers).build()?;
    let astro = astro_client::Client::new_with_client(&url, http);

    let options = astro.deployment_options(&org).await?.into_inner();
    let runtime = options.runtime_releases.last().ok_or("no runtime releases")?.clone();
    let name = "quickstart".to_owned();
    let existing = astro
        .deployment_list(&org, None, Some(&name), None, Some(&workspace))
        .await?
        .into_inner()
        .items;
    let deployment = match existing.into_iter().next() {
        Some(found) => {
            println!("deployment {name:?} exists already; showing it");
            found
        }
        None => {
            // The document states the rules, so the generated types check
            // them: a value outside a rule does not even build.
            let input = types::DeploymentInput {
                workspace_id: workspace.parse()?,
                name: name.parse()?,
                description: Some("created by the quickstart example".parse()?),
                type_: types::DeploymentType::Standard,
                cloud_provider: Some(types::CloudProvider::Aws),
                region: Some("us-east-1".parse()?),
                cluster_id: None,
                runtime_version: runtime.parse()?,
                executor: types::Executor::Celery,
                scheduler_size: Some(types::SchedulerSize::Small),
                scheduler: None,
                is_high_availability: false,
                is_development_mode: false,
                // Hosted defaults: a 10-CPU / 20Gi quota, 0.25 / 0.5Gi pods.
                resource_quota_cpu: None,
                resource_quota_memory: None,
                default_task_pod_cpu: None,
                default_task_pod_memory: None,
                is_cicd_enforced: false,
                is_dag_deploy_enabled: true,
                // Absent: none for a new deployment (on an update: as they are).
                contact_emails: None,
                worker_queues: vec![types::WorkerQueue {
                    name: "default".parse()?,
                    is_default: true,
                    min_worker_count: 1,
                    max_worker_count: std::num::NonZeroU32::new(10).ok_or("zero")?,
                    worker_concurrency: std::num::NonZeroU32::new(16).ok_or("zero")?,
                    astro_machine: Some(types::AstroMachine::A5),
                    node_pool_id: None,
                }],
                environment_variables: vec![types::EnvironmentVariable {
                    key: "API_TOKEN".parse()?,
                    value: Some("s3cret".to_owned()),
                    is_secret: true,
                }],
                image_tag: None,
            };
            astro.deployment_create(&org, &input).await?.into_inner()
        }
    };
    // Until Harmony has it and the data plane's agent has said what it
    // did with it (a few seconds: the agent long-polls Harmony).
    let mut current = deployment;
    let settled = |d: &types::Deployment| {
        d.delivered_generation == d.generation
            && !matches!(
                d.status,
                types::DeploymentStatus::Creating | types::DeploymentStatus::Deploying
            )
    };
    for _ in 0..300 {
        if settled(&current) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        current = astro.deployment_get(&org, &current.id).await?.into_inner();
    }
    println!(
        "deployment {} ({}): status {:?}, generation {} (Harmony has {})\n  {}",
        current.name,
        current.id,
        current.status,
        current.generation,
        current.delivered_generation,
        current.status_reason.unwrap_or_default()
    );
    Ok(())
}
