//! Typed client for Astro's public API: progenitor output generated from
//! `openapi/astro.json` into `src/generated.rs` (committed; `cargo xtask
//! regenerate` rewrites it, `cargo xtask check` fails when it is stale).
//! Every error answer decodes as [`types::AstroError`].

#[rustfmt::skip]
#[allow(clippy::all, clippy::pedantic, unused_imports, dead_code, missing_docs)]
#[path = "generated.rs"]
mod generated;

pub use generated::*;
pub use progenitor_client::{Error, ResponseValue};
