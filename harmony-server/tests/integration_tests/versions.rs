//! How a request picks its version, and a Harmony capped below its newest.

use crate::common::*;
use harmony_client::v2::types::DataPlaneKind;
use std::path::PathBuf;

async fn raw_get(url: &str, version: Option<&str>) -> (u16, Option<String>, serde_json::Value) {
    let mut request = http().get(url);
    if let Some(version) = version {
        request = request.header("api-version", version);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let served = response
        .headers()
        .get(harmony_api::VERSIONS_SERVED_HEADER)
        .map(|v| v.to_str().unwrap().to_owned());
    (status, served, response.json().await.unwrap())
}

#[tokio::test]
async fn unsupported_versions_are_refused_with_what_is_served() {
    let h = TestHarmony::start();
    for version in [None, Some("5.0.0"), Some("1.5.0"), Some("banana")] {
        let (status, served, body) = raw_get(&format!("{}/deployments", h.url), version).await;
        assert_eq!(status, 400, "{version:?}: {body}");
        assert_eq!(body["error_code"], "UnsupportedApiVersion", "{version:?}");
        assert_eq!(served.as_deref(), Some("1.0.0, 2.0.0, 3.0.0, 4.0.0"), "{version:?}");
    }
}

/// A request refused for its version or its credential is the caller's
/// mistake: Harmony logs it at INFO with the status and the reason, never
/// at ERROR (an older consumer negotiating makes such refusals by design).
#[tokio::test]
async fn refusals_are_the_callers_errors_in_the_log() {
    let place = Place::new(Backend::Sqlite).unwrap();
    let log_path = place.dir.path().join("harmony.log");
    let mut config = harmony_server::Config::new("127.0.0.1:0".parse().unwrap(), PathBuf::new());
    place.apply(&mut config);
    config.secret_key = Some(harmony_server::render::SecretKey::development());
    config.service_token = Some(SERVICE_TOKEN.to_owned());
    let server = harmony_server::start(&config, &test_support::file_logger(&log_path)).unwrap();
    let url = format!("http://{}/deployments", server.local_addr());
    for version in [None, Some("9.0.0")] {
        let (status, _, _) = raw_get(&url, version).await;
        assert_eq!(status, 400);
    }
    let no_credential = reqwest::Client::new().get(&url).header("api-version", "2.0.0");
    assert_eq!(no_credential.send().await.unwrap().status(), 401);
    server.close().await.unwrap();

    // bunyan levels: 20 debug, 30 info, 50 error.
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let errors: Vec<_> = lines.iter().filter(|l| l["level"].as_u64() >= Some(50)).collect();
    assert!(errors.is_empty(), "refusals logged as errors: {errors:?}");
    let completed: Vec<_> = lines
        .iter()
        .filter(|l| l["msg"] == "request completed")
        .map(|l| (l["level"].as_u64(), l["response_code"].as_u64()))
        .collect();
    assert_eq!(completed, [(Some(30), Some(400)), (Some(30), Some(400)), (Some(30), Some(401))]);
    let reasons: Vec<_> =
        lines.iter().filter_map(|l| l["error_message_external"].as_str()).collect();
    assert!(reasons.iter().any(|r| r.contains("9.0.0")), "the reason is logged: {reasons:?}");
}

#[tokio::test]
async fn discovery_answers_without_a_version() {
    let h = TestHarmony::start();
    let (status, _, body) = raw_get(&format!("{}/api-versions", h.url), None).await;
    assert_eq!(status, 200);
    let all = ["1.0.0", "2.0.0", "3.0.0", "4.0.0"];
    assert_eq!(body["served"], serde_json::json!(all));
    // Through every generated client too.
    assert_eq!(h.v1().api_versions_get().await.unwrap().served, all);
    assert_eq!(h.v2().api_versions_get().await.unwrap().served, all);
    let v3 = h.v3();
    assert_eq!(v3.api_versions_get().await.unwrap().served, all);
    let v4 = harmony_client::v4::Client::new_with_client(&h.url, http());
    assert_eq!(v4.api_versions_get().await.unwrap().served, all);
}

#[tokio::test]
async fn a_capped_harmony_serves_as_the_old_release() {
    let h = TestHarmony::start_with(|c| c.max_api_version = Some(semver::Version::new(1, 0, 0)));
    assert_eq!(h.v2().api_versions_get().await.unwrap().served, ["1.0.0"]);
    let (status, served, body) = raw_get(&format!("{}/data-planes", h.url), Some("2.0.0")).await;
    assert_eq!(status, 400);
    assert_eq!(body["error_code"], "UnsupportedApiVersion");
    assert_eq!(served.as_deref(), Some("1.0.0"));

    // The newest client gets a clear, typed refusal; the old one works.
    let (status, code, _) =
        failure(h.v2().data_plane_put("p", &registration(DataPlaneKind::Hybrid)).await);
    assert_eq!((status, code.as_str()), (400, "UnsupportedApiVersion"));
    assert!(h.v1().data_plane_list(None, None).await.is_ok());
}

#[test]
fn a_cap_must_be_a_released_version() {
    let error = harmony_server::versions::ServedVersions::new(Some(&semver::Version::new(1, 5, 0)))
        .unwrap_err();
    assert!(error.contains("not a released"), "{error}");
    let error = harmony_server::versions::ServedVersions::new(Some(&semver::Version::new(0, 1, 0)))
        .unwrap_err();
    assert!(error.contains("oldest"), "{error}");
}
