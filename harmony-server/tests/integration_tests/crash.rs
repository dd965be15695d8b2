//! `kill -9` of a harmony-server process in the middle of a stream of
//! writes: every write it acknowledged is there after a restart, intact
//! (so nothing is acknowledged before its commit), with its manifest
//! revision (the deployment and its revision commit together). On SQLite
//! and on PostgreSQL.

use crate::common::{Backend, Place, hybrid_spec, on_both_backends};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use test_support::Process;
use uuid::Uuid;

/// Starts the harmony-server binary on an OS-chosen port; returns it and
/// its URL (read from what it prints once listening).
pub fn spawn(place: &Place, extra: &[&str]) -> (Process, String) {
    let (child, url, _) = spawn_with_agents(place, extra);
    (child, url)
}

/// [`spawn`], also returning the agent API's URL.
pub fn spawn_with_agents(place: &Place, extra: &[&str]) -> (Process, String, String) {
    let mut child = Process::spawn(
        Command::new(env!("CARGO_BIN_EXE_harmony-server"))
            .args(["--dev-seed", "--dev-organization", "org-1"])
            .args(["--bind", "127.0.0.1:0", "--agent-bind", "127.0.0.1:0"])
            .args(place.args())
            .args(extra)
            .stdout(Stdio::piped()),
        &place.dir.path().join("harmony-server.log"),
    );
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let mut urls = line
        .split(|c: char| c.is_whitespace() || c == ')')
        .filter(|w| w.starts_with("http://"))
        .map(str::to_owned);
    let (url, agents) = (urls.next(), urls.next());
    match (url, agents) {
        (Some(url), Some(agents)) => (child, url, agents),
        _ => panic!("no addresses in {line:?}"),
    }
}

on_both_backends!(every_acknowledged_write_survives_kill_9);

async fn every_acknowledged_write_survives_kill_9(backend: Backend) {
    let Some(place) = Place::new(backend) else { return };
    let (mut child, url) = spawn(&place, &[]);
    let acked: Arc<Mutex<Vec<(Uuid, u64)>>> = Arc::default();
    let mut writers = Vec::new();
    for worker in 0..8 {
        let (url, acked) = (url.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            let client = harmony_client::v2::Client::new(&url);
            let id = Uuid::new_v4();
            // Each writer moves one deployment through generations, so a
            // lost write would show as an older generation.
            for generation in 1.. {
                let mut spec = hybrid_spec("hybrid-example", generation);
                spec.image_tag = format!("w{worker}-g{generation}");
                match client.deployment_put(&id, &spec).await {
                    Ok(_) => acked.lock().unwrap().push((id, generation)),
                    Err(_) => return,
                }
            }
        }));
    }
    // Killed once enough writes were acknowledged (not after a fixed time:
    // how many fit in a second depends on the machine's load), while the
    // writers are still going.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while acked.lock().unwrap().len() <= 50 {
        assert!(std::time::Instant::now() < deadline, "writes stopped being acknowledged");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 50, "only {} writes acknowledged before the kill", acked.len());

    let (mut child, url) = spawn(&place, &[]);
    let client = harmony_client::v2::Client::new(&url);
    let mut newest: std::collections::BTreeMap<Uuid, u64> = Default::default();
    for (id, generation) in &acked {
        let entry = newest.entry(*id).or_default();
        *entry = (*entry).max(*generation);
    }
    for (id, generation) in &newest {
        let stored = client.deployment_get(id).await.unwrap().into_inner();
        assert!(
            stored.generation >= *generation,
            "{id}: generation {generation} was acknowledged, {} is stored",
            stored.generation
        );
        let manifests = client.deployment_manifests_get(id, None).await.unwrap().into_inner();
        assert_eq!(manifests.revision, stored.revision, "{id}: its manifest revision is there");
    }
    eprintln!(
        "kill -9 ({backend:?}): {} writes acknowledged over {} deployments, all present after \
         restart",
        acked.len(),
        newest.len()
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
