//! The renderer's tests: golden files, determinism, escaping, and what each kind of object holds.

use super::*;
use harmony_api::latest::{EnvironmentVariable, HybridScheduler, WorkerQueue};

fn plane() -> DataPlane {
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    test_support::fixtures::typed(test_support::fixtures::data_plane("hybrid-1", "HYBRID", at))
}

fn spec() -> DeploymentSpec {
    DeploymentSpec {
        kind: DataPlaneKind::Hybrid,
        organization_id: "o".into(),
        workspace_id: "w".into(),
        data_plane_id: "hybrid-1".into(),
        name: "etl".into(),
        runtime_version: "13.1.0".into(),
        executor: Executor::Celery,
        scheduler_size: None,
        scheduler: Some(HybridScheduler { au: 5, replicas: 1 }),
        is_high_availability: false,
        worker_queues: vec![WorkerQueue {
            name: "a-queue-name-that-is-sixty-three-characters-long-xxxxxxxxxxxxxx".into(),
            is_default: true,
            min_worker_count: 1,
            max_worker_count: 2,
            worker_concurrency: 4,
            astro_machine: None,
            node_pool_id: Some("pool".into()),
        }],
        environment_variables: vec![EnvironmentVariable {
            key: "TOKEN".into(),
            value: Some("do-not-leak".into()),
            is_secret: true,
        }],
        image_tag: "v1".into(),
        dag_bundle_version: None,
        generation: 1,
        contact_emails: None,
    }
}

/// The render's input hash is a stored value: every deployment's row
/// holds one, and a change to it re-renders every deployment of the
/// fleet at the next write. It is computed over the store's own spec
/// type, so a new API version does not move it; this pins its value.
#[test]
fn the_input_hash_does_not_move() {
    let id = Uuid::from_u128(0x1234);
    let hash = input_hash(&SecretKey::development(), id, &spec(), &plane());
    assert_eq!(hash, "3de66ae646e5356075d3d76b57c13dbc01eca64170340256ad248747eb9972da");
    let hosted = DeploymentSpec {
        kind: DataPlaneKind::Hosted,
        scheduler: None,
        scheduler_size: Some(harmony_api::latest::SchedulerSize::Medium),
        dag_bundle_version: Some("b-1".into()),
        ..spec()
    };
    assert_eq!(
        input_hash(&SecretKey::development(), id, &hosted, &plane()),
        "bf745a66d0715a9cae82470f92c8a368b6ce83995ccfb33d6aa28859d2cfe526"
    );
}

/// Contact emails (4.0.0) move the input only when there are some, so the
/// fleet's hashes stay where they were; they render as the Namespace's
/// annotation and nowhere else.
#[test]
fn contact_emails_render_on_the_namespace_only() {
    let id = Uuid::from_u128(0x1234);
    let key = SecretKey::development();
    let none = input_hash(&key, id, &spec(), &plane());
    let empty = DeploymentSpec { contact_emails: Some(Vec::new()), ..spec() };
    assert_eq!(input_hash(&key, id, &empty, &plane()), none);
    let emails = vec!["oncall@example.com".to_owned(), "team+x@corp.example.org".to_owned()];
    let with = DeploymentSpec { contact_emails: Some(emails), ..spec() };
    assert_ne!(input_hash(&key, id, &with, &plane()), none);
    let rendered = render(&key, id, &with, &plane());
    let mut annotated = Vec::new();
    for object in &rendered.objects {
        let value = object.value();
        if let Some(text) = value["metadata"]["annotations"][CONTACT_EMAILS_ANNOTATION].as_str() {
            annotated.push((object.meta.kind.clone(), text.to_owned()));
        }
    }
    assert_eq!(
        annotated,
        vec![("Namespace".to_owned(), "oncall@example.com,team+x@corp.example.org".to_owned())]
    );
    let plain = render(&key, id, &spec(), &plane());
    assert!(
        plain
            .objects
            .iter()
            .all(|o| o.value()["metadata"]["annotations"].get(CONTACT_EMAILS_ANNOTATION).is_none())
    );
}

/// `airflow.cfg` read by Python's `configparser` (what Airflow reads it
/// with, interpolation on) for a bundle version of arbitrary text: the
/// sections and keys are always exactly the rendered ones, and a
/// version the grammar admits reads back as itself. Skipped, loudly,
/// without python3.
#[test]
fn airflow_cfg_holds_its_structure_for_arbitrary_values() {
    use proptest::strategy::{Strategy as _, ValueTree as _};
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let hostile = proptest::collection::vec(
        proptest::sample::select(vec![
            '\n', '\r', '\u{b}', '\u{c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}',
            '\u{2029}', '%', '[', ']', '=', ':', ';', '#', ' ', 'a', '\u{feff}', '\u{0}',
        ]),
        0..16,
    )
    .prop_map(|chars| chars.into_iter().collect::<String>());
    let mut versions: Vec<String> = vec!["2026-12-02T01:02:03Z".into(), "sha256:ab+1".into()];
    for _ in 0..200 {
        versions
            .push(proptest::arbitrary::any::<String>().new_tree(&mut runner).unwrap().current());
        versions.push(hostile.new_tree(&mut runner).unwrap().current());
    }
    let files: Vec<String> = versions
        .iter()
        .map(|v| {
            airflow_cfg(&DeploymentSpec { dag_bundle_version: Some(v.clone()), ..spec() }, "ns")
        })
        .collect();
    let script = "import sys, json, configparser\n\
        out = []\n\
        for text in json.load(sys.stdin):\n\
        \x20   p = configparser.ConfigParser()\n\
        \x20   p.read_string(text)\n\
        \x20   out.append({s: {k: p.get(s, k) for k in p[s]} for s in p.sections()})\n\
        print(json.dumps(out))\n";
    let Ok(mut child) = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        test_support::skip("REQUIRE_PYTHON", "no python3: the airflow.cfg round trip");
        return;
    };
    use std::io::Write as _;
    let input = serde_json::to_vec(&files).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let read: Vec<serde_json::Map<String, Value>> = serde_json::from_slice(&out.stdout).unwrap();
    let sections = ["celery", "core", "dag_processor", "scheduler"]; // sorted, as read
    for (version, cfg) in versions.iter().zip(&read) {
        assert_eq!(cfg.keys().collect::<Vec<_>>(), sections, "{version:?}");
        let bundle = cfg["dag_processor"].as_object().unwrap();
        assert_eq!(bundle.keys().collect::<Vec<_>>(), ["bundle_version"], "{version:?}");
        if deployment_rules::bundle_version(version).is_ok() {
            assert_eq!(bundle["bundle_version"], *version.as_str());
        }
        assert_eq!(cfg["celery"]["default_queue"], spec().worker_queues[0].name.as_str());
    }
}

#[test]
fn rendering_is_deterministic_and_ignores_the_generation() {
    let id = Uuid::from_u128(7);
    let a = render(&SecretKey::development(), id, &spec(), &plane());
    let b = render(&SecretKey::development(), id, &spec(), &plane());
    assert_eq!(a.input_hash, b.input_hash);
    let bytes = |r: &Rendered| {
        r.objects.iter().map(|o| o.body.get().to_owned()).collect::<Vec<_>>().concat()
    };
    assert_eq!(bytes(&a), bytes(&b));
    let mut later = spec();
    later.generation = 9;
    assert_eq!(render(&SecretKey::development(), id, &later, &plane()).input_hash, a.input_hash);
    let mut changed = spec();
    changed.image_tag = "v2".into();
    assert_ne!(render(&SecretKey::development(), id, &changed, &plane()).input_hash, a.input_hash);
}

/// Issue 38: a key the platform sets, sent by a client older than
/// 4.0.0 or stored before the rule, is not rendered over the
/// platform's value, as a plain variable or as a secret.
#[test]
fn a_platform_key_from_a_user_is_never_rendered() {
    let mut with_keys = spec();
    for (i, key) in deployment_rules::rule::PLATFORM_ENVIRONMENT_KEYS.iter().enumerate() {
        with_keys.environment_variables.push(EnvironmentVariable {
            key: (*key).into(),
            value: Some(format!("users-own-{i}")),
            is_secret: i % 2 == 0,
        });
    }
    let rendered = render(&SecretKey::development(), Uuid::from_u128(7), &with_keys, &plane());
    let mut platform_keys_seen = 0;
    for object in &rendered.objects {
        let text = object.body.get();
        assert!(!text.contains("users-own-"), "{} {}: {text}", object.meta.kind, object.meta.name);
        for key in deployment_rules::rule::PLATFORM_ENVIRONMENT_KEYS {
            platform_keys_seen += text.matches(&format!("\"name\":\"{key}\"")).count();
        }
    }
    let plain = render(&SecretKey::development(), Uuid::from_u128(7), &spec(), &plane());
    let mut platform_keys_plain = 0;
    for object in &plain.objects {
        for key in deployment_rules::rule::PLATFORM_ENVIRONMENT_KEYS {
            platform_keys_plain +=
                object.body.get().matches(&format!("\"name\":\"{key}\"")).count();
        }
    }
    assert!(platform_keys_plain > 0);
    assert_eq!(platform_keys_seen, platform_keys_plain, "each platform key once per container");
}

#[test]
fn secrets_live_only_in_the_secret_object() {
    let rendered = render(&SecretKey::development(), Uuid::from_u128(7), &spec(), &plane());
    for object in &rendered.objects {
        let text = object.body.get();
        if text.contains("do-not-leak") {
            assert_eq!(object.meta.kind, "Secret", "{text}");
            assert_eq!(object.meta.name, ENV_SECRET);
        }
    }
}

#[test]
fn label_values_fit_kubernetes_limits() {
    let rendered = render(&SecretKey::development(), Uuid::from_u128(7), &spec(), &plane());
    for object in &rendered.objects {
        assert!(object.meta.name.len() <= 253);
        if let Some(labels) =
            object.value().pointer("/metadata/labels").and_then(Value::as_object).cloned()
        {
            for value in labels.values() {
                assert!(value.as_str().unwrap().len() <= 63, "{value}");
            }
        }
    }
}
