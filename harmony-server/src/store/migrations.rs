//! The schema: migrations per backend, each a file under `migrations/`.

use sql_store::{DbError, Location, Migrations, Step, step};

/// Schema migrations per backend, applied in order. Append only: a
/// released migration never changes.
pub const MIGRATIONS: Migrations =
    Migrations { store: "harmony", sqlite: SQLITE_MIGRATIONS, postgres: POSTGRES_MIGRATIONS };

/// Each a file under `migrations/`; its first line says whether binaries
/// that predate it keep working after it ran (see `sql_store::Step`).
const SQLITE_MIGRATIONS: &[Step] = &[
    step!("sqlite/0001-initial.sql"),
    step!("sqlite/0002-meta.sql"),
    step!("sqlite/0003-agents.sql"),
    step!("sqlite/0004-rollouts.sql"),
    step!("sqlite/0005-leases.sql"),
    step!("sqlite/0006-manifest-sets-packed.sql"),
    step!("sqlite/0007-xchacha-seals.sql"),
    step!("sqlite/0008-agent-observes.sql"),
    step!("sqlite/0009-plane-usage.sql"),
    step!("sqlite/0010-plane-changes.sql"),
    step!("sqlite/0011-contact-emails.sql"),
];

/// The same schema on PostgreSQL, which started at SQLite's migration
/// 5 (its first file creates what SQLite's first 5 did).
const POSTGRES_MIGRATIONS: &[Step] = &[
    step!("postgres/0005-initial.sql"),
    step!("postgres/0006-manifest-sets-packed.sql"),
    step!("postgres/0007-xchacha-seals.sql"),
    step!("postgres/0008-agent-observes.sql"),
    step!("postgres/0009-plane-usage.sql"),
    step!("postgres/0010-plane-changes.sql"),
    step!("postgres/0011-contact-emails.sql"),
];

/// Raises the database's floor to every migration this binary knows (the
/// contract step, `sql_store::contract`).
pub fn contract(location: &Location) -> Result<(usize, usize), DbError> {
    sql_store::contract(location, &MIGRATIONS)
}
