//! The duration flags the service binaries share.

/// A duration flag (`--body-read-timeout`, `--shutdown-grace`): seconds,
/// fractions allowed, more than 0 and at most an hour.
pub fn seconds(text: &str) -> Result<std::time::Duration, String> {
    let seconds: f64 = text.parse().map_err(|e| format!("{e}"))?;
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err("must be more than 0 and at most 3600 seconds".to_owned());
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}
