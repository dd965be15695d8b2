//! How a request picks its version, and a Harmony capped below its newest.

use crate::common::*;
use harmony_client::v2::types::DataPlaneKind;

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
