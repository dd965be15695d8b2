//! Harmony's one secret key, and what is derived from it.
//!
//! - [`SecretKey::mac`]: HMAC-SHA256, for generated secrets (Fernet key,
//!   passwords) and for every hash Harmony hands out, so a hash reveals
//!   nothing about the secrets it covers.
//! - [`Sealer`]: ChaCha20-Poly1305 with a key derived from the secret key,
//!   for secret values at rest (secret environment variables in stored specs,
//!   Secret objects in stored manifest sets). Each sealed value is bound to
//!   where it belongs (associated data), so one cannot be moved to another
//!   deployment or key and still open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
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
        hex(&self.mac(parts))
    }

    /// The at-rest sealer (its own key, derived from this one).
    pub fn sealer(&self) -> Sealer {
        let key = self.mac(&[b"harmony/at-rest/chacha20poly1305/v1"]);
        Sealer { cipher: ChaCha20Poly1305::new(Key::from_slice(&key)) }
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

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

/// Marks a sealed value; anything else is legacy plain text (written before
/// sealing existed) and is read as it is, then sealed at its next write.
const PREFIX: &str = "sealed:v1:";

#[derive(Debug, thiserror::Error)]
#[error("a sealed value does not open with this key (wrong key, or moved or altered)")]
pub struct OpenError;

pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl Sealer {
    /// Encrypts `plain` for the place `context` names.
    pub fn seal(&self, plain: &str, context: &[u8]) -> String {
        let random = uuid::Uuid::new_v4();
        let nonce = &random.as_bytes()[..12];
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(nonce), Payload { msg: plain.as_bytes(), aad: context })
            // Encryption fails only for inputs beyond 256 GiB.
            .expect("ChaCha20-Poly1305 encrypts any value this size");
        let mut out = String::with_capacity(PREFIX.len() + 2 * (12 + sealed.len()));
        out.push_str(PREFIX);
        out.push_str(&hex(nonce));
        out.push_str(&hex(&sealed));
        out
    }

    /// Whether `text` is a sealed value (rather than legacy plain text).
    pub fn is_sealed(text: &str) -> bool {
        text.starts_with(PREFIX)
    }

    /// Decrypts what [`Sealer::seal`] made for the same `context`; legacy
    /// plain text comes back as it is.
    pub fn open(&self, text: &str, context: &[u8]) -> Result<String, OpenError> {
        let Some(rest) = text.strip_prefix(PREFIX) else {
            return Ok(text.to_owned());
        };
        let bytes = unhex(rest).ok_or(OpenError)?;
        if bytes.len() < 12 {
            return Err(OpenError);
        }
        let (nonce, sealed) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: context })
            .map_err(|_| OpenError)?;
        String::from_utf8(plain).map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_place_and_with_their_key() {
        let sealer = SecretKey::development().sealer();
        let sealed = sealer.seal("hunter2", b"deployment-1/PASSWORD");
        assert!(Sealer::is_sealed(&sealed) && !sealed.contains("hunter2"));
        assert_ne!(sealed, sealer.seal("hunter2", b"deployment-1/PASSWORD"), "fresh nonce");
        assert_eq!(sealer.open(&sealed, b"deployment-1/PASSWORD").unwrap(), "hunter2");
        assert!(sealer.open(&sealed, b"deployment-2/PASSWORD").is_err(), "moved");
        let other = SecretKey::new([7; 32]).sealer();
        assert!(other.open(&sealed, b"deployment-1/PASSWORD").is_err(), "another key");
        let mut altered = sealed.clone();
        altered.pop();
        altered.push('0');
        assert!(sealer.open(&altered, b"deployment-1/PASSWORD").is_err() || altered == sealed);
        assert_eq!(sealer.open("legacy", b"x").unwrap(), "legacy");
    }
}
