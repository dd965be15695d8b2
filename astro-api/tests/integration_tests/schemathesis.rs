//! schemathesis (from PyPI) against a running astro-api with its committed
//! document: at least 1,000 generated cases, no server error, every response
//! conforming to the document, every operation's success path reached, and
//! every request the document allows taken. What the document allows is
//! its schemas and the rules it lists (`x-rules`): the hook
//! `test-support/schemathesis/contract_hooks.py` brings each positive case
//! to meet those, from the facts this test gives it (the organization's
//! workspace and clusters, the regions with a shared cluster). Nothing on a
//! body is excused; only opaque page tokens are, with why.
//!
//! `.ci/run` installs schemathesis and sets `REQUIRE_SCHEMATHESIS=1`, so CI
//! fails when it cannot run. Elsewhere, without the tool, the test says so
//! loudly and does nothing else (`pip install schemathesis` to run it).

use crate::common::*;
use serde_json::{Value, json};
use sql_store::{Backend, on_both_backends};

/// Cases asked per operation; the document has 17, so well over 1,000.
const EXAMPLES_PER_OPERATION: u32 = 60;
const MINIMUM_CASES: u64 = 1000;

/// The lists whose page tokens are opaque: what no document can state.
const PAGED: &[&str] = &["deployment_list", "token_list", "workspace_list"];

/// The organization's own Dedicated cluster, which the test registers.
const DEDICATED: &str = "dedicated-org-1";

on_both_backends!(schemathesis_finds_no_server_error_and_no_nonconforming_response);

async fn schemathesis_finds_no_server_error_and_no_nonconforming_response(backend: Backend) {
    if !test_support::schemathesis::available("astro-api") {
        return;
    }
    let Some(mut stack) = Stack::on(backend).await else { return };
    // No older binary shares a test's databases: contact emails are stored.
    stack.contract_astro().await;
    stack.contract_harmony().await;
    register(&stack, DEDICATED, "HOSTED", Some("org-1")).await.expect("registering a cluster");
    let run = test_support::schemathesis::Run {
        document: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/astro.json"),
        url: stack.url.clone(),
        headers: vec![format!("Authorization: Bearer {}", stack.token)],
        // The organization and workspace are fixed; deployments, deploys
        // and tokens come from the stateful phase, which links what a
        // create returns into the calls that use it. (Fixing those ids too
        // would make the stateful phase act on ids the fuzzing phase
        // already deleted.)
        parameters: vec![
            ("organization_id".into(), "org-1".into()),
            ("workspace_id".into(), "ws-1".into()),
        ],
        refusals: test_support::schemathesis::opaque_page_tokens(PAGED),
        facts: facts(),
        max_examples: EXAMPLES_PER_OPERATION as usize,
    };
    // The servers run on this test's runtime: wait without blocking it.
    let outcome =
        tokio::task::spawn_blocking(move || test_support::schemathesis::run(&run)).await.unwrap();
    eprintln!(
        "schemathesis against astro-api ({backend:?}): {} cases, {} failures, {} errors; 2xx \
         per operation: {:?}",
        outcome.cases, outcome.failures, outcome.errors, outcome.successes
    );
    outcome.assert_clean("astro-api", MINIMUM_CASES);
    // Every operation's success path is reached (issue 38): a run whose
    // creates are all refused exercises only the 404s of what follows them.
    outcome.assert_every_operation_succeeded("astro-api");
}

/// The state the declared rules read, as the stack set it up: the
/// bootstrapped organization's workspace, the clusters it may place on by
/// kind (the example Hybrid plane Harmony's seed registers for org-1, and
/// the Dedicated one registered above), and the regions whose shared
/// cluster takes STANDARD deployments.
fn facts() -> Value {
    let mut hybrid = Vec::new();
    let mut standard = Vec::new();
    for (id, plane) in harmony_server::dev_data_planes("org-1") {
        let kind = serde_json::to_value(plane.kind).unwrap();
        let owner = plane.labels.get(harmony_server::app::OWNER_LABEL);
        match (kind.as_str(), owner) {
            (Some("HYBRID"), Some(owner)) if owner == "org-1" => hybrid.push(id.to_owned()),
            (Some("HOSTED"), None) => standard
                .push(json!([serde_json::to_value(plane.cloud_provider).unwrap(), plane.region])),
            _ => {}
        }
    }
    assert!(!hybrid.is_empty() && !standard.is_empty(), "the seed registers both kinds");
    json!({
        "workspace": "ws-1",
        "clusters": { "HYBRID": hybrid, "DEDICATED": [DEDICATED] },
        "standard_regions": standard,
    })
}
