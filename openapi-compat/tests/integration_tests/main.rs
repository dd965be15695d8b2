//! openapi-compat's tests (each family's cases are unit tests beside its
//! rules): the strictness rules proven against a real progenitor-generated client,
//! the rule list and its document, the command line, and the invariants
//! over real public documents (identity, round trip, one edit one finding).

mod cli;
mod invariants;
mod progenitor_proof;
mod rules;
