//! The services' database: SQLite (one file, the embedded default) or
//! PostgreSQL (what several replicas share), behind one statement API.
//!
//! Stores write their SQL once, with `?1`-style placeholders, in the
//! dialect both backends understand (`ON CONFLICT`, `RETURNING`, explicit
//! `CAST`s where PostgreSQL cannot infer a parameter's type); only their
//! migrations are written per backend ([`Migrations`]).
//!
//! Writes: a write is a closure run on a writer thread inside a transaction.
//! While one group commits, further writes queue; the next group takes every
//! queued write (up to [`MAX_GROUP`]), runs each in its own savepoint (a
//! failing write is rolled back alone) and commits once, so one durable
//! commit serves the whole group. A caller is answered only after the commit
//! that contains its write is durable: nothing is acknowledged early.
//!
//! The one exception is asked for by name: a *redoable* write
//! ([`Database::write_redoable`]) is one whose loss its caller redoes by
//! itself (astro-api's delivery outcomes: a lost outcome only means the
//! change is delivered again, which Harmony takes as a no-op). A
//! group made only of redoable writes commits without waiting for the disk
//! (SQLite `synchronous=NORMAL`, PostgreSQL `synchronous_commit=off`); it
//! is durable with the next durable commit or checkpoint, and a power loss
//! before that loses it, never anything committed before it or a later
//! durable write (both logs are written in order). The calling process
//! dying loses nothing either way: the commit has left it.
//!
//! Writes are serializable on both backends: SQLite has one writer; on
//! PostgreSQL each group first takes a transaction-scoped advisory lock
//! named after the store and its schema, so groups from every replica on the
//! database run one after another and a write never sees a half-done one.
//! Reads run in snapshot transactions of their own and never wait for
//! writes.

mod blocking;
mod pg;
mod schema;
mod sqlite;
pub mod testing;
mod tls;
mod value;

pub use blocking::{Panicked, run_blocking};
pub use pg::MAX_READERS;
pub use schema::{Older, Schema, Step, step_name};
pub use sqlite::SQLITE_READERS;
pub use value::{FromValue, Row, ToValue, Value};

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::mpsc;

/// The current time at the precision every backend keeps (microseconds:
/// PostgreSQL's), so a time written and read back compares equal.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

/// Most writes committed together.
pub const MAX_GROUP: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {}", postgres_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("column {index}: {message}")]
    Column { index: usize, message: String },
    #[error("the query returned no row")]
    NoRow,
    #[error("commit failed: {0}")]
    CommitFailed(String),
    #[error(
        "the write was not completed: it failed inside the database writer, or the writer stopped"
    )]
    WriterGone,
    #[error("{}", too_new(store, *found, *known, step, *contracted))]
    TooNew {
        store: String,
        /// The database's floor: how many migrations a binary must know.
        found: usize,
        known: usize,
        /// The migration that raised the floor.
        step: String,
        /// Whether an operator raised it ([`contract`]) rather than the
        /// migration itself.
        contracted: bool,
    },
    #[error("{0}")]
    Config(String),
}

fn too_new(store: &str, found: usize, known: usize, step: &str, contracted: bool) -> String {
    if contracted {
        format!(
            "the {store} database was contracted to binaries that know migration {step} (its \
             migration {found}); this binary knows {known}: deploy a binary at least as new as \
             the one that contracted it"
        )
    } else {
        format!(
            "the {store} database has run migration {step} (its migration {found}), after which \
             binaries that do not know it must stop; this binary knows {known}: deploy a binary \
             that knows {step}, or restore the database from before it ran"
        )
    }
}

/// What the server said (its message, detail and code), not only "db
/// error".
fn postgres_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let detail = db.detail().map(|d| format!(" ({d})")).unwrap_or_default();
            format!("{}{detail} [{}]", db.message(), db.code().code())
        }
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

impl DbError {
    /// Whether the statement broke a UNIQUE or PRIMARY KEY constraint.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => {
                f.code == rusqlite::ErrorCode::ConstraintViolation
                    && matches!(
                        f.extended_code,
                        rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                            | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    )
            }
            DbError::Postgres(e) => {
                e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
            }
            _ => false,
        }
    }
}

/// Which database a store lives in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file (created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://user@host:port/db`; a
    /// schema other than `public` with `?options=-csearch_path%3Dname`).
    Postgres(String),
}

impl Location {
    /// A service's database: PostgreSQL at `database_url` when given, else
    /// the SQLite file `file` in `data_dir` (created if missing). Errors
    /// never repeat the URL, which may hold a password.
    pub fn choose(
        database_url: Option<&str>,
        data_dir: &std::path::Path,
        file: &str,
    ) -> Result<Location, DbError> {
        match database_url {
            Some(url) => Location::postgres(url),
            None => {
                std::fs::create_dir_all(data_dir).map_err(|e| {
                    DbError::Config(format!("creating data directory {}: {e}", data_dir.display()))
                })?;
                Ok(Location::Sqlite(data_dir.join(file)))
            }
        }
    }

    /// Where it is, for messages (never the URL, which may hold a password).
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(_) => "PostgreSQL".to_owned(),
        }
    }

    /// `postgres://…` or `postgresql://…` is PostgreSQL; anything else is
    /// refused (a SQLite file is given as a data directory, not a URL).
    pub fn postgres(url: &str) -> Result<Location, DbError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Parsed whole (TLS settings and roots included), so a bad URL
            // is refused before anything starts.
            pg::config(url)?;
            Ok(Location::Postgres(url.to_owned()))
        } else {
            Err(DbError::Config(
                "a database URL must start with postgres:// or postgresql://".to_owned(),
            ))
        }
    }
}

/// A store's schema, per backend: its migrations in order ([`step!`] reads
/// each from a file). Append only: a released migration never changes
/// (`cargo xtask check` holds them to `versions/migrations.json`). Whether
/// binaries of different versions can share the database is
/// `schema`'s subject.
#[derive(Clone, Copy, Debug)]
pub struct Migrations {
    /// Names the store's write lock on a shared PostgreSQL server.
    pub store: &'static str,
    pub sqlite: &'static [Step],
    pub postgres: &'static [Step],
}

/// Raises the database's floor to every migration this binary knows
/// (migrating it first): the contract step of a schema change, taken once
/// no older binary uses the database. Returns the floor before and after.
pub fn contract(location: &Location, migrations: &Migrations) -> Result<(usize, usize), DbError> {
    match location {
        Location::Sqlite(path) => sqlite::contract(path, migrations),
        Location::Postgres(url) => pg::contract(url, migrations),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Statements inside a transaction. Placeholders are `?1`, `?2`, …
pub struct Tx<'a>(TxInner<'a>);

enum TxInner<'a> {
    Sqlite(&'a rusqlite::Connection),
    Postgres(&'a RefCell<pg::Conn>),
}

/// Parameters for a statement: `&[&a, &b]`.
pub type Params<'p> = &'p [&'p dyn ToValue];

impl Tx<'_> {
    /// Tells every [`Database::listen`]er on `channel` (in this process or
    /// another replica on the same database and schema) `payload` once this
    /// write commits; nothing if it rolls back. PostgreSQL's `NOTIFY` (a
    /// payload sent twice in one transaction arrives once); on SQLite (one
    /// process) nothing: its waiters are woken in process.
    pub fn notify(&self, channel: &str, payload: &str) -> Result<(), DbError> {
        match self.0 {
            TxInner::Sqlite(_) => Ok(()),
            TxInner::Postgres(_) => {
                self.execute(
                    "SELECT pg_notify(?1 || '_' || current_schema(), ?2)",
                    &[&channel, &payload],
                )?;
                Ok(())
            }
        }
    }

    /// Runs a statement; returns the number of rows it changed.
    pub fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, DbError> {
        let values: Vec<Value> = params.iter().map(|p| p.to_value()).collect();
        match &self.0 {
            TxInner::Sqlite(conn) => sqlite::execute(conn, sql, &values),
            TxInner::Postgres(conn) => conn.borrow_mut().execute(sql, &values),
        }
    }

    /// Runs a query; returns every row.
    pub fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, DbError> {
        let values: Vec<Value> = params.iter().map(|p| p.to_value()).collect();
        match &self.0 {
            TxInner::Sqlite(conn) => sqlite::query(conn, sql, &values),
            TxInner::Postgres(conn) => conn.borrow_mut().query(sql, &values),
        }
    }

    /// The first row, if any.
    pub fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The first row; [`DbError::NoRow`] when there is none.
    pub fn query_one(&self, sql: &str, params: Params<'_>) -> Result<Row, DbError> {
        self.query_opt(sql, params)?.ok_or(DbError::NoRow)
    }
}

/// What a queued write reports back to the writer: whether to keep its
/// savepoint, and how to hand its result to the caller once the commit is
/// known.
pub(crate) struct Ran {
    keep: bool,
    deliver: Box<dyn FnOnce(Result<(), String>) + Send>,
}

pub(crate) struct Job {
    /// Whether the caller waits for the disk ([`Database::write_redoable`]
    /// says why some need not).
    durable: bool,
    run: Box<dyn FnOnce(&Tx<'_>) -> Ran + Send>,
    /// When it was queued: what it waited for other writes (and, on
    /// PostgreSQL, other replicas' write lock) is counted from here.
    queued_at: std::time::Instant,
}

/// The connection a writer thread commits groups on.
pub(crate) trait WriterConn: Send + 'static {
    /// Starts a group's transaction (and, on PostgreSQL, takes the write
    /// lock), then runs `then` (the first write's savepoint), in one round
    /// trip where the backend allows. Its commit waits for the disk when
    /// `durable`.
    fn begin(&mut self, then: &str, durable: bool) -> Result<(), DbError>;
    fn batch(&mut self, sql: &str) -> Result<(), DbError>;
    fn tx(&mut self) -> Tx<'_>;
    /// Gives up the group's transaction after a failure.
    fn abandon(&mut self);
    /// Called after each group's commit (SQLite wakes its checkpointer).
    fn committed(&mut self) {}
}

/// The reading side of a backend.
enum Readers {
    Sqlite(sqlite::Reader),
    Postgres(pg::Pool),
}

#[derive(Clone)]
pub struct Database {
    writer: mpsc::Sender<Job>,
    readers: std::sync::Arc<Readers>,
    schema: std::sync::Arc<Schema>,
    stats: std::sync::Arc<WriteStats>,
    reads: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// What the writer has committed since the database was opened (for a
/// service's metrics): groups, the writes in them, and the time groups took
/// from their first statement to their commit. Rates of these give the
/// mean group size and commit latency.
#[derive(Default)]
pub struct WriteStats {
    groups: std::sync::atomic::AtomicU64,
    durable_groups: std::sync::atomic::AtomicU64,
    writes: std::sync::atomic::AtomicU64,
    failed_groups: std::sync::atomic::AtomicU64,
    micros: std::sync::atomic::AtomicU64,
    wait_micros: std::sync::atomic::AtomicU64,
    longest_wait_micros: std::sync::atomic::AtomicU64,
    longest_group_micros: std::sync::atomic::AtomicU64,
    longest_write_micros: std::sync::atomic::AtomicU64,
}

/// A reading of [`WriteStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteCounts {
    /// Groups committed.
    pub groups: u64,
    /// Of those, groups whose commit waited for the disk (a sync each):
    /// every group holding a durable write; groups of redoable writes alone
    /// do not.
    pub durable_groups: u64,
    /// Writes in the groups committed (each its own savepoint).
    pub writes: u64,
    /// Groups whose transaction failed (each write told so).
    pub failed_groups: u64,
    /// Microseconds the groups committed took, first statement to commit.
    pub commit_micros: u64,
    /// Microseconds the writes waited, summed, from being queued until
    /// they ran: behind the groups before them and, on PostgreSQL, behind
    /// other replicas' groups (the write lock).
    pub wait_micros: u64,
}

/// The longest waits and groups since the last [`Database::take_longest`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Longest {
    /// The longest any one write waited from being queued until it ran.
    pub wait_micros: u64,
    /// The longest group, first statement to commit: the longest time the
    /// write lock was held.
    pub group_micros: u64,
    /// The longest one write ran, inside its group.
    pub write_micros: u64,
}

impl WriteStats {
    fn read(&self) -> WriteCounts {
        use std::sync::atomic::Ordering::Relaxed;
        WriteCounts {
            groups: self.groups.load(Relaxed),
            durable_groups: self.durable_groups.load(Relaxed),
            writes: self.writes.load(Relaxed),
            failed_groups: self.failed_groups.load(Relaxed),
            commit_micros: self.micros.load(Relaxed),
            wait_micros: self.wait_micros.load(Relaxed),
        }
    }
}

impl Database {
    /// Opens (creating if needed) the database, applies the migrations it
    /// has not seen, and starts its writer thread.
    pub fn open(location: &Location, migrations: &Migrations) -> Result<Database, DbError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let stats = std::sync::Arc::new(WriteStats::default());
        let (readers, schema) = match location {
            Location::Sqlite(path) => {
                let (conn, schema) = sqlite::open_writer(path, migrations)?;
                spawn_writer(migrations.store, conn, rx, stats.clone())?;
                (Readers::Sqlite(sqlite::Reader::open(path)?), schema)
            }
            Location::Postgres(url) => {
                let (conn, schema) = pg::Writer::open(url, migrations)?;
                spawn_writer(migrations.store, conn, rx, stats.clone())?;
                (Readers::Postgres(pg::Pool::new(url)), schema)
            }
        };
        Ok(Database {
            writer: tx,
            readers: std::sync::Arc::new(readers),
            schema: std::sync::Arc::new(schema),
            stats,
            reads: Default::default(),
        })
    }

    /// What the writer has committed since this database was opened.
    pub fn write_counts(&self) -> WriteCounts {
        self.stats.read()
    }

    /// The longest wait and group since the last call (or the opening),
    /// and starts counting again: what one stretch of work (a benchmark's
    /// phase) did to the writers.
    pub fn take_longest(&self) -> Longest {
        use std::sync::atomic::Ordering::Relaxed;
        Longest {
            wait_micros: self.stats.longest_wait_micros.swap(0, Relaxed),
            group_micros: self.stats.longest_group_micros.swap(0, Relaxed),
            write_micros: self.stats.longest_write_micros.swap(0, Relaxed),
        }
    }

    /// Calls `wake(Some(payload))` whenever a write on this database's
    /// schema (in this process or another replica) calls [`Tx::notify`] with
    /// `channel`, and `wake(None)` each time the listening connection is
    /// (re)established: a notification sent while nobody listened is lost,
    /// so every reader must look at the store again. Runs until the process
    /// ends, reconnecting after a failure. PostgreSQL only (`LISTEN`); on
    /// SQLite it does nothing and answers `false`.
    pub fn listen(
        &self,
        channel: &str,
        wake: impl Fn(Option<&str>) + Send + Sync + 'static,
    ) -> bool {
        match &*self.readers {
            Readers::Sqlite(_) => false,
            Readers::Postgres(pool) => {
                pg::listen(pool.url(), channel, std::sync::Arc::new(wake));
                true
            }
        }
    }

    /// Reads waiting for a connection now (every reader busy).
    pub fn readers_waiting(&self) -> usize {
        match &*self.readers {
            Readers::Sqlite(reader) => reader.waiting(),
            Readers::Postgres(pool) => pool.waiting(),
        }
    }

    /// The schema as it was when this binary opened the database (a
    /// contract taken since only matters to binaries that open it later).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    pub fn backend(&self) -> Backend {
        match *self.readers {
            Readers::Sqlite(_) => Backend::Sqlite,
            Readers::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs `f` in a write transaction on the writer thread and waits until
    /// the group it was committed in is durable. An error from `f` rolls back
    /// `f`'s changes only.
    pub fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T, E> + Send + 'static,
    {
        let (answer_tx, answer_rx) = mpsc::sync_channel::<Result<T, E>>(1);
        self.queue(f, true, move |answer| {
            let _ = answer_tx.send(answer);
        })?;
        answer_rx.recv().map_err(|_| E::from(DbError::WriterGone))?
    }

    /// [`Database::write`] for async callers: the task waits for the commit
    /// without holding a thread (no trip through a blocking pool, whose
    /// hand-offs cost more than a small write).
    pub async fn write_async<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T, E> + Send + 'static,
    {
        self.write_answered(f, true).await
    }

    /// [`Database::write_async`] for a write whose loss in a power failure
    /// its caller redoes by itself: answered once committed, before the
    /// disk has it. Its group waits for the disk all the same when another
    /// write in it is durable. Only for writes that are redone (a delivery
    /// outcome), never for what a caller has been promised.
    pub async fn write_redoable<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T, E> + Send + 'static,
    {
        self.write_answered(f, false).await
    }

    async fn write_answered<T, E, F>(&self, f: F, durable: bool) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T, E> + Send + 'static,
    {
        let (answer_tx, answer_rx) = tokio::sync::oneshot::channel::<Result<T, E>>();
        self.queue(f, durable, move |answer| {
            let _ = answer_tx.send(answer);
        })?;
        answer_rx.await.map_err(|_| E::from(DbError::WriterGone))?
    }

    /// Queues `f` for the writer; `tell` gets its result once the group
    /// it ran in is committed (or failed).
    fn queue<T, E, F>(
        &self,
        f: F,
        durable: bool,
        tell: impl FnOnce(Result<T, E>) + Send + 'static,
    ) -> Result<(), E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T, E> + Send + 'static,
    {
        let run = Box::new(move |tx: &Tx<'_>| {
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
                    tell(answer);
                }),
            }
        });
        let queued_at = std::time::Instant::now();
        self.writer.send(Job { durable, run, queued_at }).map_err(|_| E::from(DbError::WriterGone))
    }

    /// Runs `f` against a consistent snapshot, which never waits for the
    /// writer. Writes made inside `f` are refused by PostgreSQL (the
    /// transaction is read-only) and rolled back on SQLite.
    pub fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<DbError>,
        F: FnOnce(&Tx<'_>) -> Result<T, E>,
    {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match &*self.readers {
            Readers::Sqlite(reader) => reader.read(f),
            Readers::Postgres(pool) => pool.read(f),
        }
    }

    /// Read transactions run since the database was opened (for a
    /// service's metrics: what idle waiters cost shows here).
    pub fn read_count(&self) -> u64 {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The name of a store's thread doing `what` (`top -H`, profilers and the
/// benchmark's CPU split tell the stores apart by it; Linux keeps 15 bytes).
pub(crate) fn thread_name(store: &str, what: &str) -> String {
    let mut name = format!("{store}-{what}");
    name.truncate(15);
    name
}

fn spawn_writer<C: WriterConn>(
    store: &str,
    conn: C,
    jobs: mpsc::Receiver<Job>,
    stats: std::sync::Arc<WriteStats>,
) -> Result<(), DbError> {
    std::thread::Builder::new()
        .name(thread_name(store, "writer"))
        .spawn(move || writer(conn, jobs, &stats))
        .map_err(|e| DbError::CommitFailed(format!("starting the writer thread: {e}")))?;
    Ok(())
}

fn writer<C: WriterConn>(mut conn: C, jobs: mpsc::Receiver<Job>, stats: &WriteStats) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let mut delivers = Vec::with_capacity(group.len());
        // Each write runs in a savepoint of its own. The statements between
        // writes go as one batch (end this savepoint, start the next, or
        // commit), which saves round trips to a server.
        let durable = group.iter().any(|job| job.durable);
        let (started, size) = (std::time::Instant::now(), group.len() as u64);
        let outcome = (|| -> Result<(), DbError> {
            conn.begin("SAVEPOINT write", durable)?;
            let count = group.len();
            for (index, job) in group.drain(..).enumerate() {
                let running = std::time::Instant::now();
                let waited = (running - job.queued_at).as_micros() as u64;
                stats.wait_micros.fetch_add(waited, std::sync::atomic::Ordering::Relaxed);
                stats.longest_wait_micros.fetch_max(waited, std::sync::atomic::Ordering::Relaxed);
                // A write that panics is rolled back alone and its caller
                // told; the writer thread, and every other write, carry on.
                let ran = {
                    let tx = conn.tx();
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (job.run)(&tx)))
                        .unwrap_or_else(|_| Ran { keep: false, deliver: Box::new(|_| {}) })
                };
                let ran_for = running.elapsed().as_micros() as u64;
                stats.longest_write_micros.fetch_max(ran_for, std::sync::atomic::Ordering::Relaxed);
                let end = match ran.keep {
                    true => "RELEASE SAVEPOINT write",
                    false => "ROLLBACK TO SAVEPOINT write; RELEASE SAVEPOINT write",
                };
                let next = if index + 1 == count { "COMMIT" } else { "SAVEPOINT write" };
                delivers.push(ran.deliver);
                conn.batch(&format!("{end}; {next}"))?;
            }
            Ok(())
        })();
        if outcome.is_err() {
            conn.abandon();
        }
        let committed = outcome.is_ok();
        {
            use std::sync::atomic::Ordering::Relaxed;
            if committed {
                stats.groups.fetch_add(1, Relaxed);
                stats.durable_groups.fetch_add(u64::from(durable), Relaxed);
                stats.writes.fetch_add(size, Relaxed);
                let micros = started.elapsed().as_micros() as u64;
                stats.micros.fetch_add(micros, Relaxed);
                stats.longest_group_micros.fetch_max(micros, Relaxed);
            } else {
                stats.failed_groups.fetch_add(1, Relaxed);
            }
        }
        let commit = outcome.map_err(|e| e.to_string());
        for deliver in delivers {
            deliver(commit.clone());
        }
        // Jobs not yet run when the transaction failed to start are
        // answered too (dropping them closes their answer channels).
        drop(group);
        // After the answers: nothing done here delays them.
        if committed {
            conn.committed();
        }
    }
}

#[cfg(test)]
mod tests;
