//! A deployment's contact emails (4.0.0): taken once every binary on the
//! database reads them (the schema contracted past `contact-emails`),
//! kept by older versions' requests, shown only at 4.0.0, rendered as the
//! Namespace's annotation, and refused, naming the field and the rule,
//! past each limit.

use crate::common::*;
use serde_json::{Value, json};

on_both_backends!(
    contact_emails_wait_for_the_contract_then_go_everywhere_they_should,
    contact_emails_are_refused_past_each_limit,
);

/// A 4.0.0 spec (the 2.0.0 fixture's shape) with `emails`.
fn spec(generation: u64, emails: Option<Value>) -> Value {
    let mut spec = test_support::fixtures::hybrid_spec("hybrid-1", generation);
    if let Some(emails) = emails {
        spec["contact_emails"] = emails;
    }
    spec
}

/// A raw request at `version` (the 4.0.0 client would refuse to build the
/// invalid ones); its status and body.
async fn send(
    h: &TestHarmony,
    method: reqwest::Method,
    path: &str,
    version: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request =
        http().request(method, format!("{}{path}", h.url)).header("api-version", version);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The Namespace's contact annotation in the deployment's newest manifests
/// (the objects the agent receives and writes as they are).
async fn annotation(h: &TestHarmony, id: uuid::Uuid) -> Option<String> {
    let (status, set) =
        send(h, reqwest::Method::GET, &format!("/deployments/{id}/manifests"), "4.0.0", None).await;
    assert_eq!(status, 200, "{set}");
    let namespace = set["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "Namespace")
        .cloned()
        .expect("a Namespace");
    let body = &namespace["manifest"];
    body["metadata"]["annotations"]["astronomer.io/contact-emails"].as_str().map(str::to_owned)
}

async fn contact_emails_wait_for_the_contract_then_go_everywhere_they_should(backend: Backend) {
    let Some(h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    let id = id();
    let path = format!("/deployments/{id}");
    let put = reqwest::Method::PUT;
    let emails = json!(["oncall@example.com", "data-team+alerts@corp.example.org"]);

    // Before the contract an older binary may share the database: emails
    // are refused with a 503 that says what ends it, and nothing is written.
    let (status, body) =
        send(&h, put.clone(), &path, "4.0.0", Some(&spec(1, Some(emails.clone())))).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["message"].as_str().unwrap().contains("contract-schema"), "{body}");
    let (status, _) = send(&h, reqwest::Method::GET, &path, "4.0.0", None).await;
    assert_eq!(status, 404, "nothing was written");
    // Without any, a 4.0.0 spec is taken as before, and renders as before.
    let (status, body) = send(&h, put.clone(), &path, "4.0.0", Some(&spec(1, None))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("contact_emails").is_none(), "none: left out, {body}");
    let (_, v3) = send(&h, reqwest::Method::GET, &path, "3.0.0", None).await;
    let revision = v3["revision"].clone();
    assert_eq!(annotation(&h, id).await, None);

    let h = h.contracted(|_| {}).await;

    // Now they are stored, shown at 4.0.0 only, and rendered.
    let (status, body) =
        send(&h, put.clone(), &path, "4.0.0", Some(&spec(2, Some(emails.clone())))).await;
    assert_eq!((status, &body["contact_emails"]), (200, &emails), "{body}");
    assert_eq!(
        annotation(&h, id).await.as_deref(),
        Some("oncall@example.com,data-team+alerts@corp.example.org")
    );
    let (_, v3) = send(&h, reqwest::Method::GET, &path, "3.0.0", None).await;
    assert!(v3.get("contact_emails").is_none(), "3.0.0 does not show them: {v3}");
    assert_ne!(v3["revision"], revision, "a new revision renders them");
    let (_, list) = send(&h, reqwest::Method::GET, "/deployments", "4.0.0", None).await;
    assert_eq!(list["items"][0]["contact_emails"], emails);

    // A 3.0.0 change (it cannot name them) keeps them.
    let mut older = spec(3, None);
    older["name"] = json!("renamed");
    let (status, body) = send(&h, put.clone(), &path, "3.0.0", Some(&older)).await;
    assert_eq!(status, 200, "{body}");
    let (_, now) = send(&h, reqwest::Method::GET, &path, "4.0.0", None).await;
    assert_eq!((now["name"].clone(), now["contact_emails"].clone()), (json!("renamed"), emails));
    // 4.0.0 without the field keeps them too; a retry of the same
    // generation is the same spec.
    let (status, _) = send(&h, put.clone(), &path, "4.0.0", Some(&older)).await;
    assert_eq!(status, 200, "a retry of generation 3 without the field");
    // An empty list clears them, and the annotation goes.
    let (status, body) = send(
        &h,
        put.clone(),
        &path,
        "4.0.0",
        Some(&{
            let mut cleared = spec(4, Some(json!([])));
            cleared["name"] = json!("renamed");
            cleared
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("contact_emails").is_none(), "cleared: {body}");
    assert_eq!(annotation(&h, id).await, None);
}

async fn contact_emails_are_refused_past_each_limit(backend: Backend) {
    let Some(h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    let h = h.contracted(|_| {}).await;
    let put = reqwest::Method::PUT;
    let local = |n: usize| "x".repeat(n);
    // 254 characters: a 64-character local part and a domain of 189.
    let longest = format!("{}@{}.{}.{}.io", local(64), local(61), local(60), local(63));
    assert_eq!(longest.len(), 254);
    let ten: Vec<String> = (0..10).map(|i| format!("team{i}@example.com")).collect();
    for (emails, refused) in [
        (json!(ten), None),
        (json!([longest.clone()]), None),
        (
            json!([format!("{}@{}.{}.{}.io", local(64), local(60), local(60), local(64))]),
            Some(("contact_email_grammar", "contact_emails[0]")),
        ),
        (
            json!([format!("{}@example.com", local(65))]),
            Some(("contact_email_grammar", "contact_emails[0]")),
        ),
        (json!(["not-an-address"]), Some(("contact_email_grammar", "contact_emails[0]"))),
        (json!(["a@b.co", "x y@b.co"]), Some(("contact_email_grammar", "contact_emails[1]"))),
        (
            json!((0..11).map(|i| format!("team{i}@example.com")).collect::<Vec<_>>()),
            Some(("contact_emails_count", "contact_emails")),
        ),
    ] {
        let (status, body) = send(
            &h,
            put.clone(),
            &format!("/deployments/{}", id()),
            "4.0.0",
            Some(&spec(1, Some(emails.clone()))),
        )
        .await;
        match refused {
            None => assert_eq!(status, 200, "{emails}: {body}"),
            Some((rule, field)) => {
                assert_eq!(status, 400, "{emails}: {body}");
                let message = body["message"].as_str().unwrap();
                assert!(message.contains(rule) && message.contains(field), "{message}");
            }
        }
    }
    let (status, body) = send(
        &h,
        put,
        &format!("/deployments/{}", id()),
        "4.0.0",
        Some(&spec(1, Some(json!(["a@b.co", "a@b.co"])))),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("contact_emails_unique") && message.contains("contact_emails[1]"));
}
