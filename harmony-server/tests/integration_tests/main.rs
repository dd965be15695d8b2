//! harmony-server's integration tests: one binary, real servers on loopback
//! port 0, each with its own temporary data directory (and, on PostgreSQL,
//! a schema of its own), talking through the generated clients.

mod boundaries;
mod changes;
mod common;
mod contact_emails;
mod crash;
mod deployments;
mod generated_input;
mod golden;
mod kubernetes_limits;
mod lifecycle;
mod negotiation;
mod old_clients;
mod replicas;
mod rollout_controller;
mod rollouts;
mod schemathesis;
mod security;
mod stored_rows;
mod versions;
