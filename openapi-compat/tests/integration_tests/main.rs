//! openapi-compat's tests: a corpus of document pairs with one cause each,
//! the strictness rules proven against a real progenitor-generated client,
//! the rule list and its document, the command line, and the invariants
//! over real public documents (identity, round trip, one edit one finding).

mod cli;
mod corpus;
mod invariants;
mod progenitor_proof;
mod rules;
