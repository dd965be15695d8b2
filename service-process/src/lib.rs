//! How the service binaries start and stop, the same way in each:
//! [`flags`] parses the duration flags (timeouts, the shutdown grace);
//! [`shutdown`] waits for a stop signal and closes listeners in order
//! within the grace.

pub mod flags;
pub mod shutdown;
