//! The rule families, one module each: its rules (identifiers and
//! catalogue entries, declared together by [`crate::rules::catalogue`]), the
//! checks that report them (methods the walker calls on each pair of nodes
//! the family judges) and, under `#[cfg(test)]`, its cases. Adding a rule is
//! `docs/adding-a-compat-rule.md`.

pub(crate) mod bodies;
pub(crate) mod composition;
pub(crate) mod constraints;
pub(crate) mod defaults;
pub(crate) mod deprecation;
pub(crate) mod enums;
pub(crate) mod headers;
pub(crate) mod keywords;
pub(crate) mod objects;
pub(crate) mod operations;
pub(crate) mod parameters;
pub(crate) mod responses;
pub(crate) mod security;
pub(crate) mod types;

#[cfg(test)]
mod cases;

use crate::rules::Rule;

/// Every rule, family by family, in the order the documentation lists them.
pub static RULES: std::sync::LazyLock<Vec<Rule>> = std::sync::LazyLock::new(|| {
    FAMILIES.iter().flat_map(|family| family.iter().copied()).collect()
});

/// The rule with this id.
pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Each family's rules.
const FAMILIES: &[&[Rule]] = &[
    operations::RULES,
    deprecation::RULES,
    security::RULES,
    parameters::RULES,
    bodies::RULES,
    responses::RULES,
    headers::RULES,
    types::RULES,
    enums::RULES,
    constraints::RULES,
    defaults::RULES,
    objects::RULES,
    composition::RULES,
    keywords::RULES,
];
