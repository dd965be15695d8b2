//! PostgreSQL for tests: each test gets a schema of its own on the server
//! named by `STORE_TEST_POSTGRES` (default: the local server on
//! 127.0.0.1:5432, database `store_tests`, created when missing).
//!
//! When no server answers, the PostgreSQL tests are skipped and say so on
//! the terminal (not captured by the test harness); with
//! `REQUIRE_POSTGRES=1` (CI) they fail instead.
//!
//! Also [`durable_commit_millis`], the disk's part of a write, for
//! benchmarks to hold their figures against.

use crate::Location;
use crate::pg::{batch_execute, connect};
use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432";
const DATABASE: &str = "store_tests";

fn server() -> String {
    std::env::var("STORE_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_SERVER.to_owned())
}

/// The test database's URL, or `None` (after saying so loudly) when no
/// server answers and none is required.
pub fn postgres_url() -> Option<String> {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    let found = URL.get_or_init(|| {
        let server = server();
        let admin = connect(&format!("{server}/postgres"))
            .map_err(|e| format!("no PostgreSQL server at {server}: {e}"))?;
        // Exists already, or made by a test process racing this one: either
        // way it is there now.
        let _ = batch_execute(&admin, &format!("CREATE DATABASE {DATABASE}"));
        Ok(format!("{server}/{DATABASE}"))
    });
    match found {
        Ok(url) => Some(url.clone()),
        Err(why) if std::env::var("REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
            panic!("REQUIRE_POSTGRES=1 but {why}")
        }
        Err(why) => {
            static SAID: OnceLock<()> = OnceLock::new();
            SAID.get_or_init(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "\n*** PostgreSQL suite SKIPPED: {why}.\n*** Start PostgreSQL \
                     (see README) or set STORE_TEST_POSTGRES; CI sets REQUIRE_POSTGRES=1.\n"
                );
            });
            None
        }
    }
}

/// A schema of its own on the test database, dropped with the value.
pub struct TestSchema {
    url: String,
    name: String,
}

impl TestSchema {
    /// A fresh, empty schema, or `None` when PostgreSQL tests are skipped.
    pub fn create() -> Option<TestSchema> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let url = postgres_url()?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let name = format!(
            "t_{}_{}_{}",
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let client = connect(&url).expect("connecting to the test database");
        batch_execute(&client, &format!("CREATE SCHEMA {name}")).expect("creating a test schema");
        Some(TestSchema { url, name })
    }

    /// A URL whose connections use only this schema (and are named after
    /// it in `pg_stat_activity`).
    pub fn url(&self) -> String {
        format!("{}?options=-csearch_path%3D{}&application_name={}", self.url, self.name, self.name)
    }

    /// The schema's name (also its connections' `application_name`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn location(&self) -> Location {
        Location::Postgres(self.url())
    }
}

impl TestSchema {
    /// Drops the schema and everything in it now: what a service sees when
    /// its database is lost (its queries fail from then on).
    pub fn drop_now(&self) {
        let client = connect(&self.url).expect("connecting to the test database");
        batch_execute(&client, &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
            .expect("dropping the test schema");
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        if let Ok(client) = connect(&self.url) {
            let _ = batch_execute(&client, &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

impl TestSchema {
    /// Every row of every table in the schema as text: what a look at the
    /// database's content would find (tests check secrets are absent).
    pub fn dump(&self) -> String {
        let client = connect(&self.url).expect("connecting to the test database");
        let tables = crate::pg::wait(client.query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1",
            &[&self.name],
        ))
        .expect("listing the schema's tables");
        let mut out = String::new();
        for table in tables {
            let table: String = table.get(0);
            let rows = crate::pg::wait(
                client.query(&format!("SELECT t::text FROM {}.\"{table}\" t", self.name), &[]),
            )
            .expect("reading a table");
            for row in rows {
                out.push_str(&row.get::<_, String>(0));
                out.push('\n');
            }
        }
        out
    }
}

impl TestSchema {
    /// The rows of `sql` (run in this schema), each as text.
    pub fn rows(&self, sql: &str) -> Vec<String> {
        let client = connect(&self.url()).expect("connecting to the test database");
        crate::pg::wait(client.query(&format!("SELECT t::text FROM ({sql}) t"), &[]))
            .expect("querying the test schema")
            .iter()
            .map(|row| row.get::<_, String>(0))
            .collect()
    }
}

/// Runs each `async fn name(backend: sql_store::Backend)` of the calling
/// module twice, as `sqlite::name` and `postgres::name`, each on a
/// multi-threaded runtime. A test given `Backend::Postgres` creates its
/// place with [`TestSchema::create`] and returns early on `None` (no
/// server: skipped, loudly; CI requires one).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::Backend::Sqlite).await
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::Backend::Postgres).await
            })*
        }
    };
}

/// Latencies in milliseconds of `count` durable writes, one after another
/// (one small row each, nothing else queued), to a new SQLite database in
/// `dir`, after a few to warm up: what one commit waits for on this disk.
pub fn durable_commit_millis(
    dir: &std::path::Path,
    count: usize,
) -> Result<Vec<f64>, crate::DbError> {
    const TABLE: crate::Migrations = crate::Migrations {
        store: "probe",
        sqlite: &[crate::Step {
            name: "0001-t",
            text: "-- older binaries: must stop\n\
                   CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL) STRICT;",
        }],
        postgres: &[],
    };
    let db = crate::Database::open(&Location::Sqlite(dir.join("commits.sqlite3")), &TABLE)?;
    let mut millis = Vec::with_capacity(count);
    for k in 0..(count + 20) as i64 {
        let started = std::time::Instant::now();
        db.write(move |tx| tx.execute("INSERT INTO t (k, v) VALUES (?1, zeroblob(1024))", &[&k]))?;
        if k >= 20 {
            millis.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    Ok(millis)
}
