//! SQLite: one file in WAL mode with `synchronous=FULL`, migrations by
//! `PRAGMA user_version`, a writer connection and a few reader connections.

use crate::{DbError, Row, Tx, TxInner, Value, WriterConn};
use rusqlite::Connection;
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

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

pub(crate) struct Writer(Connection);

pub(crate) fn open_writer(path: &Path, migrations: &[&str]) -> Result<Writer, DbError> {
    let mut conn = connect(path)?;
    migrate(&mut conn, migrations)?;
    Ok(Writer(conn))
}

impl WriterConn for Writer {
    fn begin(&mut self, then: &str) -> Result<(), DbError> {
        Ok(self.0.execute_batch(&format!("BEGIN IMMEDIATE; {then}"))?)
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.0.execute_batch(sql)?)
    }

    fn tx(&mut self) -> Tx<'_> {
        Tx(TxInner::Sqlite(&self.0))
    }

    fn abandon(&mut self) {
        if !self.0.is_autocommit() {
            let _ = self.0.execute_batch("ROLLBACK");
        }
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
}

impl Reader {
    pub(crate) fn open(path: &Path) -> Result<Reader, DbError> {
        let connections =
            (0..SQLITE_READERS).map(|_| connect(path).map(Mutex::new)).collect::<Result<_, _>>()?;
        Ok(Reader { connections, next: AtomicUsize::new(0) })
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
        self.connections[turn].lock().unwrap_or_else(|p| p.into_inner())
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
