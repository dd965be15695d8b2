//! SQLite: one file in WAL mode with `synchronous=FULL` (`NORMAL` for a
//! group of redoable writes only), migrations by
//! `PRAGMA user_version`, a writer connection, a few reader connections and
//! a checkpointer.
//!
//! Checkpoints (copying committed pages from the WAL into the database file
//! and syncing it) run on a thread of their own instead of inside the
//! commit that crosses SQLite's threshold: the writer is the one serial
//! part of a store, and a checkpoint there held every queued write behind
//! a second copy of each page and a second `fsync`. The writer's automatic
//! checkpoints are off; after a commit the checkpointer copies what is
//! committed (`PASSIVE`: it never blocks the writer or readers), at most
//! every [`CHECKPOINT_EVERY`]. The log only starts again from its beginning
//! when a write begins with every frame copied, which under constant writes
//! never happens by itself, and a checkpointer waiting for the write lock
//! would starve (the writer takes it again at once). So once the WAL holds
//! [`RESTART_AFTER`] frames the checkpointer asks the writer, which after
//! its next commit (and its answers) runs a `RESTART` checkpoint itself:
//! only the frames committed since the last passive one are left to copy,
//! and the log restarts. A restart also waits for readers to leave the
//! log; the writer waits at most [`RESTART_WAIT`] for that (a long read
//! must not hold writes up) and is asked again after the next passive
//! checkpoint. Durability does not change: a commit is durable in the WAL,
//! whichever connection copies it later.

use crate::schema::{Older, Recorded, Schema};
use crate::{DbError, Row, Tx, TxInner, Value, WriterConn};
use rusqlite::Connection;
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError, mpsc};
use std::time::{Duration, Instant};

/// Most often the checkpointer runs while writes keep coming.
pub(crate) const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// How long a statement waits for a lock another connection holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest the writer waits for readers to leave the log when restarting
/// it (writes queue meanwhile).
const RESTART_WAIT: Duration = Duration::from_millis(20);

/// WAL frames (pages) after which a checkpoint also restarts the log, so
/// the WAL file stays near `RESTART_AFTER` × 4 KiB under constant writes.
pub(crate) const RESTART_AFTER: i64 = 4096;

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            // The text form rusqlite's chrono support has always written.
            Value::Time(t) => return t.to_sql(),
        })
    }
}

fn value_of(v: ValueRef<'_>, index: usize) -> Result<Value, DbError> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Text(t) => Value::Text(
            String::from_utf8(t.to_vec())
                .map_err(|_| DbError::Column { index, message: "text is not UTF-8".into() })?,
        ),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        ValueRef::Real(_) => {
            return Err(DbError::Column { index, message: "a real number is not stored".into() });
        }
    })
}

pub(crate) fn execute(conn: &Connection, sql: &str, values: &[Value]) -> Result<u64, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    Ok(stmt.execute(rusqlite::params_from_iter(values))? as u64)
}

pub(crate) fn query(conn: &Connection, sql: &str, values: &[Value]) -> Result<Vec<Row>, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let columns = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(values))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns);
        for index in 0..columns {
            values.push(value_of(row.get_ref(index)?, index)?);
        }
        out.push(Row(values));
    }
    Ok(out)
}

/// The database file and its log readable by its owner only (0600): they
/// hold tokens' digests and, until delivered, sealed changes. SQLite
/// creates the `-wal` and `-shm` files with the database file's mode, so
/// the file is created 0600 before SQLite opens it; files an older
/// version left readable to others are narrowed.
fn private_files(path: &Path) -> Result<(), DbError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        let failed =
            |e: std::io::Error| DbError::Config(format!("securing {}: {e}", path.display()));
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(failed)?;
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            match std::fs::metadata(&file) {
                Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                        .map_err(failed)?
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn connect(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Deleted rows may have held secrets (astro-api's delivered outbox
    // entries): overwrite their content instead of leaving it in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// SQLite's bookkeeping: the floor in `user_version` (where binaries from
/// before `schema_steps` looked), the steps in `schema_steps`.
struct Book<'a>(&'a rusqlite::Transaction<'a>);

impl crate::schema::Book for Book<'_> {
    fn floor(&mut self) -> Result<usize, DbError> {
        Ok(self.0.pragma_query_value(None, "user_version", |row| row.get(0))?)
    }

    fn raise_floor(&mut self, _from: usize, to: usize) -> Result<(), DbError> {
        Ok(self.0.pragma_update(None, "user_version", to)?)
    }

    fn recorded(&mut self) -> Result<Vec<Recorded>, DbError> {
        let mut statement = self
            .0
            .prepare("SELECT version, name, older_binaries FROM schema_steps ORDER BY version")?;
        let rows = statement.query_map([], |row| {
            Ok(Recorded { version: row.get(0)?, name: row.get(1)?, older: row.get(2)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn record(&mut self, version: usize, name: &str, older: Older) -> Result<(), DbError> {
        self.0.execute(
            "INSERT INTO schema_steps (version, name, older_binaries, applied_at) \
             VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![version, name, older.as_str(), crate::now().to_rfc3339()],
        )?;
        Ok(())
    }

    fn run(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.0.execute_batch(sql)?)
    }
}

const BOOK: &str = "CREATE TABLE IF NOT EXISTS schema_steps (
    version INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    older_binaries TEXT NOT NULL,
    applied_at TEXT NOT NULL
) STRICT;";

/// Runs the migrations this database has not run, in one transaction.
/// Foreign keys are off while they run (SQLite can only switch them outside
/// a transaction) and every one is checked before the commit, which is
/// SQLite's own procedure for a table rebuilt under a new key: a step may
/// drop and recreate a table other tables refer to, and nothing commits
/// that leaves a reference dangling.
fn migrate(conn: &mut Connection, migrations: &crate::Migrations) -> Result<Schema, DbError> {
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let migrated = (|| {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(BOOK)?;
        let schema = crate::schema::migrate(&mut Book(&tx), migrations.store, migrations.sqlite)?;
        let dangling: Vec<String> = tx
            .prepare("PRAGMA foreign_key_check")?
            .query_map([], |row| {
                Ok(format!(
                    "{} row {:?} -> {}",
                    row.get::<_, String>(0)?,
                    row.get::<_, Option<i64>>(1)?,
                    row.get::<_, String>(2)?
                ))
            })?
            .collect::<Result<_, _>>()?;
        if !dangling.is_empty() {
            return Err(DbError::Config(format!(
                "a migration left references dangling: {}",
                dangling.join("; ")
            )));
        }
        tx.commit()?;
        Ok(schema)
    })();
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrated
}

pub(crate) fn contract(
    path: &Path,
    migrations: &crate::Migrations,
) -> Result<(usize, usize), DbError> {
    private_files(path)?;
    let mut conn = connect(path)?;
    // The steps it has not run first, as opening runs them (foreign keys
    // off while a step rebuilds a table others refer to): with them on, a
    // fresh database could not be contracted ("foreign key mismatch").
    migrate(&mut conn, migrations)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(BOOK)?;
    let floors = crate::schema::contract(&mut Book(&tx), migrations.store, migrations.sqlite)?;
    tx.commit()?;
    Ok(floors)
}

pub(crate) struct Writer {
    conn: Connection,
    /// Wakes the checkpointer (a full channel means it is already due).
    /// Dropped with the writer, which stops the checkpointer.
    checkpoint: mpsc::SyncSender<()>,
    /// Set by the checkpointer when the log should restart.
    restart: Arc<AtomicBool>,
    /// Whether commits wait for the disk now (`synchronous=FULL`), as the
    /// last group asked; `NORMAL` otherwise.
    durable: bool,
}

pub(crate) fn open_writer(
    path: &Path,
    migrations: &crate::Migrations,
) -> Result<(Writer, Schema), DbError> {
    private_files(path)?;
    let mut conn = connect(path)?;
    let schema = migrate(&mut conn, migrations)?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    let checkpointer = connect(path)?;
    let (checkpoint, commits) = mpsc::sync_channel(1);
    let restart = Arc::new(AtomicBool::new(false));
    let checkpointer = Checkpointer {
        conn: checkpointer,
        name: path.display().to_string(),
        restart: restart.clone(),
    };
    std::thread::Builder::new()
        .name(crate::thread_name(migrations.store, "ckpt"))
        .spawn(move || checkpointer.run(&commits))
        .map_err(|e| DbError::Config(format!("starting the checkpointer thread: {e}")))?;
    Ok((Writer { conn, checkpoint, restart, durable: true }, schema))
}

struct Checkpointer {
    conn: Connection,
    /// The file, for messages.
    name: String,
    restart: Arc<AtomicBool>,
}

impl Checkpointer {
    /// After commits, at most every [`CHECKPOINT_EVERY`]: copy what is
    /// committed, and ask for a restart once the log is long. Ends when
    /// the writer is gone.
    fn run(&self, commits: &mpsc::Receiver<()>) {
        let mut failing = false;
        while commits.recv().is_ok() {
            let started = Instant::now();
            match checkpoint(&self.conn, "PASSIVE") {
                Ok(frames) => {
                    failing = false;
                    if frames >= RESTART_AFTER {
                        self.restart.store(true, Ordering::Relaxed);
                    }
                }
                // Loses nothing (the pages stay in the WAL); the next
                // commit retries. Said once per run of failures.
                Err(e) if !failing => {
                    failing = true;
                    eprintln!(
                        "sql-store: checkpointing {} failed (the WAL keeps the pages; retrying after the next commit): {e}",
                        self.name
                    );
                }
                Err(_) => {}
            }
            std::thread::sleep(CHECKPOINT_EVERY.saturating_sub(started.elapsed()));
        }
    }
}

/// Runs one checkpoint in `mode`; returns the frames in the WAL.
fn checkpoint(conn: &Connection, mode: &str) -> Result<i64, DbError> {
    Ok(conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| row.get(1))?)
}

impl WriterConn for Writer {
    fn begin(&mut self, then: &str, durable: bool) -> Result<(), DbError> {
        if durable != self.durable {
            // Read at each commit; set between transactions. In WAL mode
            // NORMAL commits without syncing the log, which stays ordered:
            // the next FULL commit's sync (or a checkpoint) covers it.
            let level = if durable { "FULL" } else { "NORMAL" };
            self.conn.pragma_update(None, "synchronous", level)?;
            self.durable = durable;
        }
        Ok(self.conn.execute_batch(&format!("BEGIN IMMEDIATE; {then}"))?)
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.conn.execute_batch(sql)?)
    }

    fn tx(&mut self) -> Tx<'_> {
        Tx(TxInner::Sqlite(&self.conn))
    }

    fn abandon(&mut self) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }

    fn committed(&mut self) {
        if self.restart.swap(false, Ordering::Relaxed) {
            // A restart waits for readers to leave the log; writes wait
            // meanwhile, so not long. One that does not finish (a read
            // held its snapshot) is asked for again by the next passive
            // checkpoint.
            let _ = self.conn.busy_timeout(RESTART_WAIT);
            let _ = checkpoint(&self.conn, "RESTART");
            let _ = self.conn.busy_timeout(BUSY_TIMEOUT);
        }
        let _ = self.checkpoint.try_send(());
    }
}

/// Reader connections per database: enough that a point read (some run on
/// async tasks) seldom waits behind a long one; each is a file handle and a
/// page cache, so not many.
pub const SQLITE_READERS: usize = 4;

/// Reader connections, each used by one read at a time.
pub(crate) struct Reader {
    connections: Vec<Mutex<Connection>>,
    /// Where a read that finds every connection busy queues.
    next: AtomicUsize,
    /// Reads waiting for a connection now.
    waiting: AtomicUsize,
}

impl Reader {
    pub(crate) fn open(path: &Path) -> Result<Reader, DbError> {
        let connections =
            (0..SQLITE_READERS).map(|_| connect(path).map(Mutex::new)).collect::<Result<_, _>>()?;
        Ok(Reader { connections, next: AtomicUsize::new(0), waiting: AtomicUsize::new(0) })
    }

    /// A free connection, or else the next one in turn once it is free.
    fn connection(&self) -> MutexGuard<'_, Connection> {
        for conn in &self.connections {
            match conn.try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let guard = self.connections[turn].lock().unwrap_or_else(|p| p.into_inner());
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        guard
    }

    /// Reads waiting for a connection now.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    pub(crate) fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<DbError>,
        F: FnOnce(&Tx<'_>) -> Result<T, E>,
    {
        let mut conn = self.connection();
        // Dropped unfinished: rolled back, so nothing a read wrote stays.
        let tx = conn.transaction().map_err(|e| E::from(DbError::Sqlite(e)))?;
        f(&Tx(TxInner::Sqlite(&tx)))
    }
}
