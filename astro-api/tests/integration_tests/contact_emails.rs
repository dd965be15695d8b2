//! A deployment's contact emails (issue 37's field) through the public API:
//! refused with a 503 that says what ends it, and nothing written, until
//! every astro-api on the database reads them; then kept, shown, carried to
//! a Harmony that serves 4.0.0 and on to the Namespace file a real agent
//! writes (its annotation), kept when a change leaves them out, cleared by an empty
//! list, and refused past their limits naming the field and the rule. A
//! Harmony that predates them gets the spec without them, and astro-api
//! still shows its own. On both store backends.

use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};
use sql_store::{Backend, on_both_backends};

const PATH: &str = "/organizations/org-1/deployments";

/// The Namespace's contact annotation in the deployment's newest manifests
/// at Harmony (what the agent receives and writes as it is).
async fn annotation(stack: &Stack, id: &str) -> Option<String> {
    let url = format!("{}/deployments/{id}/manifests", stack.harmony_url);
    let set: Value = harmony_http()
        .get(url)
        .header("api-version", "4.0.0")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let objects = set["objects"].as_array().unwrap_or_else(|| panic!("{set}"));
    let namespace = objects.iter().find(|o| o["kind"] == "Namespace").expect("a Namespace");
    namespace["manifest"]["metadata"]["annotations"]["astronomer.io/contact-emails"]
        .as_str()
        .map(str::to_owned)
}

/// The Namespace file a real agent of `plane` writes for deployment `id`,
/// after one round against the stack's Harmony (an agent API started on
/// it for the purpose).
async fn agents_namespace_file(stack: &Stack, plane: &str, id: &str) -> String {
    let harmony = stack.harmony.as_ref().expect("Harmony runs");
    let agents = harmony_server::start_agent_api(
        "127.0.0.1:0".parse().unwrap(),
        &harmony.app_private().harmony,
        &test_support::logger(slog::Level::Info),
    )
    .unwrap();
    let mut config = harmony_server::Config::new(
        "127.0.0.1:0".parse().unwrap(),
        stack.harmony_data.path().to_path_buf(),
    );
    config.dev_seed = true;
    let credential = harmony_server::issue_agent_credential(&config, plane).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let agent = harmony_agent::Agent::new(
        &format!("http://{}", agents.local_addr()),
        &credential,
        harmony_agent::ApplyDir::new(dir.path()),
    )
    .unwrap();
    agent.round(0).await.unwrap();
    let namespace = format!("airflow-{}", uuid::Uuid::parse_str(id).unwrap().simple());
    let file = dir.path().join("_cluster").join(format!("namespace-{namespace}.yaml"));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    agents.close().await.unwrap();
    text
}

/// What Harmony holds of the deployment's contact emails, read at 4.0.0.
async fn at_harmony(stack: &Stack, id: &str) -> Value {
    let url = format!("{}/deployments/{id}", stack.harmony_url);
    let answer = harmony_http().get(url).header("api-version", "4.0.0").send().await.unwrap();
    let deployment: Value = answer.json().await.unwrap();
    deployment.get("contact_emails").cloned().unwrap_or(json!([]))
}

fn with_emails(emails: Value) -> Value {
    let mut body = standard();
    body["contact_emails"] = emails;
    body
}

on_both_backends!(
    contact_emails_wait_for_the_contract_then_reach_the_agents_files,
    a_harmony_from_before_them_gets_the_spec_without_them,
);

async fn contact_emails_wait_for_the_contract_then_reach_the_agents_files(backend: Backend) {
    let Some(mut stack) = Stack::on(backend).await else { return };
    let emails = json!(["oncall@example.com", "data-team+alerts@corp.example.org"]);

    // Before the contract: a 503 that says what ends it, and nothing kept.
    let (status, answer) = stack.create(&with_emails(emails.clone())).await;
    assert_eq!((status, answer["error_code"].as_str()), (503, Some("Unavailable")), "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("contract-schema"), "{answer}");
    assert!(stack.list().await.is_empty(), "nothing was written");
    // None at all is taken as before, and the record holds no field.
    let (status, created) = stack.create(&standard()).await;
    assert_eq!(status, 201, "{created}");
    assert!(created.get("contact_emails").is_none(), "{created}");

    stack.contract_astro().await;
    stack.contract_harmony().await;
    let mut body = with_emails(emails.clone());
    body["name"] = json!("alerts");
    let (status, created) = stack.create(&body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["contact_emails"], emails);
    let id = created["id"].as_str().unwrap().to_owned();
    let url = format!("{}{PATH}/{id}", stack.url);
    let client = authorized(&stack.token);
    wait_delivered(&client, &url, 1).await;
    assert_eq!(at_harmony(&stack, &id).await, emails);
    assert_eq!(
        annotation(&stack, &id).await.as_deref(),
        Some("oncall@example.com,data-team+alerts@corp.example.org")
    );
    // And in the file the data plane's agent writes for the Namespace.
    let file = agents_namespace_file(&stack, created["data_plane_id"].as_str().unwrap(), &id).await;
    assert!(
        file.contains(
            "astronomer.io/contact-emails: \"oncall@example.com,data-team+alerts@corp.example.org\""
        ),
        "{file}"
    );

    // A change that leaves them out keeps them, here and at Harmony.
    body.as_object_mut().unwrap().remove("contact_emails");
    body["description"] = json!("renamed queue sizes");
    let (status, updated) = stack.call(Method::POST, &format!("{PATH}/{id}"), Some(&body)).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["contact_emails"], emails);
    wait_delivered(&client, &url, 2).await;
    assert_eq!(at_harmony(&stack, &id).await, emails);

    // Past a limit: 400 naming the field and the rule, nothing changed.
    let eleven: Vec<String> = (0..11).map(|i| format!("person{i}@example.com")).collect();
    for (emails, field, rule) in [
        (json!(eleven), "contact_emails", "deployment_contact_emails_count"),
        (json!(["oncall@example"]), "contact_emails[0]", "deployment_contact_email_grammar"),
        (
            json!(["a@example.com", "a@example.com"]),
            "contact_emails[1]",
            "deployment_contact_emails_unique",
        ),
    ] {
        body["contact_emails"] = emails;
        let (status, answer) = stack.call(Method::POST, &format!("{PATH}/{id}"), Some(&body)).await;
        assert_eq!(status, 400, "{answer}");
        let errors = answer["field_errors"].as_array().unwrap();
        assert!(
            errors.iter().any(|e| e["field"] == field && e["rule"] == rule),
            "{field} {rule}: {answer}"
        );
    }
    let (_, unchanged) = stack.call(Method::GET, &format!("{PATH}/{id}"), None).await;
    assert_eq!(
        (unchanged["generation"].as_u64(), &unchanged["contact_emails"]),
        (Some(2), &emails)
    );

    // An empty list clears them everywhere, and the annotation goes.
    body["contact_emails"] = json!([]);
    let (status, cleared) = stack.call(Method::POST, &format!("{PATH}/{id}"), Some(&body)).await;
    assert_eq!(status, 200, "{cleared}");
    assert!(cleared.get("contact_emails").is_none(), "{cleared}");
    wait_delivered(&client, &url, 3).await;
    assert_eq!(at_harmony(&stack, &id).await, json!([]));
    assert_eq!(annotation(&stack, &id).await, None);
}

/// A cell whose Harmony serves no 4.0.0 (the last release's): the change
/// is delivered at 2.0.0 without the contact emails, which astro-api keeps
/// and shows as its own.
async fn a_harmony_from_before_them_gets_the_spec_without_them(backend: Backend) {
    let max = semver::Version::new(3, 0, 0);
    let Some(mut stack) = Stack::on_with_harmony_version(backend, max).await else { return };
    stack.contract_astro().await;
    let emails = json!(["oncall@example.com"]);
    let (status, created) = stack.create(&with_emails(emails.clone())).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let url = format!("{}{PATH}/{id}", stack.url);
    let delivered = wait_delivered(&authorized(&stack.token), &url, 1).await;
    assert_eq!(delivered["contact_emails"], emails);
    let at_three: Value = harmony_http()
        .get(format!("{}/deployments/{id}", stack.harmony_url))
        .header("api-version", "3.0.0")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(at_three["generation"], 1, "{at_three}");
    assert!(at_three.get("contact_emails").is_none(), "{at_three}");
}
