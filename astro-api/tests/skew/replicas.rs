//! Replicas of two versions on one database: what a canary, and a
//! rollback of it, put on a shared store.
//!
//! For each service, the base's binary and this checkout's run as replicas
//! of one database (PostgreSQL when the base can use it, one SQLite file
//! otherwise), both serving: creates, updates, reads of what the other
//! wrote, agent polls, a rollout; then the base restarts on the migrated
//! database (a rollback) and this checkout's restarts after it (the roll
//! forward). No 5xx anywhere, every acknowledged change readable from both
//! with what was acknowledged, none applied twice.

use super::{Process, agents, free_addr, spawn, supports};
use harmony_client::{agent as agent_api, v2, v3};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Where both replicas keep their data.
struct Shared {
    dir: tempfile::TempDir,
    schema: Option<sql_store::testing::TestSchema>,
}

impl Shared {
    /// PostgreSQL when the base binary can use it (and a server answers),
    /// one SQLite file otherwise.
    fn for_base(base: &str) -> Shared {
        let schema = if supports(base, "--database-url") {
            sql_store::testing::TestSchema::create()
        } else {
            None
        };
        Shared { dir: tempfile::tempdir().unwrap(), schema }
    }

    fn describe(&self) -> &'static str {
        if self.schema.is_some() { "one PostgreSQL schema" } else { "one SQLite file" }
    }

    fn args(&self) -> Vec<String> {
        match &self.schema {
            Some(schema) => vec!["--database-url".into(), schema.url()],
            None => vec!["--data-dir".into(), self.dir.path().display().to_string()],
        }
    }

    fn apply_harmony(&self, config: &mut harmony_server::Config) {
        config.data_dir = self.dir.path().to_path_buf();
        config.database_url = self.schema.as_ref().map(|s| s.url());
    }
}

/// Requests made, per phase, and how many answered 5xx.
#[derive(Default)]
struct Tally {
    phases: BTreeMap<&'static str, (usize, usize)>,
}

impl Tally {
    fn count(&mut self, phase: &'static str, status: Option<u16>) {
        let entry = self.phases.entry(phase).or_default();
        entry.0 += 1;
        if status.is_some_and(|s| s >= 500) {
            entry.1 += 1;
        }
    }

    fn report(&self, what: &str) {
        let phases: Vec<String> = self
            .phases
            .iter()
            .map(|(phase, (n, errors))| format!("{phase}: {n} requests, {errors} 5xx"))
            .collect();
        eprintln!("{what}: {}", phases.join("; "));
    }
}

fn status_of<T>(result: &Result<T, harmony_client::Error<v2::types::Error>>) -> Option<u16> {
    match result {
        Ok(_) => Some(200),
        Err(e) => e.status().map(|s| s.as_u16()),
    }
}

/// A Hybrid deployment's spec at 2.0.0 (served by every Harmony the suite
/// meets), owned by org-1, on the example Hybrid data plane.
fn spec(generation: u64, concurrency: i64) -> v2::types::DeploymentSpec {
    let mut spec = test_support::fixtures::hybrid_spec("hybrid-example", generation);
    spec["name"] = json!(format!("mixed-{generation}-{concurrency}"));
    spec["worker_queues"][0]["worker_concurrency"] = json!(concurrency);
    test_support::fixtures::typed(spec)
}

/// A Harmony replica: the base's process, or this checkout's in process.
enum Replica {
    Base(#[allow(dead_code)] Process),
    Here(
        dropshot::HttpServer<harmony_server::http::Context>,
        dropshot::HttpServer<harmony_server::agent::Context>,
    ),
}

struct HarmonyReplica {
    replica: Replica,
    url: String,
    agents: String,
}

impl HarmonyReplica {
    /// The base's binary. The first start seeds the example data planes
    /// (`--dev-seed`), org-1's when the base takes `--dev-organization`.
    /// Such a base registers them only once, so it restarts seeded too
    /// (it would refuse to start without a service credential otherwise);
    /// an older one registers them again at every seeded start, moving
    /// them back to their first release, so it restarts unseeded on the
    /// same development key from a file.
    fn base(binary: &str, shared: &Shared, first: bool) -> HarmonyReplica {
        let [addr, agents] = test_support::free_addrs();
        let mut args = vec![
            "--bind".to_owned(),
            addr.to_string(),
            "--agent-bind".into(),
            agents.to_string(),
            "--rollout-tick-seconds".into(),
            "1".into(),
        ];
        let names_owner = supports(binary, "--dev-organization");
        if names_owner {
            args.extend(["--dev-organization".into(), "org-1".into()]);
        }
        if first || names_owner {
            args.push("--dev-seed".into());
        } else {
            let key = shared.dir.path().join("development.key");
            let hex: String =
                b"harmony-development-key-00000000".iter().map(|b| format!("{b:02x}")).collect();
            std::fs::write(&key, hex).unwrap();
            args.extend(["--secret-key-file".into(), key.display().to_string()]);
        }
        args.extend(shared.args());
        let process = spawn(binary, &args, addr);
        wait_listening(agents);
        HarmonyReplica {
            replica: Replica::Base(process),
            url: format!("http://{addr}"),
            agents: format!("http://{agents}"),
        }
    }

    async fn here(shared: &Shared) -> HarmonyReplica {
        let mut config = harmony_server::Config::new("127.0.0.1:0".parse().unwrap(), "".into());
        shared.apply_harmony(&mut config);
        config.dev_seed = true;
        config.dev_organization = "org-1".into();
        config.rollout_tick = Some(Duration::from_secs(1));
        let log = test_support::logger(slog::Level::Info);
        let server = harmony_server::start(&config, &log).expect("this checkout's Harmony starts");
        let agents = harmony_server::start_agent_api(
            "127.0.0.1:0".parse().unwrap(),
            &server.app_private().harmony,
            &log,
        )
        .unwrap();
        let url = format!("http://{}", server.local_addr());
        let agents_url = format!("http://{}", agents.local_addr());
        HarmonyReplica { replica: Replica::Here(server, agents), url, agents: agents_url }
    }

    async fn stop(self) {
        match self.replica {
            Replica::Base(process) => drop(process), // SIGKILL
            Replica::Here(server, agents) => {
                server.close().await.unwrap();
                agents.close().await.unwrap();
            }
        }
    }

    /// This checkout's application (only for this checkout's replica).
    fn app(&self) -> harmony_server::app::HarmonyApp {
        match &self.replica {
            Replica::Here(server, _) => server.app_private().harmony.clone(),
            Replica::Base(_) => panic!("the base replica runs in a process of its own"),
        }
    }

    fn v2(&self) -> v2::Client {
        v2::Client::new(&self.url)
    }
}

fn wait_listening(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        assert!(Instant::now() < deadline, "nothing listened on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What the suite had acknowledged of a deployment.
#[derive(Clone, Copy)]
pub struct Ack {
    generation: u64,
    concurrency: i64,
    /// Its latest manifest revision: one more per accepted change (a
    /// rollout's re-render adds its own, read back after the rollout).
    pub revision: u64,
}

pub type Acknowledged = BTreeMap<Uuid, Ack>;

/// Every acknowledged deployment, read through `h`: its generation and
/// worker concurrency as acknowledged, one manifest revision per accepted
/// change (none applied twice), its manifests readable.
async fn read_back(
    h: &HarmonyReplica,
    who: &str,
    acknowledged: &Acknowledged,
    tally: &mut Tally,
    phase: &'static str,
) {
    let v2 = h.v2();
    for (id, ack) in acknowledged {
        let (generation, concurrency) = (&ack.generation, &ack.concurrency);
        let got = v2.deployment_get(id).await;
        tally.count(phase, status_of(&got));
        let got = got.unwrap_or_else(|e| panic!("{phase}: {who} reading {id}: {e}")).into_inner();
        assert_eq!(got.generation, *generation, "{phase}: {who} reads {id}'s generation");
        assert_eq!(
            got.revision, ack.revision,
            "{phase}: {who}: one revision per accepted change of {id}"
        );
        assert_eq!(
            i64::from(got.worker_queues[0].worker_concurrency),
            *concurrency,
            "{phase}: {who} reads {id} as acknowledged"
        );
        let set = v2.deployment_manifests_get(id, None).await;
        tally.count(phase, status_of(&set));
        let set = set.unwrap_or_else(|e| panic!("{phase}: {who} reading {id}'s manifests: {e}"));
        assert_eq!(set.into_inner().generation, *generation);
    }
    let listed = v2.deployment_list(None, None).await;
    tally.count(phase, status_of(&listed));
    let listed = listed.unwrap_or_else(|e| panic!("{phase}: {who} listing: {e}")).into_inner();
    for id in acknowledged.keys() {
        assert!(listed.items.iter().any(|d| d.id == *id), "{phase}: {who} lists {id}");
    }
}

/// Creates a deployment through `h`, then changes it once.
async fn create_and_update(
    h: &HarmonyReplica,
    who: &str,
    acknowledged: &mut Acknowledged,
    tally: &mut Tally,
    phase: &'static str,
    n: i64,
) -> Uuid {
    let id = Uuid::new_v4();
    let v2 = h.v2();
    for generation in 1..=2 {
        let concurrency = 10 + n * 2 + generation as i64;
        let put = v2.deployment_put(&id, &spec_named(generation, concurrency, n)).await;
        tally.count(phase, status_of(&put));
        put.unwrap_or_else(|e| panic!("{phase}: {who} taking generation {generation}: {e}"));
        acknowledged.insert(id, Ack { generation, concurrency, revision: generation });
    }
    id
}

fn spec_named(generation: u64, concurrency: i64, n: i64) -> v2::types::DeploymentSpec {
    let mut spec = spec(generation, concurrency);
    spec.name = format!("mixed-{n}");
    spec
}

/// Changes a deployment another replica wrote.
async fn update(
    h: &HarmonyReplica,
    who: &str,
    id: Uuid,
    acknowledged: &mut Acknowledged,
    tally: &mut Tally,
    phase: &'static str,
) {
    let ack = acknowledged[&id];
    let (generation, concurrency) = (ack.generation, ack.concurrency);
    let current = h.v2().deployment_get(&id).await.unwrap().into_inner();
    let n: i64 = current.name.trim_start_matches("mixed-").parse().unwrap();
    let put = h.v2().deployment_put(&id, &spec_named(generation + 1, concurrency + 1, n)).await;
    tally.count(phase, status_of(&put));
    put.unwrap_or_else(|e| panic!("{phase}: {who} updating {id}: {e}"));
    acknowledged.insert(
        id,
        Ack {
            generation: generation + 1,
            concurrency: concurrency + 1,
            revision: ack.revision + 1,
        },
    );
}

/// The example Hybrid plane's agent polls `h`'s agent API: it sees every
/// acknowledged deployment at its latest revision.
async fn agent_poll(
    h: &HarmonyReplica,
    who: &str,
    credential: &str,
    acknowledged: &Acknowledged,
    tally: &mut Tally,
    phase: &'static str,
) {
    let agent = agent_client(h, credential);
    let state = agent.desired_state_get(None, None).await;
    tally.count(phase, state.as_ref().err().and_then(|e| e.status()).map(|s| s.as_u16()));
    let state =
        state.unwrap_or_else(|e| panic!("{phase}: the agent polling {who}: {e}")).into_inner();
    for (id, ack) in acknowledged {
        let desired = state.deployments.iter().find(|d| d.deployment_id == *id);
        let desired = desired.unwrap_or_else(|| panic!("{phase}: {who} gives the agent no {id}"));
        assert_eq!(desired.manifest_revision, ack.revision, "{phase}: {who}'s agent view of {id}");
    }
}

/// A data plane's agent applies its desired state and reports every
/// deployment healthy.
async fn agent_report(h: &HarmonyReplica, credential: &str) {
    let agent = agent_client(h, credential);
    let state = agent.desired_state_get(None, None).await.expect("desired state").into_inner();
    let report = agent_api::types::StatusReport {
        applied_revision: state.revision,
        agent_version: "skew".into(),
        deployments: state
            .deployments
            .iter()
            .map(|d| agent_api::types::DeploymentReport {
                deployment_id: d.deployment_id,
                manifest_revision: d.manifest_revision,
                health: agent_api::types::Health::Healthy,
                message: None,
            })
            .collect(),
        complete: false,
        observes: None,
    };
    agent.status_report(&report).await.expect("the report is taken");
}

fn agent_client(h: &HarmonyReplica, credential: &str) -> agent_api::Client {
    let http = reqwest::Client::builder()
        .default_headers(
            [(reqwest::header::AUTHORIZATION, format!("Bearer {credential}").parse().unwrap())]
                .into_iter()
                .collect(),
        )
        .build()
        .unwrap();
    agent_api::Client::new_with_client(&h.agents, http)
}

#[tokio::test]
async fn harmony_replicas_of_the_base_and_this_checkout_share_one_database() {
    let base_bin = super::base_binary("SKEW_BASE_HARMONY");
    let shared = Shared::for_base(&base_bin);
    let mut tally = Tally::default();
    let mut acknowledged = Acknowledged::new();

    // Before the upgrade: the base alone.
    let base = HarmonyReplica::base(&base_bin, &shared, true);
    let from_base =
        create_and_update(&base, "base", &mut acknowledged, &mut tally, "1 base alone", 0).await;

    // The canary: this checkout starts on the same database (migrating it),
    // and both serve, each reading and changing what the other wrote.
    let here = HarmonyReplica::here(&shared).await;
    let phase = "2 both serving";
    read_back(&here, "this checkout", &acknowledged, &mut tally, phase).await;
    let from_here =
        create_and_update(&here, "this checkout", &mut acknowledged, &mut tally, phase, 1).await;
    read_back(&base, "base", &acknowledged, &mut tally, phase).await;
    update(&base, "base", from_here, &mut acknowledged, &mut tally, phase).await;
    update(&here, "this checkout", from_base, &mut acknowledged, &mut tally, phase).await;
    for h in [&base, &here] {
        read_back(h, "either", &acknowledged, &mut tally, phase).await;
    }
    let mut config = harmony_server::Config::new("127.0.0.1:0".parse().unwrap(), "".into());
    shared.apply_harmony(&mut config);
    config.dev_seed = true;
    let credential = harmony_server::issue_agent_credential(&config, "hybrid-example").unwrap();
    let hosted = harmony_server::issue_agent_credential(&config, "hosted-aws-us-east-1").unwrap();
    agent_poll(&base, "base", &credential, &acknowledged, &mut tally, phase).await;
    agent_poll(&here, "this checkout", &credential, &acknowledged, &mut tally, phase).await;

    // A rollout created through one replica, stepped by whichever
    // controller runs, read through both.
    let release = v3::types::PlatformReleaseSpec {
        kubernetes_min: "1.29".into(),
        kubernetes_max: "1.33".into(),
        runtimes: vec![],
    };
    let put = v3::Client::new(&base.url).platform_release_put("2026.12.0", &release).await;
    tally.count(phase, put.as_ref().err().and_then(|e| e.status()).map(|s| s.as_u16()));
    put.expect("the base takes a platform release");
    let rollout = v3::Client::new(&here.url)
        .rollout_create(&v3::types::RolloutCreate {
            from_release: "2026.11.0".into(),
            to_release: "2026.12.0".into(),
        })
        .await;
    tally.count(phase, rollout.as_ref().err().and_then(|e| e.status()).map(|s| s.as_u16()));
    let rollout = rollout.expect("this checkout starts a rollout").into_inner();
    // Both replicas read it alike; the controllers step it to the end (both planes' agents report, through either replica, so a
    // moved plane passes the health gate).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // Base, this checkout, base again: when the base saw the same
        // rollout both times, this checkout (read between) must see it too
        // (a controller may step it between reads; it only moves forward).
        let mut seen = Vec::new();
        for h in [&base, &here, &base] {
            let got = v3::Client::new(&h.url).rollout_get(&rollout.id).await;
            tally.count(phase, got.as_ref().err().and_then(|e| e.status()).map(|s| s.as_u16()));
            let got = got.expect("both replicas read the rollout").into_inner();
            seen.push(serde_json::to_value(&got).unwrap());
        }
        if seen[0] == seen[2] {
            assert_eq!(seen[0], seen[1], "both replicas see one rollout");
        }
        let latest: v3::types::Rollout = serde_json::from_value(seen.swap_remove(2)).unwrap();
        if latest.state == v3::types::RolloutState::Succeeded {
            assert!(latest.decisions.len() > rollout.decisions.len());
            break; // the controllers stepped it to the end
        }
        assert!(
            Instant::now() < deadline,
            "the rollout never completed: {}",
            serde_json::to_string_pretty(&latest).unwrap()
        );
        agent_report(&here, &credential).await;
        agent_report(&base, &hosted).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The rollout re-rendered what it moved: each such deployment has more
    // revisions now, at the same generation.
    for (id, ack) in acknowledged.iter_mut() {
        let got = here.v2().deployment_get(id).await.unwrap().into_inner();
        assert_eq!(got.generation, ack.generation);
        assert!(got.revision >= ack.revision, "{id} lost revisions");
        ack.revision = got.revision;
    }

    // Agents of both protocols against replicas of both versions (after
    // the rollout: these agents say they cannot observe health, which a
    // HEALTH-gated rollout refuses to plan over): this
    // checkout's agent speaks the changes protocol to this checkout and
    // falls back to the whole state with the base; the base's agent
    // speaks the whole state to this checkout. A deployment created here
    // is removed by the base later (unlogged), which the changes agent
    // must still see.
    let doomed =
        create_and_update(&here, "this checkout", &mut acknowledged, &mut tally, phase, 3).await;
    let changes_dir = tempfile::tempdir().unwrap();
    let changes_agent = agents::new_agent(&here.agents, &credential, changes_dir.path());
    agents::converge(&changes_agent, "this agent, this checkout").await;
    agents::holds(changes_dir.path(), &acknowledged, Some(true), "this agent on this checkout");
    let whole_dir = tempfile::tempdir().unwrap();
    let whole_agent = agents::new_agent(&base.agents, &credential, whole_dir.path());
    agents::converge(&whole_agent, "this agent, the base").await;
    let base_serves_changes = agents::serves_changes(&base.agents, &credential).await;
    agents::holds(
        whole_dir.path(),
        &acknowledged,
        Some(base_serves_changes),
        "this agent on the base Harmony",
    );
    agents::base_agent_against(&here.agents, &here.app(), &credential, &acknowledged).await;

    // The canary is rolled back: the base restarts on the migrated
    // database, this checkout's replica is gone.
    base.stop().await;
    here.stop().await;
    let base = HarmonyReplica::base(&base_bin, &shared, false);
    let phase = "3 rolled back";
    read_back(&base, "base after the rollback", &acknowledged, &mut tally, phase).await;
    update(&base, "base after the rollback", from_here, &mut acknowledged, &mut tally, phase).await;
    create_and_update(&base, "base after the rollback", &mut acknowledged, &mut tally, phase, 2)
        .await;
    agent_poll(&base, "base after the rollback", &credential, &acknowledged, &mut tally, phase)
        .await;
    let deleted = base.v2().deployment_delete(&doomed).await;
    tally.count(phase, status_of(&deleted));
    deleted.expect("the base deletes a deployment");
    acknowledged.remove(&doomed);

    // And forward again.
    let here = HarmonyReplica::here(&shared).await;
    let phase = "4 rolled forward";
    read_back(&here, "this checkout again", &acknowledged, &mut tally, phase).await;
    update(&here, "this checkout again", from_base, &mut acknowledged, &mut tally, phase).await;
    read_back(&base, "base", &acknowledged, &mut tally, phase).await;
    agent_poll(&here, "this checkout again", &credential, &acknowledged, &mut tally, phase).await;
    // What the base changed while this checkout was away is not in the
    // change log: the changes agent is sent to a full sync, and misses
    // nothing (the base's update and create, and its removal).
    let changes_agent = agents::new_agent(&here.agents, &credential, changes_dir.path());
    agents::converge(&changes_agent, "this agent after the base wrote alone").await;
    agents::holds(changes_dir.path(), &acknowledged, Some(true), "this agent after the base wrote");
    base.stop().await;
    here.stop().await;

    tally.report(&format!("harmony replicas on {}", shared.describe()));
    for (phase, (_, errors)) in &tally.phases {
        assert_eq!(*errors, 0, "{phase}: server errors");
    }
    eprintln!("{} deployments checked after every phase", acknowledged.len());
}

/// astro-api's replicas: the outbox written by one is delivered by the
/// other, across a rollback and a roll forward.
#[tokio::test]
async fn astro_api_replicas_of_the_base_and_this_checkout_share_one_database() {
    let base_bin = super::base_binary("SKEW_BASE_ASTRO");
    let shared = Shared::for_base(&base_bin);
    let harmony_data = tempfile::tempdir().unwrap();
    let sends_credential = supports(&base_bin, "--harmony-token-file");
    let harmony = if sends_credential {
        crate::common::start_harmony(harmony_data.path(), "127.0.0.1:0".parse().unwrap(), None)
    } else {
        crate::common::start_harmony_without_credential(harmony_data.path())
    };
    let harmony_url = format!("http://{}", harmony.local_addr());
    let key = shared.dir.path().join("astro-secret.key");
    std::fs::write(&key, "ab".repeat(32)).unwrap();
    let credential = shared.dir.path().join("harmony-credential");
    std::fs::write(&credential, crate::common::HARMONY_TOKEN).unwrap();
    let token_file = shared.dir.path().join("token");

    let base_args = |addr: SocketAddr| {
        let mut args =
            vec!["--bind".to_owned(), addr.to_string(), "--harmony".into(), harmony_url.clone()];
        args.extend(shared.args());
        if sends_credential {
            args.extend(["--harmony-token-file".into(), credential.display().to_string()]);
        }
        if supports(&base_bin, "--secret-key-file") {
            args.extend(["--secret-key-file".into(), key.display().to_string()]);
        }
        args
    };
    let here_bin = env!("CARGO_BIN_EXE_astro-api");
    let here_args = |addr: SocketAddr| {
        let mut args = vec![
            "--bind".to_owned(),
            addr.to_string(),
            "--harmony".into(),
            harmony_url.clone(),
            "--secret-key-file".into(),
            key.display().to_string(),
        ];
        args.extend(shared.args());
        if sends_credential {
            args.extend(["--harmony-token-file".into(), credential.display().to_string()]);
        }
        args
    };

    let mut tally = Tally::default();
    // The base alone first; its owner token made by the base when it can.
    let with_tokens = supports(&base_bin, "--bootstrap");
    let base_addr = free_addr();
    let mut args = base_args(base_addr);
    if with_tokens {
        args.extend(["--bootstrap".into(), "org-1/ws-1".into(), "--bootstrap-token-file".into()]);
        args.push(token_file.display().to_string());
    }
    let base = spawn(&base_bin, &args, base_addr);
    let token = with_tokens.then(|| crate::common::read_token_file(&token_file));
    let base_api = Astro { url: format!("http://{base_addr}"), token: token.clone() };
    let mut acknowledged: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let a = base_api.create(&mut tally, "1 base alone", 0, &mut acknowledged).await;

    let here_addr = free_addr();
    let here = spawn(here_bin, &here_args(here_addr), here_addr);
    let here_api = Astro { url: format!("http://{here_addr}"), token: token.clone() };
    let phase = "2 both serving";
    let b = here_api.create(&mut tally, phase, 1, &mut acknowledged).await;
    here_api.update(&mut tally, phase, &a, &mut acknowledged).await;
    base_api.update(&mut tally, phase, &b, &mut acknowledged).await;
    for api in [&base_api, &here_api] {
        api.read_back(&mut tally, phase, &acknowledged).await;
    }

    drop(base);
    let base = spawn(&base_bin, &base_args(base_addr), base_addr);
    drop(here);
    let phase = "3 rolled back";
    base_api.read_back(&mut tally, phase, &acknowledged).await;
    base_api.update(&mut tally, phase, &b, &mut acknowledged).await;
    let c = base_api.create(&mut tally, phase, 2, &mut acknowledged).await;

    let here = spawn(here_bin, &here_args(here_addr), here_addr);
    let phase = "4 rolled forward";
    here_api.update(&mut tally, phase, &c, &mut acknowledged).await;
    for api in [&base_api, &here_api] {
        api.read_back(&mut tally, phase, &acknowledged).await;
    }
    // Everything reached Harmony, at the acknowledged generation, once.
    let deadline = Instant::now() + Duration::from_secs(60);
    for (id, (generation, concurrency)) in &acknowledged {
        loop {
            let (_, got) = here_api
                .call(
                    &mut tally,
                    phase,
                    reqwest::Method::GET,
                    &format!("/organizations/org-1/deployments/{id}"),
                    None,
                )
                .await;
            if got["delivered_generation"] == json!(generation) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{id} never delivered generation {generation}: {got}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let uuid: Uuid = id.parse().unwrap();
        let stored = v2::Client::new_with_client(&harmony_url, crate::common::harmony_http())
            .deployment_get(&uuid)
            .await
            .expect("Harmony has it")
            .into_inner();
        assert_eq!(stored.generation as i64, *generation, "Harmony holds {id} as acknowledged");
        assert_eq!(i64::from(stored.worker_queues[0].worker_concurrency), *concurrency);
        assert_eq!(stored.revision as i64, *generation, "each change of {id} applied once");
    }
    drop((base, here));
    tally.report(&format!("astro-api replicas on {}", shared.describe()));
    for (phase, (_, errors)) in &tally.phases {
        assert_eq!(*errors, 0, "{phase}: server errors");
    }
}

/// An astro-api replica's public API.
struct Astro {
    url: String,
    token: Option<String>,
}

impl Astro {
    async fn call(
        &self,
        tally: &mut Tally,
        phase: &'static str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = reqwest::Client::new().request(method, format!("{}{path}", self.url));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("astro-api answers");
        let status = response.status().as_u16();
        tally.count(phase, Some(status));
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn create(
        &self,
        tally: &mut Tally,
        phase: &'static str,
        n: i64,
        acknowledged: &mut BTreeMap<String, (i64, i64)>,
    ) -> String {
        let mut body = crate::common::hybrid();
        body["name"] = json!(format!("mixed-{n}"));
        body["worker_queues"][0]["worker_concurrency"] = json!(20 + n);
        let (status, answer) = self
            .call(
                tally,
                phase,
                reqwest::Method::POST,
                "/organizations/org-1/deployments",
                Some(&body),
            )
            .await;
        assert_eq!(status, 201, "{phase}: create: {answer}");
        let id = answer["id"].as_str().unwrap().to_owned();
        acknowledged.insert(id.clone(), (1, 20 + n));
        id
    }

    async fn update(
        &self,
        tally: &mut Tally,
        phase: &'static str,
        id: &str,
        acknowledged: &mut BTreeMap<String, (i64, i64)>,
    ) {
        let path = format!("/organizations/org-1/deployments/{id}");
        let (status, mut body) = self.call(tally, phase, reqwest::Method::GET, &path, None).await;
        assert_eq!(status, 200, "{phase}: read before update: {body}");
        let (generation, concurrency) = acknowledged[id];
        let mut change = crate::common::hybrid();
        change["name"] = body["name"].take();
        change["worker_queues"][0]["worker_concurrency"] = json!(concurrency + 1);
        let (status, answer) =
            self.call(tally, phase, reqwest::Method::POST, &path, Some(&change)).await;
        assert_eq!(status, 200, "{phase}: update: {answer}");
        assert_eq!(answer["generation"], json!(generation + 1), "{phase}: {answer}");
        acknowledged.insert(id.to_owned(), (generation + 1, concurrency + 1));
    }

    async fn read_back(
        &self,
        tally: &mut Tally,
        phase: &'static str,
        acknowledged: &BTreeMap<String, (i64, i64)>,
    ) {
        for (id, (generation, concurrency)) in acknowledged {
            let path = format!("/organizations/org-1/deployments/{id}");
            let (status, got) = self.call(tally, phase, reqwest::Method::GET, &path, None).await;
            assert_eq!(status, 200, "{phase}: {} reading {id}: {got}", self.url);
            assert_eq!(got["generation"], json!(generation), "{phase}: {got}");
            assert_eq!(
                got["worker_queues"][0]["worker_concurrency"],
                json!(concurrency),
                "{phase}: {got}"
            );
        }
    }
}
