//! The catalogue's types: a rule, its identifier ([`RuleId`]) and its
//! example, and [`catalogue`], with which each family declares its rules
//! beside its checks. [`crate::families::RULES`] is every family's rules;
//! what the examples produce, and the rule list in `docs/compat-rules.md`,
//! are [`crate::docs`]'s.

/// Where an example's two JSON merge patches (RFC 7396) apply in
/// [`crate::docs::template`].
#[derive(Clone, Copy, Debug)]
pub enum At {
    /// The `Pet` schema, which is both `PUT /pets/{id}`'s request body and
    /// its 200 response: one example shows both sides.
    Pet,
    /// The operation `PUT /pets/{id}`.
    Operation,
    /// The document's root.
    Document,
}

#[derive(Clone, Copy, Debug)]
pub struct Example {
    pub at: At,
    /// Merge patch giving the old document.
    pub old: &'static str,
    /// Merge patch giving the new document.
    pub new: &'static str,
}

#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// Stable id, as reported in [`crate::Change::rule`] and named in
    /// ignore files.
    pub id: &'static str,
    /// What the rule finds.
    pub finds: &'static str,
    pub example: Example,
}

/// A rule's identifier. Made only by [`catalogue`], which lists the rule
/// in the catalogue where it declares the identifier: the comparison cannot
/// emit a rule that is not listed, and a misspelt rule does not compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(&'static str);

impl RuleId {
    #[doc(hidden)]
    pub(crate) const fn new(id: &'static str) -> RuleId {
        RuleId(id)
    }

    /// The identifier as reported and named in ignore files.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

/// Declares a family's rules: for each, its identifier (a [`RuleId`]
/// constant), what it finds, and its example (where it applies, and the
/// merge patches giving the old and the new document). Also declares the
/// family's `RULES`, in the order written.
macro_rules! catalogue {
    ($($name:ident = $id:literal: $finds:literal, $at:ident, $old:expr, $new:expr;)*) => {
        $(pub(crate) const $name: $crate::rules::RuleId = $crate::rules::RuleId::new($id);)*
        /// This family's rules, in the order the documentation lists them.
        pub(crate) const RULES: &[$crate::rules::Rule] = &[$($crate::rules::Rule {
            id: $id,
            finds: $finds,
            example: $crate::rules::Example { at: $crate::rules::At::$at, old: $old, new: $new },
        }),*];
    };
}
pub(crate) use catalogue;
