//! Blocking work off the async executor, with one answer to a panic.
//!
//! Store calls block (SQLite on this thread, PostgreSQL through a
//! synchronous pool), so the services' handlers and workers run them on
//! tokio's blocking pool. Every such call goes through [`run_blocking`]:
//! a panic inside comes back as [`Panicked`], with its message, for the
//! caller to answer as its own internal error (a 500, a failed readiness
//! check, a failed outbox round), never unwinding into the caller's task.

/// Work run by [`run_blocking`] panicked.
#[derive(Debug, thiserror::Error)]
#[error("blocking work panicked: {0}")]
pub struct Panicked(pub String);

/// Runs `f` on tokio's blocking pool; a panic in it is [`Panicked`].
pub async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Panicked> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        Panicked(match e.try_into_panic() {
            Ok(panic) => panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned()),
            Err(e) => e.to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_value_comes_back_and_a_panic_is_an_error_with_its_message() {
        assert_eq!(run_blocking(|| 7).await.unwrap(), 7);
        let e = run_blocking(|| -> u8 { panic!("the disk is on fire") }).await.unwrap_err();
        assert_eq!(e.to_string(), "blocking work panicked: the disk is on fire");
        let e = run_blocking(|| -> u8 { panic!("{} planes", 3) }).await.unwrap_err();
        assert_eq!(e.0, "3 planes");
    }
}
