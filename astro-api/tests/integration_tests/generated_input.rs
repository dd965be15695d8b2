//! Generated valid input through astro-api (issue 38): deployments its
//! declared rules allow (`test_support::valid::public_deployments`), each
//! created through astro-api in front of a Harmony serving no version
//! newer than each served one. Every one astro-api accepts must be taken
//! by that Harmony (201, delivered): a 502 `HarmonyRefused` is a rule the
//! live Harmony has and astro-api does not state, the incident itself. A
//! refusal is shrunk to a small body and printed with the rules Harmony
//! named. Seeded and reproducible: `VALID_SEED`, `VALID_PUBLIC` (how many
//! per version).

use crate::common::*;
use futures::StreamExt as _;
use proptest::strategy::{Strategy as _, ValueTree};
use serde_json::{Value, json};
use test_support::valid;

/// Creates per served Harmony version.
const PER_VERSION: u64 = 300;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `body` with a name no other generated deployment has: its own, cut to
/// leave room for a suffix (names are unique in a workspace).
fn unique(mut body: Value, n: usize) -> Value {
    let suffix = format!("-{n}");
    let name: String =
        body["name"].as_str().unwrap_or("x").chars().take(63 - suffix.len()).collect();
    body["name"] = json!(format!("{name}{suffix}"));
    body
}

/// Creates `body`: `None` when taken and delivered, else what went wrong.
async fn refused(stack: &Stack, body: &Value) -> Option<String> {
    let (status, answer) = stack.create(body).await;
    match (status, answer["delivered_generation"].as_u64()) {
        (201, Some(1)) => None,
        // astro-api refused it itself: the generator left astro-api's rules.
        (400, _) => Some(format!("astro-api refused what its rules allow (400): {answer}")),
        _ => Some(format!("{status}: {answer}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_deployment_astro_api_accepts_is_taken_by_every_served_harmony() {
    let seed = setting("VALID_SEED", 38);
    let count = setting("VALID_PUBLIC", PER_VERSION) as usize;
    let mut sent = 0;
    for version in harmony_api::supported_versions().iter().map(|v| v.semver().clone()) {
        let mut stack = Stack::start_roomy(Some(version.clone())).await;
        // No older binary shares a test's databases: contact emails are
        // stored (and reach a Harmony that serves 4.0.0).
        stack.contract_astro().await;
        stack.contract_harmony().await;
        let (status, options) =
            stack.call(reqwest::Method::GET, "/organizations/org-1/deployment-options", None).await;
        assert_eq!(status, 200, "{options}");
        let places = valid::PublicPlaces {
            hybrid_cluster: Some("hybrid-example".into()),
            // Hosted work needs 2.0.0.
            standard: (version.major >= 2).then(|| ("AWS".into(), "us-east-1".into())),
            runtimes: options["runtime_releases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect(),
            max_concurrency: options["worker_concurrency"]["max"].as_u64().unwrap(),
        };
        let strategy = valid::public_deployments(places);
        let mut runner = valid::runner(seed, version.major);
        let mut trees: Vec<_> =
            (0..count).map(|_| strategy.new_tree(&mut runner).expect("a body")).collect();
        let bodies: Vec<Value> =
            trees.iter().enumerate().map(|(i, t)| unique(t.current(), i)).collect();
        let stack_ref = &stack;
        let answers: Vec<(usize, Option<String>)> =
            futures::stream::iter(bodies.iter().enumerate())
                .map(|(i, body)| async move { (i, refused(stack_ref, body).await) })
                .buffer_unordered(8)
                .collect()
                .await;
        sent += answers.len();
        let Some((first, why)) = answers.into_iter().find_map(|(i, a)| a.map(|a| (i, a))) else {
            continue;
        };
        let (smallest, reason, probes) =
            valid::shrink(&mut trees[first], why, 500, |body, probe| {
                let body = unique(body, count + probe);
                let stack = &stack;
                async move { refused(stack, &body).await }
            })
            .await;
        panic!(
            "a deployment astro-api accepts was not taken with Harmony at {version} (generated \
             body {first} of {count}, VALID_SEED={seed}; shrunk in {probes} probes):\n  \
             {reason}\n\nthe body:\n{}",
            serde_json::to_string_pretty(&smallest).unwrap()
        );
    }
    eprintln!("generated input through astro-api: {sent} deployments, each taken and delivered");
}
