//! Constraints: lengths, sizes, numeric bounds (inclusive and exclusive, both spellings), multiples, uniqueness and patterns.

use crate::report::Direction;
use crate::walk::Checker;
use crate::walk::view::*;
use serde_json::Value;

crate::rules::catalogue! {
    CONSTRAINT_TIGHTENED = "constraint-tightened": "a length, bound (inclusive or exclusive, 3.0 or 3.1 form), size, `multipleOf` or `uniqueItems` admits less",
        Pet,
        r##"{"properties":{"age":{"type":"integer","minimum":0}}}"##,
        r##"{"properties":{"age":{"type":"integer","exclusiveMinimum":0}}}"##;
    CONSTRAINT_LOOSENED = "constraint-loosened": "a length, bound, size, `multipleOf` or `uniqueItems` admits more",
        Pet,
        r##"{"properties":{"tags":{"type":"array","items":{"type":"string"},"maxItems":5}}}"##,
        r##"{"properties":{"tags":{"type":"array","items":{"type":"string"},"maxItems":10}}}"##;
    CONSTRAINT_CHANGED = "constraint-changed": "a `multipleOf` changed to one neither stricter nor looser",
        Pet,
        r##"{"properties":{"age":{"type":"integer","multipleOf":2}}}"##,
        r##"{"properties":{"age":{"type":"integer","multipleOf":3}}}"##;
    PATTERN_CHANGED = "pattern-changed": "a `pattern` was added, removed or changed",
        Pet,
        "{}",
        r##"{"properties":{"name":{"pattern":"^[a-z]+$"}}}"##;
}

impl<'a> Checker<'a> {
    pub(crate) fn constraints(&mut self, os: &Value, ns: &Value, ptr: &str, pol: Polarity) {
        let num = |s: &Value, k: &str| s.get(k).and_then(Value::as_f64);
        // (keyword, a larger value is stricter?)
        for (keyword, larger_is_stricter) in [
            ("minLength", true),
            ("maxLength", false),
            ("minItems", true),
            ("maxItems", false),
            ("minProperties", true),
            ("maxProperties", false),
            ("minContains", true),
            ("maxContains", false),
        ] {
            let (a, b) = (num(os, keyword), num(ns, keyword));
            let stricter = match (a, b) {
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(a), Some(b)) if a != b => (b > a) == larger_is_stricter,
                _ => continue,
            };
            let sizes = keyword.ends_with("Items")
                || keyword.ends_with("Properties")
                || keyword.ends_with("Contains");
            // typify validates string constraints and picks integer types from
            // numeric bounds when it decodes; it does not check array or map
            // sizes. A generic client may (a fixed-size buffer, a UI list).
            let (direction, why) = if stricter {
                (pol.stricter(), "")
            } else if sizes && pol == Polarity::Response && !self.generic() {
                (Direction::Neither, "; generated clients do not check sizes")
            } else {
                (pol.looser(), "")
            };
            self.emit(
                if stricter { CONSTRAINT_TIGHTENED } else { CONSTRAINT_LOOSENED },
                direction,
                ptr,
                format!("{keyword} {} became {}{why}", show(a), show(b)),
            );
        }
        for (inclusive, exclusive, lower) in
            [("minimum", "exclusiveMinimum", true), ("maximum", "exclusiveMaximum", false)]
        {
            let (a, b) =
                (bound(os, inclusive, exclusive, lower), bound(ns, inclusive, exclusive, lower));
            let stricter = match (a, b) {
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(a), Some(b)) if a != b => bound_stricter(a, b, lower),
                _ => continue,
            };
            self.emit(
                if stricter { CONSTRAINT_TIGHTENED } else { CONSTRAINT_LOOSENED },
                if stricter { pol.stricter() } else { pol.looser() },
                ptr,
                format!(
                    "{} bound {} became {}",
                    if lower { "lower" } else { "upper" },
                    show_bound(a, lower),
                    show_bound(b, lower)
                ),
            );
        }
        let (a, b) = (num(os, "multipleOf"), num(ns, "multipleOf"));
        if a != b {
            // Every multiple of `a` is a multiple of `b` when `a` is one.
            let multiple = |x: f64, of: f64| of != 0.0 && ((x / of).round() * of - x).abs() < 1e-9;
            let (rule, direction) = match (a, b) {
                (None, Some(_)) => (CONSTRAINT_TIGHTENED, pol.stricter()),
                (Some(_), None) => (CONSTRAINT_LOOSENED, pol.looser()),
                (Some(a), Some(b)) if multiple(a, b) => (CONSTRAINT_LOOSENED, pol.looser()),
                (Some(a), Some(b)) if multiple(b, a) => (CONSTRAINT_TIGHTENED, pol.stricter()),
                _ => (CONSTRAINT_CHANGED, Direction::Both),
            };
            self.emit(rule, direction, ptr, format!("multipleOf {} became {}", show(a), show(b)));
        }
        match (flag(os, "uniqueItems"), flag(ns, "uniqueItems")) {
            (false, true) => self.emit(
                CONSTRAINT_TIGHTENED,
                pol.stricter(),
                ptr,
                "items must now be unique".to_owned(),
            ),
            (true, false) => self.emit(
                CONSTRAINT_LOOSENED,
                pol.looser(),
                ptr,
                format!(
                    "items need no longer be unique{}",
                    match pol {
                        Polarity::Response =>
                            "; old clients decode a set (typify: a HashSet) and merge duplicates silently",
                        Polarity::Request => "; old servers refuse duplicates",
                    }
                ),
            ),
            _ => {}
        }
        let (a, b) =
            (os.get("pattern").and_then(Value::as_str), ns.get("pattern").and_then(Value::as_str));
        if a != b {
            // A changed pattern may reject what the old one accepted, and the
            // other way round.
            let direction = match (a, b) {
                (None, Some(_)) => pol.stricter(),
                (Some(_), None) => pol.looser(),
                _ => Direction::Both,
            };
            let show = |p: Option<&str>| p.map_or("none".to_owned(), |p| format!("`{p}`"));
            self.emit(
                PATTERN_CHANGED,
                direction,
                ptr,
                format!("pattern {} became {}", show(a), show(b)),
            );
        }
    }
}

/// A numeric bound: its value and whether it is exclusive, read from 3.0
/// (`minimum` + `exclusiveMinimum: true`) or 3.1 (`exclusiveMinimum: 5`);
/// when both forms are present, the stricter one.
pub(crate) fn bound(
    s: &Value,
    inclusive: &str,
    exclusive: &str,
    lower: bool,
) -> Option<(f64, bool)> {
    let value = s.get(inclusive).and_then(Value::as_f64);
    match s.get(exclusive) {
        Some(Value::Bool(true)) => value.map(|v| (v, true)),
        Some(Value::Number(n)) => {
            let x = n.as_f64()?;
            match value {
                Some(v) if (lower && v > x) || (!lower && v < x) => Some((v, false)),
                _ => Some((x, true)),
            }
        }
        _ => value.map(|v| (v, false)),
    }
}

pub(crate) fn show_bound(b: Option<(f64, bool)>, lower: bool) -> String {
    match b {
        None => "none".to_owned(),
        Some((v, true)) => format!("{} {v}", if lower { ">" } else { "<" }),
        Some((v, false)) => format!("{} {v}", if lower { ">=" } else { "<=" }),
    }
}

/// A lower (or upper) bound `b` compared with `a`: whether it admits fewer
/// values.
pub(crate) fn bound_stricter(a: (f64, bool), b: (f64, bool), lower: bool) -> bool {
    if a.0 == b.0 {
        return b.1 && !a.1;
    }
    (b.0 > a.0) == lower
}

pub(crate) fn show(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "none".to_owned())
}

#[cfg(test)]
pub(crate) fn cases() -> Vec<super::cases::Case> {
    use super::cases::*;
    vec![
        case(
            "request string tightened",
            |d| *at(d, &format!("{INPUT}/properties/name/maxLength")) = json!(32),
            vec![("constraint-tightened", BreaksOldClients)],
        ),
        case(
            "request string loosened",
            |d| *at(d, &format!("{INPUT}/properties/name/maxLength")) = json!(128),
            vec![("constraint-loosened", BreaksNewClients)],
        ),
        case(
            "response integer bound loosened",
            |d| *at(d, &format!("{THING}/properties/count/minimum")) = json!(-1),
            vec![("constraint-loosened", BreaksOldClients)],
        ),
        case(
            "response string constraint loosened",
            |d| {
                at(d, &format!("{THING}/properties/name"))
                    .as_object_mut()
                    .unwrap()
                    .remove("maxLength");
            },
            vec![("constraint-loosened", BreaksOldClients)],
        ),
        case(
            "response pattern added",
            |d| *at(d, &format!("{THING}/properties/note/pattern")) = json!("^[a-z]+$"),
            vec![("pattern-changed", BreaksNewClients)],
        ),
        case(
            "response exclusive minimum became inclusive",
            |d| *at(d, &format!("{THING}/properties/weight/exclusiveMinimum")) = json!(false),
            vec![("constraint-loosened", BreaksOldClients)],
        ),
        reverse(
            "response inclusive minimum became exclusive",
            |d| *at(d, &format!("{THING}/properties/weight/exclusiveMinimum")) = json!(false),
            vec![("constraint-tightened", BreaksNewClients)],
        ),
        case(
            "request maximum became exclusive",
            |d| *at(d, &format!("{INPUT}/properties/weight/exclusiveMaximum")) = json!(true),
            vec![("constraint-tightened", BreaksOldClients)],
        ),
        reverse(
            "request maximum became inclusive",
            |d| *at(d, &format!("{INPUT}/properties/weight/exclusiveMaximum")) = json!(true),
            vec![("constraint-loosened", BreaksNewClients)],
        ),
        case(
            "response numeric range widened",
            |d| *at(d, &format!("{THING}/properties/weight/maximum")) = json!(2000),
            vec![("constraint-loosened", BreaksOldClients)],
        ),
        case(
            "request multipleOf added",
            |d| *at(d, &format!("{INPUT}/properties/count/multipleOf")) = json!(5),
            vec![("constraint-tightened", BreaksOldClients)],
        ),
        case(
            "response multipleOf relaxed to a divisor",
            |d| *at(d, &format!("{THING}/properties/step/multipleOf")) = json!(1),
            vec![("constraint-loosened", BreaksOldClients)],
        ),
        case(
            "response multipleOf raised to a multiple",
            |d| *at(d, &format!("{THING}/properties/step/multipleOf")) = json!(4),
            vec![("constraint-tightened", BreaksNewClients)],
        ),
        case(
            "response multipleOf changed to an unrelated step",
            |d| *at(d, &format!("{THING}/properties/step/multipleOf")) = json!(3),
            vec![("constraint-changed", Both)],
        ),
        case(
            "response uniqueItems dropped",
            |d| {
                at(d, &format!("{THING}/properties/labels"))
                    .as_object_mut()
                    .unwrap()
                    .remove("uniqueItems");
            },
            vec![("constraint-loosened", BreaksOldClients)],
        ),
        case(
            "request uniqueItems added",
            |d| *at(d, &format!("{INPUT}/properties/labels/uniqueItems")) = json!(true),
            vec![("constraint-tightened", BreaksOldClients)],
        ),
        reverse(
            "request uniqueItems dropped",
            |d| *at(d, &format!("{INPUT}/properties/labels/uniqueItems")) = json!(true),
            vec![("constraint-loosened", BreaksNewClients)],
        ),
        case(
            "response maxItems raised",
            |d| *at(d, &format!("{THING}/properties/labels/maxItems")) = json!(20),
            vec![("constraint-loosened", Neither)],
        )
        .generic(vec![("constraint-loosened", BreaksOldClients)]),
        case(
            "request maxItems added",
            |d| *at(d, &format!("{INPUT}/properties/labels/maxItems")) = json!(3),
            vec![("constraint-tightened", BreaksOldClients)],
        ),
        case(
            "3.1: request minContains raised",
            |d| {
                *at(d, &format!("{INPUT}/properties/labels/minContains")) = json!(2);
            },
            vec![("constraint-tightened", BreaksOldClients)],
        )
        .setup(|d| {
            *at(d, &format!("{INPUT}/properties/labels/contains")) = json!({"const": "x"});
            *at(d, &format!("{INPUT}/properties/labels/minContains")) = json!(1);
        })
        .only_31(),
    ]
}
