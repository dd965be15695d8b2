//! The same tests on both backends: `sqlite_*` on a temporary file,
//! `postgres_*` in a schema of their own (skipped, loudly, without a
//! server; required in CI).

use super::*;
use crate::testing::TestSchema;
use chrono::{DateTime, TimeZone, Utc};

/// A migration that older binaries must stop for.
const fn breaking(name: &'static str, text: &'static str) -> Step {
    Step { name, text }
}

const SCHEMA: Migrations = Migrations {
    store: "test",
    sqlite: &[breaking(
        "0001-t",
        "-- older binaries: must stop\nCREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT;",
    )],
    postgres: &[breaking(
        "0001-t",
        "-- older binaries: must stop\nCREATE TABLE t (k BIGINT PRIMARY KEY, v TEXT NOT NULL);",
    )],
};

/// `SCHEMA` and a second step that binaries knowing only the first must
/// stop for (it drops a column they write).
const TWO: Migrations = Migrations {
    store: "test",
    sqlite: &[
        SCHEMA.sqlite[0],
        Step {
            name: "0002-drop-v",
            text: "-- older binaries: must stop\nALTER TABLE t DROP COLUMN v;",
        },
    ],
    postgres: &[
        SCHEMA.postgres[0],
        Step {
            name: "0002-drop-v",
            text: "-- older binaries: must stop\nALTER TABLE t DROP COLUMN v;",
        },
    ],
};

/// `SCHEMA` and a second step that binaries knowing only the first live
/// with (a column they do not look at).
const WIDER: Migrations = Migrations {
    store: "test",
    sqlite: &[
        SCHEMA.sqlite[0],
        Step {
            name: "0002-note",
            text: "-- older binaries: keep working\nALTER TABLE t ADD COLUMN note TEXT;",
        },
    ],
    postgres: &[
        SCHEMA.postgres[0],
        Step {
            name: "0002-note",
            text: "-- older binaries: keep working\nALTER TABLE t ADD COLUMN note TEXT;",
        },
    ],
};

const TYPES: Migrations = Migrations {
    store: "test",
    sqlite: &[breaking(
        "0001-v",
        "-- older binaries: must stop\nCREATE TABLE v (i INTEGER, s TEXT, b BLOB, t TEXT) STRICT;",
    )],
    postgres: &[breaking(
        "0001-v",
        "-- older binaries: must stop\nCREATE TABLE v (i BIGINT, s TEXT, b BYTEA, t TIMESTAMPTZ);",
    )],
};

/// Where a test's database lives; kept alive for the test's length.
enum Place {
    Sqlite(tempfile::TempDir),
    Postgres(TestSchema),
}

impl Place {
    fn location(&self) -> Location {
        match self {
            Place::Sqlite(dir) => Location::Sqlite(dir.path().join("t.sqlite3")),
            Place::Postgres(schema) => schema.location(),
        }
    }
}

/// Defines `sqlite_<name>` and `postgres_<name>` running `body(place)`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $(#[test] fn $name() { super::$name(super::Place::Sqlite(tempfile::tempdir().unwrap())) })*
        }
        mod postgres_backend {
            $(#[test] fn $name() {
                if let Some(schema) = crate::testing::TestSchema::create() {
                    super::$name(super::Place::Postgres(schema))
                }
            })*
        }
    };
}

on_both!(
    a_failing_write_rolls_back_alone_and_others_in_its_group_commit,
    a_panicking_write_fails_alone,
    acknowledged_writes_survive_reopening,
    a_newer_schema_is_refused,
    binaries_one_migration_apart_share_a_database,
    a_diverging_history_is_refused,
    a_database_from_before_steps_were_recorded_is_adopted,
    values_round_trip,
    a_unique_violation_is_recognised,
    two_replicas_never_lose_an_update,
    a_read_does_not_wait_for_another_read,
    only_a_group_of_redoable_writes_commits_without_waiting_for_the_disk,
    the_writer_counts_its_groups_and_writes,
    the_writer_counts_how_long_writes_waited_and_groups_held_the_lock,
    reads_waiting_for_a_connection_are_counted,
    reads_are_counted,
);

/// With every reader connection held, one more read waits, and is counted
/// (what the services' metrics show); once the holders finish, it runs and
/// the count is back to zero.
fn reads_waiting_for_a_connection_are_counted(place: Place) {
    let capacity = match place {
        Place::Sqlite(_) => crate::SQLITE_READERS,
        Place::Postgres(_) => crate::MAX_READERS,
    };
    let db = Database::open(&place.location(), &SCHEMA).unwrap();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let released = std::sync::Arc::new(std::sync::Mutex::new(released));
    let (held, holding) = std::sync::mpsc::channel::<()>();
    let holders: Vec<_> = (0..capacity)
        .map(|_| {
            let (db, released, held) = (db.clone(), released.clone(), held.clone());
            std::thread::spawn(move || {
                db.read(|tx| {
                    tx.query_one("SELECT 1", &[])?;
                    held.send(()).unwrap();
                    // Held until the test lets go.
                    let _ = released.lock().unwrap().recv();
                    Ok::<_, DbError>(())
                })
            })
        })
        .collect();
    for _ in 0..capacity {
        holding.recv().unwrap();
    }
    assert_eq!(db.readers_waiting(), 0);
    let waiter = {
        let db = db.clone();
        std::thread::spawn(move || db.read(|tx| tx.query_one("SELECT 2", &[]).map(|_| ())))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while db.readers_waiting() != 1 {
        assert!(std::time::Instant::now() < deadline, "the extra read was never counted");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    for _ in 0..capacity {
        release.send(()).unwrap();
    }
    for holder in holders {
        holder.join().unwrap().unwrap();
    }
    waiter.join().unwrap().unwrap();
    assert_eq!(db.readers_waiting(), 0);
}

/// The writer's counts (what the services' metrics show): one group per
/// write when each waits for the last, every write counted once a burst
/// shares groups, a write rolled back alone still counts in its group.
fn the_writer_counts_its_groups_and_writes(place: Place) {
    let db = Database::open(&place.location(), &SCHEMA).unwrap();
    let before = db.write_counts();
    for k in 0..5i64 {
        db.write(move |tx| tx.execute("INSERT INTO t (k, v) VALUES (?1, 'x')", &[&k])).unwrap();
    }
    let sequential = db.write_counts();
    assert_eq!(sequential.groups - before.groups, 5, "{sequential:?}");
    assert_eq!(sequential.writes - before.writes, 5, "{sequential:?}");
    assert!(sequential.commit_micros > before.commit_micros, "{sequential:?}");
    let handles: Vec<_> = (100..164i64)
        .map(|k| {
            let db = db.clone();
            std::thread::spawn(move || {
                db.write(move |tx| tx.execute("INSERT INTO t (k, v) VALUES (?1, 'x')", &[&k]))
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap().unwrap();
    }
    let burst = db.write_counts();
    assert_eq!(burst.writes - sequential.writes, 64, "{burst:?}");
    let groups = burst.groups - sequential.groups;
    assert!((1..=64).contains(&groups), "{burst:?}");
    assert_eq!(burst.failed_groups, before.failed_groups);
}

/// Holds `db`'s writer in a write until told (send on the first); returns
/// once that write is running.
fn hold_the_writer(
    db: &Database,
) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<Result<(), DbError>>) {
    let (release, held) = std::sync::mpsc::channel::<()>();
    let (entered, writer_busy) = std::sync::mpsc::channel::<()>();
    let blocker = {
        let db = db.clone();
        std::thread::spawn(move || {
            db.write(move |_| {
                entered.send(()).unwrap();
                held.recv().unwrap();
                Ok::<_, DbError>(())
            })
        })
    };
    writer_busy.recv().unwrap();
    (release, blocker)
}

/// A write queued behind one that holds the writer waits at least as long
/// as it is held, and the holder (its write and its group) lasts at least
/// that long: the longest wait, the summed wait, the longest write and the
/// longest group say so (lower
/// bounds measured around the hold, so no timing assumption).
fn the_writer_counts_how_long_writes_waited_and_groups_held_the_lock(place: Place) {
    let db = Database::open(&place.location(), &SCHEMA).unwrap();
    let before = db.write_counts();
    db.take_longest();
    let (release, blocker) = hold_the_writer(&db);
    let hold_started = std::time::Instant::now();
    let (told, answer) = std::sync::mpsc::channel();
    let queued = std::time::Instant::now();
    db.queue(
        |tx| tx.execute("INSERT INTO t (k, v) VALUES (1, 'x')", &[]),
        true,
        move |r| told.send(r).unwrap(),
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (waited, hold) = (queued.elapsed(), hold_started.elapsed());
    release.send(()).unwrap();
    blocker.join().unwrap().unwrap();
    answer.recv().unwrap().unwrap();
    let (after, longest) = (db.write_counts(), db.take_longest());
    let micros = |d: std::time::Duration| d.as_micros() as u64;
    assert!(longest.wait_micros >= micros(waited), "{longest:?} waited {waited:?}");
    assert!(after.wait_micros - before.wait_micros >= micros(waited), "{after:?}");
    assert!(longest.group_micros >= micros(hold), "{longest:?} held {hold:?}");
    assert!(longest.write_micros >= micros(hold), "the holding write ran as long: {longest:?}");
    // Taken: counting starts again (nothing written since).
    assert_eq!(db.take_longest(), Longest::default());
}

/// Whether the write `tx` belongs to will wait for the disk at commit, as
/// the backend itself says.
fn commit_waits_for_disk(tx: &Tx<'_>) -> Result<bool, DbError> {
    match tx.0 {
        // 2 is FULL, 1 NORMAL.
        TxInner::Sqlite(_) => Ok(tx.query_one("PRAGMA synchronous", &[])?.get::<i64>(0)? == 2),
        TxInner::Postgres(_) => {
            Ok(tx.query_one("SHOW synchronous_commit", &[])?.get::<String>(0)? == "on")
        }
    }
}

/// A redoable write alone commits without waiting for the disk; queued
/// with a durable one, their group waits; a durable write after it waits
/// again.
fn only_a_group_of_redoable_writes_commits_without_waiting_for_the_disk(place: Place) {
    let db = Database::open(&place.location(), &SCHEMA).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    assert!(db.write(commit_waits_for_disk).unwrap(), "a write waits for the disk");
    let durable_before = db.write_counts().durable_groups;
    let redoable = runtime.block_on(db.write_redoable(commit_waits_for_disk)).unwrap();
    assert!(!redoable, "a redoable write alone does not");
    assert_eq!(db.write_counts().durable_groups, durable_before, "and is not counted as a sync");
    assert!(db.write(commit_waits_for_disk).unwrap(), "the next durable write waits again");
    assert_eq!(db.write_counts().durable_groups, durable_before + 1);

    // Hold the writer in one write while a redoable and a durable write
    // queue behind it: they commit as one group, which waits.
    let (release, blocker) = hold_the_writer(&db);
    let (told_redoable, redoable) = std::sync::mpsc::channel();
    db.queue(commit_waits_for_disk, false, move |r| told_redoable.send(r).unwrap()).unwrap();
    let (told_durable, durable) = std::sync::mpsc::channel();
    db.queue(commit_waits_for_disk, true, move |r| told_durable.send(r).unwrap()).unwrap();
    release.send(()).unwrap();
    blocker.join().unwrap().unwrap();
    assert!(redoable.recv().unwrap().unwrap(), "in a group with a durable write it waits");
    assert!(durable.recv().unwrap().unwrap());
}

/// A read in progress (here: one that will not end until told) does not
/// hold up another read: each gets a connection of its own.
fn a_read_does_not_wait_for_another_read(place: Place) {
    let db = Database::open(&place.location(), &SCHEMA).unwrap();
    db.write(|tx| tx.execute("INSERT INTO t (k, v) VALUES (1, 'x')", &[])).unwrap();
    let (started_tx, started) = std::sync::mpsc::channel();
    let (finish, finish_rx) = std::sync::mpsc::channel::<()>();
    let long = {
        let db = db.clone();
        std::thread::spawn(move || {
            db.read(|tx| {
                let n: i64 = tx.query_one("SELECT COUNT(*) FROM t", &[])?.get(0)?;
                started_tx.send(()).unwrap();
                finish_rx.recv().unwrap();
                Ok::<_, DbError>(n)
            })
        })
    };
    started.recv().unwrap();
    let (done_tx, done) = std::sync::mpsc::channel();
    let short = {
        let db = db.clone();
        std::thread::spawn(move || {
            done_tx.send(count(&db, "SELECT COUNT(*) FROM t")).unwrap();
        })
    };
    let answered = done.recv_timeout(std::time::Duration::from_secs(5));
    finish.send(()).unwrap();
    assert_eq!(answered, Ok(1), "the second read waited for the first");
    assert_eq!(long.join().unwrap().unwrap(), 1);
    short.join().unwrap();
}

fn count(db: &Database, sql: &str) -> i64 {
    db.read(|tx| tx.query_one(sql, &[])?.get(0)).unwrap()
}

fn a_failing_write_rolls_back_alone_and_others_in_its_group_commit(place: Place) {
    let db = Database::open(&place.location(), &SCHEMA).unwrap();
    let handles: Vec<_> = (0..64i64)
        .map(|k| {
            let db = db.clone();
            std::thread::spawn(move || {
                db.write(move |tx| {
                    tx.execute("INSERT INTO t (k, v) VALUES (?1, 'x')", &[&k])?;
                    if k % 2 == 1 {
                        // Half of them fail after writing.
                        return Err(DbError::CommitFailed("refused".into()));
                    }
                    Ok::<_, DbError>(())
                })
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 32);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM t WHERE k % 2 = 0"), 32);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM t WHERE k % 2 = 1"), 0);
}

fn a_panicking_write_fails_alone(place: Place) {
    let db = Database::open(&place.location(), &SCHEMA).unwrap();
    let result = db.write(|tx| -> Result<(), DbError> {
        tx.execute("INSERT INTO t (k, v) VALUES (1, 'x')", &[])?;
        panic!("a bug in a write");
    });
    assert!(matches!(result, Err(DbError::WriterGone)), "{result:?}");
    db.write(|tx| tx.execute("INSERT INTO t (k, v) VALUES (2, 'y')", &[])).unwrap();
    let keys: Vec<i64> = db
        .read(|tx| tx.query("SELECT k FROM t ORDER BY k", &[])?.iter().map(|r| r.get(0)).collect())
        .unwrap();
    assert_eq!(keys, [2], "the panicking write left nothing behind");
}

fn acknowledged_writes_survive_reopening(place: Place) {
    {
        let db = Database::open(&place.location(), &SCHEMA).unwrap();
        for k in 0..10i64 {
            db.write(move |tx| tx.execute("INSERT INTO t (k, v) VALUES (?1, 'x')", &[&k])).unwrap();
        }
    }
    let db = Database::open(&place.location(), &SCHEMA).unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM t"), 10);
}

fn a_newer_schema_is_refused(place: Place) {
    Database::open(&place.location(), &TWO).unwrap();
    let refused = Database::open(&place.location(), &SCHEMA).err().expect("refused");
    assert!(
        matches!(&refused, DbError::TooNew { found: 2, known: 1, step, contracted: false, .. } if step == "0002-drop-v"),
        "{refused:?}"
    );
    let said = refused.to_string();
    assert!(said.contains("0002-drop-v") && said.contains("must stop"), "{said}");
}

/// A binary that knows N migrations and one that knows N+1 share one
/// database: when the newer step says older binaries keep working, both
/// read and write it, in either order of starting, and the older one
/// restarting on it (a rollback) works; once contracted, the older one is
/// refused, naming the step.
fn binaries_one_migration_apart_share_a_database(place: Place) {
    let newer = Database::open(&place.location(), &WIDER).unwrap();
    assert_eq!(
        (newer.schema().applied, newer.schema().floor),
        (2, 1),
        "a step older binaries live with leaves the floor"
    );
    assert!(!newer.schema().everyone_knows("note"));
    newer.write(|tx| tx.execute("INSERT INTO t (k, v, note) VALUES (1, 'new', 'n')", &[])).unwrap();
    let older = Database::open(&place.location(), &SCHEMA).expect("the older binary opens");
    assert_eq!((older.schema().applied, older.schema().floor), (2, 1));
    older.write(|tx| tx.execute("INSERT INTO t (k, v) VALUES (2, 'old')", &[])).unwrap();
    let read = |db: &Database| -> Vec<(i64, String)> {
        db.read(|tx| {
            tx.query("SELECT k, v FROM t ORDER BY k", &[])?
                .iter()
                .map(|r| Ok::<_, DbError>((r.get(0)?, r.get(1)?)))
                .collect::<Result<Vec<_>, DbError>>()
        })
        .unwrap()
    };
    let both = vec![(1, "new".to_owned()), (2, "old".to_owned())];
    assert_eq!(read(&older), both, "the older binary reads what the newer wrote");
    assert_eq!(read(&newer), both, "and the newer what the older wrote");
    drop(older);
    drop(newer);
    // Rolled back, then forward: nothing runs twice.
    Database::open(&place.location(), &SCHEMA).expect("the rollback starts");
    let newer = Database::open(&place.location(), &WIDER).expect("the roll forward starts");
    assert_eq!(read(&newer), both);

    assert_eq!(contract(&place.location(), &WIDER).unwrap(), (1, 2));
    let newer = Database::open(&place.location(), &WIDER).unwrap();
    assert!(
        newer.schema().everyone_knows("note"),
        "after the contract, a new format may be written"
    );
    let refused = Database::open(&place.location(), &SCHEMA).err().expect("refused");
    assert!(
        matches!(&refused, DbError::TooNew { found: 2, known: 1, step, contracted: true, .. } if step == "0002-note"),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("contracted"), "{refused}");
}

/// A database migrated by binaries from before steps were recorded (only
/// a count) is adopted: its steps are the first ones this binary lists.
fn a_database_from_before_steps_were_recorded_is_adopted(place: Place) {
    let db = Database::open(&place.location(), &SCHEMA).unwrap();
    db.write(|tx| tx.execute("DELETE FROM schema_steps", &[])).unwrap();
    drop(db);
    let db = Database::open(&place.location(), &WIDER).unwrap();
    assert_eq!((db.schema().applied, db.schema().floor), (2, 1));
    let steps: Vec<(i64, String, String)> = db
        .read(|tx| {
            tx.query(
                "SELECT version, name, older_binaries FROM schema_steps ORDER BY version",
                &[],
            )?
            .iter()
            .map(|r| Ok::<_, DbError>((r.get(0)?, r.get(1)?, r.get(2)?)))
            .collect::<Result<Vec<_>, DbError>>()
        })
        .unwrap();
    assert_eq!(
        steps,
        [
            (1, "0001-t".to_owned(), "must stop".to_owned()),
            (2, "0002-note".to_owned(), "keep working".to_owned())
        ]
    );
}

/// Binaries from two histories (branches that each added a different
/// second step) never share a database.
fn a_diverging_history_is_refused(place: Place) {
    Database::open(&place.location(), &WIDER).unwrap();
    let refused = Database::open(&place.location(), &TWO).err().expect("refused");
    assert!(refused.to_string().contains("diverging"), "{refused}");
}

fn values_round_trip(place: Place) {
    let db = Database::open(&place.location(), &TYPES).unwrap();
    let t: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 11, 26, 17, 38, 44).unwrap()
        + chrono::Duration::microseconds(123_456);
    db.write(move |tx| {
        tx.execute(
            "INSERT INTO v (i, s, b, t) VALUES (?1, ?2, ?3, ?4)",
            &[&-7i64, &"ünïcode 'quoted' ?1", &vec![0u8, 255], &t],
        )?;
        tx.execute(
            "INSERT INTO v (i, s, b, t) VALUES (?1, ?2, ?3, ?4)",
            &[&None::<i64>, &None::<String>, &None::<Vec<u8>>, &None::<DateTime<Utc>>],
        )
    })
    .unwrap();
    let rows = db.read(|tx| tx.query("SELECT i, s, b, t FROM v ORDER BY i", &[])).unwrap();
    // NULLs sort last on PostgreSQL and first on SQLite: find each row.
    let full = rows.iter().find(|r| r.get::<Option<i64>>(0).unwrap().is_some()).unwrap();
    assert_eq!(full.get::<i64>(0).unwrap(), -7);
    assert_eq!(full.get::<String>(1).unwrap(), "ünïcode 'quoted' ?1");
    assert_eq!(full.get::<Vec<u8>>(2).unwrap(), [0, 255]);
    assert_eq!(full.get::<DateTime<Utc>>(3).unwrap(), t);
    let empty = rows.iter().find(|r| r.get::<Option<i64>>(0).unwrap().is_none()).unwrap();
    assert_eq!(empty.get::<Option<String>>(1).unwrap(), None);
    assert_eq!(empty.get::<Option<DateTime<Utc>>>(3).unwrap(), None);
    // A type mismatch is an error naming the column, not a panic.
    let err = full.get::<String>(0).unwrap_err();
    assert!(err.to_string().contains("column 0"), "{err}");
    // Time compares as time on both backends.
    let later = db
        .read(|tx| {
            tx.query_one(
                "SELECT COUNT(*) FROM v WHERE t > ?1",
                &[&(t - chrono::Duration::seconds(1))],
            )?
            .get::<i64>(0)
        })
        .unwrap();
    assert_eq!(later, 1);
}

fn a_unique_violation_is_recognised(place: Place) {
    let db = Database::open(&place.location(), &SCHEMA).unwrap();
    db.write(|tx| tx.execute("INSERT INTO t (k, v) VALUES (1, 'x')", &[])).unwrap();
    let err = db.write(|tx| tx.execute("INSERT INTO t (k, v) VALUES (1, 'y')", &[])).unwrap_err();
    assert!(err.is_unique_violation(), "{err:?}");
    let other = db.write(|tx| tx.execute("INSERT INTO nowhere VALUES (1)", &[])).unwrap_err();
    assert!(!other.is_unique_violation(), "{other:?}");
}

/// Two `Database`s on one database stand in for two replicas: each write
/// reads a counter and writes it back plus one. Serialized writes lose
/// none; on SQLite the file lock does it, on PostgreSQL the advisory lock.
fn two_replicas_never_lose_an_update(place: Place) {
    let a = Database::open(&place.location(), &SCHEMA).unwrap();
    let b = Database::open(&place.location(), &SCHEMA).unwrap();
    a.write(|tx| tx.execute("INSERT INTO t (k, v) VALUES (0, '0')", &[])).unwrap();
    let handles: Vec<_> = (0..40)
        .map(|i| {
            let db = if i % 2 == 0 { a.clone() } else { b.clone() };
            std::thread::spawn(move || {
                db.write(|tx| {
                    let v: String = tx.query_one("SELECT v FROM t WHERE k = 0", &[])?.get(0)?;
                    let next = (v.parse::<i64>().unwrap() + 1).to_string();
                    tx.execute("UPDATE t SET v = ?1 WHERE k = 0", &[&next])
                })
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    let v: String = a.read(|tx| tx.query_one("SELECT v FROM t WHERE k = 0", &[])?.get(0)).unwrap();
    assert_eq!(v, "40");
}

/// Many concurrent reads on PostgreSQL share at most `MAX_READERS`
/// connections (plus the writer's): a burst cannot exhaust the server's
/// `max_connections`, and every read still completes.
#[test]
fn postgres_readers_are_capped_and_every_read_completes() {
    let Some(schema) = TestSchema::create() else { return };
    let db = Database::open(&schema.location(), &SCHEMA).unwrap();
    let name = schema.name().to_owned();
    let handles: Vec<_> = (0..3 * crate::MAX_READERS)
        .map(|_| {
            let (db, name) = (db.clone(), name.clone());
            std::thread::spawn(move || {
                db.read(|tx| {
                    let open: i64 = tx
                        .query_one(
                            "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = ?1",
                            &[&name],
                        )?
                        .get(0)?;
                    // Hold the connection a while, so the reads overlap.
                    std::thread::sleep(std::time::Duration::from_millis(30));
                    Ok::<_, DbError>(open)
                })
            })
        })
        .collect();
    let seen: Vec<i64> = handles.into_iter().map(|h| h.join().unwrap().unwrap()).collect();
    let most = *seen.iter().max().unwrap();
    assert!(most <= crate::MAX_READERS as i64 + 1, "{most} connections open at once");
    assert!(most > 2, "the reads did overlap ({most} connections at most)");
}

const BLOBS: Migrations = Migrations {
    store: "test",
    sqlite: &[breaking(
        "0001-b",
        "-- older binaries: must stop\nCREATE TABLE b (k INTEGER PRIMARY KEY, v BLOB NOT NULL) STRICT;",
    )],
    postgres: &[breaking(
        "0001-b",
        "-- older binaries: must stop\nCREATE TABLE b (k BIGINT PRIMARY KEY, v BYTEA NOT NULL);",
    )],
};

fn file_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// SQLite: committed pages reach the database file without the writer
/// doing it, and well before SQLite's own threshold (1,000 WAL frames)
/// would have made the committing write copy them.
#[test]
fn sqlite_the_checkpointer_copies_commits_into_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite3");
    let db = Database::open(&Location::Sqlite(path.clone()), &BLOBS).unwrap();
    // 256 pages: a quarter of SQLite's automatic checkpoint threshold.
    let blob = vec![7u8; 1 << 20];
    db.write(move |tx| tx.execute("INSERT INTO b (k, v) VALUES (1, ?1)", &[&blob])).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while file_len(&path) < 1 << 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file still holds {} bytes 10 s after the commit",
            file_len(&path)
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// SQLite: under writes that never pause (a passive checkpoint alone would
/// never find a moment to restart the log), the WAL is still restarted, so
/// its file stays near the restart threshold instead of growing with
/// everything written.
#[test]
fn sqlite_the_wal_stays_bounded_under_constant_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite3");
    let wal = dir.path().join("t.sqlite3-wal");
    let db = Database::open(&Location::Sqlite(path), &BLOBS).unwrap();
    let frame = 4096 + 24;
    // Four writers rewriting the same rows (the database file stays
    // small), 64 KiB each time, until eight times the restart threshold
    // went through the WAL.
    let written = 8 * crate::sqlite::RESTART_AFTER as u64 * frame;
    let writers: Vec<_> = (0..4i64)
        .map(|k| {
            let (db, wal) = (db.clone(), wal.clone());
            std::thread::spawn(move || {
                let mut largest = 0;
                for round in 0..(written / (4 * 16 * frame)) {
                    // New content each time (SQLite skips rewriting
                    // pages whose content did not change).
                    let blob = vec![(k as u64 + round) as u8; 1 << 16];
                    db.write(move |tx| {
                        tx.execute(
                            "INSERT INTO b (k, v) VALUES (?1, ?2)
                             ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                            &[&k, &blob],
                        )
                    })
                    .unwrap();
                    largest = largest.max(file_len(&wal));
                }
                largest
            })
        })
        .collect();
    let largest = writers.into_iter().map(|w| w.join().unwrap()).max().unwrap();
    assert!(largest > 0, "the writes went through a WAL");
    // How far past the threshold it gets depends on how much is written
    // between two checkpoints; far less than everything, in any case.
    assert!(largest <= written / 2, "the WAL grew to {largest} of {written} bytes written");
}

/// SQLite: a read that keeps its snapshot open (so the log cannot restart)
/// does not hold writes up: the writer's restart waits for readers only
/// briefly and is tried again later.
#[test]
fn sqlite_a_long_read_does_not_hold_up_writes_past_the_restart_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&Location::Sqlite(dir.path().join("t.sqlite3")), &BLOBS).unwrap();
    db.write(|tx| tx.execute("INSERT INTO b (k, v) VALUES (0, x'00')", &[])).unwrap();
    let (reading, started) = std::sync::mpsc::channel();
    let (finish, finish_rx) = std::sync::mpsc::channel::<()>();
    let reader = {
        let db = db.clone();
        std::thread::spawn(move || {
            db.read(|tx| {
                tx.query_one("SELECT COUNT(*) FROM b", &[])?;
                reading.send(()).unwrap();
                finish_rx.recv().unwrap();
                Ok::<_, DbError>(())
            })
        })
    };
    started.recv().unwrap();
    // Three times the restart threshold, 256 KiB a write.
    let (done, writes_done) = std::sync::mpsc::channel();
    let writer = {
        let db = db.clone();
        std::thread::spawn(move || {
            let writes = 3 * crate::sqlite::RESTART_AFTER / 64;
            for round in 0..writes {
                let blob = vec![round as u8; 1 << 18];
                db.write(move |tx| {
                    tx.execute(
                        "INSERT INTO b (k, v) VALUES (1, ?1)
                         ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                        &[&blob],
                    )
                })
                .unwrap();
            }
            done.send(()).unwrap();
        })
    };
    let finished = writes_done.recv_timeout(std::time::Duration::from_secs(30));
    finish.send(()).unwrap();
    reader.join().unwrap().unwrap();
    writer.join().unwrap();
    assert!(finished.is_ok(), "the writes waited for the open read");
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// SQLite: the database file and its log are readable by their owner
/// only, new or left readable by an older version.
#[test]
fn sqlite_files_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite3");
    let db = Database::open(&Location::Sqlite(path.clone()), &BLOBS).unwrap();
    db.write(|tx| tx.execute("INSERT INTO b (k, v) VALUES (1, ?1)", &[&vec![1u8]])).unwrap();
    let log = |suffix: &str| std::path::PathBuf::from(format!("{}{suffix}", path.display()));
    for file in [path.clone(), log("-wal"), log("-shm")] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    drop(db);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _db = Database::open(&Location::Sqlite(path.clone()), &BLOBS).unwrap();
    assert_eq!(mode(&path), 0o600, "narrowed when reopened");
}

/// The CA of this machine's PostgreSQL server certificate
/// (`STORE_TEST_POSTGRES_CA`, which `.ci/run` sets after turning TLS on
/// with `.ci/postgres-tls`), or `None`, said loudly, when not given and
/// not required (`REQUIRE_POSTGRES_TLS=1`).
fn postgres_ca() -> Option<String> {
    match std::env::var("STORE_TEST_POSTGRES_CA") {
        Ok(path) if !path.is_empty() => Some(path),
        _ => {
            assert!(
                std::env::var("REQUIRE_POSTGRES_TLS").is_err(),
                "REQUIRE_POSTGRES_TLS is set but STORE_TEST_POSTGRES_CA is not"
            );
            eprintln!(
                "\n*** PostgreSQL TLS tests SKIPPED: set STORE_TEST_POSTGRES_CA to the CA of the \
                 server's certificate (.ci/postgres-tls turns TLS on and prints it) ***\n"
            );
            None
        }
    }
}

/// Whether a connection made with `url` is encrypted, as the server sees it.
fn encrypted(url: &str) -> Result<bool, DbError> {
    let client = pg::connect(url)?;
    let row = pg::wait(
        client.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]),
    )?;
    Ok(row.get(0))
}

/// `sslmode` in a database URL means what it means to libpq, against this
/// machine's server with TLS on: `disable` is plain; `prefer` and `require`
/// encrypt; `verify-ca` and `verify-full` encrypt and check the server's
/// certificate against `sslrootcert` (another CA is refused), and
/// `verify-full` also the host name (a certificate for another name is
/// refused where `verify-ca` takes it).
#[test]
fn postgres_connections_honour_sslmode() {
    let Some(base) = crate::testing::postgres_url() else { return };
    let Some(ca) = postgres_ca() else { return };
    let with = |params: &str| format!("{base}?{params}");
    assert!(!encrypted(&with("sslmode=disable")).unwrap());
    assert!(encrypted(&base).unwrap(), "prefer, the default, encrypts when the server can");
    assert!(encrypted(&with("sslmode=require")).unwrap());
    assert!(encrypted(&with(&format!("sslmode=verify-ca&sslrootcert={ca}"))).unwrap());
    assert!(encrypted(&with(&format!("sslmode=verify-full&sslrootcert={ca}"))).unwrap());

    // Another CA: the server's certificate does not chain to it.
    let dir = tempfile::tempdir().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let other = params.self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap();
    let other_ca = dir.path().join("other-ca.pem");
    std::fs::write(&other_ca, other.pem()).unwrap();
    for mode in ["verify-ca", "verify-full"] {
        let refused =
            encrypted(&with(&format!("sslmode={mode}&sslrootcert={}", other_ca.display())));
        let message = format!("{:?}", refused.expect_err("a server another CA signed for"));
        assert!(message.to_lowercase().contains("certificate"), "{mode}: {message}");
    }

    // The right CA, but the host asked for is not the one the certificate
    // names (the address is the same server's).
    let (scheme_user, rest) = base.split_once('@').unwrap();
    let (_, path) = rest.split_once('/').unwrap();
    let elsewhere = format!("{scheme_user}@db.example.internal:5432/{path}?hostaddr=127.0.0.1");
    let full = format!("{elsewhere}&sslmode=verify-full&sslrootcert={ca}");
    let message = format!("{:?}", encrypted(&full).expect_err("a certificate for another name"));
    assert!(message.to_lowercase().contains("certificate"), "{message}");
    assert!(encrypted(&format!("{elsewhere}&sslmode=verify-ca&sslrootcert={ca}")).unwrap());

    // Settings that cannot be honoured are refused before any connection.
    let unknown = Location::postgres(&with("sslmode=sometimes")).unwrap_err().to_string();
    assert!(unknown.contains("sslmode must be"), "{unknown}");
    let rootless = Location::postgres(&with("sslmode=verify-full")).unwrap_err().to_string();
    assert!(rootless.contains("sslrootcert"), "{rootless}");
}

/// `Database::listen` hears a `Tx::notify` committed through another
/// connection to the same schema (another replica, here a second
/// `Database`), with its payload, once per commit, and nothing from a write
/// rolled back; a (re)connection is heard as `None`; SQLite listens to
/// nothing.
#[test]
fn a_notification_reaches_every_listener_on_the_schema_once_committed() {
    let sqlite = tempfile::tempdir().unwrap();
    let db = Database::open(&Place::Sqlite(sqlite).location(), &SCHEMA).unwrap();
    assert!(!db.listen("changes", |_| {}));
    let Some(schema) = TestSchema::create() else { return };
    let (one, two) = (
        Database::open(&schema.location(), &SCHEMA).unwrap(),
        Database::open(&schema.location(), &SCHEMA).unwrap(),
    );
    let (heard, hear) = std::sync::mpsc::channel::<Option<String>>();
    let heard = std::sync::Mutex::new(heard);
    assert!(
        two.listen("changes", move |p| heard.lock().unwrap().send(p.map(str::to_owned)).unwrap())
    );
    let next = || hear.recv_timeout(std::time::Duration::from_secs(10));
    assert_eq!(next().expect("woken once listening"), None);
    one.write(|tx| {
        tx.execute("INSERT INTO t (k, v) VALUES (1, 'x')", &[])?;
        tx.notify("changes", "plane-a")
    })
    .unwrap();
    assert_eq!(next().expect("the committed notification"), Some("plane-a".to_owned()));
    let refused = one.write(|tx| {
        tx.notify("changes", "plane-b")?;
        Err::<(), _>(DbError::CommitFailed("refused".into()))
    });
    assert!(refused.is_err());
    one.write(|tx| tx.notify("other", "plane-c")).unwrap();
    one.write(|tx| tx.notify("changes", "plane-d")).unwrap();
    assert_eq!(next().expect("the next committed notification"), Some("plane-d".to_owned()));
    assert!(hear.try_recv().is_err(), "a rolled-back or other channel's notification was heard");
}

/// Every read transaction is counted (what the services' metrics show).
fn reads_are_counted(place: Place) {
    let db = Database::open(&place.location(), &SCHEMA).unwrap();
    let before = db.read_count();
    for _ in 0..3 {
        db.read(|tx| tx.query("SELECT 1", &[])).unwrap();
    }
    assert_eq!(db.read_count() - before, 3);
}
