//! The schema: migrations per backend, each a file under `migrations/`.

use sql_store::{DbError, Location, Migrations, Step, step};

pub const MIGRATIONS: Migrations =
    Migrations { store: "astro", sqlite: SQLITE_MIGRATIONS, postgres: POSTGRES_MIGRATIONS };

/// Each a file under `migrations/`; its first line says whether binaries
/// that predate it keep working after it ran (see `sql_store::Step`).
const SQLITE_MIGRATIONS: &[Step] = &[
    step!("sqlite/0001-initial.sql"),
    step!("sqlite/0002-cells.sql"),
    step!("sqlite/0003-deploys.sql"),
    step!("sqlite/0004-outbox.sql"),
    step!("sqlite/0005-tenancy.sql"),
    step!("sqlite/0006-outbox-claims.sql"),
    step!("sqlite/0007-placements.sql"),
    step!("sqlite/0008-placements-owner.sql"),
    step!("sqlite/0009-outbox-queued-at.sql"),
    step!("sqlite/0010-outbox-request-id.sql"),
    step!("sqlite/0011-change-rates.sql"),
    step!("sqlite/0012-workspaces-per-organization.sql"),
    step!("sqlite/0013-deployment-counts.sql"),
    step!("sqlite/0014-contact-emails.sql"),
];

/// The same schema on PostgreSQL, which started at SQLite's migration
/// 6 (its first file creates what SQLite's first 6 did).
const POSTGRES_MIGRATIONS: &[Step] = &[
    step!("postgres/0006-initial.sql"),
    step!("postgres/0007-placements.sql"),
    step!("postgres/0008-placements-owner.sql"),
    step!("postgres/0009-outbox-queued-at.sql"),
    step!("postgres/0010-outbox-request-id.sql"),
    step!("postgres/0011-change-rates.sql"),
    step!("postgres/0012-workspaces-per-organization.sql"),
    step!("postgres/0013-deployment-counts.sql"),
    step!("postgres/0014-contact-emails.sql"),
];

/// Raises the database's floor to every migration this binary knows (the
/// contract step, `sql_store::contract`).
pub fn contract(location: &Location) -> Result<(usize, usize), DbError> {
    sql_store::contract(location, &MIGRATIONS)
}

#[cfg(test)]
mod tests {
    /// `astro-api contract-schema` on a database nothing opened yet: every
    /// step runs (one rebuilds a table others refer to), then the floor
    /// rises, and the store opened after it writes the newest formats.
    #[test]
    fn a_fresh_database_contracts() {
        let dir = tempfile::tempdir().unwrap();
        let location = super::Location::Sqlite(dir.path().join("astro.sqlite3"));
        let (_, after) = super::contract(&location).expect("a fresh database contracts");
        assert_eq!(after, super::SQLITE_MIGRATIONS.len());
        let sealer = crate::seal::Sealer::new([7; 32]);
        let store = crate::store::Store::open(&location, sealer).unwrap();
        assert!(store.holds_contact_emails());
    }
}
