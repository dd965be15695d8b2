//! How rows are encoded: secret values sealed with the key, manifest sets
//! packed (LZ4), and enums as their wire strings.

use super::{RenderedObject, StoredSpec};
use super::{StoreError, StoredManifestSet, Tx};
use crate::crypto::Sealer;
use harmony_api::latest::{DataPlaneKind, DeploymentSpec, ManifestObject};
use uuid::Uuid;

/// A Secret object's body at rest.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SealedBody {
    sealed: String,
}

/// How rows are encoded: secrets sealed with the key, and manifest sets
/// packed once every binary on the database reads packed sets.
pub(super) struct Codec {
    pub(super) sealer: Sealer,
    /// Whether to write manifest sets packed (LZ4): only after the schema
    /// was contracted past `manifest-sets-packed`, since binaries from
    /// before it read only `objects`. Every binary since reads both.
    pub(super) pack: bool,
    /// Whether a stored spec may hold contact emails: only after the schema
    /// was contracted past `contact-emails`, since binaries from before it
    /// refuse a spec with a field they do not know.
    pub(super) contact_emails: bool,
}

/// Where a secret environment variable's sealed value belongs.
fn env_context(deployment: &str, key: &str) -> Vec<u8> {
    format!("deployment/{deployment}/env/{key}").into_bytes()
}

/// Where a sealed Secret object belongs.
fn object_context(deployment: &str, revision: u64, name: &str) -> Vec<u8> {
    format!("deployment/{deployment}/revision/{revision}/secret/{name}").into_bytes()
}

impl Tx<'_> {
    /// A spec as stored: the store's own type ([`StoredSpec`]), secret
    /// values sealed.
    pub(super) fn sealed_spec(
        &self,
        id: &str,
        spec: &DeploymentSpec,
    ) -> Result<String, StoreError> {
        let mut spec = StoredSpec::from(spec.clone());
        let generation = spec.generation;
        for var in spec.environment_variables.iter_mut().filter(|v| v.is_secret) {
            if let Some(value) = &var.value {
                var.value = Some(self.1.sealer.seal(value, &env_context(id, &var.key), generation));
            }
        }
        Ok(serde_json::to_string(&spec)?)
    }

    pub(super) fn opened_spec(&self, id: &str, text: &str) -> Result<DeploymentSpec, StoreError> {
        let mut spec: StoredSpec = serde_json::from_str(text)?;
        let generation = spec.generation;
        for var in spec.environment_variables.iter_mut().filter(|v| v.is_secret) {
            if let Some(value) = &var.value {
                var.value = Some(
                    self.1
                        .sealer
                        .open(value, &env_context(id, &var.key), generation)
                        .map_err(|e| StoreError::Invalid(format!("{} ({})", e, var.key)))?,
                );
            }
        }
        Ok(spec.into())
    }

    /// Objects as stored: each Secret's body sealed whole.
    pub(super) fn sealed_objects(&self, set: &StoredManifestSet) -> Result<String, StoreError> {
        /// A [`RenderedObject`] as written, borrowing what is not sealed.
        #[derive(serde::Serialize)]
        struct Written<'a> {
            meta: &'a ManifestObject,
            body: std::borrow::Cow<'a, serde_json::value::RawValue>,
        }
        let id = set.deployment_id.to_string();
        let objects = set
            .objects
            .iter()
            .map(|o| {
                let body = match o.meta.kind == "Secret" {
                    false => std::borrow::Cow::Borrowed(&*o.body),
                    true => {
                        let context = object_context(&id, set.revision, &o.meta.name);
                        let sealed = SealedBody {
                            sealed: self.1.sealer.seal(o.body.get(), &context, set.revision),
                        };
                        std::borrow::Cow::Owned(serde_json::value::to_raw_value(&sealed)?)
                    }
                };
                Ok(Written { meta: &o.meta, body })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(serde_json::to_string(&objects)?)
    }

    pub(super) fn opened_objects(
        &self,
        deployment_id: Uuid,
        revision: u64,
        text: &str,
    ) -> Result<Vec<RenderedObject>, StoreError> {
        let mut objects: Vec<RenderedObject> = serde_json::from_str(text)?;
        let id = deployment_id.to_string();
        for o in objects.iter_mut().filter(|o| o.meta.kind == "Secret") {
            // Every Secret is stored sealed: a plain body is refused, never
            // served as a Secret.
            let SealedBody { sealed } = serde_json::from_str(o.body.get()).map_err(|_| {
                StoreError::Invalid(format!("Secret {} is stored without a seal", o.meta.name))
            })?;
            let context = object_context(&id, revision, &o.meta.name);
            let plain = self
                .1
                .sealer
                .open(&sealed, &context, revision)
                .map_err(|e| StoreError::Invalid(format!("{e} (Secret {})", o.meta.name)))?;
            o.body = serde_json::value::RawValue::from_string(plain)?;
        }
        Ok(objects)
    }
}

/// A manifest set's stored JSON, compressed (LZ4 block, its length first):
/// a set is tens of KB of JSON that compresses about sevenfold, and every
/// byte stored is written twice (the log, then the database file).
/// Sealed Secret bodies are ciphertext and do not compress; the rest does.
pub fn pack(text: &str) -> Vec<u8> {
    lz4_flex::block::compress_prepend_size(text.as_bytes())
}

/// Most a packed set may claim to expand to: a corrupt length must not
/// make a read allocate gigabytes.
const MAX_UNPACKED: usize = 64 << 20;

/// The JSON of a packed manifest set.
pub fn unpack(packed: &[u8]) -> Result<String, StoreError> {
    let bad = |why: String| StoreError::Invalid(format!("a stored manifest set is damaged: {why}"));
    let claimed = packed
        .first_chunk::<4>()
        .map(|len| u32::from_le_bytes(*len) as usize)
        .ok_or_else(|| bad("shorter than its length".to_owned()))?;
    if claimed > MAX_UNPACKED {
        return Err(bad(format!("claims {claimed} bytes")));
    }
    let bytes =
        lz4_flex::block::decompress_size_prepended(packed).map_err(|e| bad(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| bad(e.to_string()))
}

pub(super) fn kind_str(kind: DataPlaneKind) -> &'static str {
    match kind {
        DataPlaneKind::Hosted => "HOSTED",
        DataPlaneKind::Hybrid => "HYBRID",
    }
}

pub(super) fn enum_from_str<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    Ok(serde_json::from_value(serde_json::Value::String(s.to_owned()))?)
}

pub(super) fn enum_to_str<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    match serde_json::to_value(value)? {
        serde_json::Value::String(s) => Ok(s),
        other => Err(StoreError::Invalid(format!("{other} is not a string enum"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_set_unpacks_to_its_text() {
        let text = r#"[{"meta":{"kind":"ConfigMap"},"body":{"data":"ünïcode"}}]"#.repeat(50);
        let packed = pack(&text);
        assert!(packed.len() < text.len() / 5, "{} bytes from {}", packed.len(), text.len());
        assert_eq!(unpack(&packed).unwrap(), text);
    }

    #[test]
    fn a_damaged_set_is_an_error_not_a_panic_or_a_huge_allocation() {
        let packed = pack(&"manifest ".repeat(100));
        let cases: [(&str, Vec<u8>); 4] = [
            ("empty", vec![]),
            ("truncated", packed[..packed.len() / 2].to_vec()),
            ("huge length", [&u32::MAX.to_le_bytes()[..], &packed[4..]].concat()),
            (
                "not UTF-8",
                pack("\u{e9}").iter().map(|b| if *b == 0xc3 { 0xff } else { *b }).collect(),
            ),
        ];
        for (case, bytes) in cases {
            let e = unpack(&bytes).expect_err(case).to_string();
            assert!(e.contains("damaged"), "{case}: {e}");
        }
    }
}
