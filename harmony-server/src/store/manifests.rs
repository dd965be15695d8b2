//! Manifest revisions: immutable, Secrets sealed, packed once every binary reads packed sets.

use super::codec::{pack, unpack};
use super::{StoreError, Tx};
use chrono::{DateTime, Utc};
use harmony_api::latest::ManifestObject;
use uuid::Uuid;

/// A rendered object with its full body (Secret data included), kept as
/// the JSON text it was rendered to: hashed, stored (the store seals Secret
/// bodies at rest) and handed out without being rebuilt as a tree.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RenderedObject {
    pub meta: ManifestObject,
    pub body: Box<serde_json::value::RawValue>,
}

impl RenderedObject {
    /// The body as a JSON tree.
    pub fn value(&self) -> serde_json::Value {
        // The body was produced by serializing an object, so it parses.
        serde_json::from_str(self.body.get()).unwrap_or(serde_json::Value::Null)
    }
}

/// One stored manifest revision.
#[derive(Clone, Debug)]
pub struct StoredManifestSet {
    pub deployment_id: Uuid,
    pub revision: u64,
    pub generation: u64,
    pub platform_release: String,
    pub input_hash: String,
    pub objects: Vec<RenderedObject>,
    pub created_at: DateTime<Utc>,
}

impl Tx<'_> {
    /// Writes a new manifest revision. Revisions are immutable: writing an
    /// existing (deployment, revision) pair fails.
    /// The set is written packed only once every binary on the database
    /// reads packed sets (`Codec::pack`); as JSON text before.
    pub fn insert_manifest_set(&self, set: &StoredManifestSet) -> Result<(), StoreError> {
        let text = self.sealed_objects(set)?;
        let (objects, packed) = match self.1.pack {
            true => (String::new(), Some(pack(&text))),
            false => (text, None),
        };
        self.0.execute(
            "INSERT INTO manifest_sets
                 (deployment_id, revision, generation, platform_release, input_hash,
                  objects, packed, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            &[
                &set.deployment_id.to_string(),
                &(set.revision as i64),
                &(set.generation as i64),
                &set.platform_release,
                &set.input_hash,
                &objects,
                &packed,
                &set.created_at,
            ],
        )?;
        Ok(())
    }

    pub fn manifest_set(
        &self,
        deployment_id: Uuid,
        revision: u64,
    ) -> Result<Option<StoredManifestSet>, StoreError> {
        let Some(row) = self.0.query_opt(
            "SELECT revision, generation, platform_release, input_hash, objects, created_at,
                    packed
             FROM manifest_sets WHERE deployment_id = ?1 AND revision = ?2",
            &[&deployment_id.to_string(), &(revision as i64)],
        )?
        else {
            return Ok(None);
        };
        let revision: u64 = row.get(0)?;
        let text = match row.get::<Option<Vec<u8>>>(6)? {
            Some(packed) => unpack(&packed)?,
            None => row.get::<String>(4)?,
        };
        Ok(Some(StoredManifestSet {
            deployment_id,
            revision,
            generation: row.get(1)?,
            platform_release: row.get(2)?,
            input_hash: row.get(3)?,
            objects: self.opened_objects(deployment_id, revision, &text)?,
            created_at: row.get(5)?,
        }))
    }
}
