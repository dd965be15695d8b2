//! Leases: background work shared by replicas, one holder at a time.

use super::{StoreError, Tx};
use chrono::{DateTime, Utc};

impl Tx<'_> {
    /// Takes or keeps the lease `name` for `holder` until `until`: true
    /// when `holder` has it (it was free, expired at `now`, or already
    /// `holder`'s). Replicas share background work through leases: one
    /// holder at a time, and a holder that dies is replaced once its lease
    /// expires.
    pub fn claim_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.0.execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?4)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                 expires_at = excluded.expires_at
             WHERE leases.holder = excluded.holder OR leases.expires_at <= ?3",
            &[&name, &holder, &now, &until],
        )?;
        let current: String =
            self.0.query_one("SELECT holder FROM leases WHERE name = ?1", &[&name])?.get(0)?;
        Ok(current == holder)
    }
}
