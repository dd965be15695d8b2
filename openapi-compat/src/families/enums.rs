//! Enumerations: closed enums, open (extensible) enums, and a schema becoming or ceasing to be one.

use crate::report::{Client, Direction};
use crate::walk::Checker;
use crate::walk::view::*;
use serde_json::Value;
use std::collections::BTreeSet;

crate::rules::catalogue! {
    REQUEST_ENUM_VALUE_ADDED = "request-enum-value-added": "a closed enum in a request gained a value",
        Pet,
        r##"{"properties":{"kind":{"type":"string","enum":["cat","dog"]}}}"##,
        r##"{"properties":{"kind":{"type":"string","enum":["cat","dog","fish"]}}}"##;
    RESPONSE_ENUM_VALUE_ADDED = "response-enum-value-added": "a closed enum in a response gained a value",
        Pet,
        r##"{"properties":{"kind":{"type":"string","enum":["cat","dog"]}}}"##,
        r##"{"properties":{"kind":{"type":"string","enum":["cat","dog","fish"]}}}"##;
    REQUEST_ENUM_VALUE_REMOVED = "request-enum-value-removed": "an enum in a request lost a value",
        Pet,
        r##"{"properties":{"kind":{"type":"string","enum":["cat","dog"]}}}"##,
        r##"{"properties":{"kind":{"type":"string","enum":["cat"]}}}"##;
    RESPONSE_ENUM_VALUE_REMOVED = "response-enum-value-removed": "an enum in a response lost a value",
        Pet,
        r##"{"properties":{"kind":{"type":"string","enum":["cat","dog"]}}}"##,
        r##"{"properties":{"kind":{"type":"string","enum":["cat"]}}}"##;
    EXTENSIBLE_ENUM_VALUE_ADDED = "extensible-enum-value-added": "an open enum (`x-extensible-enum`, or `anyOf` of an enum and its type) gained a value",
        Pet,
        r##"{"properties":{"kind":{"type":"string","x-extensible-enum":["cat","dog"]}}}"##,
        r##"{"properties":{"kind":{"type":"string","x-extensible-enum":["cat","dog","fish"]}}}"##;
    EXTENSIBLE_ENUM_VALUE_REMOVED = "extensible-enum-value-removed": "an open enum lost a value",
        Pet,
        r##"{"properties":{"kind":{"type":"string","x-extensible-enum":["cat","dog"]}}}"##,
        r##"{"properties":{"kind":{"type":"string","x-extensible-enum":["cat"]}}}"##;
    ENUM_ADDED = "enum-added": "free values became an enum",
        Pet,
        "{}",
        r##"{"properties":{"name":{"enum":["Rex","Tom"]}}}"##;
    ENUM_REMOVED = "enum-removed": "an enum became free values",
        Pet,
        r##"{"properties":{"name":{"enum":["Rex","Tom"]}}}"##,
        "{}";
}

impl<'a> Checker<'a> {
    pub(crate) fn enums(&mut self, os: &Value, ns: &Value, ptr: &str, pol: Polarity) {
        if let (Some(old), Some(new)) = (open_enum_values(os), open_enum_values(ns)) {
            let added: Vec<_> = new.difference(&old).cloned().collect();
            let removed: Vec<_> = old.difference(&new).cloned().collect();
            if !added.is_empty() {
                self.emit(
                    EXTENSIBLE_ENUM_VALUE_ADDED,
                    match pol {
                        Polarity::Response => Direction::Neither,
                        Polarity::Request => Direction::BreaksNewClients,
                    },
                    ptr,
                    format!(
                        "value {} added to an open enum{}",
                        added.join(", "),
                        match pol {
                            Polarity::Response => "; clients must accept values they do not know",
                            Polarity::Request => "; old servers may not know it",
                        }
                    ),
                );
            }
            if !removed.is_empty() {
                self.emit(
                    EXTENSIBLE_ENUM_VALUE_REMOVED,
                    match pol {
                        Polarity::Response => Direction::Neither,
                        Polarity::Request => Direction::BreaksOldClients,
                    },
                    ptr,
                    format!("value {} removed from an open enum", removed.join(", ")),
                );
            }
            return;
        }
        match (enum_values(self.old, os), enum_values(self.new, ns)) {
            (Some(old), Some(new)) => {
                let added: Vec<_> = new.difference(&old).cloned().collect();
                let removed: Vec<_> = old.difference(&new).cloned().collect();
                if !added.is_empty() {
                    let why = match (pol, self.client) {
                        (Polarity::Response, Client::Progenitor) => {
                            "; generated clients close enums, so old clients fail to decode it"
                        }
                        (Polarity::Response, Client::Generic) => {
                            "; the document closes the enum (no x-extensible-enum), so old clients may not handle it"
                        }
                        (Polarity::Request, _) => "; old servers reject it",
                    };
                    self.emit(
                        match pol {
                            Polarity::Response => RESPONSE_ENUM_VALUE_ADDED,
                            Polarity::Request => REQUEST_ENUM_VALUE_ADDED,
                        },
                        pol.looser(),
                        ptr,
                        format!("enum value {} added{why}", added.join(", ")),
                    );
                }
                if !removed.is_empty() {
                    self.emit(
                        match pol {
                            Polarity::Response => RESPONSE_ENUM_VALUE_REMOVED,
                            Polarity::Request => REQUEST_ENUM_VALUE_REMOVED,
                        },
                        pol.stricter(),
                        ptr,
                        format!(
                            "enum value {} removed{}",
                            removed.join(", "),
                            match pol {
                                Polarity::Request => "; old clients may still send it",
                                Polarity::Response =>
                                    "; old servers may still send it to new clients",
                            }
                        ),
                    );
                }
            }
            (None, Some(_)) => self.emit(
                ENUM_ADDED,
                pol.stricter(),
                ptr,
                "values are now restricted to an enum".to_owned(),
            ),
            (Some(_), None) => self.emit(
                ENUM_REMOVED,
                pol.looser(),
                ptr,
                "values are no longer restricted to an enum".to_owned(),
            ),
            (None, None) => {}
        }
    }
}

/// The values of a closed enum, written as `enum`, `const`, or a `oneOf`
/// whose variants are each a one-value `enum` or `const` (schemars' form for
/// documented variants). `null` is nullability, not a value.
pub(crate) fn enum_values(doc: &Value, s: &Value) -> Option<BTreeSet<String>> {
    let values = |s: &Value| -> Option<Vec<String>> {
        if let Some(values) = s.get("enum").and_then(Value::as_array) {
            return Some(values.iter().filter(|v| !v.is_null()).map(Value::to_string).collect());
        }
        s.get("const").filter(|v| !v.is_null()).map(|v| vec![v.to_string()])
    };
    if let Some(values) = values(s) {
        return Some(values.into_iter().collect());
    }
    let variants = s.get("oneOf").or_else(|| s.get("anyOf"))?.as_array()?;
    let mut out = BTreeSet::new();
    for v in variants.iter().filter(|v| !is_null_schema(v)) {
        let (view, _) = resolve(doc, v, String::new());
        if view.schema.get("properties").is_some() {
            return None;
        }
        out.extend(values(view.schema)?);
    }
    Some(out)
}

/// The known values of an open enum: `x-extensible-enum`, or `anyOf` of an
/// enum and the unconstrained type it belongs to.
pub(crate) fn open_enum_values(s: &Value) -> Option<BTreeSet<String>> {
    if let Some(values) = s.get("x-extensible-enum").and_then(Value::as_array) {
        return Some(values.iter().map(Value::to_string).collect());
    }
    let list = s.get("anyOf")?.as_array()?;
    let closed = list.iter().find(|v| v.get("enum").is_some())?;
    let open = list.iter().any(|v| {
        v.get("enum").is_none()
            && v.get("type").is_some()
            && v.get("type") == closed.get("type")
            && v.get("pattern").is_none()
    });
    if list.len() != 2 || !open {
        return None;
    }
    Some(closed["enum"].as_array()?.iter().map(Value::to_string).collect())
}

#[cfg(test)]
pub(crate) fn cases() -> Vec<super::cases::Case> {
    use super::cases::*;
    vec![
        case(
            "request enum value added",
            |d| at(d, "/components/schemas/Color/enum").as_array_mut().unwrap().push(json!("BLUE")),
            vec![
                ("request-enum-value-added", BreaksNewClients),
                ("response-enum-value-added", BreaksOldClients),
            ],
        ),
        case(
            "response enum value removed",
            |d| {
                at(d, "/components/schemas/Color/enum").as_array_mut().unwrap().pop();
            },
            vec![
                ("request-enum-value-removed", BreaksOldClients),
                ("response-enum-value-removed", BreaksNewClients),
            ],
        ),
        case(
            "response open enum gained a value",
            |d| {
                at(d, &format!("{THING}/properties/kind/x-extensible-enum"))
                    .as_array_mut()
                    .unwrap()
                    .push(json!("c"))
            },
            vec![("extensible-enum-value-added", Neither)],
        ),
        case(
            "response open enum (anyOf) gained a value",
            |d| {
                at(d, &format!("{THING}/properties/note/anyOf/0/enum"))
                    .as_array_mut()
                    .unwrap()
                    .push(json!("c"))
            },
            vec![("extensible-enum-value-added", Neither)],
        )
        .setup(|d| {
            *at(d, &format!("{THING}/properties/note")) =
                json!({"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "string"}]});
        }),
        reverse(
            "response open enum lost a value",
            |d| {
                at(d, &format!("{THING}/properties/kind/x-extensible-enum"))
                    .as_array_mut()
                    .unwrap()
                    .push(json!("c"))
            },
            vec![("extensible-enum-value-removed", Neither)],
        ),
        case(
            "response values restricted to an enum",
            |d| *at(d, &format!("{THING}/properties/note/enum")) = json!(["x", "y"]),
            vec![("enum-added", BreaksNewClients)],
        ),
        reverse(
            "response values no longer restricted to an enum",
            |d| *at(d, &format!("{THING}/properties/note/enum")) = json!(["x", "y"]),
            vec![("enum-removed", BreaksOldClients)],
        ),
        case(
            "request values restricted to an enum",
            |d| *at(d, &format!("{INPUT}/properties/note/enum")) = json!(["x", "y"]),
            vec![("enum-added", BreaksOldClients)],
        ),
        case(
            "3.1: request const changed",
            |d| *at(d, &format!("{INPUT}/properties/api/enum")) = json!(["v2"]),
            vec![
                ("request-enum-value-added", BreaksNewClients),
                ("request-enum-value-removed", BreaksOldClients),
            ],
        ),
    ]
}
