//! openapi-compat's tests: a corpus of document pairs with one cause each,
//! the strictness rules proven against a real progenitor-generated client,
//! the rule list and its document, and the command line.

mod cli;
mod corpus;
mod progenitor_proof;
mod rules;
