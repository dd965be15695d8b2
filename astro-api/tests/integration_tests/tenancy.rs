//! Tenancy: every operation of the public document refuses a missing,
//! malformed, foreign or expired token; roles limit what a token may do;
//! token values are never stored or listed; an organization always keeps
//! an owner token that does not expire.

use crate::common::*;
use astro_public_api::types::{ApiToken, Role};
use reqwest::Method;
use serde_json::{Value, json};

use sql_store::{Backend, on_both_backends};

on_both_backends!(
    every_operation_refuses_missing_malformed_foreign_and_expired_tokens,
    roles_limit_what_a_token_may_do,
    token_values_are_shown_once_and_never_stored,
    an_organization_always_keeps_an_owner_that_does_not_expire,
    workspace_ids_are_per_organization,
);

/// Every operation of `openapi/astro.json`: (method, path template,
/// operation id).
fn operations() -> Vec<(Method, String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/astro.json");
    let document: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let method = method.to_uppercase().parse().unwrap();
            out.push((method, path.clone(), operation["operationId"].as_str().unwrap().to_owned()));
        }
    }
    out
}

/// A body each operation accepts, so that what is tested is the token and
/// not the body (an unreadable body is refused before a handler runs).
fn body_for(operation: &str) -> Option<Value> {
    match operation {
        "deployment_create" | "deployment_update" => Some(standard()),
        "workspace_create" => Some(json!({"name": "tenancy"})),
        "token_create" => Some(json!({"name": "tenancy", "role": "READ_ONLY"})),
        "deploy_create" => Some(json!({"type": "IMAGE_ONLY", "image_tag": "v9"})),
        _ => None,
    }
}

/// A token of org-1 that expired a minute ago, written as time would have
/// left it.
fn expired_token(stack: &Stack) -> String {
    let store = astro_api::store::Store::open(&stack.astro_location, test_sealer()).unwrap();
    let minted = astro_api::auth::mint();
    let now = chrono::Utc::now();
    let token = ApiToken {
        id: minted.id,
        organization_id: "org-1".into(),
        name: "expired".into(),
        role: Role::Owner,
        workspace_id: None,
        expires_at: Some(now - chrono::Duration::seconds(60)),
        created_at: now - chrono::Duration::days(1),
    };
    store.insert_token(&token, minted.secret_sha256).unwrap();
    minted.value
}

fn client_with(authorization: Option<&str>) -> reqwest::Client {
    match authorization {
        None => reqwest::Client::new(),
        Some(value) => {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(reqwest::header::AUTHORIZATION, value.parse().unwrap());
            reqwest::Client::builder().default_headers(headers).build().unwrap()
        }
    }
}

async fn every_operation_refuses_missing_malformed_foreign_and_expired_tokens(backend: Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    let (_, deployment) = stack.create(&standard()).await;
    let deployment_id = deployment["id"].as_str().unwrap().to_owned();
    let (_, deploy) = stack
        .call(
            Method::POST,
            &format!("/organizations/org-1/deployments/{deployment_id}/deploys"),
            Some(&json!({"type": "IMAGE_ONLY", "image_tag": "v2"})),
        )
        .await;
    let (_, token) = stack
        .call(
            Method::POST,
            "/organizations/org-1/tokens",
            Some(&json!({"name": "ci", "role": "READ_ONLY"})),
        )
        .await;
    let foreign = bootstrap(&stack.astro, "org-2", "ws-2").await;
    let valid_other_secret = {
        // The right id with a wrong secret.
        let mine = &stack.token;
        format!("{}{}", &mine[..mine.len() - 1], if mine.ends_with('0') { '1' } else { '0' })
    };
    let callers = [
        ("no token", client_with(None), 401),
        ("not a bearer token", client_with(Some(&format!("Basic {}", stack.token))), 401),
        ("garbage", client_with(Some("Bearer astro_not-a-token")), 401),
        ("wrong secret", client_with(Some(&format!("Bearer {valid_other_secret}"))), 401),
        ("expired", client_with(Some(&format!("Bearer {}", expired_token(&stack)))), 401),
        ("another organization's", authorized(&foreign), 404),
    ];

    let mut public = Vec::new();
    let mut tried = 0;
    for (method, template, operation) in operations() {
        if !template.starts_with("/organizations/{organization_id}") {
            public.push(template);
            continue;
        }
        let path = template
            .replace("{organization_id}", "org-1")
            .replace("{deployment_id}", &deployment_id)
            .replace("{deploy_id}", deploy["id"].as_str().unwrap())
            .replace("{workspace_id}", "ws-1")
            .replace("{token_id}", token["api_token"]["id"].as_str().unwrap());
        let body = body_for(&operation);
        for (who, client, expected) in &callers {
            let (status, error) = stack.call_as(client, method.clone(), &path, body.as_ref()).await;
            assert_eq!(status, *expected, "{operation} with {who} token: {error}");
            let code = if *expected == 401 { "Unauthenticated" } else { "NotFound" };
            assert_eq!(error["error_code"], code, "{operation} with {who} token");
            assert!(!error["request_id"].as_str().unwrap().is_empty());
            tried += 1;
        }
    }
    assert_eq!(public, ["/readyz"], "only readiness is open");
    assert!(tried >= 6 * 14, "{tried}");

    // Nothing any of them sent had an effect.
    let all = stack.list().await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["generation"], 1);
    let (_, tokens) = stack.call(Method::GET, "/organizations/org-1/tokens", None).await;
    assert_eq!(tokens["items"].as_array().unwrap().len(), 3, "bootstrap, ci, expired");
    let (_, workspaces) = stack.call(Method::GET, "/organizations/org-1/workspaces", None).await;
    assert_eq!(workspaces["items"].as_array().unwrap().len(), 1);
}

async fn roles_limit_what_a_token_may_do(backend: Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    let (_, other_ws) = stack
        .call(Method::POST, "/organizations/org-1/workspaces", Some(&json!({"name": "other"})))
        .await;
    let other_ws = other_ws["id"].as_str().unwrap().to_owned();
    let (_, mine) = stack.create(&standard()).await;
    let mut theirs = standard();
    theirs["workspace_id"] = json!(other_ws);
    let (_, theirs) = stack.create(&theirs).await;
    let mine_path = format!("/organizations/org-1/deployments/{}", mine["id"].as_str().unwrap());
    let theirs_path =
        format!("/organizations/org-1/deployments/{}", theirs["id"].as_str().unwrap());

    let token = |role: &str, workspace: Option<&str>| {
        let mut body = json!({"name": role.to_lowercase(), "role": role});
        if let Some(ws) = workspace {
            body["workspace_id"] = json!(ws);
        }
        body
    };
    let (status, reader) = stack
        .call(Method::POST, "/organizations/org-1/tokens", Some(&token("READ_ONLY", None)))
        .await;
    assert_eq!(status, 201, "{reader}");
    let reader = authorized(reader["token"].as_str().unwrap());
    let (status, member) = stack
        .call(
            Method::POST,
            "/organizations/org-1/tokens",
            Some(&token("WORKSPACE_MEMBER", Some("ws-1"))),
        )
        .await;
    assert_eq!(status, 201, "{member}");
    let member_id = member["api_token"]["id"].as_str().unwrap().to_owned();
    let member = authorized(member["token"].as_str().unwrap());

    // Read-only: reads everything, changes nothing (403: it is its own org).
    assert_eq!(stack.call_as(&reader, Method::GET, &theirs_path, None).await.0, 200);
    for (method, path, body) in [
        (Method::POST, mine_path.as_str(), Some(standard())),
        (Method::DELETE, mine_path.as_str(), None),
        (Method::POST, "/organizations/org-1/deployments", Some(standard())),
        (Method::GET, "/organizations/org-1/tokens", None),
    ] {
        let (status, error) = stack.call_as(&reader, method, path, body.as_ref()).await;
        assert_eq!((status, error["error_code"].as_str()), (403, Some("Forbidden")), "{path}");
    }

    // Workspace member: its workspace only; the other is as if absent.
    assert_eq!(stack.call_as(&member, Method::GET, &mine_path, None).await.0, 200);
    assert_eq!(stack.call_as(&member, Method::GET, &theirs_path, None).await.0, 404);
    assert_eq!(stack.call_as(&member, Method::DELETE, &theirs_path, None).await.0, 404);
    let (_, listed) =
        stack.call_as(&member, Method::GET, "/organizations/org-1/deployments", None).await;
    let listed: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [mine["id"].as_str().unwrap()]);
    let (_, workspaces) =
        stack.call_as(&member, Method::GET, "/organizations/org-1/workspaces", None).await;
    assert_eq!(workspaces["items"].as_array().unwrap().len(), 1);
    let mut elsewhere = standard();
    elsewhere["name"] = json!("sneaky");
    elsewhere["workspace_id"] = json!(other_ws);
    let (status, error) = stack
        .call_as(&member, Method::POST, "/organizations/org-1/deployments", Some(&elsewhere))
        .await;
    assert_eq!((status, fields(&error)), (400, vec!["workspace_id".to_owned()]), "{error}");
    let mut update = standard();
    update["worker_queues"][0]["max_worker_count"] = json!(3);
    assert_eq!(stack.call_as(&member, Method::POST, &mine_path, Some(&update)).await.0, 200);
    let (status, _) = stack
        .call_as(&member, Method::POST, "/organizations/org-1/tokens", Some(&token("OWNER", None)))
        .await;
    assert_eq!(status, 403);

    // A token cannot revoke itself (the organization keeps an owner).
    let (_, me) = stack.call(Method::GET, "/organizations/org-1/tokens", None).await;
    let bootstrap_id =
        me["items"].as_array().unwrap().iter().find(|t| t["name"] == "bootstrap").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let (status, error) = stack
        .call(Method::DELETE, &format!("/organizations/org-1/tokens/{bootstrap_id}"), None)
        .await;
    assert_eq!((status, error["error_code"].as_str()), (409, Some("Conflict")), "{error}");

    // Revoked: refused at once.
    let (status, _) =
        stack.call(Method::DELETE, &format!("/organizations/org-1/tokens/{member_id}"), None).await;
    assert_eq!(status, 204);
    assert_eq!(stack.call_as(&member, Method::GET, &mine_path, None).await.0, 401);
}

async fn token_values_are_shown_once_and_never_stored(backend: Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    let (status, created) = stack
        .call(
            Method::POST,
            "/organizations/org-1/tokens",
            Some(&json!({"name": "deployer", "role": "OWNER", "expires_in_seconds": 3600})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let value = created["token"].as_str().unwrap().to_owned();
    let (_, listed) = stack.call(Method::GET, "/organizations/org-1/tokens", None).await;
    let text = listed.to_string();
    assert!(!text.contains(&value) && !text.contains(&stack.token), "{text}");
    let secret = |token: &str| token.rsplit('_').next().unwrap().to_owned();
    for file in std::fs::read_dir(stack.astro_data.path()).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        for token in [&value, &stack.token] {
            let needle = secret(token);
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "a token secret is on disk"
            );
        }
    }
    // Bad token requests name their fields.
    let (status, error) = stack
        .call(
            Method::POST,
            "/organizations/org-1/tokens",
            Some(&json!({"name": "", "role": "WORKSPACE_MEMBER", "expires_in_seconds": 5})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(fields(&error), ["name", "workspace_id", "expires_in_seconds"]);
}

/// Issue 34: a 60-second owner token revoked every other token of its
/// organization, the permanent bootstrap owner's included, and when it
/// expired the organization was locked out for good; two owners revoking
/// each other at once both succeeded. Now the last owner token that does
/// not expire cannot be revoked by anyone, and of two permanent owners
/// revoking each other at the same moment exactly one succeeds.
async fn an_organization_always_keeps_an_owner_that_does_not_expire(backend: Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    let create = |body: Value| {
        let stack = &stack;
        async move {
            let (status, created) =
                stack.call(Method::POST, "/organizations/org-1/tokens", Some(&body)).await;
            assert_eq!(status, 201, "{created}");
            (
                created["api_token"]["id"].as_str().unwrap().to_owned(),
                authorized(created["token"].as_str().unwrap()),
            )
        }
    };
    let revoke = |as_: reqwest::Client, id: String| {
        let stack = &stack;
        async move {
            let path = format!("/organizations/org-1/tokens/{id}");
            stack.call_as(&as_, Method::DELETE, &path, None).await
        }
    };
    let (_, listed) = stack.call(Method::GET, "/organizations/org-1/tokens", None).await;
    let bootstrap = listed["items"][0]["id"].as_str().unwrap().to_owned();

    // The probe: a short-lived owner tries to revoke the permanent one.
    let (_, short) =
        create(json!({"name": "short", "role": "OWNER", "expires_in_seconds": 60})).await;
    let (status, error) = revoke(short.clone(), bootstrap.clone()).await;
    assert_eq!((status, error["error_code"].as_str()), (409, Some("Conflict")), "{error}");
    assert!(error["message"].as_str().unwrap().contains("last owner token"), "{error}");
    assert_eq!(stack.call(Method::GET, "/organizations/org-1/tokens", None).await.0, 200);

    // With a second permanent owner either may go, but never both: two
    // permanent owners revoke each other at the same moment, ten times
    // over. The loser is refused (409), or, when its request is
    // authenticated after the winner's commit, finds its token revoked (401).
    let mut owner = (bootstrap, authorized(&stack.token));
    for round in 0..10 {
        let (status, created) = stack
            .call_as(
                &owner.1,
                Method::POST,
                "/organizations/org-1/tokens",
                Some(&json!({"name": format!("owner-{round}"), "role": "OWNER"})),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let other = (
            created["api_token"]["id"].as_str().unwrap().to_owned(),
            authorized(created["token"].as_str().unwrap()),
        );
        let (a, b) = tokio::join!(
            revoke(owner.1.clone(), other.0.clone()),
            revoke(other.1.clone(), owner.0.clone())
        );
        let survivor = match (a.0, b.0) {
            (204, 409 | 401) => owner,
            (409 | 401, 204) => other,
            _ => panic!("round {round}: both or neither revoked: {a:?} {b:?}"),
        };
        let (status, listed) =
            stack.call_as(&survivor.1, Method::GET, "/organizations/org-1/tokens", None).await;
        assert_eq!(status, 200, "round {round}: the survivor is locked out: {listed}");
        let permanent: Vec<&str> = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["role"] == "OWNER" && t["expires_at"].is_null())
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert_eq!(permanent, [survivor.0.as_str()], "round {round}");
        owner = survivor;
    }
}

/// Issue 34: workspace ids were one key across organizations, so a second
/// organization could not have a workspace `default` (and the error said
/// "already has the name"). Each organization has its own now, and a
/// member token of one reaches only its own organization's.
async fn workspace_ids_are_per_organization(backend: Backend) {
    let Some(stack) = Stack::on(backend).await else { return };
    let other = authorized(&bootstrap(&stack.astro, "org-2", "ws-1").await);
    let (status, body) =
        stack.call_as(&other, Method::GET, "/organizations/org-2/workspaces/ws-1", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["organization_id"], "org-2");
    let (status, member) = stack
        .call_as(
            &other,
            Method::POST,
            "/organizations/org-2/tokens",
            Some(&json!({"name": "m", "role": "WORKSPACE_MEMBER", "workspace_id": "ws-1"})),
        )
        .await;
    assert_eq!(status, 201, "{member}");
    let member = authorized(member["token"].as_str().unwrap());
    let (status, _) = stack.create(&standard()).await;
    assert_eq!(status, 201);
    let (_, theirs) =
        stack.call_as(&member, Method::GET, "/organizations/org-2/deployments", None).await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 0, "{theirs}");
    let (status, _) =
        stack.call_as(&member, Method::GET, "/organizations/org-1/deployments", None).await;
    assert_eq!(status, 404, "another organization's ws-1 is not its own");
}
