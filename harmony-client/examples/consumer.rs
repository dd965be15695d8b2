//! A service that depends on harmony-client and nothing else to talk to
//! Harmony: reqwest and semver come re-exported, so its versions never have
//! to match the crate's. It negotiates with one Harmony endpoint (over TLS
//! when the URL is https, trusting a private CA), does version-independent
//! work through whatever both sides speak, does work that needs 3.0.0 or
//! newer only when it is served (a clear answer otherwise), and tells the
//! client when a call was refused because Harmony changed under it.
//!
//! ```sh
//! HARMONY_URL=https://harmony.internal:12220 HARMONY_CA_FILE=ca.pem \
//! HARMONY_TOKEN_FILE=service-token cargo run -p harmony-client --example consumer
//! ```
//!
//! Prints one line per finding; exits non-zero on any failure.

use harmony_client::semver::Version;
use harmony_client::{Harmony, NegotiationError, Speaking, reqwest};
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("HARMONY_URL")?;
    // The service credential Harmony's main API asks for, and a private CA
    // (both optional: a local Harmony run with --dev-seed needs neither).
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(10));
    if let Ok(path) = std::env::var("HARMONY_CA_FILE") {
        builder = harmony_client::trusting(builder, &std::fs::read(path)?)?;
    }
    let http = match std::env::var("HARMONY_TOKEN_FILE") {
        Ok(path) => harmony_client::with_service_token(builder, &std::fs::read_to_string(path)?)?,
        Err(_) => builder.build()?,
    };
    // One per endpoint, kept for the service's life: it caches what was
    // negotiated for 30 s, then asks again (upgrades are noticed).
    let harmony = Harmony::new(&url, http, Duration::from_secs(30));

    let negotiated = harmony.negotiated().await?;
    println!("negotiated {} (served: {:?})", negotiated.version, negotiated.served);

    // Work any version can do, through the newest one both sides speak. On
    // an error, `observe` notices a refusal of the negotiated version
    // (Harmony was rolled back under us): the next call negotiates again.
    let planes = match harmony.client().await? {
        Speaking::V1(client) => {
            seen(&harmony, client.data_plane_list(None, None).await)?.items.len()
        }
        Speaking::V2(client) => {
            seen(&harmony, client.data_plane_list(None, None).await)?.items.len()
        }
        Speaking::V3(client) => {
            seen(&harmony, client.data_plane_list(None, None).await)?.items.len()
        }
        Speaking::V4(client) => {
            seen(&harmony, client.data_plane_list(None, None).await)?.items.len()
        }
    };
    println!("data planes: {planes}");

    // Work that needs rollouts (3.0.0): served, or a clear gap.
    match harmony.require(&Version::new(3, 0, 0)).await {
        Ok(Speaking::V3(client)) => {
            println!("rollouts: {}", client.rollout_list(None).await?.len())
        }
        Ok(Speaking::V4(client)) => {
            println!("rollouts: {}", client.rollout_list(None).await?.len())
        }
        Ok(other) => {
            unreachable!("require hands out {} or newer, got {}", "3.0.0", other.version())
        }
        Err(NegotiationError::Gap(gap)) => println!("rollouts not served yet: {gap}"),
        Err(NegotiationError::Unreachable(why)) => return Err(why.into()),
    }
    Ok(())
}

/// A call's outcome, shown to `harmony` first: a refusal of the negotiated
/// version (Harmony was rolled back under us) makes the next call negotiate
/// again.
fn seen<T, E>(harmony: &Harmony, result: Result<T, harmony_client::Error<E>>) -> Result<T, String>
where
    E: harmony_client::negotiate::ErrorBody + std::fmt::Debug,
{
    result.map_err(|error| {
        harmony.observe(&error);
        error.to_string()
    })
}
