//! harmony-client's version negotiation against real servers: a current
//! Harmony, one capped at 1.0.0, one upgraded and one rolled back underneath
//! a running client.

use crate::common::*;
use harmony_client::{Harmony, NegotiationError, Speaking};
use semver::Version;
use std::time::Duration;

fn link(url: &str, ttl: Duration) -> Harmony {
    Harmony::new(url, http(), ttl)
}

#[tokio::test]
async fn picks_the_newest_common_version() {
    let h = TestHarmony::start();
    let harmony = link(&h.url, Duration::from_secs(60));
    let negotiated = harmony.negotiated().await.unwrap();
    assert_eq!(negotiated.version, Version::new(4, 0, 0));
    assert_eq!(
        negotiated.served,
        [
            Version::new(1, 0, 0),
            Version::new(2, 0, 0),
            Version::new(3, 0, 0),
            Version::new(4, 0, 0)
        ]
    );
    assert!(matches!(harmony.client().await.unwrap(), Speaking::V4(_)));
}

/// A consumer whose code for some work stops at 2.0.0 keeps speaking 2.0.0
/// to a 3.0.0 Harmony; work that needs 3.0.0 gets a typed gap from a 2.0.0
/// one.
#[tokio::test]
async fn speak_picks_the_newest_of_the_versions_the_caller_knows() {
    let (v1, v2, v3) = (Version::new(1, 0, 0), Version::new(2, 0, 0), Version::new(3, 0, 0));
    let new = TestHarmony::start();
    let harmony = link(&new.url, Duration::from_secs(60));
    assert!(matches!(harmony.speak(&[v1.clone(), v2.clone()]).await.unwrap(), Speaking::V2(_)));
    assert!(matches!(harmony.speak(std::slice::from_ref(&v1)).await.unwrap(), Speaking::V1(_)));
    assert!(matches!(harmony.speak(std::slice::from_ref(&v3)).await.unwrap(), Speaking::V3(_)));

    let old = TestHarmony::start_with(|c| c.max_api_version = Some(v2.clone()));
    let harmony = link(&old.url, Duration::from_secs(60));
    assert!(matches!(harmony.speak(&[v1.clone(), v2.clone()]).await.unwrap(), Speaking::V2(_)));
    match harmony.speak(std::slice::from_ref(&v3)).await {
        Err(NegotiationError::Gap(gap)) => {
            assert_eq!(gap.required, [v3]);
            assert_eq!(gap.available, [v1, v2]);
        }
        other => panic!("expected a version gap, got {other:?}"),
    }
}

#[tokio::test]
async fn an_old_harmony_gets_the_old_client_or_a_typed_gap() {
    let h = TestHarmony::start_with(|c| c.max_api_version = Some(Version::new(1, 0, 0)));
    let harmony = link(&h.url, Duration::from_secs(60));
    assert!(matches!(harmony.client().await.unwrap(), Speaking::V1(_)));
    match harmony.require(&Version::new(2, 0, 0)).await {
        Err(NegotiationError::Gap(gap)) => {
            assert_eq!(
                gap.required,
                [Version::new(2, 0, 0), Version::new(3, 0, 0), Version::new(4, 0, 0)]
            );
            assert_eq!(gap.available, [Version::new(1, 0, 0)]);
            assert_eq!(
                gap.to_string(),
                "needs API version 2.0.0, 3.0.0, 4.0.0 but Harmony serves 1.0.0"
            );
        }
        other => panic!("expected a version gap, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_harmony_is_an_error_not_a_version() {
    let mut h = TestHarmony::start();
    let url = h.url.clone();
    h.stop().await;
    let harmony = link(&url, Duration::from_secs(60));
    assert!(matches!(harmony.negotiated().await, Err(NegotiationError::Unreachable(_))));
}

#[tokio::test]
async fn upgrades_and_rollbacks_underneath_are_noticed() {
    let mut old = TestHarmony::start_with(|c| c.max_api_version = Some(Version::new(1, 0, 0)));
    let addr = old.url.trim_start_matches("http://").parse().unwrap();
    let dir = old.data_dir();
    let harmony = link(&old.url, Duration::from_millis(100));
    assert_eq!(harmony.negotiated().await.unwrap().version, Version::new(1, 0, 0));

    // Upgraded in place: noticed once the negotiated version expires.
    old.stop().await;
    let mut new = TestHarmony::start_with(|c| {
        c.bind = addr;
        c.data_dir = dir.clone();
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(harmony.negotiated().await.unwrap().version, Version::new(4, 0, 0));

    // Rolled back: the first refusal drops the negotiated version at once.
    new.stop().await;
    let _back = TestHarmony::start_with(|c| {
        c.bind = addr;
        c.data_dir = dir.clone();
        c.max_api_version = Some(Version::new(1, 0, 0));
    });
    let harmony = link(&new.url, Duration::from_secs(3600));
    // Pretend it negotiated 2.0.0 before the rollback by calling at 2.0.0.
    let Speaking::V1(_) = harmony.client().await.unwrap() else { panic!("expected 1.0.0") };
    let error = h2(&new.url).data_plane_list(None, None).await.unwrap_err();
    assert!(harmony.observe(&error), "a version refusal is recognised");
    drop(old);
}

fn h2(url: &str) -> harmony_client::v2::Client {
    harmony_client::v2::Client::new_with_client(url, http())
}
