//! schemathesis (from PyPI) against a running Harmony, once per served API
//! version with that version's committed document and `api-version` header:
//! at least 1,000 generated cases per document, no server error, every
//! response conforming to the document of the version asked for, and every
//! request the document allows taken. What a document allows is its
//! schemas and the rules it lists (`x-rules`): the hook
//! `test-support/schemathesis/contract_hooks.py` brings each positive case
//! to meet those, from the facts this test gives it (the planes, their
//! owners and releases, a registered release). At the newest version
//! nothing on a body is excused; only opaque page tokens are, with why.
//! Released documents were frozen before they listed their rules, so at
//! those versions the operations with such rules are excused too, and
//! `generated_input` (valid specs from the declared rules) takes
//! schemathesis's place. On each store backend.
//!
//! `.ci/run` installs schemathesis and sets `REQUIRE_SCHEMATHESIS=1`, so CI
//! fails when it cannot run. Elsewhere, without the tool, the test says so
//! loudly and does nothing else (`pip install schemathesis` to run it).

use crate::common::{Backend, TestHarmony, document, on_both_backends};
use serde_json::{Value, json};

const MINIMUM_CASES: u64 = 1000;

/// The lists whose page tokens are opaque: what no document can state.
/// Excused at every version.
const PAGED: &[&str] = &["data_plane_list", "deployment_list", "rollout_data_plane_list"];

/// Operations whose rules a released document never listed (it was frozen
/// first): excused at those versions only.
const UNLISTED_BEFORE_4: &[(&str, &str)] = &[
    ("deployment_put", "kinds must match the data plane's, one default queue, min <= max, ..."),
    ("data_plane_put", "a HYBRID plane names its owner; kind, release and owner never change"),
    ("platform_release_put", "kubernetes_min <= kubernetes_max"),
    ("rollout_create", "to_release must be registered; data planes must be on from_release"),
    ("rollout_command", "no text holds a NUL (body_text_without_nul, declared from 4.0.0)"),
];

/// The release the test registers for rollouts to move to.
const REGISTERED: &str = "2026.12.0";

on_both_backends!(schemathesis_finds_no_server_error_at_any_served_version);

async fn schemathesis_finds_no_server_error_at_any_served_version(backend: Backend) {
    if !test_support::schemathesis::available("Harmony") {
        return;
    }
    let Some(h) = TestHarmony::on_with(backend, |c| c.dev_seed = true) else { return };
    // No older binary shares a test's database: every format is written
    // (a 4.0.0 spec's contact emails wait for that).
    let h = h.contracted(|c| c.dev_seed = true).await;
    let release = harmony_client::v3::types::PlatformReleaseSpec {
        kubernetes_min: "1.29".into(),
        kubernetes_max: "1.33".into(),
        runtimes: vec![],
    };
    h.v3().platform_release_put(REGISTERED, &release).await.expect("registering a release");
    let facts = facts();
    let mut summary = Vec::new();
    for version in harmony_api::supported_versions().iter().map(|v| v.semver().clone()) {
        let doc = document(&version);
        let text: Value = serde_json::from_str(&std::fs::read_to_string(&doc).unwrap()).unwrap();
        let operations: usize =
            text["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
        let lists_rules = text["components"]["schemas"]
            .as_object()
            .unwrap()
            .values()
            .any(|schema| schema.get("x-rules").is_some());
        assert_eq!(
            lists_rules,
            version == harmony_api::latest_version(),
            "{version}: only the newest document lists its rules (released ones are frozen)"
        );
        let unlisted = match lists_rules {
            true => &[][..],
            false => UNLISTED_BEFORE_4,
        };
        let mut refusals = test_support::schemathesis::opaque_page_tokens(PAGED);
        refusals.extend(unlisted.iter().map(|(op, why)| (op.to_string(), why.to_string())));
        let run = test_support::schemathesis::Run {
            document: doc,
            url: h.url.clone(),
            headers: vec![
                format!("api-version: {version}"),
                format!("Authorization: Bearer {}", crate::common::SERVICE_TOKEN),
            ],
            // Known data planes, so the deployment operations get past "no
            // such data plane" sometimes; everything else is generated.
            parameters: vec![("data_plane_id".into(), "hybrid-example".into())],
            refusals,
            facts: facts.clone(),
            // Enough per operation that the document gets its 1,000 cases.
            max_examples: (MINIMUM_CASES as usize).div_ceil(operations) + 20,
        };
        let outcome = tokio::task::spawn_blocking(move || test_support::schemathesis::run(&run))
            .await
            .unwrap();
        let what = format!("Harmony {version}");
        outcome.assert_clean(&what, MINIMUM_CASES);
        // At the newest version every operation's success path is reached:
        // a run whose bodies were all refused would prove nothing.
        if lists_rules {
            outcome.assert_every_operation_succeeded(&what);
        }
        let (cases, failures, errors) = (outcome.cases, outcome.failures, outcome.errors);
        summary.push(format!("{version}: {cases} cases, {failures} failures, {errors} errors"));
    }
    eprintln!("schemathesis against Harmony ({backend:?}): {}", summary.join("; "));
}

/// The state the declared rules read, as the test set it up: the planes
/// the development seed registers (kind, owner, release) and the release
/// registered above.
fn facts() -> Value {
    let planes: serde_json::Map<String, Value> = harmony_server::dev_data_planes(
        &harmony_server::Config::new("127.0.0.1:0".parse().unwrap(), Default::default())
            .dev_organization,
    )
    .into_iter()
    .map(|(id, registration)| {
        let kind = serde_json::to_value(registration.kind).unwrap();
        let owner = registration.labels.get(harmony_server::app::OWNER_LABEL).cloned();
        let plane = json!({"kind": kind, "owner": owner, "release": registration.platform_release});
        (id.to_owned(), plane)
    })
    .collect();
    let releases: std::collections::BTreeSet<&str> =
        planes.values().map(|p| p["release"].as_str().unwrap()).collect();
    assert_eq!(releases.len(), 1, "the seeded planes start on one release");
    json!({
        "planes": planes,
        "planes_release": releases.first().unwrap(),
        "registered_releases": [REGISTERED],
        "owner_label": harmony_server::app::OWNER_LABEL,
    })
}
