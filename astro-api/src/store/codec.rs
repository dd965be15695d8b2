//! How outbox specs are kept: secret values sealed (astro-api keeps no
//! secret value anywhere else), and plane kinds as their column names.

use super::{Op, Outgoing, Store, StoreError};
use crate::harmony::{PlaneKind, Spec};
use uuid::Uuid;

pub(super) fn kind_name(kind: PlaneKind) -> &'static str {
    match kind {
        PlaneKind::Hosted => "HOSTED",
        PlaneKind::Hybrid => "HYBRID",
    }
}

/// The kind [`kind_name`] wrote (the columns' CHECK admits nothing else).
pub(super) fn kind_of(name: &str) -> PlaneKind {
    if name == "HOSTED" { PlaneKind::Hosted } else { PlaneKind::Hybrid }
}

impl Store {
    /// A change's spec as the outbox keeps it: JSON, every secret value
    /// sealed for its deployment and variable and written as an object,
    /// `{"sealed": "..."}`, where the wire type has a string. A replica
    /// of an older astro-api sharing the database (a rolling upgrade)
    /// cannot decode such an entry: it fails to claim it and leaves it to
    /// a replica that can, instead of sending the sealed text to Harmony
    /// as the secret's value.
    pub(super) fn stored_spec(&self, change: &Outgoing) -> Result<Option<String>, StoreError> {
        let Op::Put(spec) = &change.op else { return Ok(None) };
        let mut stored = spec.to_json()?;
        // `get_mut`, not indexing: indexing would insert a null where the
        // wire type leaves an empty list out.
        if let Some(vars) = stored.get_mut("environment_variables").and_then(|v| v.as_array_mut()) {
            for var in vars.iter_mut().filter(|v| v["is_secret"] == true) {
                let (Some(key), Some(value)) = (var["key"].as_str(), var["value"].as_str()) else {
                    continue;
                };
                let sealed = self.sealer.seal(change.deployment_id, key, value);
                var["value"] = serde_json::json!({ "sealed": sealed });
            }
        }
        Ok(Some(serde_json::to_string(&stored)?))
    }

    /// The spec [`Store::stored_spec`] wrote, secret values opened. A
    /// plain string value was queued by an astro-api that did not seal.
    pub(super) fn spec_of(&self, deployment_id: Uuid, text: &str) -> Result<Spec, StoreError> {
        let mut stored: serde_json::Value = serde_json::from_str(text)?;
        // `get_mut`, not indexing: indexing would insert a null where the
        // wire type leaves an empty list out.
        if let Some(vars) = stored.get_mut("environment_variables").and_then(|v| v.as_array_mut()) {
            for var in vars.iter_mut() {
                let (Some(key), Some(sealed)) =
                    (var["key"].as_str(), var["value"]["sealed"].as_str())
                else {
                    continue;
                };
                let opened = self.sealer.open(deployment_id, key, sealed)?;
                var["value"] = serde_json::Value::String(opened);
            }
        }
        Ok(Spec::from_json(stored)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Location;

    /// A stored spec with a secret: opens back to the spec, holds no value
    /// in clear, and does not decode as the wire type an older astro-api
    /// reads it as (so an older replica never delivers the sealed text).
    #[test]
    fn a_stored_spec_seals_secrets_and_an_older_reader_cannot_take_it() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::Sqlite(dir.path().join("astro.sqlite3"));
        let store = Store::open(&location, crate::seal::Sealer::new([9; 32])).unwrap();
        let json = serde_json::json!({
            "kind": "HYBRID", "organization_id": "o", "workspace_id": "w", "data_plane_id": "p",
            "name": "n", "runtime_version": "13.1.0", "executor": "CELERY",
            "scheduler": {"au": 5, "replicas": 1}, "is_high_availability": false,
            "worker_queues": [], "image_tag": "v1", "generation": 1,
            "environment_variables": [
                {"key": "PLAIN", "value": "visible", "is_secret": false},
                {"key": "TOKEN", "value": "hunter2", "is_secret": true},
            ],
        });
        let spec = Spec::from_json(json.clone()).unwrap();
        // Without variables (the wire form leaves the list out): as it was.
        let mut bare = json;
        bare.as_object_mut().unwrap().remove("environment_variables");
        let bare = Spec::from_json(bare).unwrap();
        let outgoing = |spec: &Spec| Outgoing {
            deployment_id: Uuid::new_v4(),
            cell: "c".into(),
            kind: PlaneKind::Hybrid,
            generation: 1,
            op: Op::Put(Box::new(spec.clone())),
            request_id: None,
        };
        let none = outgoing(&bare);
        let stored = store.stored_spec(&none).unwrap().unwrap();
        assert_eq!(store.spec_of(none.deployment_id, &stored).unwrap(), bare, "{stored}");
        let change = outgoing(&spec);
        let stored = store.stored_spec(&change).unwrap().unwrap();
        assert!(!stored.contains("hunter2") && stored.contains("visible"), "{stored}");
        assert!(
            Spec::from_json(serde_json::from_str(&stored).unwrap()).is_err(),
            "an older reader decodes it"
        );
        assert_eq!(store.spec_of(change.deployment_id, &stored).unwrap(), spec);
        // An entry an older astro-api queued, value in clear, still reads.
        let plain = spec.to_json().unwrap().to_string();
        assert_eq!(store.spec_of(change.deployment_id, &plain).unwrap(), spec);
    }

    /// A spec's contact emails are queued only once every astro-api on the
    /// database reads them; then they round-trip, and an entry without them
    /// still means "as Harmony has them".
    #[test]
    fn contact_emails_are_queued_once_the_schema_is_contracted() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::Sqlite(dir.path().join("astro.sqlite3"));
        let json = serde_json::json!({
            "kind": "HOSTED", "organization_id": "o", "workspace_id": "w", "data_plane_id": "p",
            "name": "n", "runtime_version": "13.1.0", "executor": "CELERY",
            "scheduler_size": "SMALL", "is_high_availability": false, "worker_queues": [],
            "image_tag": "v1", "generation": 1, "contact_emails": ["oncall@example.com"],
        });
        let spec = Spec::from_json(json.clone()).unwrap();
        let change = Outgoing {
            deployment_id: Uuid::new_v4(),
            cell: "c".into(),
            kind: PlaneKind::Hosted,
            generation: 1,
            op: Op::Put(Box::new(spec.clone())),
            request_id: None,
        };
        let before = Store::open(&location, crate::seal::Sealer::new([9; 32])).unwrap();
        assert!(!before.holds_contact_emails());
        let queued = before.to_queue("o", change.clone()).unwrap();
        let mut without = json.clone();
        without.as_object_mut().unwrap().remove("contact_emails");
        let without = Spec::from_json(without).unwrap();
        let stored = queued.spec.unwrap();
        assert_eq!(before.spec_of(change.deployment_id, &stored).unwrap(), without, "{stored}");
        // What the caller delivers at once says the same as the entry.
        assert!(matches!(&queued.change.op, Op::Put(s) if **s == without));
        drop(before);
        crate::store::contract(&location).unwrap();
        let after = Store::open(&location, crate::seal::Sealer::new([9; 32])).unwrap();
        assert!(after.holds_contact_emails());
        let queued = after.to_queue("o", change.clone()).unwrap();
        let stored = queued.spec.unwrap();
        assert_eq!(after.spec_of(change.deployment_id, &stored).unwrap(), spec, "{stored}");
        assert!(matches!(&queued.change.op, Op::Put(s) if **s == spec));
    }
}
