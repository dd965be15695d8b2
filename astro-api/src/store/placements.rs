//! Placements: where a data plane (or a region's shared one) was last found.

use super::codec::{kind_name, kind_of};
use super::{Store, StoreError};
use crate::harmony::{Placements, Plane};

impl Store {
    /// Records that `key` was found as `plane`.
    pub fn remember_placement(&self, key: &str, plane: &Plane) -> Result<(), StoreError> {
        let (key, cell, id, owner, now) = (
            key.to_owned(),
            plane.cell.clone(),
            plane.id.clone(),
            plane.owner.clone(),
            self.clock.now(),
        );
        let kind = kind_name(plane.kind);
        self.db.write(move |tx| {
            tx.execute(
                "INSERT INTO placements (key, cell, data_plane_id, kind, seen_at, owner)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (key) DO UPDATE SET cell = excluded.cell,
                     data_plane_id = excluded.data_plane_id, kind = excluded.kind,
                     seen_at = excluded.seen_at, owner = excluded.owner",
                &[&key, &cell, &id, &kind, &now, &owner],
            )?;
            Ok(())
        })
    }

    /// Where `key` was last found. A row written before owners were
    /// recorded has none, so it places nothing by id until a cell is asked
    /// again.
    pub fn placement(&self, key: &str) -> Result<Option<Plane>, StoreError> {
        let row = self.db.read(|tx| {
            tx.query_opt(
                "SELECT cell, data_plane_id, kind, owner FROM placements WHERE key = ?1",
                &[&key],
            )
        })?;
        row.map(|r| {
            Ok(Plane {
                cell: r.get(0)?,
                id: r.get(1)?,
                kind: kind_of(&r.get::<String>(2)?),
                owner: r.get(3)?,
            })
        })
        .transpose()
    }
}

impl Placements for Store {
    fn placement(&self, key: &str) -> Option<Plane> {
        Store::placement(self, key).ok().flatten()
    }

    fn remember_placement(&self, key: &str, plane: &Plane) {
        let _ = Store::remember_placement(self, key, plane);
    }
}
