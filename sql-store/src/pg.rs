//! PostgreSQL: a writer connection that serializes groups across replicas
//! with a transaction-scoped advisory lock, a pool of reader connections in
//! `REPEATABLE READ READ ONLY` snapshots, and prepared statements cached per
//! connection. Connections lost (a restart of the server, a network cut) are
//! replaced at the next use; the write in flight is reported failed, never
//! acknowledged.
//!
//! Calls block their thread, from any thread: reader connections are
//! driven by one I/O thread of this crate's own, and a call waits for its
//! answer with a plain (non-tokio) executor, so it works on tokio's
//! blocking pool, on a worker thread (e.g. at start-up, in an async
//! `main`), or anywhere else. The writer's connection is driven by the
//! writer thread itself (a runtime of its own, run while a statement
//! waits): every statement of a write group is a round trip, and handing
//! each to the I/O thread and back cost two thread wake-ups per statement
//! on the one serial path of a store.

use crate::schema::{self, Older, Recorded, Schema};
use crate::{DbError, Migrations, Row, Tx, TxInner, Value, WriterConn};
use bytes::BytesMut;
use chrono::{DateTime, Utc};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Condvar, Mutex, OnceLock};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, Statement};

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql_checked(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql_checked(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql_checked(ty, out),
                Type::BOOL => (*i != 0).to_sql_checked(ty, out),
                _ => Err(format!("an integer cannot be bound to a {ty} parameter").into()),
            },
            Value::Text(s) => s.as_str().to_sql_checked(ty, out),
            Value::Blob(b) => b.as_slice().to_sql_checked(ty, out),
            Value::Time(t) => t.to_sql_checked(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Checked per value in `to_sql`, which names what did not fit.
        true
    }

    to_sql_checked!();
}

/// `?N` placeholders as PostgreSQL's `$N`, outside quoted text.
pub(crate) fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '?') => {
                out.push('$');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

fn value_of(row: &tokio_postgres::Row, index: usize) -> Result<Value, DbError> {
    let column = &row.columns()[index];
    let v = match *column.type_() {
        Type::INT8 => row.try_get::<_, Option<i64>>(index)?.map(Value::Int),
        Type::INT4 => row.try_get::<_, Option<i32>>(index)?.map(|i| Value::Int(i.into())),
        Type::INT2 => row.try_get::<_, Option<i16>>(index)?.map(|i| Value::Int(i.into())),
        Type::BOOL => row.try_get::<_, Option<bool>>(index)?.map(|b| Value::Int(b.into())),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            row.try_get::<_, Option<String>>(index)?.map(Value::Text)
        }
        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(index)?.map(Value::Blob),
        Type::TIMESTAMPTZ => row.try_get::<_, Option<DateTime<Utc>>>(index)?.map(Value::Time),
        ref other => {
            return Err(DbError::Column {
                index,
                message: format!(
                    "column {} has type {other}, which stores do not use",
                    column.name()
                ),
            });
        }
    };
    Ok(v.unwrap_or(Value::Null))
}

/// A connection with its prepared statements.
pub(crate) struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
    /// Drives the connection: the shared I/O thread, or (the writer's) a
    /// runtime of its own, run by the calling thread.
    own: Option<tokio::runtime::Runtime>,
}

/// The runtime that drives every connection's I/O.
fn io() -> &'static tokio::runtime::Runtime {
    static IO: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    IO.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("postgres-io")
            .enable_all()
            .build()
            .expect("starting the PostgreSQL I/O thread")
    })
}

/// Waits for `f` on the calling thread.
pub(crate) fn wait<T>(f: impl std::future::Future<Output = T>) -> T {
    futures::executor::block_on(f)
}

/// Opens a client whose connection runs on the I/O thread. Connections say
/// `application_name=sql-store` unless the URL names another.
pub(crate) fn connect(url: &str) -> Result<Client, DbError> {
    let (config, tls) = config(url)?;
    let connecting = io().spawn(connecting(config, tls));
    wait(connecting)
        .map_err(|e| DbError::Config(format!("the PostgreSQL connection task failed: {e}")))?
        .map_err(DbError::from)
}

/// What tokio-postgres connects with for `url`, and the TLS its `sslmode`
/// asks for ([`crate::tls`]).
pub(crate) fn config(
    url: &str,
) -> Result<(tokio_postgres::Config, tokio_postgres_rustls::MakeRustlsConnect), DbError> {
    let parsed = crate::tls::parse(url)?;
    let mut config: tokio_postgres::Config =
        parsed.url.parse().map_err(|e| DbError::Config(format!("invalid PostgreSQL URL: {e}")))?;
    if config.get_application_name().is_none() {
        config.application_name("sql-store");
    }
    Ok((config, parsed.tls))
}

/// Connects, leaving the connection's task on the runtime this runs on.
async fn connecting(
    config: tokio_postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(tls).await?;
    // Ends when the client is dropped or the server goes away; the client
    // then reports itself closed and is replaced.
    tokio::spawn(connection);
    Ok(client)
}

/// Runs a batch of statements (no parameters) on `client`.
pub(crate) fn batch_execute(client: &Client, sql: &str) -> Result<(), DbError> {
    Ok(wait(client.batch_execute(sql))?)
}

impl Conn {
    fn connect(url: &str) -> Result<Conn, DbError> {
        Ok(Conn { client: connect(url)?, statements: HashMap::new(), own: None })
    }

    /// A connection driven by the calling thread (which must not be a
    /// tokio worker): the writer's.
    fn connect_here(url: &str) -> Result<Conn, DbError> {
        let own = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| DbError::Config(format!("starting the writer's runtime: {e}")))?;
        let (config, tls) = config(url)?;
        let client = own.block_on(connecting(config, tls))?;
        Ok(Conn { client, statements: HashMap::new(), own: Some(own) })
    }

    /// Waits for `f`, driving the connection if it is this thread's.
    fn run<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        match &self.own {
            Some(runtime) => runtime.block_on(f),
            None => wait(f),
        }
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let statement = self.run(self.client.prepare(&dollar_placeholders(sql)))?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    pub(crate) fn execute(&mut self, sql: &str, values: &[Value]) -> Result<u64, DbError> {
        let statement = self.statement(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        Ok(self.run(self.client.execute(&statement, &params))?)
    }

    pub(crate) fn query(&mut self, sql: &str, values: &[Value]) -> Result<Vec<Row>, DbError> {
        let statement = self.statement(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        self.run(self.client.query(&statement, &params))?
            .iter()
            .map(|row| (0..row.len()).map(|i| value_of(row, i)).collect::<Result<_, _>>().map(Row))
            .collect()
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.run(self.client.batch_execute(sql))?)
    }
}

/// `BEGIN`, then the lock that serializes write groups of one store (in
/// one schema) across every replica, held until the transaction ends, then
/// `then`: one round trip. The store's name goes in as a literal.
fn begin_locked(conn: &mut Conn, store: &str, then: &str) -> Result<(), DbError> {
    let store = store.replace('\'', "''");
    conn.batch(&format!(
        "BEGIN; SELECT pg_advisory_xact_lock(hashtext('{store}' || '/' || current_schema())); \
         {then}"
    ))
}

/// What a group that need not wait for the disk adds to its transaction
/// (`SET LOCAL` ends with it).
const NOT_DURABLE: &str = "SET LOCAL synchronous_commit TO OFF; ";

pub(crate) struct Writer {
    url: String,
    store: &'static str,
    conn: Option<RefCell<Conn>>,
}

impl Writer {
    /// Migrates on a connection of the I/O thread (this may run on an
    /// async task); the writer thread opens its own at its first group.
    pub(crate) fn open(url: &str, migrations: &Migrations) -> Result<(Writer, Schema), DbError> {
        let schema = in_book(url, migrations, |book| {
            schema::migrate(book, migrations.store, migrations.postgres)
        })?;
        Ok((Writer { url: url.to_owned(), store: migrations.store, conn: None }, schema))
    }

    fn conn(&mut self) -> Result<&mut Conn, DbError> {
        if self.conn.as_mut().is_none_or(|c| c.get_mut().client.is_closed()) {
            self.conn = Some(RefCell::new(Conn::connect_here(&self.url)?));
        }
        Ok(self.conn.as_mut().expect("connected above").get_mut())
    }
}

pub(crate) fn contract(url: &str, migrations: &Migrations) -> Result<(usize, usize), DbError> {
    in_book(url, migrations, |book| schema::contract(book, migrations.store, migrations.postgres))
}

/// PostgreSQL's bookkeeping: the floor is the highest version in
/// `schema_migrations` (where binaries from before `schema_steps` looked),
/// the steps are in `schema_steps`.
struct Book<'a>(&'a mut Conn);

impl schema::Book for Book<'_> {
    fn floor(&mut self) -> Result<usize, DbError> {
        let floor: i64 = self
            .0
            .query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])?
            .first()
            .ok_or(DbError::NoRow)?
            .get(0)?;
        Ok(floor as usize)
    }

    fn raise_floor(&mut self, from: usize, to: usize) -> Result<(), DbError> {
        for version in from + 1..=to {
            self.0.execute(
                "INSERT INTO schema_migrations (version) VALUES (?1)",
                &[Value::Int(version as i64)],
            )?;
        }
        Ok(())
    }

    fn recorded(&mut self) -> Result<Vec<Recorded>, DbError> {
        self.0
            .query("SELECT version, name, older_binaries FROM schema_steps ORDER BY version", &[])?
            .iter()
            .map(|row| {
                let version: i64 = row.get(0)?;
                Ok(Recorded { version: version as usize, name: row.get(1)?, older: row.get(2)? })
            })
            .collect()
    }

    fn record(&mut self, version: usize, name: &str, older: Older) -> Result<(), DbError> {
        self.0.execute(
            "INSERT INTO schema_steps (version, name, older_binaries) VALUES (?1, ?2, ?3)",
            &[
                Value::Int(version as i64),
                Value::Text(name.to_owned()),
                Value::Text(older.as_str().to_owned()),
            ],
        )?;
        Ok(())
    }

    fn run(&mut self, sql: &str) -> Result<(), DbError> {
        self.0.batch(sql)
    }
}

/// Runs `f` on the store's bookkeeping in one transaction holding the
/// store's write lock (replicas starting together migrate one at a time).
fn in_book<T>(
    url: &str,
    migrations: &Migrations,
    f: impl FnOnce(&mut Book<'_>) -> Result<T, DbError>,
) -> Result<T, DbError> {
    let mut conn = Conn::connect(url)?;
    begin_locked(
        &mut conn,
        migrations.store,
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         );
         CREATE TABLE IF NOT EXISTS schema_steps (
             version BIGINT PRIMARY KEY,
             name TEXT NOT NULL,
             older_binaries TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )?;
    match f(&mut Book(&mut conn)) {
        Ok(value) => {
            conn.batch("COMMIT")?;
            Ok(value)
        }
        Err(e) => {
            let _ = conn.batch("ROLLBACK");
            Err(e)
        }
    }
}

impl WriterConn for Writer {
    fn begin(&mut self, then: &str, durable: bool) -> Result<(), DbError> {
        let store = self.store;
        match durable {
            true => begin_locked(self.conn()?, store, then),
            false => begin_locked(self.conn()?, store, &format!("{NOT_DURABLE}{then}")),
        }
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn()?.batch(sql)
    }

    fn tx(&mut self) -> Tx<'_> {
        Tx(TxInner::Postgres(self.conn.as_ref().expect("begin connected")))
    }

    fn abandon(&mut self) {
        if let Some(conn) = &mut self.conn
            && conn.get_mut().batch("ROLLBACK").is_err()
        {
            // Whatever state it is in, the next group starts on a new one.
            self.conn = None;
        }
    }
}

/// Most reader connections one store opens in one process; further reads
/// wait for one to be free. Kept open once opened (a new PostgreSQL
/// connection forks a server process), so a replica holds at most this
/// many plus its writer: size `max_connections` for replicas × stores × 17.
pub const MAX_READERS: usize = 16;

/// Reader connections: the idle ones, and how many are open in all.
struct Slots {
    idle: Vec<Conn>,
    open: usize,
    /// Reads waiting for a connection to be given back.
    waiting: usize,
}

pub(crate) struct Pool {
    url: String,
    slots: Mutex<Slots>,
    freed: Condvar,
}

impl Pool {
    pub(crate) fn new(url: &str) -> Pool {
        Pool {
            url: url.to_owned(),
            slots: Mutex::new(Slots { idle: Vec::new(), open: 0, waiting: 0 }),
            freed: Condvar::new(),
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle connection, a new one while fewer than [`MAX_READERS`] are
    /// open, or the next one given back.
    fn checkout(&self) -> Result<Conn, DbError> {
        let mut slots = self.slots();
        loop {
            while let Some(conn) = slots.idle.pop() {
                if !conn.client.is_closed() {
                    return Ok(conn);
                }
                slots.open -= 1;
            }
            if slots.open < MAX_READERS {
                slots.open += 1;
                drop(slots);
                return Conn::connect(&self.url).inspect_err(|_| self.checkin(None));
            }
            slots.waiting += 1;
            slots = self.freed.wait(slots).unwrap_or_else(|p| p.into_inner());
            slots.waiting -= 1;
        }
    }

    /// Reads waiting for a connection now.
    pub(crate) fn waiting(&self) -> usize {
        self.slots().waiting
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Gives a connection back (`None`: it is broken and was dropped).
    fn checkin(&self, conn: Option<Conn>) {
        let mut slots = self.slots();
        match conn {
            Some(conn) => slots.idle.push(conn),
            None => slots.open -= 1,
        }
        self.freed.notify_one();
    }

    pub(crate) fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<DbError>,
        F: FnOnce(&Tx<'_>) -> Result<T, E>,
    {
        let mut conn = self.checkout()?;
        if let Err(e) = conn.batch("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY") {
            self.checkin(None);
            return Err(e.into());
        }
        let cell = RefCell::new(conn);
        let result = f(&Tx(TxInner::Postgres(&cell)));
        let mut conn = cell.into_inner();
        // Read only: nothing to keep, so always roll back (also clears a
        // failed statement's aborted state).
        let healthy = conn.batch("ROLLBACK").is_ok();
        self.checkin(healthy.then_some(conn));
        result
    }
}

/// [`crate::Database::listen`]: a connection of its own on the I/O thread,
/// `LISTEN`ing on `channel` in the connection's schema, calling `wake` on
/// each notification and after each (re)connection; reconnects a second
/// after a failure, for the process's life.
/// What a listener calls: with a notification's payload, or `None` after
/// (re)connecting.
pub(crate) type Wake = std::sync::Arc<dyn Fn(Option<&str>) + Send + Sync>;

pub(crate) fn listen(url: &str, channel: &str, wake: Wake) {
    let (url, channel) = (url.to_owned(), channel.to_owned());
    io().spawn(async move {
        loop {
            let _ = listen_once(&url, &channel, &wake).await;
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
}

async fn listen_once(url: &str, channel: &str, wake: &Wake) -> Result<(), DbError> {
    let (config, tls) = config(url)?;
    let (client, mut connection) = config.connect(tls).await?;
    // Drives the connection (its replies and notifications) while the
    // client below asks to listen.
    let driver = async {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => wake(Some(n.payload())),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            }
        }
    };
    let listening = async {
        let schema: String = client.query_one("SELECT current_schema()", &[]).await?.get(0);
        let name = format!("{channel}_{schema}").replace('"', "\"\"");
        client.batch_execute(&format!("LISTEN \"{name}\"")).await?;
        // Anything notified before this connection listened is unknown.
        wake(None);
        std::future::pending::<()>().await;
        Ok::<_, DbError>(())
    };
    tokio::select! {
        () = driver => Ok(()),
        failed = listening => failed,
    }
}

#[cfg(test)]
mod tests {
    use super::dollar_placeholders;

    #[test]
    fn placeholders_outside_quotes_become_dollars() {
        assert_eq!(
            dollar_placeholders("SELECT '?1', \"a?\" FROM t WHERE a = ?1 AND b = ?12"),
            "SELECT '?1', \"a?\" FROM t WHERE a = $1 AND b = $12"
        );
    }
}
