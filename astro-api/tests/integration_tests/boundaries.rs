//! Boundary contract tests, astro-api's side: a deployment at each of
//! astro-api's public limits (`GET /deployment-options` and the name
//! length) is accepted and then taken by Harmony at every served version
//! (a Harmony capped at each, as an older release would run). If a live
//! Harmony refused what astro-api accepts (a rule tightened at Harmony, the
//! incident's shape without the 500), the create answers 502 here instead
//! of 201.

use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn what_astro_api_accepts_every_served_harmony_version_takes() {
    let mut sent = 0;
    for version in harmony_api::supported_versions().iter().map(|v| v.semver().clone()) {
        let stack = Stack::start_with_harmony_version(Some(version.clone())).await;
        let (status, options) =
            stack.call(reqwest::Method::GET, "/organizations/org-1/deployment-options", None).await;
        assert_eq!(status, 200, "{options}");
        // A 1.0.0 Harmony has no Hosted data planes.
        let hosted = version.major >= 2;
        for (n, (what, mut body)) in at_the_limits(&options, hosted).into_iter().enumerate() {
            if !what.starts_with("name") {
                body["name"] = json!(format!("limit-{n}"));
            }
            let (status, created) = stack.create(&body).await;
            sent += 1;
            assert_eq!(status, 201, "{what} at Harmony {version}: {created}");
            assert_eq!(
                created["delivered_generation"], 1,
                "{what} at Harmony {version}: {created}"
            );
        }
    }
    eprintln!("public limits: {sent} creates, each taken by Harmony");
}
