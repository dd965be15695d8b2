//! Stopping: a stop signal, then each listener closed in turn (no new
//! connections, requests in flight finish) within one grace.

use std::future::Future;
use std::pin::Pin;

/// Waits until the process is asked to stop: SIGTERM (what Kubernetes and
/// other supervisors send before they kill) or SIGINT (Ctrl-C); the
/// signal's name. A service then stops taking requests, lets the ones in
/// flight finish, and exits 0. The handlers are installed when this is
/// called (not when first awaited): call it before the process says it is
/// up, so a signal sent right after can never kill it instead.
pub fn stop_requested() -> impl std::future::Future<Output = &'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let signals = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()));
    async move {
        match signals {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            },
            // No signal handling on this platform: only Ctrl-C.
            _ => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
}

/// Waits for `closing` (a server's graceful close: no new connections,
/// requests in flight finish) at most until `deadline`. Past it, says so
/// and stops waiting: the process then exits, cutting off what is still in
/// flight (none of it was answered, so nothing answered is lost). Whether
/// it closed in time.
pub async fn close_by<E: std::fmt::Display>(
    deadline: tokio::time::Instant,
    log: &slog::Logger,
    what: &'static str,
    closing: impl std::future::Future<Output = Result<(), E>>,
) -> bool {
    match tokio::time::timeout_at(deadline, closing).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            slog::warn!(log, "closing failed"; "listener" => what, "error" => %e);
            true
        }
        Err(_) => {
            slog::warn!(log, "the shutdown grace is over: cutting off requests still in flight";
                "listener" => what);
            false
        }
    }
}

/// A listener's graceful close, named for the log.
pub type Closing = (&'static str, Pin<Box<dyn Future<Output = Result<(), String>> + Send>>);

/// Closes each listener in turn by `deadline` ([`close_by`]), then logs
/// `stopped`.
pub async fn close_in_order(
    deadline: tokio::time::Instant,
    log: &slog::Logger,
    closing: impl IntoIterator<Item = Closing>,
) {
    for (what, close) in closing {
        close_by(deadline, log, what, close).await;
    }
    slog::info!(log, "stopped");
}
