//! Stored-payload fixtures (the Kubernetes pattern): payloads recorded from a
//! real Harmony at each released version live in `tests/fixtures/<version>/`.
//! At HEAD, every one must still decode, with the server's types and with the
//! generated client of its version, and survive a round trip; and what HEAD
//! writes at 2.0.0 must be readable through 1.0.0, or refused clearly.
//!
//! Fixtures are recorded once per release (see docs/versioning.md) and never
//! regenerated: a change that breaks one is a change that breaks a live
//! client or a stored record.

use harmony_api::{v1, v2, v3, v4};
use harmony_client::v1::types as c1;
use harmony_client::v2::types as c2;
use harmony_client::v3::types as c3;
use harmony_client::v4::types as c4;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn load(version: &str, name: &str) -> Value {
    let path = fixtures().join(version).join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn decode<T: DeserializeOwned>(what: &str, value: &Value) -> T {
    serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{what} no longer decodes: {e}"))
}

/// A recorded response: the server's type writes it back identically, and
/// the generated client of its version reads it without losing anything.
fn response<S, C>(version: &str, name: &str)
where
    S: Serialize + DeserializeOwned + PartialEq + Debug,
    C: Serialize + DeserializeOwned,
{
    let recorded = load(version, name);
    let what = format!("{version}/{name}");
    let server: S = decode(&what, &recorded);
    assert_eq!(serde_json::to_value(&server).unwrap(), recorded, "{what} does not round-trip");
    let client: C = decode(&what, &recorded);
    let again: S = decode(&what, &serde_json::to_value(&client).unwrap());
    assert_eq!(again, server, "{what}: the generated client loses something");
}

/// A recorded request: the server still accepts it, and the generated client
/// of its version sends the same thing.
fn request<S, C>(version: &str, name: &str)
where
    S: DeserializeOwned + PartialEq + Debug,
    C: Serialize + DeserializeOwned,
{
    let recorded = load(version, name);
    let what = format!("{version}/{name}");
    let server: S = decode(&what, &recorded);
    let client: C = decode(&what, &recorded);
    let sent: S = decode(&what, &serde_json::to_value(&client).unwrap());
    assert_eq!(sent, server, "{what}: the generated client sends something else");
}

type Page<T> = dropshot::ResultsPage<T>;

#[test]
fn version_1_0_0_payloads_still_decode() {
    let v = "1.0.0";
    request::<v1::DataPlaneRegistration, c1::DataPlaneRegistration>(
        v,
        "data_plane_registration.request.json",
    );
    request::<v1::DeploymentSpec, c1::DeploymentSpec>(v, "deployment_spec.request.json");
    response::<v1::DataPlane, c1::DataPlane>(v, "data_plane.response.json");
    response::<v1::Deployment, c1::Deployment>(v, "deployment.response.json");
    response::<v1::ManifestSet, c1::ManifestSet>(v, "manifest_set.response.json");
    response::<v1::ApiVersions, c1::ApiVersions>(v, "api_versions.response.json");
    let page: Page<v1::Deployment> = decode(v, &load(v, "deployment_page.response.json"));
    let _: c1::DeploymentResultsPage = decode(v, &load(v, "deployment_page.response.json"));
    assert!(!page.items.is_empty());
    let error: c1::Error = decode(v, &load(v, "error.not_visible.response.json"));
    assert_eq!(error.error_code.as_deref(), Some(harmony_api::NOT_VISIBLE_AT_VERSION));
}

#[test]
fn version_2_0_0_payloads_still_decode() {
    let v = "2.0.0";
    request::<v2::DataPlaneRegistration, c2::DataPlaneRegistration>(
        v,
        "data_plane_registration.request.json",
    );
    request::<v2::DeploymentSpec, c2::DeploymentSpec>(v, "deployment_spec.hosted.request.json");
    request::<v2::DeploymentSpec, c2::DeploymentSpec>(v, "deployment_spec.hybrid.request.json");
    response::<v2::DataPlane, c2::DataPlane>(v, "data_plane.hosted.response.json");
    response::<v2::DataPlane, c2::DataPlane>(v, "data_plane.hybrid.response.json");
    response::<v2::Deployment, c2::Deployment>(v, "deployment.hosted.response.json");
    response::<v2::Deployment, c2::Deployment>(v, "deployment.hybrid.response.json");
    response::<v2::ManifestSet, c2::ManifestSet>(v, "manifest_set.response.json");
    response::<v2::ApiVersions, c2::ApiVersions>(v, "api_versions.response.json");
    let _: Page<v2::Deployment> = decode(v, &load(v, "deployment_page.response.json"));
    let _: c2::DeploymentResultsPage = decode(v, &load(v, "deployment_page.response.json"));
    let error: c2::Error = decode(v, &load(v, "error.unsupported_version.response.json"));
    assert_eq!(error.error_code.as_deref(), Some("UnsupportedApiVersion"));
}

#[test]
fn version_3_0_0_payloads_still_decode() {
    let v = "3.0.0";
    request::<v3::PlatformReleaseSpec, c3::PlatformReleaseSpec>(
        v,
        "platform_release_spec.request.json",
    );
    request::<v3::RolloutCreate, c3::RolloutCreate>(v, "rollout_create.request.json");
    request::<v3::RolloutCommand, c3::RolloutCommand>(v, "rollout_command.request.json");
    response::<v3::PlatformRelease, c3::PlatformRelease>(v, "platform_release.response.json");
    response::<Vec<v3::PlatformRelease>, Vec<c3::PlatformRelease>>(
        v,
        "platform_release_list.response.json",
    );
    response::<v3::Rollout, c3::Rollout>(v, "rollout.response.json");
    response::<Vec<v3::Rollout>, Vec<c3::Rollout>>(v, "rollout_list.response.json");
    response::<v3::ApiVersions, c3::ApiVersions>(v, "api_versions.response.json");
    let page: Page<v3::RolloutDataPlane> =
        decode(v, &load(v, "rollout_data_plane_page.response.json"));
    let _: c3::RolloutDataPlaneResultsPage =
        decode(v, &load(v, "rollout_data_plane_page.response.json"));
    assert!(!page.items.is_empty());
    let error: c3::Error = decode(v, &load(v, "error.rollout_state_conflict.response.json"));
    assert_eq!(error.error_code.as_deref(), Some("RolloutStateConflict"));
}

#[test]
fn version_4_0_0_payloads_still_decode() {
    let v = "4.0.0";
    request::<v4::DeploymentSpec, c4::DeploymentSpec>(v, "deployment_spec.request.json");
    response::<v4::Deployment, c4::Deployment>(v, "deployment.response.json");
    response::<v4::DeploymentReport, c4::DeploymentReport>(
        v,
        "deployment_status.deploying.response.json",
    );
    response::<v4::DeploymentReport, c4::DeploymentReport>(
        v,
        "deployment_status.healthy.response.json",
    );
    response::<v4::ApiVersions, c4::ApiVersions>(v, "api_versions.response.json");
    let error: c4::Error = decode(v, &load(v, "error.not_found.response.json"));
    assert_eq!(error.error_code.as_deref(), Some("NotFound"));
}

/// What HEAD writes at 2.0.0 reaches a 1.0.0 client only through the
/// conversions: Hybrid records convert and decode with the 1.0.0 client;
/// Hosted ones are refused with a message naming the version they need.
#[test]
fn head_payloads_reach_the_oldest_version_or_are_refused_clearly() {
    let hybrid: v2::Deployment =
        decode("hybrid", &load("2.0.0", "deployment.hybrid.response.json"));
    let old = v1::Deployment::try_from(hybrid).expect("a Hybrid deployment has a 1.0.0 form");
    let _: c1::Deployment = decode("converted", &serde_json::to_value(&old).unwrap());

    let plane: v2::DataPlane = decode("plane", &load("2.0.0", "data_plane.hybrid.response.json"));
    let old = v1::DataPlane::try_from(plane).expect("a Hybrid data plane has a 1.0.0 form");
    let _: c1::DataPlane = decode("converted", &serde_json::to_value(&old).unwrap());

    let hosted_json = load("2.0.0", "deployment.hosted.response.json");
    let hosted: v2::Deployment = decode("hosted", &hosted_json);
    let refusal = v1::Deployment::try_from(hosted).expect_err("Hosted has no 1.0.0 form");
    assert!(refusal.to_string().contains("needs API version 2.0.0"), "{refusal}");
    // Why the conversion matters: handed the 2.0.0 shape directly, the
    // strict 1.0.0 client cannot read it (closed enum, missing scheduler).
    assert!(serde_json::from_value::<c1::Deployment>(hosted_json).is_err());

    let hosted_plane: v2::DataPlane =
        decode("plane", &load("2.0.0", "data_plane.hosted.response.json"));
    assert!(v1::DataPlane::try_from(hosted_plane).is_err());
}

/// Every served version has recorded payloads.
#[test]
fn every_served_version_has_fixtures() {
    for version in harmony_api::supported_versions().iter() {
        let dir = fixtures().join(version.semver().to_string());
        let count = std::fs::read_dir(&dir)
            .unwrap_or_else(|_| {
                panic!("no fixtures for {}: record them (docs/versioning.md)", version.semver())
            })
            .count();
        assert!(count >= 6, "{} has only {count} fixtures", dir.display());
    }
}
