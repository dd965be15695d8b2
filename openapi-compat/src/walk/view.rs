//! What every family reads: polarity (who writes), the place a change is
//! reported at, and a schema seen through `$ref`s and nullable wrappers.

use crate::report::{Direction, Side};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

pub(crate) static EMPTY: std::sync::LazyLock<Map<String, Value>> =
    std::sync::LazyLock::new(Map::new);

pub(crate) const METHODS: [&str; 8] =
    ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Polarity {
    Request,
    Response,
}

impl Polarity {
    /// The direction of a change that makes the writer send something the
    /// reader did not accept before ("looser") in this polarity.
    pub(crate) fn looser(self) -> Direction {
        match self {
            // New server answers what old clients cannot read.
            Polarity::Response => Direction::BreaksOldClients,
            // New clients send what old servers cannot read.
            Polarity::Request => Direction::BreaksNewClients,
        }
    }

    /// The direction of a change that makes the reader accept less
    /// ("stricter").
    pub(crate) fn stricter(self) -> Direction {
        match self {
            // New clients reject what old servers send.
            Polarity::Response => Direction::BreaksNewClients,
            // New server rejects what old clients send.
            Polarity::Request => Direction::BreaksOldClients,
        }
    }

    pub(crate) fn side(self) -> Side {
        match self {
            Polarity::Request => Side::Request,
            Polarity::Response => Side::Response,
        }
    }
}

pub(crate) fn combine(breaks_old: bool, breaks_new: bool) -> Direction {
    match (breaks_old, breaks_new) {
        (true, true) => Direction::Both,
        (true, false) => Direction::BreaksOldClients,
        (false, true) => Direction::BreaksNewClients,
        (false, false) => Direction::Neither,
    }
}

/// Escapes one JSON pointer segment.
pub(crate) fn seg(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

#[derive(Clone, Default)]
pub(crate) struct Site {
    pub(crate) operation_id: Option<String>,
    pub(crate) method: Option<String>,
    pub(crate) path: Option<String>,
}

/// A schema after following `$ref`s, transparent single-element `allOf`
/// wrappers (how schemars writes `Option<Ref>`) and 3.1's "X or null"
/// wrappers, with the nullability collected on the way.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) schema: &'a Value,
    pub(crate) nullable: bool,
}

/// `{"type": "null"}`, `{"const": null}` or `{"enum": [null]}`.
pub(crate) fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
        || v.get("const") == Some(&Value::Null)
        || v.get("enum").and_then(Value::as_array).is_some_and(|a| a.len() == 1 && a[0].is_null())
}

pub(crate) fn resolve<'a>(
    doc: &'a Value,
    mut schema: &'a Value,
    mut ptr: String,
) -> (View<'a>, String) {
    let mut nullable = false;
    for _ in 0..64 {
        nullable |= schema.get("nullable").and_then(Value::as_bool).unwrap_or(false);
        nullable |= schema
            .get("type")
            .and_then(Value::as_array)
            .is_some_and(|t| t.iter().any(|t| t == "null"));
        if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
            if let Some(local) = target.strip_prefix('#')
                && let Some(found) = doc.pointer(local)
            {
                schema = found;
                ptr = local.to_owned();
                continue;
            }
            break;
        }
        let plain = schema.get("properties").is_none() && schema.get("type").is_none();
        // `allOf: [X]` with nothing else of substance is X.
        if let Some(all) = schema.get("allOf").and_then(Value::as_array)
            && all.len() == 1
            && plain
        {
            schema = &all[0];
            ptr = format!("{ptr}/allOf/0");
            continue;
        }
        // 3.1's `anyOf: [X, {"type": "null"}]` is a nullable X.
        if plain
            && let Some((keyword, list)) = ["anyOf", "oneOf"]
                .into_iter()
                .find_map(|k| schema.get(k).and_then(Value::as_array).map(|l| (k, l)))
            && list.len() == 2
            && let Some(null_at) = list.iter().position(is_null_schema)
        {
            nullable = true;
            schema = &list[1 - null_at];
            ptr = format!("{ptr}/{keyword}/{}", 1 - null_at);
            continue;
        }
        break;
    }
    (View { schema, nullable }, ptr)
}

pub(crate) fn obj(v: &Value) -> Option<&Map<String, Value>> {
    v.as_object()
}

pub(crate) fn strs(v: Option<&Value>) -> BTreeSet<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

pub(crate) fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// The schema's types without `"null"` (a 3.0 string or a 3.1 list).
pub(crate) fn types(s: &Value) -> Option<BTreeSet<&str>> {
    let set: BTreeSet<&str> = match s.get("type")? {
        Value::String(t) => [t.as_str()].into(),
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    let set: BTreeSet<&str> = set.into_iter().filter(|t| *t != "null").collect();
    (!set.is_empty()).then_some(set)
}

pub(crate) fn site(method: &str, path: &str, op: &Value) -> Site {
    Site {
        operation_id: op.get("operationId").and_then(Value::as_str).map(str::to_owned),
        method: Some(method.to_uppercase()),
        path: Some(path.to_owned()),
    }
}

/// `/pets/{id}` and `/pets/{petId}` are the same route.
pub(crate) fn normalize(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    for ch in path.chars() {
        match ch {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(ch),
        }
    }
    out
}
