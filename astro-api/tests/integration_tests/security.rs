//! Tenant isolation of clusters: a Hybrid or Dedicated cluster belongs to
//! one organization (its owner label, recorded at registration), and to
//! every other organization it does not exist: placing a deployment there
//! is answered exactly as for a cluster id nobody registered. Also the
//! probes of docs/security.md that go through astro-api.

use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};

fn dedicated(cluster: &str) -> Value {
    let mut body = standard();
    let fields = body.as_object_mut().unwrap();
    fields.remove("cloud_provider");
    fields.remove("region");
    fields.insert("type".into(), json!("DEDICATED"));
    fields.insert("cluster_id".into(), json!(cluster));
    body
}

fn on_hybrid(cluster: &str) -> Value {
    let mut body = hybrid();
    body["cluster_id"] = json!(cluster);
    body
}

/// Every organization x cluster x kind of placement: only the owner
/// places, on a cluster of the right kind; everyone else gets, byte for
/// byte but the id, what a cluster that does not exist gets.
#[tokio::test]
async fn clusters_belong_to_one_organization() {
    let stack = Stack::start().await;
    let org2_token = bootstrap(&stack.astro, "org-2", "ws-2").await;
    // hybrid-example belongs to org-1 (the test Harmony's example plane).
    register(&stack, "hybrid-b", "HYBRID", Some("org-2")).await.unwrap();
    register(&stack, "dedicated-a", "HOSTED", Some("org-1")).await.unwrap();
    register(&stack, "dedicated-b", "HOSTED", Some("org-2")).await.unwrap();
    // A Hybrid plane without an owner cannot be registered (it could take
    // any organization's deployments), nor can an owner be changed.
    let unowned = register(&stack, "hybrid-nobody", "HYBRID", None).await.unwrap_err();
    assert_eq!(unowned.0, Some(reqwest::StatusCode::BAD_REQUEST), "{unowned:?}");
    assert!(unowned.1.contains("astronomer.io/organization"), "{unowned:?}");
    let moved = register(&stack, "hybrid-b", "HYBRID", Some("org-1")).await.unwrap_err();
    assert_eq!(moved.0, Some(reqwest::StatusCode::CONFLICT), "{moved:?}");
    let clusters = [
        ("hybrid-example", "HYBRID", Some("org-1")),
        ("hybrid-b", "HYBRID", Some("org-2")),
        ("dedicated-a", "HOSTED", Some("org-1")),
        ("dedicated-b", "HOSTED", Some("org-2")),
        // The shared Hosted plane: STANDARD deployments only, never by id.
        ("hosted-aws-us-east-1", "HOSTED", None),
        ("no-such-cluster", "", None),
    ];
    let orgs =
        [("org-1", "ws-1", authorized(&stack.token)), ("org-2", "ws-2", authorized(&org2_token))];
    let mut checked = 0;
    for (org, workspace, client) in &orgs {
        let path = format!("/organizations/{org}/deployments");
        // What a cluster nobody registered gets, per kind of deployment.
        let mut absent = std::collections::BTreeMap::new();
        for kind in ["HYBRID", "DEDICATED"] {
            let mut body = if kind == "HYBRID" { on_hybrid("ghost") } else { dedicated("ghost") };
            body["workspace_id"] = json!(workspace);
            let (status, answer) = stack.call_as(client, Method::POST, &path, Some(&body)).await;
            assert_eq!(status, 400, "{answer}");
            absent.insert(kind, answer["field_errors"].to_string());
        }
        for (n, (cluster, plane_kind, owner)) in clusters.iter().enumerate() {
            for kind in ["HYBRID", "DEDICATED"] {
                let mut body =
                    if kind == "HYBRID" { on_hybrid(cluster) } else { dedicated(cluster) };
                body["name"] = json!(format!("d-{n}-{}", kind.to_lowercase()));
                body["workspace_id"] = json!(workspace);
                let (status, answer) =
                    stack.call_as(client, Method::POST, &path, Some(&body)).await;
                let wants = if kind == "HYBRID" { "HYBRID" } else { "HOSTED" };
                let case = format!("{org} creating {kind} on {cluster}: {status} {answer}");
                checked += 1;
                if *owner == Some(*org) && *plane_kind == wants {
                    assert_eq!(status, 201, "{case}");
                    assert_eq!(answer["data_plane_id"], *cluster, "{case}");
                } else if *owner == Some(*org) {
                    assert_eq!(
                        (status, fields(&answer)),
                        (400, vec!["cluster_id".into()]),
                        "{case}"
                    );
                } else {
                    assert_eq!(status, 400, "{case}");
                    let same = absent[kind].replace("ghost", cluster);
                    assert_eq!(answer["field_errors"].to_string(), same, "{case}");
                }
            }
        }
    }
    eprintln!("cluster ownership: {checked} organization x cluster x kind cases");

    // Nothing of org-1's reached org-2's planes, and the reverse.
    let all = harmony_client::latest::Client::new_with_client(&stack.harmony_url, harmony_http())
        .deployment_list(None, None)
        .await
        .unwrap()
        .into_inner()
        .items;
    for d in &all {
        let owner = clusters.iter().find(|(c, _, _)| *c == d.data_plane_id).unwrap().2;
        assert_eq!(owner, Some(d.organization_id.as_str()), "{} on {}", d.id, d.data_plane_id);
    }
    assert_eq!(all.len(), 4, "each organization placed on its own two clusters");
}

/// Harmony itself takes on an owned data plane only its owner's
/// deployments, whatever its caller says.
#[tokio::test]
async fn harmony_refuses_another_organizations_deployment_on_an_owned_plane() {
    let stack = Stack::start().await;
    let spec = serde_json::from_value(json!({
        "kind": "HYBRID", "organization_id": "org-2", "workspace_id": "ws-1",
        "data_plane_id": "hybrid-example", "name": "intruder", "runtime_version": "13.0.0",
        "executor": "KUBERNETES", "scheduler": {"au": 10, "replicas": 1},
        "is_high_availability": false,
        "worker_queues": [{"name": "default", "is_default": true, "min_worker_count": 0,
                           "max_worker_count": 1, "worker_concurrency": 1, "node_pool_id": "p"}],
        "environment_variables": [], "image_tag": "v1", "generation": 1,
    }))
    .unwrap();
    let client = harmony_client::v2::Client::new_with_client(&stack.harmony_url, harmony_http());
    let refused = client.deployment_put(&uuid::Uuid::new_v4(), &spec).await.unwrap_err();
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(400), "{refused:?}");
    assert!(format!("{refused:?}").contains("belongs to another organization"), "{refused:?}");
}

sql_store::on_both_backends!(
    a_refusal_leaves_the_outbox_and_a_later_delete_goes_through,
    a_nul_anywhere_is_a_400_naming_where,
);

/// A change Harmony refuses (here: the cluster was given to another
/// organization after the deployment was placed, which only an operator
/// writing to Harmony's database can do) is no use retrying: it
/// leaves the outbox at once, the deployment says it was refused and why,
/// and the deployment's later DELETE is delivered instead of queueing
/// behind it for ever.
async fn a_refusal_leaves_the_outbox_and_a_later_delete_goes_through(backend: sql_store::Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    let (status, created) = stack.create(&hybrid()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/organizations/org-1/deployments/{id}");
    wait_delivered(&authorized(&stack.token), &format!("{}{path}", stack.url), 1).await;

    let harmony = harmony_server::store::Store::open(
        &sql_store::Location::Sqlite(stack.harmony_data.path().join("harmony.sqlite3")),
        &harmony_server::render::SecretKey::development(),
    )
    .unwrap();
    let given: harmony_api::latest::DataPlaneRegistration = test_support::fixtures::typed(
        test_support::fixtures::registration("HYBRID", Some("org-2")),
    );
    harmony
        .write(move |tx| tx.upsert_data_plane("hybrid-example", &given, chrono::Utc::now()))
        .unwrap();
    let mut update = hybrid();
    update["worker_queues"][0]["worker_concurrency"] = json!(12);
    // The request waits for its delivery, so it hears of the refusal: a
    // 502 naming it, not a 200 that reads as "it will arrive".
    let (status, refused) = stack.call(Method::POST, &path, Some(&update)).await;
    assert_eq!((status, &refused["error_code"]), (502, &json!("HarmonyRefused")), "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(message.contains("another organization") && message.contains("API 2.0.0"), "{message}");
    let store = astro_api::store::Store::open(&stack.astro_location, test_sealer()).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let refused = loop {
        let (_, now) = stack.call(Method::GET, &path, None).await;
        let reason = now["status_reason"].as_str().unwrap_or_default().to_owned();
        if reason.contains("refused") && store.outbox_next_due().unwrap().is_none() {
            break now;
        }
        assert!(std::time::Instant::now() < deadline, "still retrying: {now}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(refused["delivered_generation"], 1, "{refused}");
    // Counted for operators (astro_harmony_refusals_total), once.
    let cell = astro_api::handoff::RefusalLabels { cell: "default".to_owned() };
    assert_eq!(stack.astro.app_private().refusals().get_or_create(&cell).get(), 1);
    let deliveries = stack.astro.app_private().deliveries();
    let count = |outcome| {
        let labels = astro_api::handoff::DeliveryLabels { cell: "default".to_owned(), outcome };
        deliveries.get_or_create(&labels).get()
    };
    assert_eq!((count("delivered"), count("refused")), (1, 1), "the create, then the update");
    assert!(
        refused["status_reason"].as_str().unwrap().contains("another organization"),
        "{refused}"
    );

    let (status, _) = stack.call(Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while stack.harmony_deployment(&id).await.is_some() {
        assert!(std::time::Instant::now() < deadline, "the DELETE never reached Harmony");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(store.outbox_next_due().unwrap().is_none(), "nothing left queued");
}

/// `--bootstrap-token-file` writes the owner token only to a file nobody
/// else can read: an existing file readable by others is refused (it used
/// to be written, keeping its mode 0644); a new one is created 0600.
#[test]
fn the_bootstrap_token_file_is_private_or_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let run = |token_file: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_astro-api"))
            .args(["--bind", "127.0.0.1:0", "--harmony", "http://127.0.0.1:9"])
            .args(["--bootstrap", "org-1/ws-1", "--bootstrap-token-file"])
            .arg(token_file)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .output()
            .unwrap()
    };
    let open = dir.path().join("open-token");
    std::fs::write(&open, "").unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = run(&open);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("must be 0600"), "{said}");
    assert_eq!(std::fs::read_to_string(&open).unwrap(), "", "nothing written");
    assert!(!dir.path().join("data/astro.sqlite3").exists(), "refused before anything started");

    let fresh = dir.path().join("new-token");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_astro-api"))
        .args(["--bind", "127.0.0.1:0", "--harmony", "http://127.0.0.1:9"])
        .args(["--bootstrap", "org-1/ws-1", "--bootstrap-token-file"])
        .arg(&fresh)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_to_string(&fresh).unwrap_or_default().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no token written");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o600);
    let db = dir.path().join("data/astro.sqlite3");
    assert_eq!(std::fs::metadata(&db).unwrap().permissions().mode() & 0o777, 0o600);
}

/// What astro-api says without a token, or when Harmony is down, names
/// cells and never their addresses: `/readyz` is open, and a 503's body
/// goes to any caller.
#[tokio::test]
async fn nothing_internal_leaks_through_readiness_or_a_503() {
    let mut stack = Stack::start().await;
    let address = stack.harmony_url.trim_start_matches("http://").to_owned();
    let port = address.rsplit(':').next().unwrap().to_owned();
    let (status, ready) =
        stack.call_as(&reqwest::Client::new(), Method::GET, "/readyz", None).await;
    assert_eq!((status, &ready["cells"][0]["name"]), (200, &json!("default")), "{ready}");
    stack.stop_harmony().await;
    // A cell that cannot be asked: negotiation fails (its cache is 200 ms).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (_, down) = stack.call_as(&reqwest::Client::new(), Method::GET, "/readyz", None).await;
    assert_eq!(down["ready"], false, "{down}");
    let mut body = standard();
    body["region"] = json!("eu-north-9"); // not remembered: needs a cell
    let (status, unavailable) = stack.create(&body).await;
    assert_eq!(status, 503, "{unavailable}");
    for answer in [ready, down, unavailable] {
        let text = answer.to_string();
        assert!(!text.contains(&address) && !text.contains(&port), "leaks an address: {text}");
        assert!(!text.contains("http://"), "leaks a URL: {text}");
    }
}

/// A token that expires cannot create one that does not, or one that
/// outlives it: a leaked short-lived token must stay short-lived.
#[tokio::test]
async fn a_token_cannot_create_a_token_that_outlives_it() {
    let stack = Stack::start().await;
    let path = "/organizations/org-1/tokens";
    let short = json!({"name": "short", "role": "OWNER", "expires_in_seconds": 120});
    let (status, created) = stack.call(Method::POST, path, Some(&short)).await;
    assert_eq!(status, 201, "{created}");
    let short_lived = authorized(created["token"].as_str().unwrap());
    for (body, field_code) in [
        (json!({"name": "forever", "role": "OWNER"}), "required"),
        (json!({"name": "longer", "role": "OWNER", "expires_in_seconds": 3600}), "range"),
    ] {
        let (status, refused) = stack.call_as(&short_lived, Method::POST, path, Some(&body)).await;
        assert_eq!(status, 400, "{refused}");
        assert_eq!(fields(&refused), ["expires_in_seconds"], "{refused}");
        assert_eq!(refused["field_errors"][0]["code"], field_code, "{refused}");
    }
    let within = json!({"name": "within", "role": "READ_ONLY", "expires_in_seconds": 60});
    let (status, created) = stack.call_as(&short_lived, Method::POST, path, Some(&within)).await;
    assert_eq!(status, 201, "{created}");
}

/// A real page token of `path` (a listing of one item), its selector given
/// a NUL, encoded as dropshot encodes tokens (base64 hides the NUL from the
/// query string).
async fn poisoned(stack: &Stack, path: &str, key: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE;
    let (_, page) = stack.call(Method::GET, path, None).await;
    let token = page["next_page"].as_str().unwrap_or_else(|| panic!("{path}: {page}"));
    let text = String::from_utf8(b64.decode(token).unwrap()).unwrap();
    let at = format!("\"{key}\":\"");
    let poisoned = text.replacen(&at, &format!("{at}\\u0000"), 1);
    assert_ne!(poisoned, text, "{text}");
    b64.encode(poisoned)
}

/// Issue 34: a NUL in a query filter, a page token, a workspace id in a
/// path or a body field was a 500 on PostgreSQL (`invalid byte sequence
/// for encoding "UTF8": 0x00`) and a 4xx on SQLite. On both, each is now a
/// 400 naming the parameter or field, and nothing is stored.
async fn a_nul_anywhere_is_a_400_naming_where(backend: sql_store::Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    for name in ["p1", "p2"] {
        let mut body = standard();
        body["name"] = json!(name);
        assert_eq!(stack.create(&body).await.0, 201);
    }
    stack
        .call(Method::POST, "/organizations/org-1/workspaces", Some(&json!({"name": "two"})))
        .await;
    // Real page tokens, their selectors given a NUL (base64 hides it from
    // the query string).
    let deployments_token =
        poisoned(&stack, "/organizations/org-1/deployments?limit=1&name=p1", "name").await;
    let workspaces_token =
        poisoned(&stack, "/organizations/org-1/workspaces?limit=1", "last_seen").await;
    let (_, before) = stack.call(Method::GET, "/organizations/org-1/deployments", None).await;
    let (_, workspaces_before) =
        stack.call(Method::GET, "/organizations/org-1/workspaces", None).await;
    let with = |field: &str| {
        let mut body = standard();
        match field {
            "name" => body["name"] = json!("a\u{0}b"),
            "description" => body["description"] = json!("x\u{0}"),
            "workspace_id" => body["workspace_id"] = json!("ws\u{0}1"),
            "environment_variables[0].key" => {
                body["environment_variables"][0]["key"] = json!("K\u{0}")
            }
            "environment_variables[1].value" => {
                body["environment_variables"][1]["value"] = json!("\u{0}")
            }
            "worker_queues[0].name" => body["worker_queues"][0]["name"] = json!("default\u{0}"),
            other => panic!("{other}"),
        }
        body
    };
    let mut cases: Vec<(Method, String, Option<Value>, String)> = vec![
        (Method::GET, "/organizations/org-1/deployments?name=a%00b".into(), None, "name".into()),
        (
            Method::GET,
            "/organizations/org-1/deployments?limit=3&pag%00e=1".into(),
            None,
            "pag\\0e".into(),
        ),
        (
            Method::GET,
            format!("/organizations/org-1/deployments?page_token={deployments_token}"),
            None,
            "page_token".into(),
        ),
        (
            Method::GET,
            format!("/organizations/org-1/workspaces?page_token={workspaces_token}"),
            None,
            "page_token".into(),
        ),
        (Method::GET, "/organizations/org-1/workspaces/ws%001".into(), None, "workspace_id".into()),
        (Method::GET, "/organizations/org%001/deployments".into(), None, "organization_id".into()),
        (
            Method::POST,
            "/organizations/org-1/workspaces".into(),
            Some(json!({"name": "w\u{0}"})),
            "name".into(),
        ),
        (
            Method::POST,
            "/organizations/org-1/tokens".into(),
            Some(json!({"name": "t\u{0}", "role": "READ_ONLY"})),
            "name".into(),
        ),
    ];
    for field in [
        "name",
        "description",
        "workspace_id",
        "environment_variables[0].key",
        "environment_variables[1].value",
        "worker_queues[0].name",
    ] {
        cases.push((
            Method::POST,
            "/organizations/org-1/deployments".into(),
            Some(with(field)),
            field.into(),
        ));
    }
    for (method, path, body, field) in cases {
        let (status, error) = stack.call(method.clone(), &path, body.as_ref()).await;
        assert_eq!(status, 400, "{method} {path} ({field}): {error}");
        let named = fields(&error).contains(&field)
            || error["message"].as_str().is_some_and(|m| m.starts_with(&format!("{field}:")));
        assert!(named, "{method} {path}: {field} is not named: {error}");
    }
    let (_, after) = stack.call(Method::GET, "/organizations/org-1/deployments", None).await;
    assert_eq!(before, after, "nothing was stored");
    let (_, workspaces_after) =
        stack.call(Method::GET, "/organizations/org-1/workspaces", None).await;
    assert_eq!(workspaces_before, workspaces_after, "nothing was stored");
}
