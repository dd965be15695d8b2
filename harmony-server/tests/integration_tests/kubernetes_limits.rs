//! Values Kubernetes can hold (issue 34): worker counts of up to 2^32-1
//! were taken and rendered as `replicas: 4294967295` (an int32 field), and
//! a parallelism of 10^12. Now every number that reaches a manifest is
//! bounded by the field it lands in (`deployment_rules`: int32 worker
//! counts and concurrency, Airflow's parallelism at most 2^31-1). Specs at
//! every limit, at the largest combination of limits the rules allow, and
//! seeded random ones within them, are each taken by a real Harmony and
//! rendered; every object is then checked against the Kubernetes schemas
//! that kubernetes-validate ships, with their integer formats (`int32`,
//! `int64`) enforced, which kubernetes-validate itself does not do.

use crate::common::*;
use deployment_rules::{
    MAX_ENVIRONMENT_BYTES, MAX_ENVIRONMENT_VALUE, MAX_PARALLELISM, MAX_WORKER_COUNT_MAX,
    MIN_WORKER_COUNT_MAX, WORKER_CONCURRENCY_MAX,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{Value, json};

/// Kubernetes minor versions the manifests must validate against.
const KUBERNETES_VERSIONS: &[&str] = &["1.30.0", "1.33.0"];

/// The Kubernetes schemas of kubernetes-validate (strict: no unknown
/// fields), with integer formats checked; prints one line per problem.
const CHECK: &str = r#"
import sys, json, re, jsonschema
from referencing import Registry, Resource
from kubernetes_validate import utils
formats = jsonschema.FormatChecker()
@formats.checks("int32")
def int32(v):
    return not isinstance(v, int) or -2**31 <= v < 2**31
@formats.checks("int64")
def int64(v):
    return not isinstance(v, int) or -2**63 <= v < 2**63
validators, checked = {}, 0
def validator(version, kind, api):
    d = 'v%s-local-strict' % version
    if (d, kind, api) not in validators:
        schema = utils.schema_contents('kubernetes-json-schema/%s/%s-%s.json' % (d, kind, api), version)
        defs = utils.schema_contents('kubernetes-json-schema/%s/_definitions.json' % d, version)
        registry = Resource.from_contents(defs) @ (Resource.from_contents(schema) @ Registry())
        validators[(d, kind, api)] = jsonschema.validators.Draft202012Validator(
            schema, registry=registry, format_checker=formats)
    return validators[(d, kind, api)]
for path in sys.argv[2:]:
    for doc in json.load(open(path)):
        api = re.sub(r'^([^./]*)(?:\.[^/]*)?/', r'\1-', doc['apiVersion'])
        for version in sys.argv[1].split(','):
            for e in validator(version, doc['kind'].lower(), api).iter_errors(doc):
                print("%s %s %s/%s: %s at %s" % (version, path, doc['kind'], doc['metadata']['name'],
                                                 e.message, "/".join(map(str, e.absolute_path))))
            checked += 1
print("checked", checked)
"#;

/// A queue: (min_worker_count, max_worker_count, worker_concurrency).
type Queue = (u64, u64, u64);

/// A spec (2.0.0's JSON) of `kind` on this test's planes with `queues`,
/// every other setting at its largest, and its variables filling their
/// allowance when `full`.
fn spec(kind: &str, queues: &[Queue], full: bool) -> Value {
    let mut spec = match kind {
        "HYBRID" => test_support::fixtures::hybrid_spec("hybrid-1", 1),
        _ => test_support::fixtures::hosted_spec("hosted-1", 1),
    };
    let first = spec["worker_queues"][0].clone();
    spec["worker_queues"] = queues
        .iter()
        .enumerate()
        .map(|(i, (min, max, concurrency))| {
            let mut q = first.clone();
            if i > 0 {
                q["name"] = json!(format!("queue-{i}"));
                q["is_default"] = json!(false);
            }
            q["min_worker_count"] = json!(min);
            q["max_worker_count"] = json!(max);
            q["worker_concurrency"] = json!(concurrency);
            q
        })
        .collect();
    spec["name"] = json!("n".repeat(deployment_rules::NAME_MAX as usize));
    if kind == "HYBRID" {
        spec["scheduler"] = json!({"au": deployment_rules::SCHEDULER_AU_MAX,
                                   "replicas": deployment_rules::SCHEDULER_REPLICAS_MAX});
    } else {
        spec["scheduler_size"] = json!("EXTRA_LARGE");
        spec["is_high_availability"] = json!(true);
    }
    if full {
        let each = MAX_ENVIRONMENT_VALUE - 16;
        let count = MAX_ENVIRONMENT_BYTES / MAX_ENVIRONMENT_VALUE;
        spec["environment_variables"] = (0..count)
            .map(|i| json!({"key": format!("FILL_{i}"), "value": "x".repeat(each), "is_secret": i == 0}))
            .collect();
    }
    spec
}

/// Specs at every limit, and at the largest combination the rules allow.
fn at_the_limits() -> Vec<(String, Value)> {
    let most = deployment_rules::MAX_WORKER_QUEUES as u64;
    let mut specs = Vec::new();
    for kind in ["HYBRID", "HOSTED"] {
        for (what, queues, full) in [
            (
                "worker counts at their bounds",
                vec![(MIN_WORKER_COUNT_MAX, MAX_WORKER_COUNT_MAX, 1)],
                false,
            ),
            ("concurrency at its bound", vec![(1, 1, WORKER_CONCURRENCY_MAX)], false),
            (
                "parallelism at its limit over every queue",
                (0..most)
                    .map(|_| {
                        let share = MAX_PARALLELISM / most;
                        (share, share, 1)
                    })
                    .collect(),
                false,
            ),
            (
                "every limit at once",
                (0..most)
                    .map(|i| {
                        let share = MAX_PARALLELISM / most;
                        if i == 0 { (share, share, 1) } else { (share / 2, share / 2, 2) }
                    })
                    .collect(),
                true,
            ),
        ] {
            specs.push((format!("{kind}: {what}"), spec(kind, &queues, full)));
        }
    }
    specs
}

/// Seeded random specs within the rules: up to every queue, worker counts
/// and concurrency anywhere in their ranges as long as Airflow's
/// parallelism stays within its own.
fn random(cases: u32) -> Vec<(String, Value)> {
    let queues = (1..=deployment_rules::MAX_WORKER_QUEUES).prop_flat_map(|n| {
        let share = MAX_PARALLELISM / n as u64;
        proptest::collection::vec(
            (1..=share).prop_flat_map(move |max| (0..=max, Just(max), 1..=(share / max).max(1))),
            n,
        )
    });
    let strategy = (prop_oneof![Just("HYBRID"), Just("HOSTED")], queues, any::<bool>());
    let config = proptest::test_runner::Config { cases, ..Default::default() };
    let rng = proptest::test_runner::TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = proptest::test_runner::TestRunner::new_with_rng(config, rng);
    (0..cases)
        .map(|i| {
            let (kind, queues, full) = strategy.new_tree(&mut runner).unwrap().current();
            (format!("random {i}"), spec(kind, &queues, full))
        })
        .collect()
}

/// Whether kubernetes-validate is installed (its schemas are what this
/// checks against); without it the test skips loudly, and fails under
/// `REQUIRE_KUBERNETES_VALIDATE` (CI).
fn validator() -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", "import kubernetes_validate, jsonschema, referencing"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        test_support::skip(
            "REQUIRE_KUBERNETES_VALIDATE",
            "python3 cannot import kubernetes_validate (pip install kubernetes-validate): \
             Kubernetes value ranges are not checked",
        );
    }
    found
}

#[tokio::test]
async fn every_limit_renders_values_kubernetes_can_hold() {
    if !validator() {
        return;
    }
    let h = TestHarmony::start();
    two_planes(&h).await;
    let key = harmony_server::render::SecretKey::development();
    let work = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut specs = at_the_limits();
    specs.extend(random(48));
    for (n, (what, spec)) in specs.into_iter().enumerate() {
        let id = id();
        let typed: harmony_client::v2::types::DeploymentSpec =
            test_support::fixtures::typed(spec.clone());
        h.v2()
            .deployment_put(&id, &typed)
            .await
            .unwrap_or_else(|e| panic!("{what}: Harmony refused what its rules allow: {e:?}"));
        let plane_id = spec["data_plane_id"].as_str().unwrap();
        let plane = h.v2().data_plane_get(plane_id).await.unwrap().into_inner();
        let plane: harmony_api::latest::DataPlane =
            test_support::fixtures::typed(serde_json::to_value(plane).unwrap());
        let latest: harmony_api::latest::DeploymentSpec = test_support::fixtures::typed(spec);
        let set = harmony_server::render::render(&key, id, &latest, &plane);
        let bodies: Vec<Value> = set.objects.iter().map(|o| o.value()).collect();
        let path = work.path().join(format!("{n}.json"));
        std::fs::write(&path, serde_json::to_vec(&bodies).unwrap()).unwrap();
        files.push(path);
    }
    let output = std::process::Command::new("python3")
        .args(["-c", CHECK, &KUBERNETES_VERSIONS.join(",")])
        .args(&files)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}{}", String::from_utf8_lossy(&output.stderr));
    let problems: Vec<&str> = report.lines().filter(|l| !l.starts_with("checked")).collect();
    assert!(problems.is_empty(), "Kubernetes cannot hold: {problems:#?}");
    let checked: usize =
        report.lines().find_map(|l| l.strip_prefix("checked ")?.parse().ok()).unwrap_or(0);
    assert!(checked > 2_000, "only {checked} objects checked");
}
