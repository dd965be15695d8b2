//! Data-plane agents across versions: this checkout's agent (the changes
//! protocol, agent API 2.0.0, negotiating down to the whole state) and the
//! base's agent binary (the whole state, 1.0.0), each against a Harmony of
//! the other version.

use super::{Process, supports};
use harmony_agent::{Agent, ApplyDir, Round};
use std::path::Path;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// This checkout's agent for a data plane, applying into `dir`.
pub fn new_agent(agents_url: &str, credential: &str, dir: &Path) -> Agent {
    Agent::new(agents_url, credential, ApplyDir::new(dir)).expect("the agent starts")
}

/// Whether the agent API at `agents_url` serves 2.0.0 (the changes
/// protocol): a Harmony that predates it refuses the version.
pub async fn serves_changes(agents_url: &str, credential: &str) -> bool {
    let response = reqwest::Client::new()
        .get(format!("{agents_url}/changes"))
        .header("api-version", "2.0.0")
        .header("authorization", format!("Bearer {credential}"))
        .send()
        .await
        .expect("the agent API answers");
    response.status().is_success()
}

/// Rounds until the agent has nothing new (at most 20).
pub async fn converge(agent: &Agent, who: &str) {
    for _ in 0..20 {
        match agent.round(0).await {
            Ok(Round::Unchanged(_)) => return,
            Ok(Round::Applied(_)) => {}
            Err(e) => panic!("{who}: {e:#}"),
        }
    }
    panic!("{who}: still applying after 20 rounds");
}

/// The tree in `dir` holds every acknowledged deployment at its revision
/// and nothing else: per deployment on the changes protocol, in the whole
/// state's repeated reports otherwise. `changes`: the protocol the agent
/// must have spoken (`None`: whichever the Harmony serves; a base that
/// predates agent API 2.0.0 gets the whole state, a base of this very
/// commit the changes protocol).
pub fn holds(
    dir: &Path,
    acknowledged: &super::replicas::Acknowledged,
    changes: Option<bool>,
    who: &str,
) {
    let apply = ApplyDir::new(dir);
    let spoke_changes = apply.keeps_changes();
    if let Some(changes) = changes {
        assert_eq!(spoke_changes, changes, "{who}: which protocol the tree was kept by");
    }
    eprintln!(
        "{who}: spoke the {} protocol",
        if spoke_changes { "changes (2.0.0)" } else { "whole-state (1.0.0)" }
    );
    let applied: std::collections::BTreeMap<Uuid, u64> = if spoke_changes {
        apply.applied_deployments()
    } else {
        let reports = apply.reports().unwrap_or_else(|| panic!("{who}: no reports stored"));
        reports.iter().map(|r| (r.deployment_id, r.manifest_revision)).collect()
    };
    let expected: std::collections::BTreeMap<Uuid, u64> =
        acknowledged.iter().map(|(id, ack)| (*id, ack.revision)).collect();
    assert_eq!(applied, expected, "{who}: what the agent applied");
}

/// The base's agent binary against `agents_url` (this checkout's
/// `harmony`) until it has applied every acknowledged deployment at its
/// revision: Harmony's last report on each is this agent's, and the tree
/// has a directory for each. Skipped, loudly, when the base has no agent binary.
pub async fn base_agent_against(
    agents_url: &str,
    harmony: &harmony_server::app::HarmonyApp,
    credential: &str,
    acknowledged: &super::replicas::Acknowledged,
) {
    let Ok(binary) = std::env::var("SKEW_BASE_AGENT") else {
        test_support::skip(
            "REQUIRE_BASE_AGENT",
            "the base has no harmony-agent binary to run against this Harmony",
        );
        return;
    };
    if !supports(&binary, "--apply-dir") {
        panic!("{binary} takes no --apply-dir");
    }
    let dir = tempfile::tempdir().unwrap();
    let credential_file = dir.path().join("credential");
    std::fs::write(&credential_file, credential).unwrap();
    let apply = dir.path().join("tree");
    let _agent = Process(
        std::process::Command::new(&binary)
            .args(["--harmony", agents_url, "--poll-seconds", "1", "--apply-dir"])
            .arg(&apply)
            .arg("--credential-file")
            .arg(&credential_file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the base agent starts"),
    );
    let expected: std::collections::BTreeMap<Uuid, u64> =
        acknowledged.iter().map(|(id, ack)| (*id, ack.revision)).collect();
    let written = format!("written to {}", apply.display());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reported: std::collections::BTreeMap<Uuid, u64> = expected
            .keys()
            .filter_map(|id| {
                let status = harmony.deployment_status(*id).ok()?;
                // This agent's report, not another's.
                (status.message == Some(written.clone())).then_some(())?;
                Some((*id, status.reported_revision?))
            })
            .collect();
        let trees =
            expected.keys().all(|id| apply.join(format!("airflow-{}", id.simple())).is_dir());
        if reported == expected && trees {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the base agent against this Harmony: reported {reported:?}, not {expected:?} \
             (a directory for each: {trees})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
