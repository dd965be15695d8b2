//! Harmony's one secret key, and what is derived from it.
//!
//! - [`SecretKey::mac`]: HMAC-SHA256, for generated secrets (Fernet key,
//!   passwords) and for every hash Harmony hands out, so a hash reveals
//!   nothing about the secrets it covers.
//! - [`Sealer`]: authenticated encryption (the `sealing` crate, which
//!   astro-api seals with too) with a key derived from the secret key, for secret values at rest (secret environment variables in stored
//!   specs, Secret objects in stored manifest sets). Each sealed value is
//!   bound to where it belongs and, from `sealed:v2:`, to when (the
//!   generation or revision it was written for), so one cannot be moved to
//!   another deployment, key or older generation and still open. A stored
//!   value without a seal is refused, never read as plain text.
//!
//! Two formats, both always opened:
//! - `sealed:v1:` ChaCha20-Poly1305, a 96-bit nonce from the OS, associated
//!   data the place. Written until every binary can open v2.
//! - `sealed:v2:` XChaCha20-Poly1305, a 192-bit nonce from the OS (random
//!   nonces that never need counting), associated data the place and the
//!   time. Written once the schema is contracted past migration
//!   `xchacha-seals` (an older replica could not open it before: the
//!   expand/contract rule of docs/versioning.md).

use hmac::{Hmac, Mac};
use sealing::{ChaCha20Poly1305, KeyInit as _, XChaCha20Poly1305};
use sha2::Sha256;

/// The key Harmony derives generated secrets, hashes and the at-rest
/// encryption key from (32 bytes).
#[derive(Clone)]
pub struct SecretKey {
    /// HMAC already keyed with the key (its inner and outer pads hashed):
    /// each MAC clones it instead of keying again, two SHA-256 blocks less.
    /// The key bytes themselves are not kept.
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    pub fn new(bytes: [u8; 32]) -> SecretKey {
        // HMAC takes a key of any length.
        let keyed = <Hmac<Sha256> as Mac>::new_from_slice(&bytes).expect("HMAC takes any key");
        SecretKey { keyed }
    }

    /// The fixed key of local runs and tests (`--dev-seed`). Never for a
    /// real data plane: anyone can read it here.
    pub fn development() -> SecretKey {
        SecretKey::new(*b"harmony-development-key-00000000")
    }

    /// HMAC-SHA256 of `parts` (length-prefixed, so parts cannot run into
    /// each other).
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    pub fn mac_hex(&self, parts: &[&[u8]]) -> String {
        hex::encode(self.mac(parts))
    }

    /// The at-rest sealer (its own keys, derived from this one), writing
    /// `sealed:v2:` when `write_v2` (every binary using the store opens it)
    /// and `sealed:v1:` otherwise.
    pub fn sealer(&self, write_v2: bool) -> Sealer {
        let v1 = self.mac(&[b"harmony/at-rest/chacha20poly1305/v1"]);
        let v2 = self.mac(&[b"harmony/at-rest/xchacha20poly1305/v2"]);
        Sealer {
            v1: ChaCha20Poly1305::new(&v1.into()),
            v2: XChaCha20Poly1305::new(&v2.into()),
            write_v2,
        }
    }
}

/// Whether the SHA-256 of `secret` is `expected`, compared in constant
/// time: how every credential Harmony keeps (as a digest) is checked.
pub fn sha256_matches(secret: &str, expected: &[u8]) -> bool {
    use sha2::Digest;
    use subtle::ConstantTimeEq as _;
    let given = Sha256::digest(secret.as_bytes());
    bool::from(given.as_slice().ct_eq(expected))
}

/// Marks a value sealed with ChaCha20-Poly1305 for its place.
const V1: &str = "sealed:v1:";
/// Marks a value sealed with XChaCha20-Poly1305 for its place and time.
const V2: &str = "sealed:v2:";

#[derive(Debug, thiserror::Error)]
#[error(
    "a stored secret does not open: not sealed, or sealed with another key, or moved, \
     replayed from another generation or altered"
)]
pub struct OpenError;

pub struct Sealer {
    v1: ChaCha20Poly1305,
    v2: XChaCha20Poly1305,
    write_v2: bool,
}

impl Sealer {
    /// Encrypts `plain` for the place `context` names, at `when` (the
    /// generation or revision it is written for).
    pub fn seal(&self, plain: &str, context: &[u8], when: u64) -> String {
        if self.write_v2 {
            sealing::seal(&self.v2, V2, plain, &at(context, when))
        } else {
            sealing::seal(&self.v1, V1, plain, context)
        }
    }

    /// Decrypts what [`Sealer::seal`] made for the same `context` and `when`
    /// (a v1 value, sealed before times were bound, for its place alone).
    /// Anything else, plain text included, is refused.
    pub fn open(&self, text: &str, context: &[u8], when: u64) -> Result<String, OpenError> {
        sealing::open(&self.v2, V2, text, &at(context, when))
            .or_else(|| sealing::open(&self.v1, V1, text, context))
            .unwrap_or(Err(sealing::Unopenable))
            .map_err(|_| OpenError)
    }
}

/// v2's associated data: the place, then the time (fixed width, so the two
/// cannot run into each other).
fn at(context: &[u8], when: u64) -> Vec<u8> {
    let mut aad = Vec::with_capacity(context.len() + 8);
    aad.extend_from_slice(context);
    aad.extend_from_slice(&when.to_be_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_place_at_their_time_and_with_their_key() {
        for write_v2 in [false, true] {
            let sealer = SecretKey::development().sealer(write_v2);
            let place = b"deployment-1/PASSWORD";
            let sealed = sealer.seal("hunter2", place, 7);
            let prefix = if write_v2 { V2 } else { V1 };
            assert!(sealed.starts_with(prefix) && !sealed.contains("hunter2"));
            assert_ne!(sealed, sealer.seal("hunter2", place, 7), "fresh nonce");
            assert_eq!(sealer.open(&sealed, place, 7).unwrap(), "hunter2");
            assert!(sealer.open(&sealed, b"deployment-2/PASSWORD", 7).is_err(), "moved");
            let other = SecretKey::new([7; 32]).sealer(write_v2);
            assert!(other.open(&sealed, place, 7).is_err(), "another key");
            let mut altered = sealed.clone();
            let last = altered.pop().unwrap();
            altered.push(if last == '0' { '1' } else { '0' });
            assert!(sealer.open(&altered, place, 7).is_err(), "altered");
            // Plain text is refused, never read as a secret's value.
            assert!(sealer.open("hunter2", place, 7).is_err());
            // Either writer opens both formats.
            let reader = SecretKey::development().sealer(!write_v2);
            assert_eq!(reader.open(&sealed, place, 7).unwrap(), "hunter2");
        }
        // v2 binds the time: a value from another generation does not open.
        let sealer = SecretKey::development().sealer(true);
        let sealed = sealer.seal("hunter2", b"d/K", 7);
        assert!(sealer.open(&sealed, b"d/K", 8).is_err(), "replayed from generation 7 into 8");
        let nonce_hex = &sealed[V2.len()..V2.len() + 48];
        assert_eq!(hex::decode(nonce_hex).unwrap().len(), 24, "a 192-bit nonce");
    }
}
