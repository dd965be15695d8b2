//! The agent API's changes protocol against the store, on both backends:
//! what moved since a plane revision, in plane-revision order; and a write
//! by a binary that does not log changes (an older replica on the same
//! database, simulated by its exact statements) answered with a full sync,
//! never with a delta that leaves it out.

use crate::common::*;
use harmony_client::v2;
use harmony_server::app::{HarmonyApp, HarmonyError};
use uuid::Uuid;

on_both_backends!(changes_since_a_revision_and_a_write_the_log_did_not_see);

const PLANE: &str = "hybrid-1";

fn listed(c: &harmony_agent_api::Changes) -> (Vec<Uuid>, Vec<Uuid>) {
    (c.deployments.iter().map(|d| d.deployment_id).collect(), c.removed.clone())
}

async fn changes_since_a_revision_and_a_write_the_log_did_not_see(backend: Backend) {
    let Some(place) = Place::new(backend) else { return };
    let h = TestHarmony::at(place.clone());
    let harmony: HarmonyApp = h.server.as_ref().unwrap().app_private().harmony.clone();
    let api = h.v2();
    api.data_plane_put(PLANE, &registration(v2::types::DataPlaneKind::Hybrid)).await.unwrap();
    let ids: Vec<Uuid> = (1..=3).map(|n| Uuid::from_u128(0xc0de_0000 + n)).collect();
    for id in &ids {
        api.deployment_put(id, &hybrid_spec(PLANE, 1)).await.unwrap();
    }
    let start = harmony.changes(PLANE, Some(0), None).unwrap();
    assert!(!start.full, "a new plane's log is complete from revision 0");
    assert_eq!(listed(&start), (ids.clone(), vec![]));
    let at = start.revision;
    assert_eq!(at, 3);

    let nothing = harmony.changes(PLANE, Some(at), None).unwrap();
    assert_eq!((nothing.revision, listed(&nothing)), (at, (vec![], vec![])));

    // An update, then a removal: in plane-revision order.
    let mut changed = hybrid_spec(PLANE, 2);
    changed.worker_queues[0].worker_concurrency = 7;
    api.deployment_put(&ids[2], &changed).await.unwrap();
    api.deployment_delete(&ids[0]).await.unwrap();
    let delta = harmony.changes(PLANE, Some(at), None).unwrap();
    assert!(!delta.full);
    assert_eq!(delta.revision, at + 2);
    assert_eq!(listed(&delta), (vec![ids[2]], vec![ids[0]]));
    assert_eq!(delta.deployments[0].manifest_revision, 2);
    let later = harmony.changes(PLANE, Some(at + 1), None).unwrap();
    assert_eq!(listed(&later), (vec![], vec![ids[0]]), "only what moved after at + 1");

    // An older binary deletes a deployment: its own statements, which
    // move the plane's revision without logging.
    let location = match &place.schema {
        Some(schema) => schema.location(),
        None => sql_store::Location::Sqlite(place.dir.path().join("harmony.sqlite3")),
    };
    let db = sql_store::Database::open(&location, &harmony_server::store::MIGRATIONS).unwrap();
    let gone = ids[1].to_string();
    db.write(move |tx| {
        tx.execute("DELETE FROM deployments WHERE id = ?1", &[&gone])?;
        tx.execute(
            "UPDATE data_planes SET desired_revision = desired_revision + 1 WHERE id = ?1",
            &[&PLANE],
        )?;
        Ok::<_, sql_store::DbError>(())
    })
    .unwrap();
    let unlogged = at + 3;
    for since in [at, at + 2] {
        let answer = harmony.changes(PLANE, Some(since), None).unwrap();
        assert!(answer.full, "from {since}: a delta would miss the unlogged removal");
        assert!(answer.full_reason.as_deref().unwrap().contains("does not log changes"));
        assert_eq!(answer.revision, unlogged);
        assert_eq!(listed(&answer), (vec![ids[2]], vec![]), "the whole plane: one deployment");
    }

    // The next logged write starts the log again there: an agent that
    // synced in full at the unlogged revision gets deltas, an older one
    // another full sync.
    api.deployment_put(&ids[1], &hybrid_spec(PLANE, 1)).await.unwrap();
    let delta = harmony.changes(PLANE, Some(unlogged), None).unwrap();
    assert!(!delta.full);
    assert_eq!(listed(&delta), (vec![ids[1]], vec![]));
    assert!(harmony.changes(PLANE, Some(unlogged - 1), None).unwrap().full);

    // A page token this plane was not handed is refused by its rule.
    for token in ["zz", "643a393a313a", "663a3939393a"] {
        match harmony.changes(PLANE, None, Some(token)) {
            Err(HarmonyError::Invalid(refusals)) => {
                assert_eq!(refusals.rule_ids(), vec!["agent_page_token_known"]);
            }
            other => panic!("token {token}: {other:?}"),
        }
    }
}
