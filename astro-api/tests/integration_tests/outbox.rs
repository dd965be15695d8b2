//! The outbox's claims, at the store: a change that is its deployment's
//! only queued one is claimed for the request that made it (and so is
//! invisible to every delivery worker until delivered or expired); one
//! queued behind it waits for the worker, in order.

use astro_api::clock::{Clock, SystemClock};
use astro_api::harmony::PlaneKind;
use astro_api::store::{CLAIM, Delivery, Enqueued, Location, Op, Outgoing, Store};
use astro_public_api::types::Deployment;
use serde_json::json;
use sql_store::{Backend, on_both_backends};
use uuid::Uuid;

on_both_backends!(
    a_lone_change_is_claimed_for_its_request_and_later_ones_wait_behind_it,
    a_renewed_claim_outlasts_its_first_expiry_and_an_expired_one_is_not_revived,
    an_entry_this_binary_cannot_read_is_left_and_the_others_go,
);

fn deployment(id: Uuid, generation: u64) -> Deployment {
    serde_json::from_value(json!({
        "id": id, "organization_id": "org-1", "workspace_id": "ws-1",
        "name": format!("etl-{id}"), "type": "HYBRID", "cluster_id": "hybrid-example",
        "runtime_version": "13.1.0", "executor": "CELERY",
        "is_high_availability": false, "is_development_mode": false,
        "is_cicd_enforced": false, "is_dag_deploy_enabled": false,
        "worker_queues": [], "environment_variables": [], "image_tag": "13.1.0",
        "status": "CREATING", "data_plane_id": "hybrid-example",
        "generation": generation, "delivered_generation": 0,
        "created_at": "2026-11-26T00:00:00Z", "updated_at": "2026-11-26T00:00:00Z",
    }))
    .unwrap()
}

/// Now on the store's clock (these stores run on the wall clock).
fn now_ms() -> i64 {
    SystemClock.now_ms()
}

fn change(id: Uuid, generation: u64) -> Outgoing {
    Outgoing {
        deployment_id: id,
        cell: "default".to_owned(),
        kind: PlaneKind::Hybrid,
        generation,
        op: Op::Delete,
        request_id: Some(format!("request-{generation}")),
    }
}

/// A store on `backend` and where it lives (kept for the test's length);
/// `None` when PostgreSQL is asked for and no server answers.
fn store_on(
    backend: Backend,
) -> Option<(Store, (tempfile::TempDir, Option<sql_store::testing::TestSchema>))> {
    store_at(backend).map(|(store, place, _)| (store, place))
}

fn store_at(
    backend: Backend,
) -> Option<(Store, (tempfile::TempDir, Option<sql_store::testing::TestSchema>), Location)> {
    let dir = tempfile::tempdir().unwrap();
    let (location, schema) = match backend {
        Backend::Sqlite => (Location::Sqlite(dir.path().join("astro.sqlite3")), None),
        Backend::Postgres => {
            let schema = sql_store::testing::TestSchema::create()?;
            (Location::Postgres(schema.url()), Some(schema))
        }
    };
    let store = Store::open(&location, crate::common::test_sealer()).unwrap();
    Some((store, (dir, schema), location))
}

/// An entry this binary cannot read (here a PUT without its spec; in a
/// rolling upgrade, an operation or a sealed value a newer replica wrote)
/// is neither delivered as something else (it once became a DELETE) nor
/// in the way of the entries beside it: it is returned apart and its claim
/// left to expire, for a replica that can read it.
async fn an_entry_this_binary_cannot_read_is_left_and_the_others_go(backend: Backend) {
    let Some((store, _place, location)) = store_at(backend) else { return };
    let (unreadable, readable) = (Uuid::now_v7(), Uuid::now_v7());
    for id in [unreadable, readable] {
        store.insert(&deployment(id, 1), "default", change(id, 1)).await.unwrap();
    }
    let db = sql_store::Database::open(&location, &astro_api::store::MIGRATIONS).unwrap();
    let key = unreadable.to_string();
    db.write(move |tx| {
        tx.execute("UPDATE outbox SET op = 'PUT', spec = NULL WHERE deployment_id = ?1", &[&key])
    })
    .unwrap();
    let after_expiry = now_ms() + CLAIM.as_millis() as i64 + 1;
    let claimed = store.outbox_claim(after_expiry, after_expiry + 1000, 16).await.unwrap();
    let due: Vec<Uuid> = claimed.due.iter().map(|q| q.change.deployment_id).collect();
    assert_eq!(due, [readable], "the readable entry goes, the other is not a DELETE");
    assert_eq!(claimed.unreadable.len(), 1);
    let said = claimed.unreadable[0].to_string();
    assert!(said.contains("\"PUT\" (without a spec)") && said.contains("newer replica"), "{said}");
}

async fn a_lone_change_is_claimed_for_its_request_and_later_ones_wait_behind_it(backend: Backend) {
    let Some((store, _place)) = store_on(backend) else { return };
    let id = Uuid::now_v7();

    let first = store.insert(&deployment(id, 1), "default", change(id, 1)).await.unwrap();
    let Enqueued::Claimed(claimed) = first else { panic!("a lone change is claimed: {first:?}") };
    assert_eq!(claimed.change.generation, 1);
    // No worker sees it while the claim lasts, here or on another replica.
    let now = now_ms();
    assert!(store.outbox_claim(now, now + 1000, 16).await.unwrap().due.is_empty());

    // A second change of the deployment queues behind the claimed one.
    let second = store.update(&deployment(id, 2), 1, change(id, 2)).await.unwrap();
    assert!(matches!(second, Some(Enqueued::Behind)), "{second:?}");
    assert!(store.outbox_claim(now, now + 1000, 16).await.unwrap().due.is_empty());

    // Once the first is delivered, the worker takes the second, and says so.
    let delivered = Delivery::Delivered { seq: claimed.seq, deployment_id: id, generation: 1 };
    assert!(store.record_delivery(delivered).await.unwrap(), "the second is still queued");
    let due = store.outbox_claim(now_ms(), now_ms() + 1000, 16).await.unwrap().due;
    assert_eq!(due.iter().map(|q| q.change.generation).collect::<Vec<_>>(), vec![2]);

    // A claim that is never settled (its process died) expires, and a
    // worker takes the change then.
    let other = Uuid::now_v7();
    let lost = store.insert(&deployment(other, 1), "default", change(other, 1)).await.unwrap();
    assert!(matches!(lost, Enqueued::Claimed(_)));
    let after_expiry = now_ms() + CLAIM.as_millis() as i64 + 1;
    let due = store.outbox_claim(after_expiry, after_expiry + 1000, 16).await.unwrap().due;
    assert!(due.iter().any(|q| q.change.deployment_id == other), "{due:?}");
}

/// A delivery that lasts renews its claim (every third of `CLAIM`), so a
/// worker does not take the entry when the first claim would have run
/// out; renewing a claim that already ran out does nothing (another
/// worker may hold the entry by then).
async fn a_renewed_claim_outlasts_its_first_expiry_and_an_expired_one_is_not_revived(
    backend: Backend,
) {
    let Some((store, _place)) = store_on(backend) else { return };
    let claim = CLAIM.as_millis() as i64;
    let id = Uuid::now_v7();
    let Enqueued::Claimed(held) =
        store.insert(&deployment(id, 1), "default", change(id, 1)).await.unwrap()
    else {
        panic!("a lone change is claimed")
    };

    // Renewed two thirds of the way through its claim, for another CLAIM.
    let renewed_at = now_ms() + 2 * claim / 3;
    store.outbox_renew(vec![held.seq], renewed_at, renewed_at + claim).await.unwrap();
    let first_expiry = now_ms() + claim + 1;
    assert!(
        store.outbox_claim(first_expiry, first_expiry + claim, 16).await.unwrap().due.is_empty()
    );

    // Once that runs out too, renewing late does not bring it back.
    let too_late = renewed_at + claim + 1;
    store.outbox_renew(vec![held.seq], too_late, too_late + claim).await.unwrap();
    let due = store.outbox_claim(too_late, too_late + claim, 16).await.unwrap().due;
    assert_eq!(due.iter().map(|q| q.seq).collect::<Vec<_>>(), vec![held.seq]);
}
