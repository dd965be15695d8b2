//! Types: nullability, the type itself, integer widths and formats.

use crate::report::Direction;
use crate::walk::Checker;
use crate::walk::view::*;
use serde_json::Value;
use std::collections::BTreeSet;

crate::rules::catalogue! {
    NULLABLE_ADDED = "nullable-added": "a value may now be null (`nullable`, a `type` list with null, `anyOf` with null)",
        Pet,
        r##"{"required":["name"]}"##,
        r##"{"required":["name"],"properties":{"name":{"nullable":true}}}"##;
    NULLABLE_REMOVED = "nullable-removed": "a value may no longer be null",
        Pet,
        r##"{"properties":{"name":{"nullable":true}}}"##,
        "{}";
    TYPE_WIDENED = "type-widened": "a type admits more (`integer` to `number`, a type added to a list)",
        Pet,
        r##"{"properties":{"weight":{"type":"integer"}}}"##,
        r##"{"properties":{"weight":{"type":"number"}}}"##;
    TYPE_NARROWED = "type-narrowed": "a type admits less (`number` to `integer`, a type dropped from a list)",
        Pet,
        r##"{"properties":{"weight":{"type":"number"}}}"##,
        r##"{"properties":{"weight":{"type":"integer"}}}"##;
    TYPE_CHANGED = "type-changed": "a type changed to an unrelated one",
        Pet,
        r##"{"properties":{"weight":{"type":"number"}}}"##,
        r##"{"properties":{"weight":{"type":"string"}}}"##;
    INTEGER_WIDENED = "integer-widened": "an integer format grew (`int32` to `int64`)",
        Pet,
        r##"{"properties":{"age":{"type":"integer","format":"int32"}}}"##,
        r##"{"properties":{"age":{"type":"integer","format":"int64"}}}"##;
    INTEGER_NARROWED = "integer-narrowed": "an integer format shrank",
        Pet,
        r##"{"properties":{"age":{"type":"integer","format":"int64"}}}"##,
        r##"{"properties":{"age":{"type":"integer","format":"int32"}}}"##;
    FORMAT_ADDED = "format-added": "a `format` is new",
        Pet,
        "{}",
        r##"{"properties":{"name":{"format":"email"}}}"##;
    FORMAT_REMOVED = "format-removed": "a `format` is gone",
        Pet,
        r##"{"properties":{"name":{"format":"email"}}}"##,
        "{}";
    FORMAT_CHANGED = "format-changed": "a `format` changed",
        Pet,
        r##"{"properties":{"name":{"format":"email"}}}"##,
        r##"{"properties":{"name":{"format":"hostname"}}}"##;
}

impl Checker<'_> {
    /// Nullability, judged at the place (before the walker's memo).
    pub(crate) fn nullability(
        &mut self,
        old: bool,
        new: bool,
        ptr: &str,
        pol: Polarity,
        optional: bool,
    ) {
        match (old, new) {
            (false, true) => {
                let (direction, why) = match pol {
                    Polarity::Response if optional && !self.generic() => {
                        (Direction::Neither, "; generated clients read an optional null as absent")
                    }
                    Polarity::Response => {
                        (Direction::BreaksOldClients, "; old clients do not expect null here")
                    }
                    Polarity::Request => {
                        (Direction::BreaksNewClients, "; old servers refuse null here")
                    }
                };
                self.emit(
                    NULLABLE_ADDED,
                    direction,
                    ptr,
                    format!("the value may now be null{why}"),
                );
            }
            (true, false) => self.emit(
                NULLABLE_REMOVED,
                pol.stricter(),
                ptr,
                "the value may no longer be null".to_owned(),
            ),
            _ => {}
        }
    }

    /// A changed type; true when there was one (nothing else about values of
    /// another type compares).
    pub(crate) fn type_changed(
        &mut self,
        os: &Value,
        ns: &Value,
        ptr: &str,
        pol: Polarity,
    ) -> bool {
        let (Some(a), Some(b)) = (types(os), types(ns)) else { return false };
        if a == b {
            return false;
        }
        let show = |t: &BTreeSet<&str>| t.iter().copied().collect::<Vec<_>>().join(" or ");
        let (rule, direction) = if types_within(&a, &b) {
            (TYPE_WIDENED, pol.looser())
        } else if types_within(&b, &a) {
            (TYPE_NARROWED, pol.stricter())
        } else {
            (TYPE_CHANGED, Direction::Both)
        };
        self.emit(rule, direction, ptr, format!("type {} became {}", show(&a), show(&b)));
        true
    }

    pub(crate) fn format(&mut self, os: &Value, ns: &Value, ptr: &str, pol: Polarity) {
        let of = os.get("format").and_then(Value::as_str);
        let nf = ns.get("format").and_then(Value::as_str);
        if of == nf {
            return;
        }
        match (of.and_then(integer_width), nf.and_then(integer_width)) {
            (Some((os_signed, ow)), Some((ns_signed, nw))) if os_signed == ns_signed => {
                let (rule, direction) = if nw > ow {
                    (INTEGER_WIDENED, pol.looser())
                } else {
                    (INTEGER_NARROWED, pol.stricter())
                };
                self.emit(
                    rule,
                    direction,
                    ptr,
                    format!(
                        "integer format {} became {}; clients decode into the width it names",
                        of.unwrap_or_default(),
                        nf.unwrap_or_default()
                    ),
                );
            }
            _ => match (of, nf) {
                (None, Some(f)) => self.emit(
                    FORMAT_ADDED,
                    pol.stricter(),
                    ptr,
                    format!(
                        "format {f} was added; {}",
                        match pol {
                            Polarity::Request =>
                                "the new server refuses values old clients may send",
                            Polarity::Response =>
                                "new clients parse it and refuse other values old servers may send",
                        }
                    ),
                ),
                (Some(f), None) => self.emit(
                    FORMAT_REMOVED,
                    pol.looser(),
                    ptr,
                    format!(
                        "format {f} was removed; {}",
                        match pol {
                            Polarity::Request => "new clients may send values old servers refuse",
                            Polarity::Response =>
                                "old clients parse the value as {f} and fail on anything else",
                        }
                        .replace("{f}", f)
                    ),
                ),
                (a, b) => self.emit(
                    FORMAT_CHANGED,
                    Direction::Both,
                    ptr,
                    format!("format {} became {}", a.unwrap_or_default(), b.unwrap_or_default()),
                ),
            },
        }
    }
}

/// Whether every value of the types `a` is a value of the types `b` (an
/// integer is a number).
pub(crate) fn types_within(a: &BTreeSet<&str>, b: &BTreeSet<&str>) -> bool {
    a.iter().all(|t| b.contains(t) || (*t == "integer" && b.contains("number")))
}

pub(crate) fn integer_width(format: &str) -> Option<(bool, u32)> {
    Some(match format {
        "int8" => (true, 8),
        "uint8" => (false, 8),
        "int16" => (true, 16),
        "uint16" => (false, 16),
        "int32" => (true, 32),
        "uint32" => (false, 32),
        "int64" => (true, 64),
        "uint64" => (false, 64),
        _ => return None,
    })
}

#[cfg(test)]
pub(crate) fn cases() -> Vec<super::cases::Case> {
    use super::cases::*;
    vec![
        case(
            "parameter type changed",
            |d| *at(d, &format!("{GET}/parameters/1/schema/type")) = json!("string"),
            vec![("type-changed", Both)],
        ),
        case(
            "parameter format dropped",
            |d| {
                at(d, &format!("{GET}/parameters/0/schema"))
                    .as_object_mut()
                    .unwrap()
                    .remove("format");
            },
            vec![("format-removed", BreaksNewClients)],
        ),
        case(
            "request integer narrowed",
            |d| *at(d, &format!("{INPUT}/properties/count/format")) = json!("uint16"),
            vec![("integer-narrowed", BreaksOldClients)],
        ),
        case(
            "response property added to a closed object",
            |d| {
                at(d, "/components/schemas/Sealed/properties")
                    .as_object_mut()
                    .unwrap()
                    .insert("b".into(), json!({"type": "string"}));
                *at(d, &format!("{THING}/properties/note")) =
                    json!({"$ref": "#/components/schemas/Sealed"});
            },
            vec![("type-changed", Both)],
        ),
        case(
            "response property became nullable",
            |d| *at(d, &format!("{THING}/properties/name/nullable")) = json!(true),
            vec![("nullable-added", BreaksOldClients)],
        ),
        case(
            "optional response property became nullable",
            |d| *at(d, &format!("{THING}/properties/note/nullable")) = json!(true),
            vec![("nullable-added", Neither)],
        )
        .generic(vec![("nullable-added", BreaksOldClients)]),
        case(
            "response integer widened",
            |d| *at(d, &format!("{THING}/properties/count/format")) = json!("uint64"),
            vec![("integer-widened", BreaksOldClients)],
        ),
        case(
            "response array items changed",
            |d| *at(d, &format!("{THING}/properties/tags/items/type")) = json!("integer"),
            vec![("type-changed", Both)],
        ),
        case(
            "response header type changed",
            |d| *at(d, &format!("{HEADERS}/X-Rate-Limit/schema/type")) = json!("string"),
            vec![],
        )
        .generic(vec![("type-changed", Both)]),
        case(
            "request format added",
            |d| *at(d, &format!("{INPUT}/properties/note/format")) = json!("email"),
            vec![("format-added", BreaksOldClients)],
        ),
        case(
            "response format removed",
            |d| {
                at(d, &format!("{THING}/properties/id")).as_object_mut().unwrap().remove("format");
            },
            vec![("format-removed", BreaksOldClients)],
        ),
        case(
            "response format added",
            |d| *at(d, &format!("{THING}/properties/note/format")) = json!("date-time"),
            vec![("format-added", BreaksNewClients)],
        ),
        reverse(
            "response property no longer nullable",
            |d| *at(d, &format!("{THING}/properties/name/nullable")) = json!(true),
            vec![("nullable-removed", BreaksNewClients)],
        ),
        case(
            "request property no longer nullable",
            |d| remove(d, &format!("{INPUT}/properties/note/nullable")),
            vec![("nullable-removed", BreaksOldClients)],
        )
        .setup(|d| *at(d, &format!("{INPUT}/properties/note/nullable")) = json!(true)),
        case(
            "response format changed",
            |d| *at(d, &format!("{THING}/properties/id/format")) = json!("uri"),
            vec![("format-changed", Both)],
        ),
        case(
            "3.1: a type added to a response type list",
            |d| *at(d, &format!("{THING}/properties/note/type")) = json!(["string", "integer"]),
            vec![("type-widened", BreaksOldClients)],
        )
        .only_31(),
        case(
            "3.1: a type removed from a request type list",
            |d| *at(d, &format!("{INPUT}/properties/note/type")) = json!(["string"]),
            vec![("type-narrowed", BreaksOldClients)],
        )
        .only_31()
        .setup(|d| *at(d, &format!("{INPUT}/properties/note/type")) = json!(["string", "integer"])),
        case(
            "3.1: null added to a required response property's type list",
            |d| *at(d, &format!("{THING}/properties/name/type")) = json!(["string", "null"]),
            vec![("nullable-added", BreaksOldClients)],
        )
        .only_31(),
    ]
}
