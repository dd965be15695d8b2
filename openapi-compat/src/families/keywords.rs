//! JSON Schema 2020-12 keywords that OpenAPI 3.1 allows and 3.0 does not:
//! `prefixItems`, `contains`, `propertyNames`, `patternProperties`,
//! `dependentRequired`, `dependentSchemas`, `if`/`then`/`else`, `not`,
//! `unevaluatedItems` and `unevaluatedProperties`. (`minContains` and
//! `maxContains` are sizes: [`super::constraints`]. `contentSchema`,
//! `contentMediaType` and `contentEncoding` are annotations in 2020-12 and
//! assert nothing.)
//!
//! Each of them, where it was absent, can only reject values: added it is
//! stricter, removed looser. Where both documents have one, its subschemas
//! are walked like any other (so a changed `contains` is judged by the
//! families, as its items would be). `if` and `not` are not monotonic (a
//! looser `not` rejects more) and a `dependentRequired` or
//! `patternProperties` with other entries may reject some values and accept
//! others: those changes are `keyword-changed`, both ways.

use crate::report::Direction;
use crate::walk::Checker;
use crate::walk::view::*;
use serde_json::Value;

crate::rules::catalogue! {
    KEYWORD_ADDED = "keyword-added": "a JSON Schema keyword that rejects values (`contains`, `prefixItems`, `propertyNames`, `patternProperties`, `dependentRequired`, `dependentSchemas`, `if`, `not`, `unevaluated…`) now constrains a schema",
        Pet,
        r##"{"properties":{"tags":{"type":"array","items":{"type":"string"}}}}"##,
        r##"{"properties":{"tags":{"type":"array","items":{"type":"string"},"contains":{"const":"dog"}}}}"##;
    KEYWORD_REMOVED = "keyword-removed": "such a keyword no longer constrains a schema",
        Pet,
        r##"{"properties":{"tags":{"type":"array","items":{"type":"string"},"contains":{"const":"dog"}}}}"##,
        r##"{"properties":{"tags":{"type":"array","items":{"type":"string"}}}}"##;
    KEYWORD_CHANGED = "keyword-changed": "`if`, `not`, `dependentRequired` or `patternProperties` (or the number of `prefixItems`) changed, which may reject some values and accept others",
        Pet,
        r##"{"properties":{"name":{"type":"string","not":{"const":"rex"}}}}"##,
        r##"{"properties":{"name":{"type":"string","not":{"const":"fido"}}}}"##;
}

/// The keywords whose presence alone constrains.
const KEYWORDS: [&str; 10] = [
    "prefixItems",
    "contains",
    "propertyNames",
    "patternProperties",
    "dependentRequired",
    "dependentSchemas",
    "if",
    "not",
    "unevaluatedItems",
    "unevaluatedProperties",
];

/// Annotations: they change no value's validity.
const ANNOTATIONS: [&str; 6] =
    ["description", "title", "example", "examples", "$comment", "externalDocs"];

/// Whether two schemas (or any JSON values in them) are equal, following
/// `$ref`s in each document, so a renamed component is the same schema;
/// annotations are ignored.
fn same(old_doc: &Value, a: &Value, new_doc: &Value, b: &Value, depth: u8) -> bool {
    if depth == 0 {
        return true;
    }
    let a = chase(old_doc, a);
    let b = chase(new_doc, b);
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys = |m: &serde_json::Map<String, Value>| {
                m.keys()
                    .filter(|k| !ANNOTATIONS.contains(&k.as_str()))
                    .cloned()
                    .collect::<std::collections::BTreeSet<_>>()
            };
            keys(x) == keys(y)
                && keys(x).iter().all(|k| same(old_doc, &x[k], new_doc, &y[k], depth - 1))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|(p, q)| same(old_doc, p, new_doc, q, depth - 1))
        }
        (x, y) => x == y,
    }
}

/// A value with its local `$ref`s followed.
fn chase<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
            Some(pointer) => match doc.pointer(pointer) {
                Some(target) => v = target,
                None => break,
            },
            None => break,
        }
    }
    v
}

/// Who a stricter reader breaks.
fn stricter(pol: Polarity) -> &'static str {
    match pol {
        Polarity::Request => "old clients may send values it refuses",
        Polarity::Response => "new clients refuse values old servers may send",
    }
}

/// Who a looser writer breaks.
fn looser(pol: Polarity) -> &'static str {
    match pol {
        Polarity::Request => "new clients may send values old servers refuse",
        Polarity::Response => "old clients may receive values they refuse",
    }
}

impl<'a> Checker<'a> {
    /// The 2020-12 keywords of a pair of schemas.
    pub(crate) fn keywords(
        &mut self,
        os: &'a Value,
        old_ptr: &str,
        ns: &'a Value,
        ptr: &str,
        pol: Polarity,
    ) {
        for keyword in KEYWORDS {
            let at = format!("{ptr}/{keyword}");
            let old_at = format!("{old_ptr}/{keyword}");
            // `true` accepts everything, as if absent.
            let get = |s: &'a Value| s.get(keyword).filter(|v| **v != Value::Bool(true));
            match (get(os), get(ns)) {
                (None, None) => {}
                (Some(o), Some(n)) if (*o == Value::Bool(false)) != (*n == Value::Bool(false)) => {
                    let now_none = *n == Value::Bool(false);
                    self.emit(
                        if now_none { KEYWORD_ADDED } else { KEYWORD_REMOVED },
                        if now_none { pol.stricter() } else { pol.looser() },
                        &at,
                        if now_none {
                            format!("{keyword} now refuses every value; {}", stricter(pol))
                        } else {
                            format!("{keyword} no longer refuses every value; {}", looser(pol))
                        },
                    );
                }
                (None, Some(_)) => self.emit(
                    KEYWORD_ADDED,
                    pol.stricter(),
                    &at,
                    format!("{keyword} now constrains the value; {}", stricter(pol)),
                ),
                (Some(_), None) => self.emit(
                    KEYWORD_REMOVED,
                    pol.looser(),
                    &at,
                    format!("{keyword} no longer constrains the value; {}", looser(pol)),
                ),
                (Some(o), Some(n)) => match keyword {
                    "if" | "not" | "dependentRequired" => {
                        if !same(self.old, o, self.new, n, 32) {
                            self.emit(
                                KEYWORD_CHANGED,
                                Direction::Both,
                                &at,
                                format!(
                                    "{keyword} changed: some values are now refused and others \
                                     accepted"
                                ),
                            );
                        }
                    }
                    "prefixItems" => {
                        let (o, n) = (
                            o.as_array().map(Vec::as_slice).unwrap_or_default(),
                            n.as_array().map(Vec::as_slice).unwrap_or_default(),
                        );
                        for (i, (a, b)) in o.iter().zip(n).enumerate() {
                            self.schema(
                                a,
                                format!("{old_at}/{i}"),
                                b,
                                format!("{at}/{i}"),
                                pol,
                                false,
                            );
                        }
                        if o.len() != n.len() {
                            self.emit(
                                KEYWORD_CHANGED,
                                Direction::Both,
                                &at,
                                format!(
                                    "prefixItems went from {} to {} positions: items at the \
                                     others are judged by other schemas",
                                    o.len(),
                                    n.len()
                                ),
                            );
                        }
                    }
                    "patternProperties" | "dependentSchemas" => {
                        let (o, n) = (obj(o).unwrap_or(&EMPTY), obj(n).unwrap_or(&EMPTY));
                        for (key, b) in n {
                            if let Some(a) = o.get(key) {
                                self.schema(
                                    a,
                                    format!("{old_at}/{}", seg(key)),
                                    b,
                                    format!("{at}/{}", seg(key)),
                                    pol,
                                    false,
                                );
                            }
                        }
                        if o.keys().ne(n.keys()) {
                            self.emit(
                                KEYWORD_CHANGED,
                                Direction::Both,
                                &at,
                                format!(
                                    "{keyword} now names {}, not {}",
                                    n.keys().cloned().collect::<Vec<_>>().join(", "),
                                    o.keys().cloned().collect::<Vec<_>>().join(", ")
                                ),
                            );
                        }
                    }
                    // contains, propertyNames, unevaluated…: one subschema.
                    _ => self.schema(o, old_at, n, at, pol, false),
                },
            }
        }
        // `then` and `else` apply under an `if` both documents share.
        if os.get("if").is_some() && ns.get("if").is_some() {
            for branch in ["then", "else"] {
                let at = format!("{ptr}/{branch}");
                match (os.get(branch), ns.get(branch)) {
                    (Some(o), Some(n)) => {
                        self.schema(o, format!("{old_ptr}/{branch}"), n, at, pol, false)
                    }
                    (None, Some(_)) => self.emit(
                        KEYWORD_ADDED,
                        pol.stricter(),
                        &at,
                        format!("{branch} now constrains the value; {}", stricter(pol)),
                    ),
                    (Some(_), None) => self.emit(
                        KEYWORD_REMOVED,
                        pol.looser(),
                        &at,
                        format!("{branch} no longer constrains the value; {}", looser(pol)),
                    ),
                    (None, None) => {}
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) fn cases() -> Vec<super::cases::Case> {
    use super::cases::*;
    vec![
        case(
            "3.1: request contains added",
            |d| *at(d, &format!("{INPUT}/properties/labels/contains")) = json!({"const": "x"}),
            vec![("keyword-added", BreaksOldClients)],
        )
        .only_31(),
        reverse(
            "3.1: request contains removed",
            |d| *at(d, &format!("{INPUT}/properties/labels/contains")) = json!({"const": "x"}),
            vec![("keyword-removed", BreaksNewClients)],
        )
        .only_31(),
        case(
            "3.1: response propertyNames added",
            |d| {
                *at(d, &format!("{THING}/propertyNames")) = json!({"maxLength": 20});
            },
            vec![("keyword-added", BreaksNewClients)],
        )
        .only_31(),
        case(
            "3.1: a contains schema that admits less is judged as a schema",
            |d| *at(d, &format!("{INPUT}/properties/labels/contains/maxLength")) = json!(3),
            vec![("constraint-tightened", BreaksOldClients)],
        )
        .setup(|d| {
            *at(d, &format!("{INPUT}/properties/labels/contains")) = json!({"type": "string"});
        })
        .only_31(),
        case(
            "3.1: request not changed",
            |d| *at(d, &format!("{INPUT}/properties/note/not")) = json!({"const": "b"}),
            vec![("keyword-changed", Both)],
        )
        .setup(|d| *at(d, &format!("{INPUT}/properties/note/not")) = json!({"const": "a"}))
        .only_31(),
        case(
            "3.1: dependentRequired names one more property",
            |d| {
                *at(d, &format!("{INPUT}/dependentRequired")) =
                    json!({"note": ["count", "weight"]});
            },
            vec![("keyword-changed", Both)],
        )
        .setup(|d| *at(d, &format!("{INPUT}/dependentRequired")) = json!({"note": ["count"]}))
        .only_31(),
        case(
            "3.1: unevaluatedProperties became false",
            |d| *at(d, &format!("{INPUT}/unevaluatedProperties")) = json!(false),
            vec![("keyword-added", BreaksOldClients)],
        )
        .setup(|d| *at(d, &format!("{INPUT}/unevaluatedProperties")) = json!(true))
        .only_31(),
        case(
            "3.1: unevaluatedProperties true stated where absent",
            |d| *at(d, &format!("{INPUT}/unevaluatedProperties")) = json!(true),
            vec![],
        )
        .only_31(),
        case(
            "3.1: prefixItems gained a position",
            |d| {
                *at(d, &format!("{INPUT}/properties/labels/prefixItems")) =
                    json!([{"type": "string"}, {"type": "string"}]);
            },
            vec![("keyword-changed", Both)],
        )
        .setup(|d| {
            *at(d, &format!("{INPUT}/properties/labels/prefixItems")) = json!([{"type": "string"}]);
        })
        .only_31(),
        case(
            "3.1: the then of a shared if removed",
            |d| remove(d, &format!("{INPUT}/then")),
            vec![("keyword-removed", BreaksNewClients)],
        )
        .setup(|d| {
            *at(d, &format!("{INPUT}/if")) = json!({"required": ["note"]});
            *at(d, &format!("{INPUT}/then")) = json!({"required": ["count"]});
        })
        .only_31(),
    ]
}
