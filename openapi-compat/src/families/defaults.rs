//! Defaults: what a value left out means.

use crate::report::Direction;
use crate::walk::Checker;
use serde_json::Value;

crate::rules::catalogue! {
    DEFAULT_CHANGED = "default-changed": "a `default` changed or was removed: a value left out now means something else",
        Pet,
        r##"{"properties":{"name":{"default":"rex"}}}"##,
        r##"{"properties":{"name":{"default":"fido"}}}"##;
}

impl<'a> Checker<'a> {
    /// A `default` changed or removed: whoever leaves the value out (a
    /// client in a request, the server in a response, which a generated
    /// client fills from the default when it decodes) now means something
    /// else than old clients assume. A default added where there was none
    /// only states what absence already meant to the server.
    pub(crate) fn default(&mut self, os: &Value, ns: &Value, ptr: &str) {
        let (a, b) = (os.get("default"), ns.get("default"));
        let Some(a) = a else { return };
        if Some(a) == b {
            return;
        }
        let reason = match b {
            Some(b) => {
                format!("default {a} became {b}; old clients assume {a} where it is left out")
            }
            None => format!("default {a} was removed; old clients assume {a} where it is left out"),
        };
        self.emit(DEFAULT_CHANGED, Direction::BreaksOldClients, ptr, reason);
    }
}

#[cfg(test)]
pub(crate) fn cases() -> Vec<super::cases::Case> {
    use super::cases::*;
    vec![
        case(
            "query parameter default stated where there was none",
            |d| {
                *at(d, &format!("{GET}/parameters/1/schema/default")) = json!(false);
            },
            vec![],
        ),
        Case {
            setup: Some(|d| *at(d, &format!("{GET}/parameters/1/schema/default")) = json!(false)),
            ..case(
                "query parameter default changed",
                |d| *at(d, &format!("{GET}/parameters/1/schema/default")) = json!(true),
                vec![("default-changed", BreaksOldClients)],
            )
        },
        Case {
            setup: Some(|d| *at(d, &format!("{GET}/parameters/1/schema/default")) = json!(false)),
            ..case(
                "query parameter default removed",
                |d| {
                    at(d, &format!("{GET}/parameters/1/schema"))
                        .as_object_mut()
                        .unwrap()
                        .remove("default");
                },
                vec![("default-changed", BreaksOldClients)],
            )
        },
    ]
}
