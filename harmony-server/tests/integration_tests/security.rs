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
