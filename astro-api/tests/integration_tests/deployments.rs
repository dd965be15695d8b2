//! Deployment CRUD through astro-api, checked on both sides.

use crate::common::*;
use reqwest::Method;
use serde_json::json;

use sql_store::{Backend, on_both_backends};

on_both_backends!(
    create_get_list_update_delete,
    secrets_never_come_back,
    names_are_unique_in_a_workspace,
    immutable_fields_are_refused_on_update,
    readiness_reports_harmony,
    options_list_exactly_what_validation_accepts,
    list_filters_by_name_and_pages_keep_the_filter,
    status_is_what_the_data_plane_reports_once_harmony_can_say,
);

/// Tells Harmony, as the data plane's agent would, that the deployment runs
/// its newest revision with `health`.
async fn agent_reports(stack: &Stack, id: &str, health: &str) {
    let harmony = &stack.harmony.as_ref().unwrap().app_private().harmony;
    let revision = harmony.deployment(id.parse().unwrap()).expect("Harmony has it").revision;
    let report = serde_json::from_value(json!({
        "applied_revision": 1,
        "agent_version": "test",
        "deployments": [{"deployment_id": id, "manifest_revision": revision, "health": health,
                         "message": "scheduler 1/1 ready"}],
    }))
    .unwrap();
    harmony.record_agent_status("hybrid-example", report).unwrap();
}

/// Once Harmony has the newest generation, a deployment's status is what its
/// data plane reports, read through Harmony 4.0.0; a Harmony that does not
/// serve 4.0.0 yet leaves it DEPLOYING (never an error, never a 500).
async fn status_is_what_the_data_plane_reports_once_harmony_can_say(backend: Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    let (_, created) = stack.create(&hybrid()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    stack.wait_until_delivered().await;
    let path = format!("/organizations/org-1/deployments/{id}");
    let (status, body) = stack.call(Method::GET, &path, None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("DEPLOYING")), "{body}");

    agent_reports(&stack, &id, "HEALTHY").await;
    let (_, body) = stack.call(Method::GET, &path, None).await;
    assert_eq!(body["status"], "HEALTHY", "{body}");
    let reason = body["status_reason"].as_str().unwrap();
    assert!(reason.contains("healthy") && reason.contains("scheduler 1/1 ready"), "{reason}");

    agent_reports(&stack, &id, "UNHEALTHY").await;
    let (_, body) = stack.call(Method::GET, &path, None).await;
    assert_eq!(body["status"], "UNHEALTHY", "{body}");

    // The same against a Harmony that serves no 4.0.0: what the handoff
    // knows, and nothing worse.
    let old = Stack::start_with_harmony_version(Some(semver::Version::new(3, 0, 0))).await;
    let (_, created) = old.create(&hybrid()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    old.wait_until_delivered().await;
    agent_reports(&old, &id, "HEALTHY").await;
    let (status, body) =
        old.call(Method::GET, &format!("/organizations/org-1/deployments/{id}"), None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("DEPLOYING")), "{body}");
}

async fn create_get_list_update_delete(backend: Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    let (status, created) = stack.create(&standard()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "DEPLOYING");
    assert_eq!(created["data_plane_id"], "hosted-aws-us-east-1");
    assert_eq!(created["generation"], 1);

    // Harmony has it, on the shared Hosted data plane.
    let at_harmony = stack.harmony_deployment(&id).await.expect("Harmony has the deployment");
    assert_eq!(at_harmony.data_plane_id, "hosted-aws-us-east-1");
    assert_eq!(at_harmony.generation, 1);

    let path = format!("/organizations/org-1/deployments/{id}");
    let (status, fetched) = stack.call(Method::GET, &path, None).await;
    assert_eq!((status, &fetched), (200, &created));
    let (status, _) =
        stack.call(Method::GET, &format!("/organizations/org-2/deployments/{id}"), None).await;
    assert_eq!(status, 404, "another organization does not see it");

    // Hosted resource settings left out take their defaults.
    let quotas = ["resource_quota_cpu", "resource_quota_memory"]
        .into_iter()
        .chain(["default_task_pod_cpu", "default_task_pod_memory"])
        .map(|f| created[f].clone())
        .collect::<Vec<_>>();
    assert_eq!(quotas, [json!("10"), json!("20Gi"), json!("0.25"), json!("0.5Gi")]);

    let (_, hybrid) = stack.create(&hybrid()).await;
    assert_eq!(hybrid["data_plane_id"], "hybrid-example");
    assert_eq!(hybrid["resource_quota_cpu"], serde_json::Value::Null);
    assert_eq!(stack.list().await.len(), 2);
    let (_, page) = stack
        .call(Method::GET, "/organizations/org-1/deployments?workspace_id=ws-other", None)
        .await;
    assert_eq!(page["items"], json!([]));

    let mut update = standard();
    update["worker_queues"][0]["worker_concurrency"] = json!(32);
    update["environment_variables"][1] = json!({"key": "API_TOKEN", "is_secret": true});
    let (status, updated) = stack.call(Method::POST, &path, Some(&update)).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["generation"], 2);
    let at_harmony = stack.harmony_deployment(&id).await.unwrap();
    assert_eq!((at_harmony.generation, at_harmony.revision), (2, 2));

    let (status, _) = stack.call(Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    let (status, _) = stack.call(Method::GET, &path, None).await;
    assert_eq!(status, 404);
    assert!(stack.harmony_deployment(&id).await.is_none(), "deleted at Harmony too");
}

async fn secrets_never_come_back(backend: Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    let (status, created) = stack.create(&standard()).await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap();
    let (_, fetched) =
        stack.call(Method::GET, &format!("/organizations/org-1/deployments/{id}"), None).await;
    let list = stack.list().await;
    for body in [created.to_string(), fetched.to_string(), json!(list).to_string()] {
        assert!(!body.contains("correct-horse"), "secret leaked: {body}");
        assert!(body.contains("API_TOKEN"));
    }
    // Harmony's manifests for astro-api carry no secret either.
    let client =
        harmony_client::latest::Client::new_with_client(&stack.harmony_url, harmony_http());
    let manifests = client.deployment_manifests_get(&id.parse().unwrap(), None).await.unwrap();
    assert!(!serde_json::to_string(&*manifests).unwrap().contains("correct-horse"));
}

async fn names_are_unique_in_a_workspace(backend: Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    assert_eq!(stack.create(&standard()).await.0, 201);
    let (status, body) = stack.create(&standard()).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(fields(&body), ["name"]);
    let (status, workspace) = stack
        .call(Method::POST, "/organizations/org-1/workspaces", Some(&json!({"name": "second"})))
        .await;
    assert_eq!(status, 201, "{workspace}");
    let mut elsewhere = standard();
    elsewhere["workspace_id"] = workspace["id"].clone();
    assert_eq!(stack.create(&elsewhere).await.0, 201);

    // A workspace that does not exist is a field error, with the others.
    let mut nowhere = standard();
    nowhere["workspace_id"] = json!("ws-none");
    nowhere["name"] = json!("");
    let (status, body) = stack.create(&nowhere).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(fields(&body), ["name", "workspace_id"]);
}

async fn immutable_fields_are_refused_on_update(backend: Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    let (_, created) = stack.create(&hybrid()).await;
    let path = format!("/organizations/org-1/deployments/{}", created["id"].as_str().unwrap());
    let mut update = hybrid();
    update["workspace_id"] = json!("ws-9");
    update["cluster_id"] = json!("hybrid-other");
    let (status, body) = stack.call(Method::POST, &path, Some(&update)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(fields(&body), ["workspace_id", "cluster_id"]);

    let mut update = standard();
    update["name"] = json!("customer-etl");
    let (status, body) = stack.call(Method::POST, &path, Some(&update)).await;
    assert_eq!(status, 400);
    assert!(fields(&body).contains(&"type".to_owned()), "{body}");
    let (_, unchanged) = stack.call(Method::GET, &path, None).await;
    assert_eq!(unchanged, created, "nothing half-written");
}

async fn readiness_reports_harmony(backend: Backend) {
    let Some(mut stack) = Stack::on(backend).await else { return };
    let (status, ready) = stack.call(Method::GET, "/readyz", None).await;
    assert_eq!(status, 200);
    assert_eq!(ready["ready"], true);
    let cell = &ready["cells"][0];
    assert_eq!(cell["name"], "default");
    // The newest version, and every one before it.
    let mut served: Vec<semver::Version> =
        harmony_api::supported_versions().iter().map(|v| v.semver().clone()).collect();
    served.sort();
    let served: Vec<String> = served.iter().map(ToString::to_string).collect();
    assert_eq!(cell["api_version"], harmony_api::latest_version().to_string());
    assert_eq!(cell["served"], json!(served));
    assert_eq!(cell["degraded"], false);
    stack.stop_harmony().await;
    // Past the negotiation's time to live, the cell is asked again.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (_, ready) = stack.call(Method::GET, "/readyz", None).await;
    assert_eq!(ready["ready"], false, "{ready}");
    assert_eq!(ready["cells"][0]["reachable"], false);
    assert!(ready["cells"][0]["detail"].as_str().unwrap().contains("unreachable"), "{ready}");
}

async fn options_list_exactly_what_validation_accepts(backend: Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    let (status, options) =
        stack.call(Method::GET, "/organizations/org-1/deployment-options", None).await;
    assert_eq!(status, 200, "{options}");
    let releases = options["runtime_releases"].as_array().unwrap().clone();
    assert!(!releases.is_empty());
    let au = &options["scheduler_au"];
    for (i, release) in releases.iter().enumerate() {
        let mut body = hybrid();
        body["name"] = json!(format!("on-{i}"));
        body["runtime_version"] = release.clone();
        body["scheduler"]["au"] = if i % 2 == 0 { au["min"].clone() } else { au["max"].clone() };
        let (status, created) = stack.create(&body).await;
        assert_eq!(status, 201, "{release}: {created}");
    }
    let mut body = hybrid();
    body["name"] = json!("over");
    body["scheduler"]["au"] = json!(au["max"].as_u64().unwrap() + 1);
    let (status, error) = stack.create(&body).await;
    assert_eq!(status, 400);
    assert_eq!(fields(&error), ["scheduler.au"]);
    let mut body = standard();
    body["worker_queues"][0]["worker_concurrency"] =
        json!(options["worker_concurrency"]["max"].as_u64().unwrap() + 1);
    assert_eq!(fields(&stack.create(&body).await.1), ["worker_queues[0].worker_concurrency"]);
}

async fn list_filters_by_name_and_pages_keep_the_filter(backend: Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    for name in ["alpha", "beta", "gamma"] {
        let mut body = hybrid();
        body["name"] = json!(name);
        assert_eq!(stack.create(&body).await.0, 201);
    }
    let (_, page) =
        stack.call(Method::GET, "/organizations/org-1/deployments?name=beta", None).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "beta");
    // The page token carries the filter.
    let (_, first) = stack
        .call(Method::GET, "/organizations/org-1/deployments?limit=1&workspace_id=ws-1", None)
        .await;
    let token = first["next_page"].as_str().unwrap();
    let (status, second) = stack
        .call(
            Method::GET,
            &format!("/organizations/org-1/deployments?limit=1&page_token={token}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["items"][0]["id"], first["items"][0]["id"]);
}
