//! The flags the service binaries share: durations, and credentials and
//! keys given as files.

/// A duration flag (`--body-read-timeout`, `--shutdown-grace`): seconds,
/// fractions allowed, more than 0 and at most an hour.
pub fn seconds(text: &str) -> Result<std::time::Duration, String> {
    let seconds: f64 = text.parse().map_err(|e| format!("{e}"))?;
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err("must be more than 0 and at most 3600 seconds".to_owned());
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

/// A credential given as a file (`--service-token-file`,
/// `--harmony-token-file`): its text, trimmed; an error that names the file
/// and what it was for.
pub fn secret_file(path: &std::path::Path, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|text| text.trim().to_owned())
        .map_err(|e| format!("reading {what} from {}: {e}", path.display()))
}

/// A service's 32-byte secret key, given as a file of 64 hex characters
/// (`--secret-key-file`).
pub fn key_file(path: &std::path::Path) -> Result<[u8; 32], String> {
    let text = secret_file(path, "the secret key")?;
    let bytes: Option<[u8; 32]> = hex::decode(&text).ok().and_then(|b| b.try_into().ok());
    bytes.ok_or_else(|| format!("{} must hold 64 hex characters (32 bytes)", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_hold_64_hex_characters() {
        let dir = std::env::temp_dir().join(format!("key-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good");
        std::fs::write(&good, format!("{}\n", "0f".repeat(32))).unwrap();
        assert_eq!(key_file(&good).unwrap(), [0x0f; 32]);
        for bad in ["0f".repeat(31), "zz".repeat(32), "0f".repeat(33), String::new()] {
            let path = dir.join("bad");
            std::fs::write(&path, bad).unwrap();
            assert!(key_file(&path).unwrap_err().contains("64 hex characters"));
        }
        assert!(
            secret_file(&dir.join("missing"), "the credential").unwrap_err().contains("missing")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
