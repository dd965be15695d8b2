//! The rule list: each rule's example produces it, and `docs/compat-rules.md` is what the code generates.

use openapi_compat::docs::{markdown, outcome};
use openapi_compat::families::RULES;
use std::collections::BTreeSet;

#[test]
fn every_rule_is_shown_by_its_example() {
    let ids: BTreeSet<&str> = RULES.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), RULES.len(), "a rule id is listed twice");
    for rule in RULES.iter() {
        if let Err(e) = outcome(rule) {
            panic!("{e}");
        }
    }
}

#[test]
fn the_rules_document_is_fresh() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/compat-rules.md");
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = markdown().unwrap();
    assert!(
        written == generated,
        "docs/compat-rules.md is stale: it does not match openapi-compat's rules; \
         run `cargo xtask regenerate` and commit"
    );
}
