//! Generated valid input, at every served version (issue 38): 2,000 specs
//! per version that the version's declared rules allow
//! (`test_support::valid`), sent through that version's generated client.
//! Every one must be taken. A rule written into Harmony's validation
//! without being declared at a version refuses some of them, whatever its
//! kind (a pattern or reserved value, uniqueness across items, a condition
//! joining two fields); the failure is shrunk to a small spec and printed
//! with the refusal.
//!
//! Seeded and reproducible: `VALID_SEED` picks another seed,
//! `VALID_SPECS` another count (both printed on failure).

use crate::common::*;
use deployment_rules::ApiVersion;
use futures::StreamExt as _;
use proptest::strategy::{Strategy as _, ValueTree};
use serde_json::Value;
use test_support::valid;

/// Specs per version (the floor).
const SPECS: usize = 2000;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Sends `spec` (2.0.0's shape) as a new deployment at `version` through
/// its generated client: `None` when taken, else the status and message.
async fn refused(
    url: &str,
    client: &reqwest::Client,
    version: &semver::Version,
    spec: &Value,
) -> Option<String> {
    fn answer<T, E: std::fmt::Debug>(
        r: Result<harmony_client::ResponseValue<T>, harmony_client::Error<E>>,
    ) -> Option<String> {
        match r {
            Ok(_) => None,
            Err(harmony_client::Error::ErrorResponse(e)) => {
                let rules = e
                    .headers()
                    .get(harmony_api::REFUSED_BY_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("none named")
                    .to_owned();
                Some(format!("{} (rules: {rules}): {:?}", e.status(), e.into_inner()))
            }
            Err(other) => Some(format!("{other:?}")),
        }
    }
    let id = uuid::Uuid::new_v4();
    // A spec the version's own client cannot build is the generator
    // leaving the version's schema: reported, never taken for granted.
    fn typed<T: serde::de::DeserializeOwned>(spec: Value) -> Result<T, String> {
        serde_json::from_value(spec).map_err(|e| format!("its client cannot build it: {e}"))
    }
    match version.major {
        1 => {
            let c = harmony_client::v1::Client::new_with_client(url, client.clone());
            let spec: harmony_client::v1::types::DeploymentSpec =
                match typed(valid::v1_shape(spec.clone())) {
                    Ok(spec) => spec,
                    Err(e) => return Some(e),
                };
            answer(c.deployment_put(&id, &spec).await)
        }
        2 => {
            let c = harmony_client::v2::Client::new_with_client(url, client.clone());
            let spec: harmony_client::v2::types::DeploymentSpec = match typed(spec.clone()) {
                Ok(spec) => spec,
                Err(e) => return Some(e),
            };
            answer(c.deployment_put(&id, &spec).await)
        }
        3 => {
            let c = harmony_client::v3::Client::new_with_client(url, client.clone());
            let spec: harmony_client::v3::types::DeploymentSpec = match typed(spec.clone()) {
                Ok(spec) => spec,
                Err(e) => return Some(e),
            };
            answer(c.deployment_put(&id, &spec).await)
        }
        4 => {
            let c = harmony_client::v4::Client::new_with_client(url, client.clone());
            let spec: harmony_client::v4::types::DeploymentSpec = match typed(spec.clone()) {
                Ok(spec) => spec,
                Err(e) => return Some(e),
            };
            answer(c.deployment_put(&id, &spec).await)
        }
        other => panic!("no client for {other}.x.x: add it here when a version is added"),
    }
}

#[test]
fn every_served_version_takes_every_generated_valid_spec() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // The server runs on this runtime's threads; the test thread drives it.
    let _inside = runtime.enter();
    // Quotas on rendered bytes are an operator's, not the contract's: set
    // past what 8,000 deployments render here.
    let budgets = |config: &mut harmony_server::Config| {
        config.budgets = harmony_server::budget::PlaneBudgets {
            shared_plane_bytes: u64::MAX / 4,
            organization_bytes_on_shared_plane: u64::MAX / 4,
            owned_plane_bytes: u64::MAX / 4,
        };
    };
    let h = TestHarmony::start_with(budgets);
    // No older binary shares a test's database: every format is written
    // (a 4.0.0 spec's contact emails wait for that).
    let h = runtime.block_on(h.contracted(budgets));
    runtime.block_on(two_planes(&h));
    let planes = valid::Planes {
        hybrid: "hybrid-1".into(),
        owner: "org-1".into(),
        hosted: "hosted-1".into(),
    };
    let seed = setting("VALID_SEED", 38);
    let count = setting("VALID_SPECS", SPECS as u64) as usize;
    let mut sent = 0;
    for version in harmony_api::supported_versions().iter().map(|v| v.semver().clone()) {
        let at = ApiVersion::new(version.major, version.minor, version.patch);
        let strategy = valid::deployment_specs(at, planes.clone());
        let mut runner = valid::runner(seed, version.major);
        let mut trees: Vec<_> =
            (0..count).map(|_| strategy.new_tree(&mut runner).expect("a spec")).collect();
        let specs: Vec<Value> = trees.iter().map(ValueTree::current).collect();
        let url = h.url.clone();
        // One connection pool: building a client (its TLS roots) costs more
        // than a request.
        let client = http();
        let answers: Vec<(usize, Option<String>)> = runtime.block_on(
            futures::stream::iter(specs.iter().enumerate())
                .map(|(i, spec)| {
                    let (url, version, client) = (url.clone(), version.clone(), client.clone());
                    async move { (i, refused(&url, &client, &version, spec).await) }
                })
                .buffer_unordered(8)
                .collect(),
        );
        sent += answers.len();
        let Some((first, why)) = answers.into_iter().find_map(|(i, a)| a.map(|a| (i, a))) else {
            continue;
        };
        // Shrink the first refused spec to a small one that is still refused.
        let (smallest, reason, probes) =
            runtime.block_on(valid::shrink(&mut trees[first], why, 2000, |spec, _| {
                let (url, client, version) = (url.clone(), client.clone(), version.clone());
                async move { refused(&url, &client, &version, &spec).await }
            }));
        panic!(
            "Harmony {version} refused a spec its contract allows (generated spec {first} of \
             {count}, VALID_SEED={seed}; shrunk in {probes} probes):\n  {reason}\n\nthe spec \
             (2.0.0's shape):\n{}\n\nA refusal needs a rule declared at this version \
             (deployment_rules::rule), and a new rule belongs to an unreleased version \
             (docs/versioning.md, \"Tightening a rule\").",
            serde_json::to_string_pretty(&smallest).unwrap()
        );
    }
    eprintln!("generated input: {sent} valid specs taken at every served version");
}

/// The tightening of issue 38 end to end (docs/versioning.md, "Tightening
/// a rule"): a key the platform sets is refused from 4.0.0, naming the
/// rule in the 400 and its header; a 3.0.0 client still has it taken, and
/// the rendered set carries the platform's value, never the user's.
#[tokio::test]
async fn platform_keys_are_refused_from_4_0_0_and_never_rendered_before() {
    let h = TestHarmony::start();
    two_planes(&h).await;
    let mut spec = test_support::fixtures::hybrid_spec("hybrid-1", 1);
    spec["environment_variables"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "key": "AIRFLOW__CORE__FERNET_KEY", "value": "users-own-key", "is_secret": false }));

    let v4 = harmony_client::v4::Client::new_with_client(&h.url, http());
    let refused = v4
        .deployment_put(&id(), &serde_json::from_value(spec.clone()).unwrap())
        .await
        .expect_err("4.0.0 declares platform_environment_keys");
    let harmony_client::Error::ErrorResponse(refused) = refused else { panic!("{refused:?}") };
    assert_eq!(refused.status().as_u16(), 400);
    let header = refused.headers().get(harmony_api::REFUSED_BY_HEADER).unwrap().to_str().unwrap();
    assert_eq!(header, "platform_environment_keys");
    assert!(
        refused.message.contains("environment_variables[2].key")
            && refused.message.contains("platform"),
        "{}",
        refused.message
    );

    let id = id();
    let v3 = h.v3();
    let taken = v3.deployment_put(&id, &serde_json::from_value(spec).unwrap()).await.unwrap();
    assert_eq!(taken.environment_variables.len(), 3, "kept as sent: a 3.0.0 client reads it back");
    let set = v3.deployment_manifests_get(&id, None).await.unwrap().into_inner();
    let text = serde_json::to_string(&set).unwrap();
    assert!(!text.contains("users-own-key"), "the user's value is never rendered");
    assert!(text.contains("AIRFLOW__CORE__FERNET_KEY"), "the platform's is");
    // And what was left out is reported (process-wide: at least this one).
    let (registry, _) = harmony_server::metrics::registry();
    let mut scrape = String::new();
    prometheus_client::encoding::text::encode(&mut scrape, &registry).unwrap();
    let line = scrape
        .lines()
        .find(|l| {
            l.starts_with("harmony_platform_keys_ignored_total{key=\"AIRFLOW__CORE__FERNET_KEY\"}")
        })
        .unwrap_or_else(|| panic!("no count of the key left out:\n{scrape}"));
    let count: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 1.0, "{line}");
}
