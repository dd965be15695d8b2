//! Deprecation: an operation, a parameter or a schema marked `deprecated`,
//! or no longer. Nothing breaks, either way; the finding tells the people
//! who own old clients that a removal may follow. (Sunset dates and
//! stability levels are extensions of other checkers, `x-sunset` and
//! `x-stability-level`, not OpenAPI.)

use crate::report::Direction;
use crate::walk::Checker;
use crate::walk::view::*;
use serde_json::Value;

crate::rules::catalogue! {
    BECAME_DEPRECATED = "became-deprecated": "an operation, a parameter or a schema is now `deprecated`",
        Operation,
        "{}",
        r##"{"deprecated":true}"##;
    NO_LONGER_DEPRECATED = "no-longer-deprecated": "an operation, a parameter or a schema is no longer `deprecated`",
        Operation,
        r##"{"deprecated":true}"##,
        "{}";
}

impl Checker<'_> {
    /// `what` names the node (`operation`, `query parameter tags`, `schema`).
    pub(crate) fn deprecation(&mut self, old: &Value, new: &Value, ptr: &str, what: &str) {
        match (flag(old, "deprecated"), flag(new, "deprecated")) {
            (false, true) => self.emit(
                BECAME_DEPRECATED,
                Direction::Neither,
                ptr,
                format!("the {what} is now deprecated; clients that use it should move off it"),
            ),
            (true, false) => self.emit(
                NO_LONGER_DEPRECATED,
                Direction::Neither,
                ptr,
                format!("the {what} is no longer deprecated"),
            ),
            _ => {}
        }
    }
}

#[cfg(test)]
pub(crate) fn cases() -> Vec<super::cases::Case> {
    use super::cases::*;
    vec![
        case(
            "operation deprecated",
            |d| *at(d, &format!("{GET}/deprecated")) = json!(true),
            vec![("became-deprecated", Neither)],
        ),
        reverse(
            "operation no longer deprecated",
            |d| *at(d, &format!("{GET}/deprecated")) = json!(true),
            vec![("no-longer-deprecated", Neither)],
        ),
        case(
            "query parameter deprecated",
            |d| *at(d, &format!("{GET}/parameters/1/deprecated")) = json!(true),
            vec![("became-deprecated", Neither)],
        ),
        case(
            // Thing is read in two responses, judged once per polarity.
            "response property deprecated",
            |d| *at(d, &format!("{THING}/properties/note/deprecated")) = json!(true),
            vec![("became-deprecated", Neither)],
        ),
        case(
            "deprecated stated as false where it was absent",
            |d| *at(d, &format!("{GET}/deprecated")) = json!(false),
            vec![],
        ),
    ]
}
