//! SQLite as both services use it: one file in WAL mode with
//! `synchronous=FULL`, migrations applied at open, writes funnelled through
//! one writer thread that commits them in groups, and reads on a connection
//! of their own.
//!
//! Group commit: a write is a closure run inside a transaction on the writer
//! thread. While one group commits, further writes queue up; the next group
//! takes every queued write (up to [`MAX_GROUP`]), runs each in its own
//! savepoint (a failing write is rolled back alone), and commits once, so one
//! fsync serves the whole group. A caller gets its answer only after the
//! commit that contains its write is durable: nothing is acknowledged early.

use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// Most writes committed together.
pub const MAX_GROUP: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    #[error("commit failed: {0}")]
    CommitFailed(String),
    #[error(
        "the write was not completed: it failed inside the database writer, or the writer stopped"
    )]
    WriterGone,
    #[error("database schema version {found} is newer than this binary knows ({known})")]
    TooNew { found: usize, known: usize },
}

/// What a queued write reports back to the writer: whether to keep its
/// savepoint, and how to hand its result to the caller once the commit is
/// known.
struct Ran {
    keep: bool,
    deliver: Box<dyn FnOnce(Result<(), String>) + Send>,
}

type Job = Box<dyn FnOnce(&Transaction<'_>) -> Ran + Send>;

#[derive(Clone)]
pub struct Database {
    writer: mpsc::Sender<Job>,
    reader: Arc<Mutex<Connection>>,
}

fn connect(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Deleted rows may have held secrets (astro-api's delivered outbox
    // entries): overwrite their content instead of leaving it in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<(), DbError> {
    let applied: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if applied > migrations.len() {
        return Err(DbError::TooNew { found: applied, known: migrations.len() });
    }
    for (index, sql) in migrations.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
    }
    Ok(())
}

impl Database {
    /// Opens (creating if needed) the database at `path` and applies the
    /// migrations it has not seen. Migrations are append-only; `PRAGMA
    /// user_version` counts those applied.
    pub fn open(path: &Path, migrations: &[&str]) -> Result<Database, DbError> {
        let mut writer_conn = connect(path)?;
        migrate(&mut writer_conn, migrations)?;
        let reader = connect(path)?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || writer(writer_conn, rx))
            .map_err(|e| DbError::CommitFailed(format!("starting the writer thread: {e}")))?;
        Ok(Database { writer: tx, reader: Arc::new(Mutex::new(reader)) })
    }

    /// Runs `f` in a write transaction on the writer thread and waits until
    /// the group it was committed in is durable. An error from `f` rolls back
    /// `f`'s changes only.
    pub fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, E> + Send + 'static,
    {
        let (answer_tx, answer_rx) = mpsc::sync_channel::<Result<T, E>>(1);
        let job: Job = Box::new(move |tx| {
            let result = f(tx);
            Ran {
                keep: result.is_ok(),
                deliver: Box::new(move |commit| {
                    let answer = match (commit, result) {
                        (Ok(()), result) => result,
                        (Err(message), Ok(_)) => Err(E::from(DbError::CommitFailed(message))),
                        // The write had failed anyway; its own error says more.
                        (Err(_), Err(e)) => Err(e),
                    };
                    let _ = answer_tx.send(answer);
                }),
            }
        });
        self.writer.send(job).map_err(|_| E::from(DbError::WriterGone))?;
        answer_rx.recv().map_err(|_| E::from(DbError::WriterGone))?
    }

    /// Runs `f` against a consistent snapshot on the reader connection,
    /// which never waits for the writer.
    pub fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<DbError>,
        F: FnOnce(&Transaction<'_>) -> Result<T, E>,
    {
        let mut conn = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction().map_err(|e| E::from(DbError::Sqlite(e)))?;
        f(&tx)
    }
}

fn writer(mut conn: Connection, jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let mut delivers = Vec::with_capacity(group.len());
        let outcome = (|| -> Result<(), rusqlite::Error> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for job in group.drain(..) {
                tx.execute_batch("SAVEPOINT write")?;
                // A write that panics is rolled back alone and its caller
                // told; the writer thread, and every other write, carry on.
                let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&tx)))
                    .unwrap_or_else(|_| Ran { keep: false, deliver: Box::new(|_| {}) });
                if ran.keep {
                    tx.execute_batch("RELEASE write")?;
                } else {
                    tx.execute_batch("ROLLBACK TO write; RELEASE write")?;
                }
                delivers.push(ran.deliver);
            }
            tx.commit()
        })();
        let commit = outcome.map_err(|e| e.to_string());
        for deliver in delivers {
            deliver(commit.clone());
        }
        // Jobs not yet run when the transaction failed to start are
        // answered too (dropping them closes their answer channels).
        drop(group);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &[&str] = &["CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT;"];

    #[test]
    fn a_failing_write_rolls_back_alone_and_others_in_its_group_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("t.sqlite3"), SCHEMA).unwrap();
        let handles: Vec<_> = (0..64)
            .map(|k| {
                let db = db.clone();
                std::thread::spawn(move || {
                    db.write(move |tx| {
                        tx.execute("INSERT INTO t (k, v) VALUES (?1, 'x')", [k])?;
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
        let count: i64 = db
            .read(|tx| {
                Ok::<_, DbError>(tx.query_row(
                    "SELECT COUNT(*) FROM t WHERE k % 2 = 0",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap();
        let odd: i64 = db
            .read(|tx| {
                Ok::<_, DbError>(tx.query_row(
                    "SELECT COUNT(*) FROM t WHERE k % 2 = 1",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap();
        assert_eq!((count, odd), (32, 0));
    }

    #[test]
    fn a_panicking_write_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("t.sqlite3"), SCHEMA).unwrap();
        let result = db.write(|tx| -> Result<(), DbError> {
            tx.execute("INSERT INTO t (k, v) VALUES (1, 'x')", [])?;
            panic!("a bug in a write");
        });
        assert!(matches!(result, Err(DbError::WriterGone)), "{result:?}");
        db.write(|tx| Ok::<_, DbError>(tx.execute("INSERT INTO t (k, v) VALUES (2, 'y')", [])?))
            .unwrap();
        let keys: Vec<i64> = db
            .read(|tx| {
                let mut stmt = tx.prepare("SELECT k FROM t ORDER BY k")?;
                let rows = stmt.query_map([], |r| r.get(0))?.collect::<Result<Vec<_>, _>>()?;
                Ok::<_, DbError>(rows)
            })
            .unwrap();
        assert_eq!(keys, [2], "the panicking write left nothing behind");
    }

    #[test]
    fn acknowledged_writes_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        {
            let db = Database::open(&path, SCHEMA).unwrap();
            for k in 0..10 {
                db.write(move |tx| {
                    Ok::<_, DbError>(tx.execute("INSERT INTO t (k, v) VALUES (?1, 'x')", [k])?)
                })
                .unwrap();
            }
        }
        let db = Database::open(&path, SCHEMA).unwrap();
        let n: i64 = db
            .read(|tx| Ok::<_, DbError>(tx.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(n, 10);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        Database::open(&path, &[SCHEMA[0], "CREATE TABLE u (x INTEGER) STRICT;"]).unwrap();
        assert!(matches!(
            Database::open(&path, SCHEMA),
            Err(DbError::TooNew { found: 2, known: 1 })
        ));
    }
}
