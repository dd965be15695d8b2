//! Golden manifests: a handful of representative deployments rendered to
//! YAML and JSON, compared byte for byte with `tests/golden/`, and validated
//! with kubernetes-validate (PyPI) against two Kubernetes minor versions.
//!
//! After an intended change to the templates:
//! `UPDATE_GOLDEN=1 cargo test -p harmony-server golden`, and review the diff.
//! `.ci/run` installs kubernetes-validate and sets
//! `REQUIRE_KUBERNETES_VALIDATE=1`; elsewhere, without it, the validation
//! says loudly that it was skipped.

use harmony_api::latest::{
    AstroMachine, DataPlane, DataPlaneKind, DeploymentSpec, EnvironmentVariable, Executor,
    HybridScheduler, SchedulerSize, WorkerQueue,
};
use harmony_server::render::{self, SecretKey};
use std::path::{Path, PathBuf};
use std::process::Command;
use uuid::Uuid;

/// Kubernetes minor versions the manifests must validate against.
const KUBERNETES_VERSIONS: &[&str] = &["1.30.0", "1.33.0"];

fn plane(kind: DataPlaneKind) -> DataPlane {
    let at = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap();
    let kind = serde_json::to_value(kind).unwrap();
    let plane = test_support::fixtures::data_plane("plane-1", kind.as_str().unwrap(), at);
    test_support::fixtures::typed(plane)
}

fn queue(
    name: &str,
    default: bool,
    machine: Option<AstroMachine>,
    pool: Option<&str>,
) -> WorkerQueue {
    WorkerQueue {
        name: name.into(),
        is_default: default,
        min_worker_count: 1,
        max_worker_count: 10,
        worker_concurrency: 16,
        astro_machine: machine,
        node_pool_id: pool.map(str::to_owned),
    }
}

fn base(kind: DataPlaneKind, executor: Executor) -> DeploymentSpec {
    DeploymentSpec {
        kind,
        organization_id: "org-1".into(),
        workspace_id: "ws-1".into(),
        data_plane_id: "plane-1".into(),
        name: "etl".into(),
        runtime_version: "13.1.0".into(),
        executor,
        scheduler_size: None,
        scheduler: None,
        is_high_availability: false,
        worker_queues: Vec::new(),
        environment_variables: vec![
            EnvironmentVariable {
                key: "MODE".into(),
                value: Some("batch".into()),
                is_secret: false,
            },
            EnvironmentVariable {
                key: "WAREHOUSE_PASSWORD".into(),
                value: Some("golden-secret".into()),
                is_secret: true,
            },
        ],
        image_tag: "13.1.0-1".into(),
        dag_bundle_version: Some("bundle-42".into()),
        generation: 1,
        // None: the golden sets are what every version renders.
        contact_emails: None,
    }
}

/// The representative deployments: name, spec, data plane kind.
fn cases() -> Vec<(&'static str, DeploymentSpec, DataPlaneKind)> {
    let hosted = DataPlaneKind::Hosted;
    let hybrid = DataPlaneKind::Hybrid;
    let standard = DeploymentSpec {
        scheduler_size: Some(SchedulerSize::Small),
        worker_queues: vec![queue("default", true, Some(AstroMachine::A5), None)],
        ..base(hosted, Executor::Celery)
    };
    let ha = DeploymentSpec {
        scheduler_size: Some(SchedulerSize::Large),
        is_high_availability: true,
        worker_queues: vec![
            queue("default", true, Some(AstroMachine::A10), None),
            queue("heavy", false, Some(AstroMachine::A40), None),
        ],
        ..base(hosted, Executor::Astro)
    };
    let hybrid_celery = DeploymentSpec {
        scheduler: Some(HybridScheduler { au: 10, replicas: 1 }),
        worker_queues: vec![
            queue("default", true, None, Some("pool-general")),
            queue("gpu", false, None, Some("pool-gpu")),
        ],
        ..base(hybrid, Executor::Celery)
    };
    let hybrid_kubernetes = DeploymentSpec {
        scheduler: Some(HybridScheduler { au: 24, replicas: 2 }),
        worker_queues: vec![queue("default", true, None, Some("pool-general"))],
        ..base(hybrid, Executor::Kubernetes)
    };
    vec![
        ("hosted-standard-celery", standard, hosted),
        ("hosted-ha-astro-two-queues", ha, hosted),
        ("hybrid-celery-node-pools", hybrid_celery, hybrid),
        ("hybrid-kubernetes-executor", hybrid_kubernetes, hybrid),
    ]
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Renders every case; returns (file name, content).
fn rendered() -> Vec<(String, String)> {
    let key = SecretKey::development();
    let mut files = Vec::new();
    for (i, (name, spec, kind)) in cases().into_iter().enumerate() {
        let id = Uuid::from_u128(0x90_1de0 + i as u128);
        let set = render::render(&key, id, &spec, &plane(kind));
        files.push((format!("{name}.yaml"), render::yaml(&set.objects)));
        let bodies: Vec<_> = set.objects.iter().map(|o| o.value()).collect();
        files.push((format!("{name}.json"), serde_json::to_string_pretty(&bodies).unwrap() + "\n"));
    }
    files
}

#[test]
fn golden_manifests_are_byte_for_byte_what_is_committed() {
    let dir = golden_dir();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let files = rendered();
    assert_eq!(files, rendered(), "rendering is deterministic");
    let mut stale = Vec::new();
    for (name, content) in &files {
        let path = dir.join(name);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, content).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(content) {
            stale.push(name.clone());
        }
    }
    assert!(
        stale.is_empty(),
        "rendered manifests differ from {} for {stale:?}; if the change is intended, run \
         `UPDATE_GOLDEN=1 cargo test -p harmony-server golden` and review the diff",
        dir.display()
    );
}

#[test]
fn golden_manifests_validate_against_two_kubernetes_versions() {
    let found = Command::new("kubernetes-validate")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        test_support::skip(
            "REQUIRE_KUBERNETES_VALIDATE",
            "`kubernetes-validate` is not on PATH (pip install kubernetes-validate): manifest \
             validation",
        );
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (name, content) in rendered() {
        if name.ends_with(".yaml") {
            let path = work.path().join(&name);
            std::fs::write(&path, content).unwrap();
            paths.push(path);
        }
    }
    for version in KUBERNETES_VERSIONS {
        let output = Command::new("kubernetes-validate")
            .args(["--strict", "--no-warn", "-k", version])
            .args(&paths)
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "Kubernetes {version} refuses rendered manifests:\n{report}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let valid =
            report.lines().filter(|l| l.starts_with("INFO") && l.contains("passed")).count();
        eprintln!("kubernetes-validate {version}: {valid} objects valid");
        assert!(valid > 60, "kubernetes-validate checked too little:\n{report}");
    }
}

/// The committed YAML, read by PyYAML (a YAML 1.1 parser, as kubectl's and
/// most tools' are), is exactly the committed JSON: no string of a
/// manifest reads as anything else. Needs python3 with PyYAML, which
/// kubernetes-validate brings (so it runs where that runs).
#[test]
fn golden_yaml_reads_back_as_the_json_with_pyyaml() {
    let script = "import sys, json, yaml\n\
        for name in sys.argv[1:]:\n\
        \x20   docs = list(yaml.safe_load_all(open(name + '.yaml', encoding='utf-8')))\n\
        \x20   want = json.load(open(name + '.json', encoding='utf-8'))\n\
        \x20   assert docs == want, name\n\
        \x20   print(name, len(docs))\n";
    let names: Vec<String> = cases()
        .into_iter()
        .map(|(name, _, _)| golden_dir().join(name).display().to_string())
        .collect();
    let output = match Command::new("python3").arg("-c").arg(script).args(&names).output() {
        Ok(output) => output,
        Err(e) => {
            let what = format!("python3 cannot run ({e}): the PyYAML reading of the golden YAML");
            test_support::skip("REQUIRE_PYTHON", &what);
            return;
        }
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("No module named 'yaml'") {
        test_support::skip("REQUIRE_PYTHON", "python3 has no PyYAML: the golden YAML's reading");
        return;
    }
    assert!(output.status.success(), "PyYAML reads the golden YAML differently: {stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), names.len());
}
