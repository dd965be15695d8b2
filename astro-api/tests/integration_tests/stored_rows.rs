//! Rows as the last release's astro-api wrote them (`tests/fixtures/store/`,
//! never regenerated) are read by today's code on both backends: tokens
//! still authenticate, records read as they were, the change that release
//! left queued is delivered by today's outbox worker, and the release's
//! workspaces and tokens survive the rebuild that made workspace ids unique
//! per organization.

use crate::common::*;
use serde_json::{Value, json};
use sql_store::{Backend, Database, Migrations, on_both_backends};

on_both_backends!(rows_the_last_release_wrote_are_read_and_delivered);

async fn rows_the_last_release_wrote_are_read_and_delivered(backend: Backend) {
    let schema = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => match sql_store::testing::TestSchema::create() {
            Some(schema) => Some(schema),
            None => return,
        },
    };
    let data = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/store/astro-602836b.json"),
    )
    .unwrap();
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let at = fixture["schema"]["migrations"].as_u64().unwrap() as usize;
    let location = match &schema {
        Some(schema) => schema.location(),
        None => astro_api::store::Location::Sqlite(data.path().join("astro.sqlite3")),
    };
    {
        // The release's schema: its SQLite migrations; PostgreSQL's first
        // creates the same tables (and a column more, with a default).
        let released = Migrations {
            store: astro_api::store::MIGRATIONS.store,
            sqlite: &astro_api::store::MIGRATIONS.sqlite[..at],
            postgres: &astro_api::store::MIGRATIONS.postgres[..1],
        };
        let db = Database::open(&location, &released).unwrap();
        let statements = test_support::fixture_inserts(
            &fixture,
            db.backend() == Backend::Postgres,
            &["organizations", "workspaces", "deployments"],
        );
        assert!(statements.len() >= 7, "{} rows", statements.len());
        db.write(move |tx| {
            for sql in &statements {
                tx.execute(sql, &[])?;
            }
            Ok::<_, sql_store::DbError>(())
        })
        .unwrap();
    }

    let harmony_data = tempfile::tempdir().unwrap();
    let harmony = start_harmony(harmony_data.path(), "127.0.0.1:0".parse().unwrap(), None);
    let harmony_url = format!("http://{}", harmony.local_addr());
    let mut config = astro_api::Config::new(
        "127.0.0.1:0".parse().unwrap(),
        data.path().to_path_buf(),
        harmony_url.clone(),
    );
    config.handoff_max_backoff = std::time::Duration::from_millis(200);
    config.harmony_token = Some(HARMONY_TOKEN.to_owned());
    config.database_url = schema.as_ref().map(|s| s.url());
    config.secret_key = Some(test_sealer());
    let astro = astro_api::start(&config, &log()).expect("today's astro-api starts on it");
    let url = format!("http://{}", astro.local_addr());

    let made = &fixture["made_with"];
    let owner = authorized(made["owner_token"].as_str().unwrap());
    let member = authorized(made["member_token"].as_str().unwrap());
    let id = made["deployment"].as_str().unwrap();
    let path = format!("{url}/organizations/org-1/deployments/{id}");

    // The change the release left queued reaches Harmony, secret and all.
    let got = wait_delivered(&owner, &path, 2).await;
    assert_eq!(got["worker_queues"][0]["worker_concurrency"], 12, "{got}");
    let stored: Value = harmony_http()
        .get(format!("{harmony_url}/deployments/{id}"))
        .header("api-version", "2.0.0")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored["generation"], 2, "{stored}");
    assert_eq!(stored["worker_queues"][0]["worker_concurrency"], 12);
    assert!(
        stored["environment_variables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["key"] == "API_TOKEN" && v["is_secret"] == true),
        "{stored}"
    );

    // Both tokens still authenticate, with their roles.
    let as_member: Value = member.get(&path).send().await.unwrap().json().await.unwrap();
    assert_eq!(as_member["id"], id);
    let deploy = made["deploy"].as_str().unwrap();
    let deploy: Value =
        owner.get(format!("{path}/deploys/{deploy}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(deploy["image_tag"], "deploy-1", "{deploy}");
    let denied = member
        .post(format!("{url}/organizations/org-1/tokens"))
        .json(&json!({"name": "x", "role": "OWNER"}))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403, "a member token stays a member's");

    // And the record changes like today's.
    let mut change = hybrid();
    change["worker_queues"][0]["worker_concurrency"] = json!(14);
    let updated: Value =
        owner.post(&path).json(&change).send().await.unwrap().json().await.unwrap();
    assert_eq!(updated["generation"], 3, "{updated}");
    wait_delivered(&owner, &path, 3).await;

    // Workspace ids are per organization now (migration
    // workspaces-per-organization rebuilt the release's tables): a second
    // organization has a `ws-1` of its own, and the release's member token
    // still reaches only org-1's.
    let other = authorized(&bootstrap(&astro, "org-2", "ws-1").await);
    let (theirs, ours) = (
        other.get(format!("{url}/organizations/org-2/workspaces/ws-1")).send().await.unwrap(),
        member.get(format!("{url}/organizations/org-1/workspaces/ws-1")).send().await.unwrap(),
    );
    assert_eq!((theirs.status().as_u16(), ours.status().as_u16()), (200, 200));
    let listed: Value = member
        .get(format!("{url}/organizations/org-1/deployments"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    astro.close().await.unwrap();
    harmony.close().await.unwrap();
}
