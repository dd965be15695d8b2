//! Quotas an operator sets (issue 34: one owner token filled the shared
//! Hosted plane with 100 creates in 2 s): deployments per organization and
//! per workspace (403), changes per organization per minute (429, with when
//! to retry). Each refusal names the quota, its value and its use, stores
//! nothing, and leaves other organizations untouched.

use crate::common::*;
use astro_api::clock::ManualClock;
use astro_api::quota::Quotas;
use reqwest::Method;
use serde_json::{Value, json};
use sql_store::{Backend, on_both_backends};
use std::time::Duration;

on_both_backends!(
    deployments_per_organization_and_workspace_are_capped,
    changes_per_minute_are_capped_and_deletes_never_are,
    filling_the_shared_plane_is_refused_and_others_still_arrive,
);

/// An astro-api on `stack`'s database and Harmony holding changes to
/// `quotas`, on a manual clock (the change rate is tested without waiting).
fn with_quotas(
    stack: &Stack,
    quotas: Quotas,
) -> (dropshot::HttpServer<astro_api::http::Context>, ManualClock, String) {
    let mut config = stack.astro_config.clone();
    config.quotas = quotas;
    let clock = ManualClock::new(sql_store::now());
    let astro = astro_api::start_with_clock(&config, &log(), std::sync::Arc::new(clock.clone()))
        .expect("astro-api starts");
    let url = format!("http://{}", astro.local_addr());
    (astro, clock, url)
}

async fn call(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = client.request(method, url);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A second organization, `org-2`, creates a deployment through `url`:
/// one organization's use never holds another back.
async fn other_organization_creates(
    astro: &dropshot::HttpServer<astro_api::http::Context>,
    url: &str,
) {
    let other = authorized(&bootstrap(astro, "org-2", "ws-9").await);
    let create = format!("{url}/organizations/org-2/deployments");
    let (status, body) = call(&other, Method::POST, &create, Some(&named("a", "ws-9"))).await;
    assert_eq!(status, 201, "{body}");
}

fn named(name: &str, workspace: &str) -> Value {
    let mut body = standard();
    body["name"] = json!(name);
    body["workspace_id"] = json!(workspace);
    body
}

/// The refusal's quota: (name, limit, used).
fn quota_of(error: &Value) -> (String, u64, u64) {
    let q = &error["quota"];
    (
        q["name"].as_str().unwrap_or_default().to_owned(),
        q["limit"].as_u64().unwrap_or(0),
        q["used"].as_u64().unwrap_or(0),
    )
}

async fn deployments_per_organization_and_workspace_are_capped(backend: Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    let quotas = Quotas {
        deployments_per_organization: 3,
        deployments_per_workspace: 2,
        ..Quotas::default()
    };
    let (astro, _clock, url) = with_quotas(&stack, quotas);
    let me = authorized(&stack.token);
    let (status, ws2) = stack
        .call(Method::POST, "/organizations/org-1/workspaces", Some(&json!({"name": "two"})))
        .await;
    assert_eq!(status, 201, "{ws2}");
    let ws2 = ws2["id"].as_str().unwrap().to_owned();
    let create = format!("{url}/organizations/org-1/deployments");
    for name in ["a", "b"] {
        let (status, body) = call(&me, Method::POST, &create, Some(&named(name, "ws-1"))).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, error) = call(&me, Method::POST, &create, Some(&named("c", "ws-1"))).await;
    assert_eq!((status, error["error_code"].as_str()), (403, Some("QuotaExceeded")), "{error}");
    assert_eq!(quota_of(&error), ("deployments_per_workspace".to_owned(), 2, 2), "{error}");
    assert!(error["message"].as_str().unwrap().contains("deployments_per_workspace"), "{error}");

    let (status, body) = call(&me, Method::POST, &create, Some(&named("c", &ws2))).await;
    assert_eq!(status, 201, "another workspace has room: {body}");
    let (status, error) = call(&me, Method::POST, &create, Some(&named("d", &ws2))).await;
    assert_eq!((status, error["error_code"].as_str()), (403, Some("QuotaExceeded")), "{error}");
    assert_eq!(quota_of(&error), ("deployments_per_organization".to_owned(), 3, 3), "{error}");
    let names: Vec<String> =
        stack.list().await.iter().map(|d| d["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names.len(), 3, "a refused create stored nothing: {names:?}");

    // Another organization is not held to this one's use.
    other_organization_creates(&astro, &url).await;

    // A delete frees room.
    let gone = stack.list().await[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = call(&me, Method::DELETE, &format!("{create}/{gone}"), None).await;
    assert_eq!(status, 204);
    let (status, body) = call(&me, Method::POST, &create, Some(&named("d", &ws2))).await;
    assert_eq!(status, 201, "{body}");
}

async fn changes_per_minute_are_capped_and_deletes_never_are(backend: Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    let quotas = Quotas { changes_per_minute: 6, ..Quotas::default() };
    let (astro, clock, url) = with_quotas(&stack, quotas);
    let me = authorized(&stack.token);
    let create = format!("{url}/organizations/org-1/deployments");
    let (status, created) = call(&me, Method::POST, &create, Some(&named("a", "ws-1"))).await;
    assert_eq!(status, 201, "{created}");
    let path = format!("{create}/{}", created["id"].as_str().unwrap());
    // The create and five updates: a minute's burst.
    let mut update = named("a", "ws-1");
    for i in 0..5 {
        update["image_tag"] = json!(format!("v{i}"));
        let (status, body) = call(&me, Method::POST, &path, Some(&update)).await;
        assert_eq!(status, 200, "update {i}: {body}");
    }
    update["image_tag"] = json!("refused");
    let (status, error) = call(&me, Method::POST, &path, Some(&update)).await;
    assert_eq!((status, error["error_code"].as_str()), (429, Some("QuotaExceeded")), "{error}");
    assert_eq!(quota_of(&error), ("changes_per_minute".to_owned(), 6, 6), "{error}");
    assert_eq!(error["retry_after_seconds"], 10, "one interval (60 s / 6): {error}");
    let (_, now) = call(&me, Method::GET, &path, None).await;
    assert_eq!(
        (now["generation"].as_u64(), now["image_tag"].as_str()),
        (Some(6), Some("v4")),
        "{now}"
    );

    // Another organization's changes are not held back by this one's.
    other_organization_creates(&astro, &url).await;

    // Not before the interval has passed; then one more.
    clock.advance(Duration::from_millis(9_999));
    assert_eq!(call(&me, Method::POST, &path, Some(&update)).await.0, 429);
    clock.advance(Duration::from_millis(1));
    let (status, body) = call(&me, Method::POST, &path, Some(&update)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["image_tag"], "refused");
    assert_eq!(call(&me, Method::POST, &path, Some(&update)).await.0, 429);

    // A delete is never refused: it frees what the quotas protect.
    let (status, body) = call(&me, Method::DELETE, &path, None).await;
    assert_eq!(status, 204, "{body}");
}

/// The largest STANDARD deployment astro-api takes: every worker queue,
/// and environment variables filling their whole allowance.
fn at_every_limit(name: &str) -> Value {
    let mut body = named(name, "ws-1");
    let mut queues = vec![body["worker_queues"][0].clone()];
    for i in 1..deployment_rules::MAX_WORKER_QUEUES {
        let mut queue = queues[0].clone();
        queue["name"] = json!(format!("queue-{i}"));
        queue["is_default"] = json!(false);
        queues.push(queue);
    }
    body["worker_queues"] = json!(queues);
    let each = deployment_rules::MAX_ENVIRONMENT_VALUE - 8;
    let count = deployment_rules::MAX_ENVIRONMENT_BYTES / (each + 8);
    body["environment_variables"] = json!(
        (0..count)
            .map(|i| json!({"key": format!("FILL_{i}"), "value": "x".repeat(each), "is_secret": false}))
            .collect::<Vec<_>>()
    );
    body
}

/// Issue 34's attack, replayed through astro-api on its embedded defaults:
/// one organization creates deployments at every per-deployment limit on
/// the shared Hosted plane, as fast as it can. Once its part of the plane
/// is spent the creates are answered 403 `QuotaExceeded` naming Harmony's
/// budget, its value and its use, and nothing of them is kept; another
/// organization's change still reaches the plane's agent.
async fn filling_the_shared_plane_is_refused_and_others_still_arrive(backend: Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    let me = authorized(&stack.token);
    let harmony = stack.harmony.as_ref().unwrap().app_private().harmony.clone();
    let agents =
        harmony_server::start_agent_api("127.0.0.1:0".parse().unwrap(), &harmony, &log()).unwrap();
    let credential = harmony.issue_agent_credential("hosted-aws-us-east-1").unwrap();
    let agent = harmony_client::agent::Client::new_with_client(
        &format!("http://{}", agents.local_addr()),
        authorized(&credential),
    );
    let create = format!("{}/organizations/org-1/deployments", stack.url);
    let started = std::time::Instant::now();
    let mut taken = 0;
    let refusal = loop {
        let (status, body) =
            call(&me, Method::POST, &create, Some(&at_every_limit(&format!("big-{taken}")))).await;
        match status {
            201 => taken += 1,
            _ => break (status, body),
        }
        assert!(taken < 100, "never refused");
    };
    let attack = started.elapsed();
    let (refused, error) = refusal;
    assert_eq!((refused, error["error_code"].as_str()), (403, Some("QuotaExceeded")), "{error}");
    let budget = harmony_server::budget::PlaneBudgets::default().organization_bytes_on_shared_plane;
    let (quota, limit, used) = quota_of(&error);
    assert_eq!(
        (quota.as_str(), limit),
        ("organization_rendered_bytes_on_plane", budget),
        "{error}"
    );
    assert!(used <= limit && used > limit / 2, "{error}");
    assert_eq!(stack.list().await.len(), taken, "the refused create left nothing behind");

    // Another tenant's change reaches the plane's agent.
    let other = authorized(&bootstrap(&stack.astro, "org-2", "ws-9").await);
    let known = agent.desired_state_get(None, None).await.unwrap().into_inner().revision;
    let sent = std::time::Instant::now();
    let (status, created) = call(
        &other,
        Method::POST,
        &format!("{}/organizations/org-2/deployments", stack.url),
        Some(&named("small", "ws-9")),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id: uuid::Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let state = agent.desired_state_get(Some(known), Some(10)).await.unwrap().into_inner();
    let arrived = sent.elapsed();
    assert!(
        state.deployments.iter().any(|d| d.deployment_id == id),
        "org-2's change never arrived"
    );
    let bytes: usize =
        state.deployments.iter().flat_map(|d| &d.objects).map(|o| o.to_string().len()).sum();
    eprintln!(
        "attack: {taken} creates in {attack:?}, then {refused} ({quota} {used}/{limit}); \
         another tenant's create reached the agent in {arrived:?} (a desired state of {bytes} bytes)"
    );
}

/// Issue 34: a create naming a region with no shared plane listed the
/// whole fleet at Harmony (27 ms of CPU per create at 2,005 planes, 2.3 ms
/// at 5). Now a cell's shared planes are listed once a placement lifetime
/// (the negotiation TTL) and looked up after: 40 creates naming 40 regions
/// nobody serves, with 200 planes registered, cost one listing, each
/// refused naming the region. A shared plane registered meanwhile is found
/// once the listing is that old.
#[tokio::test]
async fn a_create_in_an_unknown_region_does_not_list_the_fleet() {
    let stack = Stack::start().await;
    let harmony = harmony_client::v2::Client::new_with_client(&stack.harmony_url, harmony_http());
    for i in 0..200 {
        let mut plane: harmony_client::v2::types::DataPlaneRegistration =
            test_support::fixtures::typed(test_support::fixtures::registration("HOSTED", None));
        plane.region = format!("region-{i}");
        harmony.data_plane_put(&format!("hosted-{i}"), &plane).await.unwrap();
    }
    // A replica whose placements last as long as they do by default.
    let mut config = stack.astro_config.clone();
    config.negotiation_ttl = std::time::Duration::from_secs(30);
    let astro = astro_api::start(&config, &log()).unwrap();
    let create = format!("http://{}/organizations/org-1/deployments", astro.local_addr());
    let me = authorized(&stack.token);
    for i in 0..40 {
        let mut body = named(&format!("nowhere-{i}"), "ws-1");
        body["region"] = json!(format!("nowhere-{i}"));
        let (status, error) = call(&me, Method::POST, &create, Some(&body)).await;
        assert_eq!((status, fields(&error)), (400, vec!["region".to_owned()]), "{error}");
    }
    let listed = astro.app_private().shared_plane_scans();
    assert_eq!(listed, 1, "40 creates listed the fleet {listed} times");

    // The stack's own astro-api keeps placements 200 ms: a shared plane
    // registered after its listing is placed on once that has passed.
    let mut body = named("fresh", "ws-1");
    body["region"] = json!("eu-new-1");
    assert_eq!(stack.create(&body).await.0, 400, "no shared plane there yet");
    let mut shared: harmony_client::v2::types::DataPlaneRegistration =
        test_support::fixtures::typed(test_support::fixtures::registration("HOSTED", None));
    shared.region = "eu-new-1".to_owned();
    shared.labels.insert("astronomer.io/shared".to_owned(), "true".to_owned());
    harmony.data_plane_put("shared-eu-new-1", &shared).await.unwrap();
    tokio::time::sleep(stack.astro_config.negotiation_ttl).await;
    let (status, created) = stack.create(&body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data_plane_id"], "shared-eu-new-1");
}
