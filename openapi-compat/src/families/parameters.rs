//! Parameters: added, removed, moved, required or not, serialized differently, allowed empty.

use crate::report::Direction;
use crate::walk::Checker;
use crate::walk::view::*;
use serde_json::Value;
use std::collections::BTreeMap;

crate::rules::catalogue! {
    PARAMETER_MOVED = "parameter-moved": "a parameter moved to another location (query, header, …)",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"dry_run","schema":{"type":"boolean"}}]}"##,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"header","name":"dry_run","schema":{"type":"boolean"}}]}"##;
    PARAMETER_ADDED_REQUIRED = "parameter-added-required": "a required parameter is new",
        Operation,
        "{}",
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","required":true,"schema":{"type":"string"}}]}"##;
    PARAMETER_ADDED_OPTIONAL = "parameter-added-optional": "an optional parameter is new",
        Operation,
        "{}",
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","schema":{"type":"string"}}]}"##;
    PARAMETER_BECAME_REQUIRED = "parameter-became-required": "an optional parameter became required",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","schema":{"type":"string"}}]}"##,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","required":true,"schema":{"type":"string"}}]}"##;
    PARAMETER_BECAME_OPTIONAL = "parameter-became-optional": "a required parameter became optional",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","required":true,"schema":{"type":"string"}}]}"##,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","schema":{"type":"string"}}]}"##;
    PARAMETER_STYLE_CHANGED = "parameter-style-changed": "a parameter's `style` or `explode` (with their defaults) changed",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"tags","schema":{"type":"array","items":{"type":"string"}}}]}"##,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"tags","style":"pipeDelimited","explode":false,"schema":{"type":"array","items":{"type":"string"}}}]}"##;
    PARAMETER_EMPTY_VALUE_REFUSED = "parameter-empty-value-refused": "`allowEmptyValue` was withdrawn",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"filter","allowEmptyValue":true,"schema":{"type":"string"}}]}"##,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"filter","schema":{"type":"string"}}]}"##;
    PARAMETER_EMPTY_VALUE_ALLOWED = "parameter-empty-value-allowed": "`allowEmptyValue` was granted",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"filter","schema":{"type":"string"}}]}"##,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"filter","allowEmptyValue":true,"schema":{"type":"string"}}]}"##;
    PARAMETER_REMOVED = "parameter-removed": "a parameter is gone",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","required":true,"schema":{"type":"string"}}]}"##,
        "{}";
}

impl<'a> Checker<'a> {
    /// Parameters by (location, name); path parameters by their position in
    /// the route, so renaming one is not a removal and an addition.
    pub(crate) fn params(
        &self,
        doc: &'a Value,
        path: &str,
        op: &'a Value,
        shared: &[&'a Value],
    ) -> BTreeMap<(String, String), &'a Value> {
        let positions: Vec<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        let mut out = BTreeMap::new();
        let own = op.get("parameters").and_then(Value::as_array).into_iter().flatten();
        for p in shared.iter().copied().chain(own) {
            let (view, _) = resolve(doc, p, String::new());
            let p = view.schema;
            let (Some(name), Some(location)) =
                (p.get("name").and_then(Value::as_str), p.get("in").and_then(Value::as_str))
            else {
                continue;
            };
            // Header names are case-insensitive.
            let key = match positions.iter().position(|n| *n == name) {
                Some(i) if location == "path" => format!("{{{i}}}"),
                _ if location == "header" => name.to_ascii_lowercase(),
                _ => name.to_owned(),
            };
            out.insert((location.to_owned(), key), p);
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn parameters(
        &mut self,
        old_path: &str,
        old_op: &'a Value,
        old_shared: &[&'a Value],
        path: &str,
        op: &'a Value,
        shared: &[&'a Value],
        ptr: &str,
    ) {
        let old = self.params(self.old, old_path, old_op, old_shared);
        let new = self.params(self.new, path, op, shared);
        let required = |p: &Value| p.get("required").and_then(Value::as_bool).unwrap_or(false);
        for ((location, name), p) in &new {
            let at = format!("{ptr}/parameters[{location}:{name}]");
            match old.get(&(location.clone(), name.clone())) {
                None => {
                    if let Some(((from, _), _)) = old.iter().find(|((l, n), _)| {
                        // Gone from there, and not here before (header
                        // names are case-insensitive).
                        l != location
                            && n.eq_ignore_ascii_case(name)
                            && !new.contains_key(&(l.clone(), n.clone()))
                    }) {
                        self.emit(
                            PARAMETER_MOVED,
                            Direction::Both,
                            &at,
                            format!("parameter {name} moved from {from} to {location}"),
                        );
                    } else if required(p) {
                        self.emit(
                            PARAMETER_ADDED_REQUIRED,
                            Direction::BreaksOldClients,
                            &at,
                            format!("new required {location} parameter {name}; old clients do not send it"),
                        );
                    } else {
                        self.emit(
                            PARAMETER_ADDED_OPTIONAL,
                            Direction::Neither,
                            &at,
                            format!("new optional {location} parameter {name}"),
                        );
                    }
                }
                Some(old_p) => {
                    self.deprecation(old_p, p, &at, &format!("{location} parameter {name}"));
                    match (required(old_p), required(p)) {
                        (false, true) => self.emit(
                            PARAMETER_BECAME_REQUIRED,
                            Direction::BreaksOldClients,
                            &at,
                            format!("{location} parameter {name} became required; old clients may omit it"),
                        ),
                        (true, false) => self.emit(
                            PARAMETER_BECAME_OPTIONAL,
                            Direction::BreaksNewClients,
                            &at,
                            format!("{location} parameter {name} became optional; old servers still require it"),
                        ),
                        _ => {}
                    }
                    let (os, ns) = (style(old_p), style(p));
                    if os != ns {
                        self.emit(
                            PARAMETER_STYLE_CHANGED,
                            Direction::Both,
                            &at,
                            format!(
                                "{location} parameter {name} is serialized as {}{} instead of \
                                 {}{}; each document's clients write it in a way the other \
                                 server parses differently",
                                ns.0,
                                if ns.1 { " exploded" } else { "" },
                                os.0,
                                if os.1 { " exploded" } else { "" }
                            ),
                        );
                    }
                    match (flag(old_p, "allowEmptyValue"), flag(p, "allowEmptyValue")) {
                        (true, false) => self.emit(
                            PARAMETER_EMPTY_VALUE_REFUSED,
                            Direction::BreaksOldClients,
                            &at,
                            format!("{location} parameter {name} may no longer be empty; old clients may send it empty"),
                        ),
                        (false, true) => self.emit(
                            PARAMETER_EMPTY_VALUE_ALLOWED,
                            Direction::BreaksNewClients,
                            &at,
                            format!("{location} parameter {name} may now be empty; old servers refuse an empty value"),
                        ),
                        _ => {}
                    }
                    if let (Some(os), Some(ns)) = (old_p.get("schema"), p.get("schema")) {
                        self.schema(
                            os,
                            format!("{at}/schema"),
                            ns,
                            format!("{at}/schema"),
                            Polarity::Request,
                            !required(p),
                        );
                    }
                }
            }
        }
        for ((location, name), p) in &old {
            if new.contains_key(&(location.clone(), name.clone()))
                || new.keys().any(|(l, n)| {
                    l != location
                        && n.eq_ignore_ascii_case(name)
                        && !old.contains_key(&(l.clone(), n.clone()))
                })
            {
                continue;
            }
            self.emit(
                PARAMETER_REMOVED,
                if required(p) { Direction::BreaksNewClients } else { Direction::Neither },
                &format!("{ptr}/parameters[{location}:{name}]"),
                format!(
                    "{location} parameter {name} was removed{}",
                    if required(p) { "; old servers still require it" } else { "" }
                ),
            );
        }
    }
}

/// A parameter's `style` and `explode`, with the defaults its location
/// gives them.
pub(crate) fn style(p: &Value) -> (String, bool) {
    let location = p.get("in").and_then(Value::as_str).unwrap_or("query");
    let style = p.get("style").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| {
        match location {
            "query" | "cookie" => "form",
            _ => "simple",
        }
        .to_owned()
    });
    let explode = p.get("explode").and_then(Value::as_bool).unwrap_or(style == "form");
    (style, explode)
}

#[cfg(test)]
pub(crate) fn cases() -> Vec<super::cases::Case> {
    use super::cases::*;
    vec![
        case(
            "required parameter added",
            |d| {
                at(d, &format!("{GET}/parameters")).as_array_mut().unwrap().push(json!({"in": "query", "name": "tenant", "required": true, "schema": {"type": "string"}}))
            },
            vec![("parameter-added-required", BreaksOldClients)],
        ),
        case(
            "optional parameter added",
            |d| {
                at(d, &format!("{GET}/parameters"))
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"in": "query", "name": "tenant", "schema": {"type": "string"}}))
            },
            vec![("parameter-added-optional", Neither)],
        ),
        case(
            "optional parameter removed",
            |d| {
                at(d, &format!("{GET}/parameters")).as_array_mut().unwrap().pop();
            },
            vec![("parameter-removed", Neither)],
        ),
        case(
            "parameter became required",
            |d| *at(d, &format!("{GET}/parameters/1/required")) = json!(true),
            vec![("parameter-became-required", BreaksOldClients)],
        ),
        reverse(
            "parameter became optional",
            |d| *at(d, &format!("{GET}/parameters/1/required")) = json!(true),
            vec![("parameter-became-optional", BreaksNewClients)],
        ),
        case(
            "parameter moved",
            |d| *at(d, &format!("{GET}/parameters/1/in")) = json!("header"),
            vec![("parameter-moved", Both)],
        ),
        case(
            "query parameter style changed",
            |d| *at(d, &format!("{GET}/parameters/2/style")) = json!("pipeDelimited"),
            vec![("parameter-style-changed", Both)],
        ),
        case(
            "query parameter no longer exploded",
            |d| *at(d, &format!("{GET}/parameters/2/explode")) = json!(false),
            vec![("parameter-style-changed", Both)],
        ),
        case(
            "query parameter style written out as its default is the same",
            |d| {
                *at(d, &format!("{GET}/parameters/2/style")) = json!("form");
                *at(d, &format!("{GET}/parameters/2/explode")) = json!(true);
            },
            vec![],
        ),
        case(
            "empty value no longer allowed",
            |d| {
                at(d, &format!("{GET}/parameters/3"))
                    .as_object_mut()
                    .unwrap()
                    .remove("allowEmptyValue");
            },
            vec![("parameter-empty-value-refused", BreaksOldClients)],
        ),
        reverse(
            "empty value allowed",
            |d| {
                at(d, &format!("{GET}/parameters/3"))
                    .as_object_mut()
                    .unwrap()
                    .remove("allowEmptyValue");
            },
            vec![("parameter-empty-value-allowed", BreaksNewClients)],
        ),
        case(
            "query parameter moved to a header, its name in other case",
            |d| {
                *at(d, &format!("{GET}/parameters/1/in")) = json!("header");
                *at(d, &format!("{GET}/parameters/1/name")) = json!("Verbose");
            },
            vec![("parameter-moved", Both)],
        ),
        case(
            "query parameter removed beside a header of its name",
            |d| {
                at(d, &format!("{GET}/parameters")).as_array_mut().unwrap().remove(1);
            },
            vec![("parameter-removed", Neither)],
        )
        .setup(|d| {
            at(d, &format!("{GET}/parameters"))
                .as_array_mut()
                .unwrap()
                .push(json!({"in": "header", "name": "verbose", "schema": {"type": "boolean"}}));
        }),
    ]
}
