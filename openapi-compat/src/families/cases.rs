//! The cases' harness. Each family's cases (in its own module, beside its
//! rules) are document pairs with expected verdicts, one cause per pair,
//! built from one small base document. Each case edits a copy of the base into the "new"
//! document (or the "old", for the reverse direction) and names the rules
//! and directions that must be reported, and nothing else: for the
//! progenitor profile, and for the generic one where it differs. Every case
//! runs twice, on the base as written (OpenAPI 3.0) and converted to 3.1
//! after the edit (`nullable` as a type list or `anyOf` with null, boolean
//! exclusive bounds as numbers, one-value enums as `const`), so each rule is
//! shown on both versions' spellings.
//!
//! The cases are written from the OpenAPI specification and from what
//! established checkers document as breaking; none is taken from another
//! checker's fixtures (those are what this checker is measured against).

use crate::{Client, Direction, Level, compare};
pub(crate) use serde_json::{Value, json};

fn base() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "things", "version": "1.0.0"},
        "paths": {
            "/things/{thing_id}": {
                "get": {
                    "operationId": "thing_get",
                    "security": [{"oauth": ["read"]}, {"key": []}, {"oidc": []}, {"token": []}],
                    "parameters": [
                        {"in": "path", "name": "thing_id", "required": true, "schema": {"type": "string", "format": "uuid"}},
                        {"in": "query", "name": "verbose", "required": false, "schema": {"type": "boolean"}},
                        {"in": "query", "name": "tags", "schema": {"type": "array", "items": {"type": "string"}}},
                        {"in": "query", "name": "filter", "allowEmptyValue": true, "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "headers": {
                                "ETag": {"required": true, "schema": {"type": "string"}},
                                "X-Rate-Limit": {"schema": {"type": "integer"}}
                            },
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}
                        },
                        "4XX": {"$ref": "#/components/responses/Error"}
                    }
                }
            },
            "/things": {
                "post": {
                    "operationId": "thing_create",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ThingInput"}}}},
                    "responses": {
                        "201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}
                    }
                }
            }
        },
        "components": {
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "key": {"type": "apiKey", "in": "header", "name": "X-Key"},
                "oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://id.example/.well-known/openid-configuration"},
                "oauth": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://auth.example/token", "scopes": {"read": "read things", "write": "write things"}}}}
            },
            "responses": {
                "Error": {"description": "error", "content": {"application/json": {"schema": {"type": "object", "properties": {"message": {"type": "string"}}}}}}
            },
            "schemas": {
                "Thing": {
                    "type": "object",
                    "required": ["id", "name", "color", "count", "tags", "secret"],
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "name": {"type": "string", "maxLength": 63},
                        "color": {"$ref": "#/components/schemas/Color"},
                        "count": {"type": "integer", "format": "uint32", "minimum": 0},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "note": {"type": "string"},
                        "parent": {"nullable": true, "allOf": [{"$ref": "#/components/schemas/Thing"}]},
                        "shape": {"$ref": "#/components/schemas/Shape"},
                        "weight": {"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 1000},
                        "labels": {"type": "array", "items": {"type": "string"}, "uniqueItems": true, "maxItems": 10},
                        "secret": {"type": "string", "writeOnly": true},
                        "kind": {"type": "string", "x-extensible-enum": ["a", "b"]},
                        "step": {"type": "integer", "multipleOf": 2},
                        "pet": {"$ref": "#/components/schemas/Pick"}
                    }
                },
                "Sealed": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["a"],
                    "properties": {"a": {"type": "string"}}
                },
                "ThingInput": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["name", "color"],
                    "properties": {
                        "id": {"type": "string", "readOnly": true},
                        "name": {"type": "string", "minLength": 1, "maxLength": 63},
                        "color": {"$ref": "#/components/schemas/Color"},
                        "count": {"type": "integer", "format": "uint32"},
                        "note": {"type": "string"},
                        "weight": {"type": "number", "maximum": 100},
                        "labels": {"type": "array", "items": {"type": "string"}},
                        "mode": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                        "api": {"type": "string", "enum": ["v1"]}
                    }
                },
                "Color": {"type": "string", "enum": ["RED", "GREEN"]},
                "Shape": {
                    "oneOf": [
                        {"type": "object", "required": ["circle"], "properties": {"circle": {"type": "number"}}},
                        {"type": "object", "required": ["square"], "properties": {"square": {"type": "number"}}}
                    ]
                },
                "Pick": {
                    "oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
                    "discriminator": {"propertyName": "pet_type", "mapping": {"cat": "#/components/schemas/Cat", "dog": "#/components/schemas/Dog"}}
                },
                "Cat": {"type": "object", "required": ["pet_type", "purrs"], "properties": {"pet_type": {"type": "string"}, "purrs": {"type": "boolean"}}},
                "Dog": {"type": "object", "required": ["pet_type", "barks"], "properties": {"pet_type": {"type": "string"}, "barks": {"type": "boolean"}}}
            }
        }
    })
}

/// The document as OpenAPI 3.1 writes it.
fn to_31(doc: &Value) -> Value {
    let mut doc = convert(doc);
    doc["openapi"] = json!("3.1.0");
    doc
}

fn convert(v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(convert).collect()),
        Value::Object(map) => {
            let mut map: serde_json::Map<String, Value> =
                map.iter().map(|(k, v)| (k.clone(), convert(v))).collect();
            for (exclusive, inclusive) in
                [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")]
            {
                match map.get(exclusive) {
                    Some(Value::Bool(true)) => {
                        let bound = map.remove(inclusive).unwrap();
                        map.insert(exclusive.into(), bound);
                    }
                    Some(Value::Bool(false)) => {
                        map.remove(exclusive);
                    }
                    _ => {}
                }
            }
            if let Some(Value::Array(values)) = map.get("enum")
                && values.len() == 1
            {
                let value = values[0].clone();
                map.remove("enum");
                map.insert("const".into(), value);
            }
            if map.get("nullable") == Some(&json!(true)) {
                map.remove("nullable");
                if let Some(Value::String(t)) = map.get("type").cloned() {
                    map.insert("type".into(), json!([t, "null"]));
                    if let Some(Value::Array(values)) = map.get_mut("enum") {
                        values.push(Value::Null);
                    }
                } else {
                    let inner = match map.get("allOf") {
                        Some(Value::Array(all)) if all.len() == 1 && map.len() == 1 => {
                            all[0].clone()
                        }
                        _ => Value::Object(map),
                    };
                    return json!({"anyOf": [inner, {"type": "null"}]});
                }
            }
            Value::Object(map)
        }
        other => other.clone(),
    }
}

/// The value at `pointer`, created (as null) when only its last segment is
/// missing.
pub(crate) fn at<'a>(doc: &'a mut Value, pointer: &str) -> &'a mut Value {
    if doc.pointer(pointer).is_none() {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let key = key.replace("~1", "/").replace("~0", "~");
        doc.pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("no {parent} in the base document"))
            .insert(key, Value::Null);
    }
    doc.pointer_mut(pointer).unwrap()
}

pub(crate) fn remove(doc: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    at(doc, parent).as_object_mut().unwrap().remove(key).unwrap_or_else(|| panic!("no {pointer}"));
}

pub(crate) const THING: &str = "/components/schemas/Thing";
pub(crate) const INPUT: &str = "/components/schemas/ThingInput";
pub(crate) const GET: &str = "/paths/~1things~1{thing_id}/get";
pub(crate) const POST: &str = "/paths/~1things/post";
pub(crate) const SCHEMES: &str = "/components/securitySchemes";
pub(crate) const HEADERS: &str = "/paths/~1things~1{thing_id}/get/responses/200/headers";

pub(crate) type Expected = Vec<(&'static str, Direction)>;

pub(crate) struct Case {
    pub(crate) name: &'static str,
    /// Applied to both documents first.
    pub(crate) setup: Option<fn(&mut Value)>,
    pub(crate) edit: fn(&mut Value),
    /// Applied to the old document instead of the new one.
    pub(crate) reverse: bool,
    /// For the progenitor profile.
    pub(crate) expected: Expected,
    /// For the generic profile, where it differs.
    pub(crate) generic: Option<Expected>,
    /// The edit writes 3.1 syntax: not run as a 3.0 document.
    pub(crate) only_31: bool,
}

impl Case {
    pub(crate) fn generic(mut self, expected: Expected) -> Case {
        self.generic = Some(expected);
        self
    }

    pub(crate) fn only_31(mut self) -> Case {
        self.only_31 = true;
        self
    }

    pub(crate) fn setup(mut self, setup: fn(&mut Value)) -> Case {
        self.setup = Some(setup);
        self
    }

    fn expected(&self, client: Client) -> &Expected {
        match (client, &self.generic) {
            (Client::Generic, Some(generic)) => generic,
            _ => &self.expected,
        }
    }
}

pub(crate) use Direction::{Both, BreaksNewClients, BreaksOldClients, Neither};

pub(crate) fn case(name: &'static str, edit: fn(&mut Value), expected: Expected) -> Case {
    Case { name, setup: None, edit, reverse: false, expected, generic: None, only_31: false }
}

pub(crate) fn reverse(name: &'static str, edit: fn(&mut Value), expected: Expected) -> Case {
    Case { reverse: true, ..case(name, edit, expected) }
}

/// Every family's cases, and the walker's own.
pub(crate) fn cases() -> Vec<Case> {
    let mut all = vec![
        case(
            "3.1: examples changed",
            |d| *at(d, &format!("{THING}/properties/name/examples")) = json!(["Ada", "Grace"]),
            vec![],
        )
        .only_31(),
    ];
    all.extend(super::operations::cases());
    all.extend(super::deprecation::cases());
    all.extend(super::security::cases());
    all.extend(super::parameters::cases());
    all.extend(super::bodies::cases());
    all.extend(super::responses::cases());
    all.extend(super::headers::cases());
    all.extend(super::types::cases());
    all.extend(super::enums::cases());
    all.extend(super::constraints::cases());
    all.extend(super::defaults::cases());
    all.extend(super::objects::cases());
    all.extend(super::composition::cases());
    all.extend(super::keywords::cases());
    all
}

#[test]
fn every_case_reports_exactly_its_cause() {
    let mut failures = Vec::new();
    let mut runs = 0;
    for case in cases() {
        let (mut old, mut new) = (base(), base());
        if let Some(setup) = case.setup {
            setup(&mut old);
            setup(&mut new);
        }
        (case.edit)(if case.reverse { &mut old } else { &mut new });
        let versions: &[&str] = if case.only_31 { &["3.1"] } else { &["3.0", "3.1"] };
        for version in versions {
            let (old, new) = match *version {
                "3.1" => (to_31(&old), to_31(&new)),
                _ => (old.clone(), new.clone()),
            };
            for client in Client::ALL {
                runs += 1;
                let report = compare(&old, &new, client);
                let mut got: Vec<(&str, Direction)> =
                    report.changes.iter().map(|c| (c.rule, c.direction)).collect();
                got.sort();
                let mut expected = case.expected(client).clone();
                expected.sort();
                if got != expected {
                    failures.push(format!(
                        "{} (OpenAPI {version}, {} client): expected {expected:?}, got\n{}",
                        case.name,
                        client.name(),
                        report.render(crate::Format::Text, Level::Error)
                    ));
                }
                for change in &report.changes {
                    assert_eq!(change.level, change.direction.level(), "{}", case.name);
                    assert!(change.pointer.starts_with("#/"), "{}: {}", case.name, change.pointer);
                    assert!(
                        change.method.is_some() && change.path.is_some(),
                        "{}: no place",
                        case.name
                    );
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_profiles_differ_where_the_clients_do() {
    // A case whose generic expectation differs is a place the profiles
    // disagree; there must be such places, each for a stated reason.
    let differing: Vec<&str> = cases()
        .iter()
        .filter(|c| c.generic.as_ref().is_some_and(|g| g != &c.expected))
        .map(|c| c.name)
        .collect();
    for needed in [
        "optional response property became nullable",
        "error status added",
        "required response header removed",
        "response maxItems raised",
        "error response removed",
    ] {
        assert!(differing.contains(&needed), "{needed} should differ: {differing:?}");
    }
}

#[test]
fn a_route_written_twice_hides_neither_and_is_no_change_when_it_was_already() {
    let mut old = base();
    let item = json!({"get": {"operationId": "thing_get_by_id", "responses": {"204": {"description": "none"}}}});
    at(&mut old, "/paths").as_object_mut().unwrap().insert("/things/{id}".into(), item);
    let mut new = old.clone();
    // A change to the first route is still seen, though another route
    // normalizes to the same key.
    at(&mut new, &format!("{GET}/parameters")).as_array_mut().unwrap().push(
        json!({"in": "query", "name": "tenant", "required": true, "schema": {"type": "string"}}),
    );
    let report = compare(&old, &new, Client::Generic);
    let rules: Vec<&str> = report.changes.iter().map(|c| c.rule).collect();
    assert_eq!(rules, vec!["parameter-added-required"]);
    // The ambiguity is in both documents: said once, about the document,
    // and not a change (nothing for --fail-on to fail on).
    let found: Vec<&str> = report.findings.iter().map(|c| c.rule).collect();
    assert_eq!(found, vec!["paths-ambiguous"]);
    let same = compare(&old, &old, Client::Generic);
    assert!(same.changes.is_empty() && !same.fails(crate::Level::Info));
    assert_eq!(same.findings.len(), 1);
    // Written into the new document only, it is a change.
    let mut fresh = base();
    let item = json!({"get": {"operationId": "thing_get_by_id", "responses": {"204": {"description": "none"}}}});
    let mut ambiguous = fresh.clone();
    at(&mut ambiguous, "/paths").as_object_mut().unwrap().insert("/things/{id}".into(), item);
    let report = compare(&fresh, &ambiguous, Client::Generic);
    assert!(report.changes.iter().any(|c| c.rule == "paths-ambiguous"), "{:?}", report.changes);
    fresh = ambiguous;
    assert!(compare(&fresh, &fresh, Client::Generic).changes.is_empty());
}

#[test]
fn no_op_pairs_report_nothing() {
    for client in Client::ALL {
        no_op_pairs_report_nothing_to(client);
    }
}

fn no_op_pairs_report_nothing_to(client: Client) {
    let old = base();
    // Keys reordered (written in reverse order and read back).
    let reordered: Value = serde_json::from_str(&reverse_keys(&old).to_string()).unwrap();
    assert!(compare(&old, &reordered, client).changes.is_empty(), "reordered keys");

    // A component renamed, every $ref to it updated.
    let renamed: Value = serde_json::from_str(
        &old.to_string()
            .replace("#/components/schemas/Color", "#/components/schemas/Colour")
            .replace("\"Color\":", "\"Colour\":"),
    )
    .unwrap();
    assert!(renamed.pointer("/components/schemas/Colour").is_some());
    assert!(
        compare(&old, &renamed, client).changes.is_empty(),
        "{:?}",
        compare(&old, &renamed, client).changes
    );

    // Descriptions, titles and the document version changed.
    let mut described = old.clone();
    *at(&mut described, "/info/version") = json!("9.0.0");
    at(&mut described, &format!("{THING}/properties/name"))
        .as_object_mut()
        .unwrap()
        .insert("description".into(), json!("the name"));
    *at(&mut described, &format!("{GET}/responses/200/description")) = json!("the thing");
    assert!(compare(&old, &described, client).changes.is_empty());

    // A path parameter renamed is the same route.
    let mut param = old.clone();
    let paths = at(&mut param, "/paths").as_object_mut().unwrap();
    let item = paths.remove("/things/{thing_id}").unwrap();
    paths.insert("/things/{id}".into(), item);
    *at(&mut param, "/paths/~1things~1{id}/get/parameters/0/name") = json!("id");
    let report = compare(&old, &param, client);
    assert!(!report.fails(Level::Warning), "{}", report.render(crate::Format::Text, Level::Error));
}

fn reverse_keys(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map.iter().rev() {
                out.insert(k.clone(), reverse_keys(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(reverse_keys).collect()),
        other => other.clone(),
    }
}

#[test]
fn recursive_schemas_terminate() {
    let client = Client::Progenitor;
    let mut new = base();
    *at(&mut new, &format!("{THING}/properties/name/maxLength")) = json!(64);
    // Thing refers to itself through `parent`; the comparison still ends and
    // reports the change once.
    let report = compare(&base(), &new, client);
    assert_eq!(report.changes.len(), 1, "{:?}", report.changes);
}

#[test]
fn a_version_bump_skips_nothing() {
    let client = Client::Generic;
    let mut new = base();
    *at(&mut new, "/info/version") = json!("2.0.0");
    at(&mut new, "/components/schemas/Color/enum").as_array_mut().unwrap().push(json!("BLUE"));
    assert!(compare(&base(), &new, client).fails(Level::Error));
}

#[test]
fn every_rule_has_a_case() {
    let covered: std::collections::BTreeSet<&str> = cases()
        .iter()
        .flat_map(|c| c.expected.iter().chain(c.generic.iter().flatten()).map(|(rule, _)| *rule))
        .collect();
    let missing: Vec<&str> =
        super::RULES.iter().map(|r| r.id).filter(|id| !covered.contains(id)).collect();
    assert!(missing.is_empty(), "rules without a single-cause case: {missing:?}");
    let unknown: Vec<&&str> = covered.iter().filter(|id| super::find(id).is_none()).collect();
    assert!(unknown.is_empty(), "cases expect rules that are not catalogued: {unknown:?}");
}
