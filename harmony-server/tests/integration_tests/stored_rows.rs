//! Rows as released binaries wrote them (`tests/fixtures/store/`, never
//! regenerated) are read by today's code, on both backends: loaded into a
//! database at the schema their binary had, migrated by today's
//! harmony-server, then read and changed through the API.

use crate::common::*;
use harmony_client::v2;
use sql_store::{Database, Migrations};

on_both_backends!(rows_the_last_release_wrote_are_read_and_changed);

async fn rows_the_last_release_wrote_are_read_and_changed(backend: Backend) {
    let Some(place) = Place::new(backend) else { return };
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/store/harmony-602836b.json"),
    )
    .unwrap();
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    let at = fixture["schema"]["migrations"].as_u64().unwrap() as usize;
    // The schema the release had: its SQLite migrations; PostgreSQL's
    // first migration creates the same tables (and more, empty).
    let released = Migrations {
        store: harmony_server::store::MIGRATIONS.store,
        sqlite: &harmony_server::store::MIGRATIONS.sqlite[..at],
        postgres: &harmony_server::store::MIGRATIONS.postgres[..1],
    };
    let location = match &place.schema {
        Some(schema) => schema.location(),
        None => sql_store::Location::Sqlite(place.dir.path().join("harmony.sqlite3")),
    };
    {
        let db = Database::open(&location, &released).unwrap();
        let postgres = db.backend() == sql_store::Backend::Postgres;
        let statements =
            test_support::fixture_inserts(&fixture, postgres, &["data_planes", "deployments"]);
        let count = statements.len();
        db.write(move |tx| {
            for sql in &statements {
                tx.execute(sql, &[])?;
            }
            Ok::<_, sql_store::DbError>(())
        })
        .unwrap();
        assert!(count >= 13, "{count} rows loaded");
    }

    let h = TestHarmony::at(place.clone());
    let v2 = h.v2();
    let hybrid: uuid::Uuid = "00000000-0000-4000-8000-00000000000a".parse().unwrap();
    let hosted: uuid::Uuid = "00000000-0000-4000-8000-00000000000b".parse().unwrap();

    let d = v2.deployment_get(&hybrid).await.unwrap().into_inner();
    assert_eq!((d.generation, d.revision), (2, 2));
    assert_eq!(d.worker_queues[0].worker_concurrency, 20);
    assert_eq!(d.dag_bundle_version.as_deref(), Some("bundle-7"));
    let plain = d.environment_variables.iter().find(|v| v.key == "PLAIN").unwrap();
    assert_eq!(plain.value.as_deref(), Some("visible"));
    assert!(d.environment_variables.iter().any(|v| v.key == "API_TOKEN" && v.is_secret));
    for revision in [1, 2] {
        let set = v2.deployment_manifests_get(&hybrid, Some(revision)).await.unwrap().into_inner();
        assert_eq!(set.generation, revision);
        assert!(set.objects.iter().any(|o| o.kind == "Secret"), "revision {revision}");
        assert!(set.objects.len() > 5, "revision {revision}: {} objects", set.objects.len());
    }
    let d = v2.deployment_get(&hosted).await.unwrap().into_inner();
    assert_eq!((d.generation, d.revision), (1, 2), "re-rendered once by the rollout");
    assert_eq!(d.kind, v2::types::DataPlaneKind::Hosted);
    let set = v2.deployment_manifests_get(&hosted, None).await.unwrap().into_inner();
    assert_eq!(set.revision, 2);

    let planes = v2.data_plane_list(None, None).await.unwrap().into_inner().items;
    assert_eq!(planes.len(), 2);
    let hybrid_plane = planes.iter().find(|p| p.id == "hybrid-example").unwrap();
    assert!(hybrid_plane.last_heartbeat.is_some(), "the agent's report is kept");
    let v3 = h.v3();
    let rollouts = v3.rollout_list(None).await.unwrap().into_inner();
    assert_eq!(rollouts.len(), 1);
    assert_eq!(rollouts[0].to_release, "2026.12.0");
    assert_eq!(v3.platform_release_list().await.unwrap().into_inner().len(), 1);

    // And they change like today's rows: the secret opened with the key
    // they were sealed with, re-sealed in the new revision.
    let mut spec = hybrid_spec("hybrid-example", 3);
    spec.dag_bundle_version = Some("bundle-8".into());
    let changed = v2.deployment_put(&hybrid, &spec).await.unwrap().into_inner();
    assert_eq!((changed.generation, changed.revision), (3, 3));
}
