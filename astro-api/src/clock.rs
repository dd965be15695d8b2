//! Where astro-api's time and randomness come from: the `service-clock`
//! crate, which Harmony uses too.

pub use service_clock::*;
