//! Schema changes that replicas of different versions can share.
//!
//! During a rolling upgrade (and after a rollback) binaries of two versions
//! use one database, so a migration is only safe when the binaries that
//! predate it keep working after it ran. Every migration ([`Step`]) says
//! whether they do, on its first line:
//!
//! ```sql
//! -- older binaries: keep working
//! ALTER TABLE manifest_sets ADD COLUMN packed BLOB;
//! ```
//!
//! or `-- older binaries: must stop` (a column dropped or renamed, a meaning
//! changed). The database records every step it ran, with that answer, in
//! `schema_steps`; beside it, the store's *floor*: how many steps a binary
//! must know to use the database. A step that says "must stop" raises the
//! floor to itself; a step that says "keep working" does not. A binary
//! opens a database that has run steps it does not know when the floor is
//! within what it knows, and refuses, naming the step, otherwise.
//!
//! The floor is kept where binaries from before this record looked
//! (SQLite's `user_version`, PostgreSQL's `schema_migrations`), so they
//! refuse exactly when a binary that records steps would.
//!
//! A new storage *format* (not a new column, but rows that older binaries
//! cannot read) is written only once no older binary may run: an operator
//! *contracts* the schema ([`contract`]) after the last older replica is
//! gone, which raises the floor to everything the contracting binary knows.
//! Stores ask [`Schema::everyone_knows`] before writing such a format, and
//! read it from the first version that knows it.

use crate::DbError;

/// One migration: its name (the file's, without `.sql`) and its text, whose
/// first line says whether older binaries keep working after it.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub name: &'static str,
    pub text: &'static str,
}

/// What happens to binaries that predate a step once it ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Older {
    /// They keep working: the step only adds what they do not look at.
    KeepWorking,
    /// They must stop before it runs.
    MustStop,
}

const KEEP_WORKING: &str = "-- older binaries: keep working";
const MUST_STOP: &str = "-- older binaries: must stop";

impl Older {
    /// How `schema_steps` records it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Older::KeepWorking => "keep working",
            Older::MustStop => "must stop",
        }
    }
}

impl Step {
    /// A step's answer, from its first line.
    pub fn older_binaries(&self) -> Result<Older, DbError> {
        match self.text.lines().next().map(str::trim_end) {
            Some(KEEP_WORKING) => Ok(Older::KeepWorking),
            Some(MUST_STOP) => Ok(Older::MustStop),
            _ => Err(DbError::Config(format!(
                "migration {} must start with `{KEEP_WORKING}` or `{MUST_STOP}`",
                self.name
            ))),
        }
    }
}

/// A `Step` from a file under the calling crate's `migrations/` folder:
/// `step!("sqlite/0001-initial.sql")`.
#[macro_export]
macro_rules! step {
    ($file:literal) => {
        $crate::Step {
            name: {
                const FILE: &str = $file;
                const NAME: &str = $crate::step_name(FILE);
                NAME
            },
            text: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/", $file)),
        }
    };
}

/// `sqlite/0001-initial.sql` → `0001-initial`.
#[doc(hidden)]
pub const fn step_name(file: &'static str) -> &'static str {
    let bytes = file.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' {
            start = i + 1;
        }
        i += 1;
    }
    let end = if bytes.len() >= 4 && bytes.len() - 4 >= start { bytes.len() - 4 } else { i };
    let (_, tail) = bytes.split_at(start);
    let (name, _) = tail.split_at(end - start);
    match std::str::from_utf8(name) {
        Ok(name) => name,
        Err(_) => panic!("a migration's file name is UTF-8"),
    }
}

/// What a database holds, as the binary that opened it sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schema {
    /// The steps this binary knows, in order.
    pub known: Vec<&'static str>,
    /// How many steps the database has run (more than `known.len()` when a
    /// newer binary migrated it).
    pub applied: usize,
    /// How many steps every binary using the database knows.
    pub floor: usize,
}

impl Schema {
    /// Whether every binary that may use the database knows the step named
    /// `name` (its file name without number: `manifest-sets-packed`), so a
    /// format it introduced may be written.
    pub fn everyone_knows(&self, name: &str) -> bool {
        self.known
            .iter()
            .position(|step| step.split_once('-').is_some_and(|(_, rest)| rest == name))
            .is_some_and(|index| index < self.floor)
    }
}

/// A step the database recorded.
pub(crate) struct Recorded {
    pub version: usize,
    pub name: String,
    pub older: String,
}

/// The bookkeeping a backend keeps, inside the migrating transaction.
pub(crate) trait Book {
    fn floor(&mut self) -> Result<usize, DbError>;
    /// Raises the floor to `to` (never lowers it).
    fn raise_floor(&mut self, from: usize, to: usize) -> Result<(), DbError>;
    fn recorded(&mut self) -> Result<Vec<Recorded>, DbError>;
    fn record(&mut self, version: usize, name: &str, older: Older) -> Result<(), DbError>;
    fn run(&mut self, sql: &str) -> Result<(), DbError>;
}

/// Brings the database up to `steps` (or leaves it where a newer binary
/// put it, when that is safe for this one). Runs inside one transaction
/// the caller commits.
pub(crate) fn migrate(book: &mut dyn Book, store: &str, steps: &[Step]) -> Result<Schema, DbError> {
    let answers = steps.iter().map(Step::older_binaries).collect::<Result<Vec<_>, _>>()?;
    let known = steps.len();
    let floor = book.floor()?;
    let mut recorded = book.recorded()?;
    if recorded.is_empty() && floor > 0 {
        // Migrated by binaries from before steps were recorded: they ran
        // the first `floor` steps, which are the ones this binary lists.
        if floor > known {
            return Err(DbError::TooNew {
                store: store.to_owned(),
                found: floor,
                known,
                step: format!("step {floor}"),
                contracted: false,
            });
        }
        for (index, step) in steps.iter().enumerate().take(floor) {
            book.record(index + 1, step.name, answers[index])?;
        }
        recorded = book.recorded()?;
    }
    for row in &recorded {
        if let Some(step) = steps.get(row.version - 1)
            && step.name != row.name
        {
            return Err(DbError::Config(format!(
                "the {store} database ran migration {} as {:?}, which this binary knows as {:?}: \
                 they come from diverging histories",
                row.version, row.name, step.name
            )));
        }
    }
    let applied = recorded.iter().map(|r| r.version).max().unwrap_or(0);
    if floor > known {
        let step = recorded.iter().find(|r| r.version == floor);
        return Err(DbError::TooNew {
            store: store.to_owned(),
            found: floor,
            known,
            step: step.map_or_else(|| format!("step {floor}"), |s| s.name.clone()),
            contracted: step.is_some_and(|s| s.older == Older::KeepWorking.as_str()),
        });
    }
    let mut floor = floor;
    for index in applied..known {
        book.run(steps[index].text)?;
        book.record(index + 1, steps[index].name, answers[index])?;
        if answers[index] == Older::MustStop {
            book.raise_floor(floor, index + 1)?;
            floor = index + 1;
        }
    }
    Ok(Schema { known: steps.iter().map(|s| s.name).collect(), applied: applied.max(known), floor })
}

/// Raises the floor to every step this binary knows (after migrating):
/// binaries that know fewer refuse the database from now on, and formats
/// that only this binary's steps read may be written. Returns the floor
/// before and after.
pub(crate) fn contract(
    book: &mut dyn Book,
    store: &str,
    steps: &[Step],
) -> Result<(usize, usize), DbError> {
    let schema = migrate(book, store, steps)?;
    let target = steps.len();
    if schema.floor < target {
        book.raise_floor(schema.floor, target)?;
    }
    Ok((schema.floor, schema.floor.max(target)))
}
