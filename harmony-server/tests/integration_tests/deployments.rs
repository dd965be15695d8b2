//! Deployments through the newest client: generations, revisions, secrets,
//! validation, durability.

use crate::common::*;
use harmony_client::v2::types::*;

on_both_backends!(
    put_get_list_delete,
    same_input_makes_no_new_revision,
    generations_only_move_forward,
    secrets_are_write_only,
    sealed_secrets_need_the_key_they_were_sealed_with,
    bad_specs_name_every_field,
    state_survives_a_restart,
    executor_switch_changes_the_object_set,
    concurrent_changes_to_one_deployment_stay_ordered,
    status_comes_from_the_agents_reports_at_4_0_0,
    seals_are_xchacha_only_after_the_schema_is_contracted,
    a_change_wakes_only_its_own_planes_long_polls,
    a_complete_report_is_recorded_without_waiting_for_the_disk,
    a_poll_that_waits_out_its_time_reads_the_store_once,
);

/// A long poll that nothing wakes costs two reads (the credential, then the
/// plane's revision on arrival), however long it waits: every change is
/// announced to the process (in process on SQLite, LISTEN on PostgreSQL),
/// so its wait ending unwoken needs no look at the store to say
/// "unchanged".
async fn a_poll_that_waits_out_its_time_reads_the_store_once(backend: Backend) {
    let Some(h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    h.v2().deployment_put(&id(), &hybrid_spec("hybrid-1", 1)).await.unwrap();
    let harmony = h.server.as_ref().unwrap().app_private().harmony.clone();
    let agents =
        harmony_server::start_agent_api("127.0.0.1:0".parse().unwrap(), &harmony, &log()).unwrap();
    let agent = agent_client(&harmony, agents.local_addr(), "hybrid-1");
    let known = agent.desired_state_get(Some(0), Some(0)).await.unwrap().into_inner().revision;
    let before = harmony.store_reads();
    let state = agent.desired_state_get(Some(known), Some(1)).await.unwrap().into_inner();
    assert!(!state.changed && state.revision == known && state.deployments.is_empty(), "{state:?}");
    assert_eq!(harmony.store_reads() - before, 2, "the credential and the revision, once each");
}

/// An agent's complete report (every deployment, repeated each round) is a
/// redoable write: recorded without a disk sync, since the next round
/// repairs its loss. An incomplete one (an older agent naming only what it
/// just applied) is not repeated, so it waits for the disk. Both are
/// recorded.
async fn a_complete_report_is_recorded_without_waiting_for_the_disk(backend: Backend) {
    let Some(h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    let d = id();
    h.v2().deployment_put(&d, &hybrid_spec("hybrid-1", 1)).await.unwrap();
    let harmony = h.server.as_ref().unwrap().app_private().harmony.clone();
    let agents =
        harmony_server::start_agent_api("127.0.0.1:0".parse().unwrap(), &harmony, &log()).unwrap();
    let agent = agent_client(&harmony, agents.local_addr(), "hybrid-1");
    let state = agent.desired_state_get(Some(0), Some(0)).await.unwrap().into_inner();
    let report = |complete: bool, health| harmony_client::agent::types::StatusReport {
        applied_revision: state.revision,
        agent_version: "test".into(),
        deployments: vec![harmony_client::agent::types::DeploymentReport {
            deployment_id: d,
            manifest_revision: 1,
            health,
            message: None,
        }],
        complete,
        observes: Some(harmony_client::agent::types::Observes { health: true }),
    };
    let syncs = || harmony.write_counts().durable_groups;
    let before = syncs();
    use harmony_client::agent::types::Health;
    agent.status_report(&report(true, Health::Healthy)).await.unwrap();
    assert_eq!(syncs(), before, "a complete report waited for the disk");
    let v4 = harmony_client::v4::Client::new_with_client(&h.url, http());
    use harmony_client::v4::types::DeploymentState;
    assert_eq!(
        v4.deployment_status_get(&d).await.unwrap().into_inner().state,
        DeploymentState::Healthy
    );
    agent.status_report(&report(false, Health::Unhealthy)).await.unwrap();
    assert_eq!(syncs(), before + 1, "an incomplete report must wait for the disk");
    assert_eq!(
        v4.deployment_status_get(&d).await.unwrap().into_inner().state,
        DeploymentState::Unhealthy
    );
}

/// An agent long-polling one data plane is not woken by changes to another:
/// with an agent of `hosted-1` waiting throughout, ten changes to
/// `hybrid-1` (each made while its agent waits) wake exactly ten polls, and
/// the hosted agent's one wake-up is its own plane's change. A broadcast to
/// every waiter would have woken 21, a store read each.
async fn a_change_wakes_only_its_own_planes_long_polls(backend: Backend) {
    let Some(h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    let (hybrid, hosted) = (id(), id());
    h.v2().deployment_put(&hybrid, &hybrid_spec("hybrid-1", 1)).await.unwrap();
    h.v2().deployment_put(&hosted, &hosted_spec("hosted-1", 1)).await.unwrap();
    let harmony = h.server.as_ref().unwrap().app_private().harmony.clone();
    let agents =
        harmony_server::start_agent_api("127.0.0.1:0".parse().unwrap(), &harmony, &log()).unwrap();
    let (hybrid_agent, hosted_agent) = (
        agent_client(&harmony, agents.local_addr(), "hybrid-1"),
        agent_client(&harmony, agents.local_addr(), "hosted-1"),
    );
    let waiting_for = |n: usize| {
        let harmony = harmony.clone();
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while harmony.polls_waiting() != n {
                assert!(std::time::Instant::now() < deadline, "{n} polls never waited");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    };
    let hosted_known =
        hosted_agent.desired_state_get(Some(0), Some(0)).await.unwrap().into_inner().revision;
    let hosted_poll = tokio::spawn(async move {
        hosted_agent.desired_state_get(Some(hosted_known), Some(30)).await.unwrap().into_inner()
    });
    waiting_for(1).await;
    let before = harmony.poll_wakeups();
    let mut known =
        hybrid_agent.desired_state_get(Some(0), Some(0)).await.unwrap().into_inner().revision;
    for generation in 2..12 {
        let poll = {
            let agent = hybrid_agent.clone();
            tokio::spawn(async move { agent.desired_state_get(Some(known), Some(30)).await })
        };
        waiting_for(2).await;
        let mut change = hybrid_spec("hybrid-1", generation);
        change.worker_queues[0].worker_concurrency = generation as _;
        h.v2().deployment_put(&hybrid, &change).await.unwrap();
        let state = poll.await.unwrap().unwrap().into_inner();
        assert!(state.changed && state.revision > known, "{state:?}");
        known = state.revision;
    }
    waiting_for(1).await;
    assert_eq!(harmony.poll_wakeups() - before, 10, "the hosted agent's poll was woken too");
    let mut change = hosted_spec("hosted-1", 2);
    change.worker_queues[0].worker_concurrency += 1;
    h.v2().deployment_put(&hosted, &change).await.unwrap();
    let state = hosted_poll.await.unwrap();
    assert!(state.changed, "{state:?}");
    assert_eq!(harmony.poll_wakeups() - before, 11);
}

/// 4.0.0's `GET /deployments/{id}/status`: DEPLOYING until the agent
/// reports the newest revision, then what it reported; not part of 3.0.0.
async fn status_comes_from_the_agents_reports_at_4_0_0(backend: Backend) {
    use harmony_client::v4::types::DeploymentState;
    let Some(h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    let d = id();
    h.v2().deployment_put(&d, &hybrid_spec("hybrid-1", 1)).await.unwrap();
    let v4 = harmony_client::v4::Client::new_with_client(&h.url, http());
    let status = v4.deployment_status_get(&d).await.unwrap().into_inner();
    assert_eq!(
        (status.state, status.revision, status.reported_revision),
        (DeploymentState::Deploying, 1, None)
    );

    let app = &h.server.as_ref().unwrap().app_private().harmony;
    let report = serde_json::from_value(serde_json::json!({
        "applied_revision": 1,
        "agent_version": "test",
        "deployments": [{"deployment_id": d, "manifest_revision": 1, "health": "UNHEALTHY",
                         "message": "scheduler 0/1 ready"}],
    }))
    .unwrap();
    app.record_agent_status("hybrid-1", report).unwrap();
    let status = v4.deployment_status_get(&d).await.unwrap().into_inner();
    assert_eq!(status.state, DeploymentState::Unhealthy);
    assert_eq!(status.reported_revision, Some(1));
    assert_eq!(status.message.as_deref(), Some("scheduler 0/1 ready"));

    // A change makes revision 2: the report about revision 1 no longer says
    // anything about it.
    let mut changed = hybrid_spec("hybrid-1", 2);
    changed.worker_queues[0].worker_concurrency = 32;
    h.v2().deployment_put(&d, &changed).await.unwrap();
    let status = v4.deployment_status_get(&d).await.unwrap().into_inner();
    assert_eq!((status.state, status.revision), (DeploymentState::Deploying, 2));

    let at = |version: &'static str| {
        http()
            .get(format!("{}/deployments/{d}/status", h.url))
            .header("api-version", version)
            .send()
    };
    assert_eq!(at("3.0.0").await.unwrap().status().as_u16(), 404, "not part of 3.0.0");
    let unknown = v4.deployment_status_get(&id()).await;
    assert!(matches!(unknown, Err(harmony_client::Error::ErrorResponse(r)) if r.status() == 404));
}

async fn put_get_list_delete(backend: Backend) {
    let Some(h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    let c = h.v2();
    let (a, b) = (id(), id());
    let created = c.deployment_put(&a, &hybrid_spec("hybrid-1", 1)).await.unwrap().into_inner();
    assert_eq!((created.generation, created.revision), (1, 1));
    c.deployment_put(&b, &hosted_spec("hosted-1", 1)).await.unwrap();

    let fetched = c.deployment_get(&a).await.unwrap().into_inner();
    assert_eq!(fetched, created);

    // Pagination: one per page still visits both, in id order.
    let mut seen = Vec::new();
    let mut token = None::<String>;
    loop {
        let page = c
            .deployment_list(std::num::NonZeroU32::new(1), token.as_deref())
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.items.iter().map(|d| d.id));
        match page.next_page {
            Some(next) if !page.items.is_empty() => token = Some(next),
            _ => break,
        }
    }
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(seen, expected);

    c.deployment_delete(&a).await.unwrap();
    let (status, code, _) = failure(c.deployment_get(&a).await);
    assert_eq!((status, code.as_str()), (404, "NotFound"));
    let (status, _, _) = failure(c.deployment_manifests_get(&a, None).await);
    assert_eq!(status, 404);
}

async fn same_input_makes_no_new_revision(backend: Backend) {
    let Some(h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    let c = h.v2();
    let d = id();
    let first = c.deployment_put(&d, &hybrid_spec("hybrid-1", 1)).await.unwrap().into_inner();
    // A retry of the same generation is a no-op.
    let retry = c.deployment_put(&d, &hybrid_spec("hybrid-1", 1)).await.unwrap().into_inner();
    assert_eq!(retry, first);
    // A new generation with the same spec: accepted, same revision and hash.
    let bumped = c.deployment_put(&d, &hybrid_spec("hybrid-1", 2)).await.unwrap().into_inner();
    assert_eq!((bumped.generation, bumped.revision), (2, 1));
    let m1 = c.deployment_manifests_get(&d, None).await.unwrap().into_inner();
    assert_eq!(m1.revision, 1);

    // A real change renders revision 2; revision 1 stays readable, unchanged.
    let mut changed = hybrid_spec("hybrid-1", 3);
    changed.worker_queues[0].worker_concurrency = 32;
    let third = c.deployment_put(&d, &changed).await.unwrap().into_inner();
    assert_eq!(third.revision, 2);
    let m2 = c.deployment_manifests_get(&d, None).await.unwrap().into_inner();
    assert_ne!(m2.input_hash, m1.input_hash);
    let old = c.deployment_manifests_get(&d, Some(1)).await.unwrap().into_inner();
    assert_eq!(old, m1);
}

async fn generations_only_move_forward(backend: Backend) {
    let Some(h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    let c = h.v2();
    let d = id();
    c.deployment_put(&d, &hybrid_spec("hybrid-1", 5)).await.unwrap();
    let (status, code, message) = failure(c.deployment_put(&d, &hybrid_spec("hybrid-1", 4)).await);
    assert_eq!((status, code.as_str()), (409, "StaleGeneration"), "{message}");
    assert!(message.contains("stored generation 5"), "{message}");

    let mut different = hybrid_spec("hybrid-1", 5);
    different.name = "other".into();
    let (status, code, _) = failure(c.deployment_put(&d, &different).await);
    assert_eq!((status, code.as_str()), (409, "GenerationConflict"));
    assert_eq!(c.deployment_get(&d).await.unwrap().name, "etl", "nothing half-written");
}

async fn secrets_are_write_only(backend: Backend) {
    let Some(h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    let c = h.v2();
    let d = id();
    let created = c.deployment_put(&d, &hybrid_spec("hybrid-1", 1)).await.unwrap().into_inner();
    let secret = created.environment_variables.iter().find(|v| v.key == "API_TOKEN").unwrap();
    assert_eq!(secret.value, None);

    // Neither the deployment nor the manifests carry the value, raw.
    for path in [format!("/deployments/{d}"), format!("/deployments/{d}/manifests")] {
        let body = http()
            .get(format!("{}{path}", h.url))
            .header("api-version", "2.0.0")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!body.contains("hunter2"), "{path} leaked a secret: {body}");
        assert!(body.contains("API_TOKEN"), "{path} should name the key");
    }
    let manifests = c.deployment_manifests_get(&d, None).await.unwrap().into_inner();
    let config = manifests.objects.iter().find(|o| o.kind == "ConfigMap").unwrap();
    assert!(!config.manifest.as_ref().unwrap().to_string().contains("API_TOKEN"));
    let secret_object = manifests.objects.iter().find(|o| o.kind == "Secret").unwrap();
    assert_eq!(secret_object.manifest, None);

    // An update that omits the value keeps it: same input, same revision.
    let mut update = hybrid_spec("hybrid-1", 2);
    update.environment_variables[1].value = None;
    let kept = c.deployment_put(&d, &update).await.unwrap().into_inner();
    assert_eq!(kept.revision, 1, "the stored secret was kept, so nothing changed");

    // A new secret without a value is refused, naming the field.
    let mut update = hybrid_spec("hybrid-1", 3);
    update.environment_variables.push(EnvironmentVariable {
        key: "NEW_SECRET".into(),
        value: None,
        is_secret: true,
    });
    let (status, _, message) = failure(c.deployment_put(&d, &update).await);
    assert_eq!(status, 400);
    assert!(message.contains("environment_variables[2].value"), "{message}");

    // At rest, the value is sealed: not in the database (files, or rows),
    // in the spec or in the stored Secret object.
    assert!(h.place.holds("API_TOKEN"), "the check looks where the data is");
    assert!(h.place.holds("app.kubernetes.io/managed-by"), "the check reads manifest sets");
    assert!(!h.place.holds("hunter2"), "a secret value is stored in plain text");
}

async fn sealed_secrets_need_the_key_they_were_sealed_with(backend: Backend) {
    let Some(h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    let d = id();
    h.v2().deployment_put(&d, &hybrid_spec("hybrid-1", 1)).await.unwrap();
    let mut h = h;
    h.stop().await;
    // The same data under another key: Harmony refuses to start, naming
    // why, rather than failing every secret later.
    let mut config = harmony_server::Config::new("127.0.0.1:0".parse().unwrap(), h.data_dir());
    h.place.apply(&mut config);
    config.secret_key = Some(harmony_server::render::SecretKey::new([9; 32]));
    let refused = harmony_server::start(&config, &log()).err().expect("refused");
    assert!(format!("{refused:#}").contains("another secret key"), "{refused:#}");
    // The right key reads it again.
    let again = h.again(|_| {});
    let got = again.v2().deployment_get(&d).await.unwrap().into_inner();
    assert_eq!(got.generation, 1);
}

async fn bad_specs_name_every_field(backend: Backend) {
    let Some(h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    let c = h.v2();
    let mut spec = hybrid_spec("hybrid-1", 1);
    spec.executor = Executor::Astro;
    spec.worker_queues[0].astro_machine = Some(AstroMachine::A5);
    spec.worker_queues[0].min_worker_count = 20;
    spec.scheduler = Some(HybridScheduler { au: 30, replicas: 1 });
    let d = id();
    let (status, code, message) = failure(c.deployment_put(&d, &spec).await);
    assert_eq!((status, code.as_str()), (400, "InvalidRequest"));
    for field in [
        "executor",
        "scheduler.au",
        "worker_queues[0].astro_machine",
        "worker_queues[0].min_worker_count",
    ] {
        assert!(message.contains(field), "{field} missing from {message}");
    }
    // Kind must match the data plane.
    let (status, _, message) = failure(c.deployment_put(&d, &hybrid_spec("hosted-1", 1)).await);
    assert_eq!(status, 400);
    assert!(message.contains("kind"), "{message}");
    // Unknown data plane.
    let (status, _, message) = failure(c.deployment_put(&d, &hybrid_spec("nowhere", 1)).await);
    assert_eq!(status, 404, "{message}");
    // An id no data plane can have (with NUL, which PostgreSQL text cannot
    // even hold): a 400 naming the field, or a 404, never a database error.
    let (status, _, message) = failure(c.deployment_put(&d, &hybrid_spec("a\0b", 1)).await);
    assert_eq!(status, 400, "{message}");
    assert!(message.contains("data_plane_id"), "{message}");
    let (status, _, _) = failure(c.data_plane_get("a\0b").await);
    assert_eq!(status, 404);
    // Likewise a platform release no release can be named.
    let create = harmony_client::v3::types::RolloutCreate {
        from_release: "2026.11.0".into(),
        to_release: "a\0b".into(),
    };
    match h.v3().rollout_create(&create).await {
        Err(harmony_client::Error::ErrorResponse(rv)) => {
            assert_eq!(rv.status().as_u16(), 400);
            assert!(rv.into_inner().message.contains("to_release"));
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    let (status, _, _) = failure(c.deployment_get(&d).await);
    assert_eq!(status, 404, "nothing was written");
}

async fn state_survives_a_restart(backend: Backend) {
    let Some(mut h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    let d = id();
    let before = h.v2().deployment_put(&d, &hybrid_spec("hybrid-1", 1)).await.unwrap().into_inner();
    let manifests = h.v2().deployment_manifests_get(&d, None).await.unwrap().into_inner();
    h.stop().await;

    let again = h.again(|_| {});
    assert_eq!(again.v2().deployment_get(&d).await.unwrap().into_inner(), before);
    assert_eq!(
        again.v2().deployment_manifests_get(&d, None).await.unwrap().into_inner(),
        manifests
    );
    drop(h);
}

async fn executor_switch_changes_the_object_set(backend: Backend) {
    let Some(h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    let c = h.v2();
    let d = id();
    c.deployment_put(&d, &hybrid_spec("hybrid-1", 1)).await.unwrap();
    let celery = c.deployment_manifests_get(&d, None).await.unwrap().into_inner();
    let names = |set: &harmony_client::v2::types::ManifestSet| -> Vec<String> {
        set.objects.iter().map(|o| format!("{}/{}", o.kind, o.name)).collect()
    };
    let before = names(&celery);
    for present in
        ["Deployment/worker-default", "Deployment/redis", "Service/redis", "Secret/airflow-broker"]
    {
        assert!(before.contains(&present.to_owned()), "{present} in {before:?}");
    }
    assert!(!before.iter().any(|n| n.starts_with("Role")), "{before:?}");

    let mut spec = hybrid_spec("hybrid-1", 2);
    spec.executor = Executor::Kubernetes;
    c.deployment_put(&d, &spec).await.unwrap();
    let kubernetes = c.deployment_manifests_get(&d, None).await.unwrap().into_inner();
    assert_eq!(kubernetes.revision, 2);
    let after = names(&kubernetes);
    let removed: Vec<&String> = before.iter().filter(|n| !after.contains(n)).collect();
    let added: Vec<&String> = after.iter().filter(|n| !before.contains(n)).collect();
    assert_eq!(
        removed,
        ["Secret/airflow-broker", "Service/redis", "Deployment/redis", "Deployment/worker-default"],
        "{after:?}"
    );
    assert_eq!(
        added,
        ["ConfigMap/airflow-pod-template", "Role/pod-launcher", "RoleBinding/pod-launcher"],
        "{after:?}"
    );
}

/// Many writers on one deployment at once: every answer is a success or a
/// clear 409; what is stored is the newest accepted generation; revisions
/// count up without gaps, each from a newer generation than the last.
async fn concurrent_changes_to_one_deployment_stay_ordered(backend: Backend) {
    let Some(h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    let d = id();
    h.v2().deployment_put(&d, &hybrid_spec("hybrid-1", 1)).await.unwrap();
    let mut tasks = Vec::new();
    let first = hybrid_spec("hybrid-1", 1).worker_queues[0].worker_concurrency;
    for generation in 2..=33u64 {
        let client = h.v2();
        tasks.push(tokio::spawn(async move {
            // Every change renders something no other change renders (the
            // first one's concurrency included): a change equal to an
            // earlier one would rightly make no revision of its own.
            let mut spec = hybrid_spec("hybrid-1", generation);
            spec.worker_queues[0].worker_concurrency = first + generation as u32;
            (generation, client.deployment_put(&d, &spec).await.map(|r| r.into_inner()))
        }));
    }
    let mut accepted = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (generation, Ok(_)) => accepted.push(generation),
            (_, Err(e)) => assert_eq!(e.status().map(|s| s.as_u16()), Some(409), "{e:?}"),
        }
    }
    assert!(!accepted.is_empty());
    let stored = h.v2().deployment_get(&d).await.unwrap().into_inner();
    assert_eq!(stored.generation, *accepted.iter().max().unwrap());
    let mut last_generation = 0;
    for revision in 1..=stored.revision {
        let set = h.v2().deployment_manifests_get(&d, Some(revision)).await.unwrap().into_inner();
        assert!(set.generation > last_generation, "revision {revision} went backwards");
        last_generation = set.generation;
    }
    assert_eq!(stored.revision as usize, accepted.len() + 1, "one revision per accepted change");
}

/// Packed (compressed) manifest sets are a format binaries from before
/// them cannot read, so a set is stored as JSON text in `objects` (what
/// they read) until the schema is contracted (`contract-schema`), and
/// packed after; sets of either form read back the same.
#[tokio::test]
async fn sets_are_written_packed_only_after_the_schema_is_contracted() {
    let Some(mut h) = TestHarmony::on(Backend::Sqlite) else { return };
    two_planes(&h).await;
    let path = h.place.dir.path().join("harmony.sqlite3");
    let stored = |d: uuid::Uuid| -> (String, Option<Vec<u8>>) {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
        db.query_row(
            "SELECT objects, packed FROM manifest_sets WHERE deployment_id = ?1",
            [d.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    let before = id();
    h.v2().deployment_put(&before, &hybrid_spec("hybrid-1", 1)).await.unwrap();
    let first = h.v2().deployment_manifests_get(&before, None).await.unwrap().into_inner();
    let (objects, packed) = stored(before);
    assert!(packed.is_none(), "not packed before the contract");
    let objects: serde_json::Value = serde_json::from_str(&objects).expect("JSON text");
    assert_eq!(objects.as_array().map(Vec::len), Some(first.objects.len()));

    h.stop().await;
    let mut config =
        harmony_server::Config::new("127.0.0.1:0".parse().unwrap(), Default::default());
    h.place.apply(&mut config);
    let (was, now) = harmony_server::contract_schema(&config).unwrap();
    assert!(now > was, "the contract raised the floor ({was} -> {now})");
    let h = h.again(|_| {});
    let after = id();
    h.v2().deployment_put(&after, &hybrid_spec("hybrid-1", 1)).await.unwrap();
    let (objects, packed) = stored(after);
    let packed = packed.expect("packed after the contract");
    assert!(objects.is_empty());
    let text = harmony_server::store::unpack(&packed).unwrap();
    assert!(packed.len() * 3 < text.len(), "{} bytes packed from {}", packed.len(), text.len());

    let again = h.v2().deployment_manifests_get(&before, None).await.unwrap().into_inner();
    assert_eq!(serde_json::to_value(&again).unwrap(), serde_json::to_value(&first).unwrap());
    let packed_set = h.v2().deployment_manifests_get(&after, None).await.unwrap().into_inner();
    assert_eq!(packed_set.objects.len(), first.objects.len());
}

/// Secret values at rest are sealed with ChaCha20-Poly1305 (`sealed:v1:`,
/// what binaries from before migration `xchacha-seals` open) until the
/// schema is contracted, and with XChaCha20-Poly1305 (`sealed:v2:`, random
/// 192-bit nonces, bound to the generation) after. Values of either form
/// reach the data plane's agent intact, and one kept across the contract
/// (an update that omits it) moves to the new form.
async fn seals_are_xchacha_only_after_the_schema_is_contracted(backend: Backend) {
    let Some(mut h) = TestHarmony::on(backend) else { return };
    two_planes(&h).await;
    let before = id();
    h.v2().deployment_put(&before, &hybrid_spec("hybrid-1", 1)).await.unwrap();
    assert!(h.place.holds("sealed:v1:"), "sealed, the way older binaries open");
    assert!(!h.place.holds("sealed:v2:"), "nothing older binaries cannot open");

    h.stop().await;
    let mut config =
        harmony_server::Config::new("127.0.0.1:0".parse().unwrap(), Default::default());
    h.place.apply(&mut config);
    harmony_server::contract_schema(&config).unwrap();
    let h = h.again(|_| {});
    let after = id();
    h.v2().deployment_put(&after, &hybrid_spec("hybrid-1", 1)).await.unwrap();
    let mut kept = hybrid_spec("hybrid-1", 2);
    kept.worker_queues[0].worker_concurrency += 1;
    kept.environment_variables[1].value = None;
    h.v2().deployment_put(&before, &kept).await.unwrap();
    assert!(h.place.holds("sealed:v2:"), "new values sealed with XChaCha20 after the contract");
    assert!(!h.place.holds("hunter2"));

    let harmony = &h.server.as_ref().unwrap().app_private().harmony;
    let state = harmony.desired_state("hybrid-1", 0).unwrap();
    for d in [before, after] {
        let deployment = state.deployments.iter().find(|x| x.deployment_id == d).unwrap();
        let secrets: Vec<String> = deployment
            .objects
            .iter()
            .map(|o| serde_json::from_str::<serde_json::Value>(o.get()).unwrap())
            .filter(|o| o["kind"] == "Secret")
            .map(|o| o.to_string())
            .collect();
        assert!(secrets.iter().any(|s| s.contains("hunter2")), "{d}: {secrets:?}");
    }
}

/// PostgreSQL, two replicas: a change made through one wakes an agent
/// long-polling the other at once, from the store's own notification
/// (`LISTEN`/`NOTIFY` on desired-revision changes). Re-reading the store
/// while waiting is off, so nothing else could wake it before its 30 s
/// wait ends; it is answered within 15 s of the change (at once, in fact),
/// never by its wait running out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_one_replica_wakes_an_agent_polling_another() {
    let Some(a) = TestHarmony::on(Backend::Postgres) else { return };
    two_planes(&a).await;
    let d = id();
    a.v2().deployment_put(&d, &hybrid_spec("hybrid-1", 1)).await.unwrap();
    let b = a.again(|_| {});
    let harmony_b = b.server.as_ref().unwrap().app_private().harmony.clone();
    assert_eq!(harmony_b.recheck_every(), None, "waiting agents cost the store nothing");
    let agents_b =
        harmony_server::start_agent_api("127.0.0.1:0".parse().unwrap(), &harmony_b, &log())
            .unwrap();
    let agent = agent_client(&harmony_b, agents_b.local_addr(), "hybrid-1");
    let known = agent.desired_state_get(Some(0), Some(0)).await.unwrap().into_inner().revision;
    let poll = tokio::spawn(async move {
        agent.desired_state_get(Some(known), Some(30)).await.unwrap().into_inner()
    });
    // Once the poll waits to be woken, the change goes through replica A.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while harmony_b.polls_waiting() == 0 {
        assert!(std::time::Instant::now() < deadline, "the long poll never waited");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let mut change = hybrid_spec("hybrid-1", 2);
    change.worker_queues[0].worker_concurrency += 1;
    a.v2().deployment_put(&d, &change).await.unwrap();
    let state = tokio::time::timeout(std::time::Duration::from_secs(15), poll)
        .await
        .expect("the poll was not woken by the change: it would wait out its 30 s")
        .unwrap();
    assert!(state.changed, "woken by the change, not by its wait ending: {state:?}");
    assert!(state.revision > known);
}
