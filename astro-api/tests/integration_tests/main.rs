//! astro-api's integration tests: one binary; a real Harmony and a real
//! astro-api on loopback port 0, each with its own data directory.

mod boundaries;
mod cells;
mod common;
mod contact_emails;
mod deployments;
mod deploys;
mod generated_client;
mod generated_input;
mod harmony_faults;
mod lifecycle;
mod needs;
mod outbox;
mod platform_rollouts;
mod quotas;
mod request_ids;
mod schemathesis;
mod secrets;
mod security;
mod stored_rows;
mod tenancy;
mod tls;
mod validation;
