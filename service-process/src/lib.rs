//! How the service binaries start and stop, the same way in each:
//! [`flags`] parses the flags they share (timeouts, the shutdown grace,
//! credential and key files);
//! [`shutdown`] waits for a stop signal and closes listeners in order
//! within the grace.

pub mod flags;
pub mod shutdown;
