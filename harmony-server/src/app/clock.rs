//! Where "now" comes from: the wall clock, or one tests move by hand (the
//! `service-clock` crate, which astro-api uses too).

pub use service_clock::{Clock, ManualClock, SystemClock};
