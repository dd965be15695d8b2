//! Secret values at rest in astro-api (sealed by the `sealing` crate, as
//! Harmony's are): the outbox holds a change until
//! Harmony has it, secret environment variables included, and what is
//! written to a database lives on in its log, its free pages and its
//! backups. So a secret value is sealed before it is written: XChaCha20-
//! Poly1305 under astro-api's own key, a fresh random 192-bit nonce from the
//! operating system for every value (no nonce can repeat by chance), and
//! the deployment and variable it belongs to as associated data, so a
//! sealed value moved to another deployment or key does not open.
//!
//! The key is 32 bytes, given as 64 hex characters (`--secret-key-file`);
//! a SQLite-only local run creates one in its data directory (0600).
//! Every replica sharing a PostgreSQL database must be given the same key.

use sealing::{KeyInit as _, XChaCha20Poly1305};
use uuid::Uuid;

/// How a sealed value starts; anything else was written before values
/// were sealed.
const PREFIX: &str = "sealed:v1:";

#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
    /// Names the key without revealing it ([`Sealer::fingerprint`]).
    fingerprint: String,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "a sealed secret value does not open with this astro-api's key (was it written under another --secret-key-file?)"
)]
pub struct Unopenable;

impl Sealer {
    pub fn new(key: [u8; 32]) -> Sealer {
        use sha2::Digest;
        let mut hash = sha2::Sha256::new();
        hash.update(b"astro-api/key-fingerprint\0");
        hash.update(key);
        let fingerprint = hex::encode(&hash.finalize()[..8]);
        Sealer { cipher: XChaCha20Poly1305::new(&key.into()), fingerprint }
    }

    /// 16 hex characters that name this key in messages and logs (a
    /// truncated SHA-256 of it: telling two keys apart reveals nothing of
    /// either).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// A key from its 64 hex characters.
    pub fn from_hex(text: &str) -> Option<Sealer> {
        let bytes = hex::decode(text.trim()).ok()?;
        Some(Sealer::new(bytes.try_into().ok()?))
    }

    /// A new random key, as 64 hex characters.
    pub fn new_key_hex() -> String {
        hex::encode(sealing::new_key())
    }

    fn aad(deployment: Uuid, key: &str) -> Vec<u8> {
        let mut aad = b"astro-api/outbox/secret-value\0".to_vec();
        aad.extend_from_slice(deployment.as_bytes());
        aad.extend_from_slice(key.as_bytes());
        aad
    }

    /// `value`, of variable `key` of `deployment`, sealed.
    pub fn seal(&self, deployment: Uuid, key: &str, value: &str) -> String {
        sealing::seal(&self.cipher, PREFIX, value, &Self::aad(deployment, key))
    }

    /// What [`Sealer::seal`] sealed, for the same deployment and key. A
    /// value without the prefix was stored before values were sealed (an
    /// outbox entry queued by an older astro-api) and is taken as it is.
    pub fn open(&self, deployment: Uuid, key: &str, stored: &str) -> Result<String, Unopenable> {
        match sealing::open(&self.cipher, PREFIX, stored, &Self::aad(deployment, key)) {
            None => Ok(stored.to_owned()),
            Some(opened) => opened.map_err(|_| Unopenable),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_where_they_belong() {
        let sealer = Sealer::from_hex(&Sealer::new_key_hex()).unwrap();
        let (d, other) = (Uuid::new_v4(), Uuid::new_v4());
        let sealed = sealer.seal(d, "TOKEN", "hunter2");
        assert!(!sealed.contains("hunter2") && sealed.starts_with(PREFIX));
        assert_ne!(sealed, sealer.seal(d, "TOKEN", "hunter2"), "a fresh nonce each time");
        assert_eq!(sealer.open(d, "TOKEN", &sealed).unwrap(), "hunter2");
        assert!(sealer.open(other, "TOKEN", &sealed).is_err(), "another deployment");
        assert!(sealer.open(d, "OTHER", &sealed).is_err(), "another variable");
        let stranger = Sealer::from_hex(&Sealer::new_key_hex()).unwrap();
        assert!(stranger.open(d, "TOKEN", &sealed).is_err(), "another key");
        assert_eq!(sealer.open(d, "TOKEN", "plain, from before").unwrap(), "plain, from before");
    }
}
