//! Harmony's main API refuses every call without the service credential
//! (only discovery is open), at every served version; and it does not start
//! without one outside a local run.

use crate::common::*;
use serde_json::Value;

#[tokio::test]
async fn every_operation_at_every_version_needs_the_service_credential() {
    let h = TestHarmony::start();
    two_planes(&h).await;
    let before = h.v2().data_plane_list(None, None).await.unwrap().into_inner().items;
    let mut checked = 0;
    for version in harmony_api::supported_versions().iter().map(|v| v.semver().to_string()) {
        let file = document(&version.parse().unwrap());
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        for (path, operations) in doc["paths"].as_object().unwrap() {
            // Existing ids where a path names one, so only the credential
            // stands between the request and an answer.
            let concrete = path
                .replace("{data_plane_id}", "hybrid-1")
                .replace("{deployment_id}", &uuid::Uuid::new_v4().to_string())
                .replace("{rollout_id}", &uuid::Uuid::new_v4().to_string())
                .replace("{version}", "2027.1.0");
            for method in operations.as_object().unwrap().keys() {
                let url = format!("{}{concrete}", h.url);
                let method: reqwest::Method = method.to_uppercase().parse().unwrap();
                for credential in [
                    None,
                    Some("Bearer wrong-credential-wrong-credential-xx"),
                    Some("Basic dXNlcjpwYXNz"),
                ] {
                    let mut request = reqwest::Client::new()
                        .request(method.clone(), &url)
                        .header("api-version", &version)
                        .json(&serde_json::json!({}));
                    if let Some(value) = credential {
                        request = request.header("authorization", value);
                    }
                    let response = request.send().await.unwrap();
                    let status = response.status().as_u16();
                    let body: Value = response.json().await.unwrap();
                    if path == "/api-versions" {
                        assert_eq!(status, 200, "discovery stays open");
                        continue;
                    }
                    assert_eq!(status, 401, "{version} {method} {path} {credential:?}: {body}");
                    assert_eq!(body["error_code"], "Unauthenticated");
                    assert!(!body.to_string().contains("wrong-credential"), "never echoed: {body}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 90, "only {checked} refusals checked");
    let after = h.v2().data_plane_list(None, None).await.unwrap().into_inner().items;
    assert_eq!(before, after, "nothing changed");
}

#[test]
fn harmony_does_not_start_without_a_service_credential() {
    let data = tempfile::tempdir().unwrap();
    let mut config =
        harmony_server::Config::new("127.0.0.1:0".parse().unwrap(), data.path().into());
    config.secret_key = Some(harmony_server::render::SecretKey::development());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let refused = harmony_server::start(&config, &log()).err().expect("refused");
    assert!(format!("{refused:#}").contains("service credential is required"), "{refused:#}");
    config.service_token = Some("short".into());
    let refused = harmony_server::start(&config, &log()).err().expect("refused");
    assert!(format!("{refused:#}").contains("at least 32 characters"), "{refused:#}");
}

#[tokio::test]
async fn an_oversized_body_is_refused_and_nothing_is_stored() {
    let h = TestHarmony::start();
    two_planes(&h).await;
    let id = uuid::Uuid::new_v4();
    let mut spec = serde_json::to_value(hybrid_spec("hybrid-1", 1)).unwrap();
    // 2 MiB of environment: over the 1 MiB limit.
    spec["environment_variables"] = serde_json::json!([{
        "key": "HUGE", "value": "x".repeat(2 * 1024 * 1024), "is_secret": false
    }]);
    let response = http()
        .put(format!("{}/deployments/{id}", h.url))
        .header("api-version", "2.0.0")
        .json(&spec)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert!((400..500).contains(&status), "{status}: {body}");
    assert!(body["message"].as_str().unwrap().contains("exceeded maximum size"), "{body}");
    let (status, code, _) = failure(h.v2().deployment_get(&id).await);
    assert_eq!((status, code.as_str()), (404, "NotFound"), "nothing stored");
}

on_both_backends!(
    a_generation_past_what_is_stored_is_refused,
    sizes_that_would_break_a_shared_data_plane_are_refused_and_nothing_is_stored,
    values_with_a_grammar_are_held_to_it,
    a_planes_budget_refuses_growth_past_it_and_stores_nothing,
);

/// The message of a 400, or a panic.
fn refusal(error: harmony_client::Error<harmony_client::v2::types::Error>) -> String {
    match error {
        harmony_client::Error::ErrorResponse(r) if r.status() == 400 => r.into_inner().message,
        other => panic!("expected a 400, got {other:?}"),
    }
}

/// `generation` is stored as a signed 64-bit integer: 2^64-1 used to be
/// accepted and stored as -1, after which the deployment's manifests and
/// its whole data plane's desired state answered 500.
async fn a_generation_past_what_is_stored_is_refused(backend: Backend) {
    let Some(h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    let id = uuid::Uuid::new_v4();
    for generation in [u64::MAX, i64::MAX as u64 + 1] {
        let message = refusal(
            h.v2().deployment_put(&id, &hybrid_spec("hybrid-1", generation)).await.unwrap_err(),
        );
        assert!(message.contains("generation: must be 1 to 9223372036854775807"), "{message}");
    }
    let top = h.v2().deployment_put(&id, &hybrid_spec("hybrid-1", i64::MAX as u64)).await.unwrap();
    assert_eq!(top.into_inner().generation, i64::MAX as u64);
    h.v2().deployment_manifests_get(&id, None).await.unwrap();
}

/// The probe's shape: 800 queues and 6,000 variables (a 258 KB request
/// rendering a 136 MB set, which then broke the shared plane's desired
/// state for every agent). Refused, naming each limit; nothing stored.
async fn sizes_that_would_break_a_shared_data_plane_are_refused_and_nothing_is_stored(
    backend: Backend,
) {
    use harmony_client::v2::types::EnvironmentVariable;
    let Some(h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    let mut spec = hybrid_spec("hybrid-1", 1);
    let queue = spec.worker_queues[0].clone();
    spec.worker_queues = (0..800)
        .map(|i| harmony_client::v2::types::WorkerQueue {
            name: if i == 0 { "default".into() } else { format!("q{i}") },
            is_default: i == 0,
            ..queue.clone()
        })
        .collect();
    spec.environment_variables = (0..6000)
        .map(|i| EnvironmentVariable {
            key: format!("VAR_{i}"),
            value: Some("x".repeat(20)),
            is_secret: false,
        })
        .collect();
    let id = uuid::Uuid::new_v4();
    let message = refusal(h.v2().deployment_put(&id, &spec).await.unwrap_err());
    for limit in
        ["worker_queues: must be 1 to 32, got 800", "environment_variables: at most 256 variables"]
    {
        assert!(message.contains(limit), "{limit}: {message}");
    }
    // One value past its limit, and all of them together past theirs.
    let mut spec = hybrid_spec("hybrid-1", 1);
    spec.environment_variables = (0..5)
        .map(|i| EnvironmentVariable {
            key: format!("BIG_{i}"),
            value: Some("x".repeat(16 * 1024 + i)),
            is_secret: i % 2 == 0,
        })
        .collect();
    let message = refusal(h.v2().deployment_put(&id, &spec).await.unwrap_err());
    assert!(message.contains("environment_variables[1].value: at most 16384 bytes"), "{message}");
    assert!(message.contains("keys and values together at most 65536 bytes"), "{message}");
    let missing = h.v2().deployment_get(&id).await.unwrap_err();
    assert_eq!(missing.status().map(|s| s.as_u16()), Some(404), "nothing was stored");
}

/// Fields Harmony writes into YAML, `airflow.cfg` or a label are held to
/// their grammar: the probe's payloads (a U+2028 line separator, a
/// newline) are a 400 naming the field.
async fn values_with_a_grammar_are_held_to_it(backend: Backend) {
    let Some(h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    let id = uuid::Uuid::new_v4();
    let injected = "v1\u{2028}  hostPID: true";
    type Change = Box<dyn Fn(&mut harmony_client::v2::types::DeploymentSpec)>;
    let cases: Vec<(&str, Change)> = vec![
        ("image_tag", Box::new(|s| s.image_tag = injected.into())),
        ("image_tag", Box::new(|s| s.image_tag = String::new())),
        (
            "worker_queues[0].node_pool_id",
            Box::new(|s| s.worker_queues[0].node_pool_id = Some("pool\nprivileged: true".into())),
        ),
        (
            "dag_bundle_version",
            Box::new(|s| {
                s.dag_bundle_version = Some("1\n[webserver]\nexpose_config = True".into())
            }),
        ),
        ("name", Box::new(|s| s.name = "etl\u{1b}[2J".into())),
        (
            "environment_variables[0].key",
            Box::new(|s| s.environment_variables[0].key = "K".repeat(100 * 1024)),
        ),
    ];
    for (field, change) in cases {
        let mut spec = hybrid_spec("hybrid-1", 1);
        change(&mut spec);
        let message = refusal(h.v2().deployment_put(&id, &spec).await.unwrap_err());
        assert!(message.contains(&format!("{field}: ")), "{field}: {message}");
    }
    // The same text in a variable's value is data, not a grammar: taken,
    // and escaped wherever it is written.
    let mut spec = hybrid_spec("hybrid-1", 1);
    spec.environment_variables[0].value = Some(injected.into());
    h.v2().deployment_put(&id, &spec).await.unwrap();
}

/// An agent's report names deployments; one that is not on the agent's own
/// data plane is ignored, and an agent's message is kept bounded and
/// printable.
#[tokio::test]
async fn an_agent_reports_only_on_its_own_planes_deployments() {
    use harmony_client::v4::types::DeploymentState;
    let h = TestHarmony::start();
    two_planes(&h).await;
    let other = registration(harmony_client::v2::types::DataPlaneKind::Hybrid);
    h.v2().data_plane_put("hybrid-2", &other).await.unwrap();
    let d = uuid::Uuid::new_v4();
    h.v2().deployment_put(&d, &hybrid_spec("hybrid-1", 1)).await.unwrap();
    let app = &h.server.as_ref().unwrap().app_private().harmony;
    let report = |message: &str| {
        serde_json::from_value(serde_json::json!({
            "applied_revision": 0, "agent_version": "test",
            "deployments": [{"deployment_id": d, "manifest_revision": 1, "health": "UNHEALTHY",
                             "message": message}],
        }))
        .unwrap()
    };
    app.record_agent_status("hybrid-2", report("forged by another plane")).unwrap();
    let v4 = harmony_client::v4::Client::new_with_client(&h.url, http());
    let status = v4.deployment_status_get(&d).await.unwrap().into_inner();
    assert_eq!((status.state, status.message), (DeploymentState::Deploying, None));

    let long = format!("line\nbreak\u{1b}[2J{}", "x".repeat(900_000));
    app.record_agent_status("hybrid-1", report(&long)).unwrap();
    let status = v4.deployment_status_get(&d).await.unwrap().into_inner();
    let message = status.message.unwrap();
    assert!(
        message.starts_with("line break [2J") && message.chars().count() <= 1001,
        "{}",
        &message[..40]
    );
}

/// A deployment whose stored set cannot be read (damaged here) fails alone
/// in its data plane's desired state: the plane's other deployments are
/// served, and the damaged one says why with no objects (its agent keeps
/// what it applied). It used to make the whole plane's desired state fail
/// for every agent.
#[tokio::test]
async fn one_unservable_deployment_never_fails_its_whole_data_plane() {
    let h = TestHarmony::start();
    two_planes(&h).await;
    let (broken, fine) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    for d in [broken, fine] {
        h.v2().deployment_put(&d, &hybrid_spec("hybrid-1", 1)).await.unwrap();
    }
    let db = rusqlite::Connection::open(h.data_dir().join("harmony.sqlite3")).unwrap();
    let damaged = db
        .execute(
            "UPDATE manifest_sets SET packed = x'00ff00ff' WHERE deployment_id = ?1",
            [broken.to_string()],
        )
        .unwrap();
    assert_eq!(damaged, 1);
    drop(db);
    let app = &h.server.as_ref().unwrap().app_private().harmony;
    let state = app.desired_state("hybrid-1", 0).expect("the plane is still served");
    let of = |id| state.deployments.iter().find(|d| d.deployment_id == id).unwrap();
    assert!(of(broken).objects.is_empty());
    assert!(
        of(broken).unavailable.as_deref().unwrap().contains("cannot be read"),
        "{:?}",
        of(broken).unavailable
    );
    assert!(!of(fine).objects.is_empty() && of(fine).unavailable.is_none());
}

/// Issue 34: one organization filled the shared Hosted plane (100 creates
/// at every limit: a 276 MB desired state). Now each organization's part of
/// a shared plane, and the plane's total, are budgets: a change past one is
/// refused (422 `QuotaExceeded`, naming the quota, its value, its use and
/// what the change needed) and nothing of it is stored; other
/// organizations keep their room; a delete gives room back; a change that
/// shrinks is always taken; a restarted Harmony (which recounts the sums)
/// refuses at the same point.
async fn a_planes_budget_refuses_growth_past_it_and_stores_nothing(backend: Backend) {
    use harmony_client::negotiate::QuotaRefusal;
    use harmony_server::budget::{ORGANIZATION_QUOTA, PLANE_QUOTA, PlaneBudgets};
    let budgets = PlaneBudgets {
        shared_plane_bytes: 400_000,
        organization_bytes_on_shared_plane: 150_000,
        owned_plane_bytes: 1_000_000,
    };
    let Some(mut h) = TestHarmony::on_with(backend, |c| c.budgets = budgets) else { return };
    let mut shared = registration(harmony_client::v2::types::DataPlaneKind::Hosted);
    shared.labels.insert("astronomer.io/shared".to_owned(), "true".to_owned());
    h.v2().data_plane_put("shared-1", &shared).await.unwrap();
    let client = h.v2();
    let spec = |org: &str, name: &str| {
        let mut spec = hosted_spec("shared-1", 1);
        spec.organization_id = org.to_owned();
        spec.name = name.to_owned();
        spec
    };
    // Creates until refused; the ids taken and the refusal.
    let fill = |org: &'static str| {
        let client = client.clone();
        async move {
            let mut taken = Vec::new();
            for i in 0..100 {
                let id = id();
                match client.deployment_put(&id, &spec(org, &format!("d{i}"))).await {
                    Ok(_) => taken.push(id),
                    Err(e) => {
                        let (status, code, message) = failure::<()>(Err(e));
                        assert_eq!((status, code.as_str()), (422, "QuotaExceeded"), "{message}");
                        let refusal = QuotaRefusal::parse(&message)
                            .unwrap_or_else(|| panic!("unreadable: {message}"));
                        assert!(refusal.used <= refusal.limit, "{message}");
                        assert!(refusal.used + refusal.needed > refusal.limit, "{message}");
                        assert_eq!(
                            failure(client.deployment_get(&id).await).0,
                            404,
                            "stored: {message}"
                        );
                        return (taken, refusal, id);
                    }
                }
            }
            panic!("{org} was never refused");
        }
    };
    let (a, refused_a, _) = fill("org-a").await;
    assert!(!a.is_empty(), "the budget holds at least one deployment");
    assert_eq!((refused_a.quota.as_str(), refused_a.limit), (ORGANIZATION_QUOTA, 150_000));
    // org-b has its own part; the plane's total runs out for org-c.
    let (b, refused_b, _) = fill("org-b").await;
    assert_eq!((refused_b.quota.as_str(), b.len()), (ORGANIZATION_QUOTA, a.len()));
    let (_, refused_c, _) = fill("org-c").await;
    assert_eq!((refused_c.quota.as_str(), refused_c.limit), (PLANE_QUOTA, 400_000));

    // A change that shrinks is taken, past the budget or not.
    let mut smaller = spec("org-a", "d0");
    smaller.generation = 2;
    smaller.environment_variables.clear();
    client.deployment_put(&a[0], &smaller).await.expect("a shrinking change is taken");

    // A delete gives room back, to that organization.
    client.deployment_delete(&b[0]).await.unwrap();
    client.deployment_put(&id(), &spec("org-b", "again")).await.expect("room again");
    let (again, _, refused_id) = fill("org-b").await;
    assert_eq!(again.len(), 0, "exactly the room the delete gave back");

    // A restarted Harmony recounts the sums and refuses at the same point.
    let used = QuotaRefusal::parse(
        &failure(client.deployment_put(&refused_id, &spec("org-b", "x")).await).2,
    )
    .unwrap()
    .used;
    h.stop().await;
    let h = h.again(|c| c.budgets = budgets);
    let (status, _, message) =
        failure(h.v2().deployment_put(&refused_id, &spec("org-b", "x")).await);
    assert_eq!(status, 422, "{message}");
    assert_eq!(QuotaRefusal::parse(&message).unwrap().used, used, "{message}");
}
