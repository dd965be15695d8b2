//! Secret values at rest, sealed the same way by both services.
//!
//! A sealed value is a format's prefix, then the hex of a fresh random
//! nonce from the operating system followed by the ciphertext and its tag.
//! The associated data names where (and in Harmony, for which generation)
//! the value belongs, so a sealed value moved elsewhere does not open. Each
//! service keeps its own keys, prefixes and associated data
//! (`astro-api/src/seal.rs`, `harmony-server/src/crypto.rs`); the cipher
//! work is here, once.
//!
//! [`XChaCha20Poly1305`] (192-bit nonces: random ones never need counting)
//! is what both write today; [`ChaCha20Poly1305`] (96-bit) is Harmony's
//! first format, still opened.

pub use chacha20poly1305::aead::KeyInit;
use chacha20poly1305::aead::generic_array::typenum::Unsigned as _;
use chacha20poly1305::aead::{Aead, AeadCore, OsRng, Payload};
pub use chacha20poly1305::{ChaCha20Poly1305, XChaCha20Poly1305};

/// A sealed value that does not open: not sealed in this format, sealed
/// with another key or for another place, or altered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a sealed value does not open")]
pub struct Unopenable;

/// A new random 256-bit key, from the operating system.
pub fn new_key() -> [u8; 32] {
    XChaCha20Poly1305::generate_key(&mut OsRng).into()
}

/// `plain` sealed with `cipher` for `aad`, written after `prefix`.
pub fn seal<A: Aead + AeadCore>(cipher: &A, prefix: &str, plain: &str, aad: &[u8]) -> String {
    let nonce = A::generate_nonce(&mut OsRng);
    // Encryption fails only for inputs beyond 256 GiB.
    let sealed = cipher
        .encrypt(&nonce, Payload { msg: plain.as_bytes(), aad })
        .expect("ChaCha20-Poly1305 encrypts any value this size");
    let mut out = String::with_capacity(prefix.len() + 2 * (nonce.len() + sealed.len()));
    out.push_str(prefix);
    out.push_str(&hex::encode(nonce));
    out.push_str(&hex::encode(&sealed));
    out
}

/// What [`seal`] made with the same cipher, prefix and `aad`; `None` when
/// `text` does not start with `prefix` (another format, or plain text).
pub fn open<A: Aead + AeadCore>(
    cipher: &A,
    prefix: &str,
    text: &str,
    aad: &[u8],
) -> Option<Result<String, Unopenable>> {
    let rest = text.strip_prefix(prefix)?;
    Some((|| {
        let bytes = hex::decode(rest).map_err(|_| Unopenable)?;
        let nonce_len = <A as AeadCore>::NonceSize::to_usize();
        if bytes.len() < nonce_len {
            return Err(Unopenable);
        }
        let (nonce, sealed) = bytes.split_at(nonce_len);
        let plain =
            cipher.decrypt(nonce.into(), Payload { msg: sealed, aad }).map_err(|_| Unopenable)?;
        String::from_utf8(plain).map_err(|_| Unopenable)
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<A: Aead + AeadCore + KeyInit>(nonce_bytes: usize) {
        let cipher = A::new(&A::generate_key(&mut OsRng));
        let sealed = seal(&cipher, "sealed:t:", "hunter2", b"place");
        assert!(sealed.starts_with("sealed:t:") && !sealed.contains("hunter2"));
        let nonce_hex = &sealed["sealed:t:".len().."sealed:t:".len() + 2 * nonce_bytes];
        assert_eq!(hex::decode(nonce_hex).unwrap().len(), nonce_bytes);
        assert_ne!(sealed, seal(&cipher, "sealed:t:", "hunter2", b"place"), "a fresh nonce");
        assert_eq!(open(&cipher, "sealed:t:", &sealed, b"place"), Some(Ok("hunter2".into())));
        assert_eq!(open(&cipher, "sealed:t:", &sealed, b"elsewhere"), Some(Err(Unopenable)));
        assert_eq!(open(&cipher, "sealed:u:", &sealed, b"place"), None, "another format");
        let other = A::new(&A::generate_key(&mut OsRng));
        assert_eq!(open(&other, "sealed:t:", &sealed, b"place"), Some(Err(Unopenable)));
        let mut altered = sealed.clone();
        let last = altered.pop().unwrap();
        altered.push(if last == '0' { '1' } else { '0' });
        assert_eq!(open(&cipher, "sealed:t:", &altered, b"place"), Some(Err(Unopenable)));
        assert_eq!(open(&cipher, "sealed:t:", "sealed:t:00", b"place"), Some(Err(Unopenable)));
    }

    #[test]
    fn values_open_only_with_their_key_for_their_place() {
        round_trip::<XChaCha20Poly1305>(24);
        round_trip::<ChaCha20Poly1305>(12);
    }
}
