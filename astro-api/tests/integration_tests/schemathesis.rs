//! schemathesis (from PyPI) against a running astro-api with its committed
//! document: at least 1,000 generated cases, no server error, every response
//! conforming to the document, and every request the document allows
//! taken, except where a rule it describes as joining fields decides.
//!
//! `.ci/run` installs schemathesis and sets `REQUIRE_SCHEMATHESIS=1`, so CI
//! fails when it cannot run. Elsewhere, without the tool, the test says so
//! loudly and does nothing else (`pip install schemathesis` to run it).

use crate::common::*;
use sql_store::{Backend, on_both_backends};

/// Cases asked per operation; the document has 17, so well over 1,000.
const EXAMPLES_PER_OPERATION: u32 = 60;
const MINIMUM_CASES: u64 = 1000;

/// Operations where a request the document allows may still be refused
/// (400), and why: a rule joins fields (each listed in the body's
/// description) or depends on what is stored, or a page token is opaque.
const RULES_A_SCHEMA_CANNOT_STATE: &[(&str, &str)] = &[
    ("deployment_create", "type decides which fields apply; supported runtimes; one default queue"),
    ("deployment_update", "as deployment_create, and what an update may not change"),
    (
        "deploy_create",
        "type decides image_tag and dag_tarball_version; DAG_ONLY needs DAG deploys on",
    ),
    ("token_create", "workspace_id only for WORKSPACE_MEMBER; no token outlives its creator"),
    ("deployment_list", "page_token is opaque: only a token this server issued is valid"),
    ("token_list", "page_token is opaque: only a token this server issued is valid"),
    ("workspace_list", "page_token is opaque: only a token this server issued is valid"),
];

on_both_backends!(schemathesis_finds_no_server_error_and_no_nonconforming_response);

async fn schemathesis_finds_no_server_error_and_no_nonconforming_response(backend: Backend) {
    if !test_support::schemathesis::available("astro-api") {
        return;
    }
    let Some(stack) = Stack::on(backend).await else { return };
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
        // What the document allows must be taken, except where a rule
        // joining fields (listed in the body's description) or an opaque
        // page token decides.
        refusals: RULES_A_SCHEMA_CANNOT_STATE
            .iter()
            .map(|(operation, why)| (operation.to_string(), why.to_string()))
            .collect(),
        max_examples: EXAMPLES_PER_OPERATION as usize,
    };
    // The servers run on this test's runtime: wait without blocking it.
    let outcome =
        tokio::task::spawn_blocking(move || test_support::schemathesis::run(&run)).await.unwrap();
    let test_support::schemathesis::Outcome {
        cases,
        failures,
        errors,
        succeeded,
        stdout,
        successes,
        ..
    } = outcome;
    eprintln!(
        "schemathesis against astro-api ({backend:?}): {cases} cases, {failures} failures, \
         {errors} errors; 2xx per operation: {successes:?}"
    );
    assert!(succeeded && failures == 0 && errors == 0, "{stdout}");
    assert!(cases >= MINIMUM_CASES, "only {cases} cases generated:\n{stdout}");
    // Every operation's success path is reached (issue 38): a run whose
    // creates are all refused exercises only the 404s of what follows them.
    let unreached: Vec<&String> =
        successes.iter().filter(|(_, n)| **n == 0).map(|(operation, _)| operation).collect();
    assert!(unreached.is_empty(), "no 2xx answer for {unreached:?}: {successes:?}\n{stdout}");
}
