//! Document pairs with expected verdicts, one cause per pair, built from one
//! small base document. Each case edits a copy of the base into the "new"
//! document (or the "old", for the reverse direction) and names the rules
//! and directions that must be reported, and nothing else.

use openapi_compat::{Direction, Level, compare};
use serde_json::{Value, json};

fn base() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "things", "version": "1.0.0"},
        "paths": {
            "/things/{thing_id}": {
                "get": {
                    "operationId": "thing_get",
                    "parameters": [
                        {"in": "path", "name": "thing_id", "required": true, "schema": {"type": "string", "format": "uuid"}},
                        {"in": "query", "name": "verbose", "required": false, "schema": {"type": "boolean"}}
                    ],
                    "responses": {
                        "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
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
            "responses": {
                "Error": {"description": "error", "content": {"application/json": {"schema": {"type": "object", "properties": {"message": {"type": "string"}}}}}}
            },
            "schemas": {
                "Thing": {
                    "type": "object",
                    "required": ["id", "name", "color", "count", "tags"],
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "name": {"type": "string", "maxLength": 63},
                        "color": {"$ref": "#/components/schemas/Color"},
                        "count": {"type": "integer", "format": "uint32", "minimum": 0},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "note": {"type": "string"},
                        "parent": {"nullable": true, "allOf": [{"$ref": "#/components/schemas/Thing"}]},
                        "shape": {"$ref": "#/components/schemas/Shape"}
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
                        "name": {"type": "string", "minLength": 1, "maxLength": 63},
                        "color": {"$ref": "#/components/schemas/Color"},
                        "count": {"type": "integer", "format": "uint32"},
                        "note": {"type": "string"}
                    }
                },
                "Color": {"type": "string", "enum": ["RED", "GREEN"]},
                "Shape": {
                    "oneOf": [
                        {"type": "object", "required": ["circle"], "properties": {"circle": {"type": "number"}}},
                        {"type": "object", "required": ["square"], "properties": {"square": {"type": "number"}}}
                    ]
                }
            }
        }
    })
}

/// The value at `pointer`, created (as null) when only its last segment is
/// missing.
fn at<'a>(doc: &'a mut Value, pointer: &str) -> &'a mut Value {
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

const THING: &str = "/components/schemas/Thing";
const INPUT: &str = "/components/schemas/ThingInput";
const GET: &str = "/paths/~1things~1{thing_id}/get";
const POST: &str = "/paths/~1things/post";

struct Case {
    name: &'static str,
    edit: fn(&mut Value),
    /// Applied to the old document instead of the new one.
    reverse: bool,
    expected: Vec<(&'static str, Direction)>,
}

use Direction::{Both, BreaksNewClients, BreaksOldClients, Neither};

fn cases() -> Vec<Case> {
    let case = |name, edit, expected| Case { name, edit, reverse: false, expected };
    let reverse = |name, edit, expected| Case { name, edit, reverse: true, expected };
    vec![
        // Operations.
        case(
            "operation added",
            |d| {
                at(d, "/paths").as_object_mut().unwrap().insert("/extra".into(), json!({"get": {"operationId": "extra", "responses": {"204": {"description": "none"}}}}));
            },
            vec![("operation-added", BreaksNewClients)],
        ),
        reverse(
            "operation removed",
            |d| {
                at(d, "/paths").as_object_mut().unwrap().insert("/extra".into(), json!({"get": {"operationId": "extra", "responses": {"204": {"description": "none"}}}}));
            },
            vec![("operation-removed", BreaksOldClients)],
        ),
        case(
            "operation id changed",
            |d| *at(d, &format!("{GET}/operationId")) = json!("thing_fetch"),
            vec![("operation-id-changed", Neither)],
        ),
        // Parameters.
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
        // Request bodies.
        case(
            "request property added required",
            |d| {
                at(d, &format!("{INPUT}/properties"))
                    .as_object_mut()
                    .unwrap()
                    .insert("size".into(), json!({"type": "integer"}));
                at(d, &format!("{INPUT}/required")).as_array_mut().unwrap().push(json!("size"));
            },
            vec![("property-added-required", Both)],
        ),
        case(
            "request property added optional (closed object)",
            |d| {
                at(d, &format!("{INPUT}/properties"))
                    .as_object_mut()
                    .unwrap()
                    .insert("size".into(), json!({"type": "integer"}));
            },
            vec![("property-added-optional", BreaksNewClients)],
        ),
        case(
            "request property removed (closed object)",
            |d| {
                at(d, &format!("{INPUT}/properties")).as_object_mut().unwrap().remove("note");
            },
            vec![("property-removed", BreaksOldClients)],
        ),
        case(
            "request property became required",
            |d| at(d, &format!("{INPUT}/required")).as_array_mut().unwrap().push(json!("note")),
            vec![("property-became-required", BreaksOldClients)],
        ),
        case(
            "request enum value added",
            |d| at(d, "/components/schemas/Color/enum").as_array_mut().unwrap().push(json!("BLUE")),
            vec![
                ("request-enum-value-added", BreaksNewClients),
                ("response-enum-value-added", BreaksOldClients),
            ],
        ),
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
            "request integer narrowed",
            |d| *at(d, &format!("{INPUT}/properties/count/format")) = json!("uint16"),
            vec![("integer-narrowed", BreaksOldClients)],
        ),
        case(
            "request body became optional",
            |d| *at(d, &format!("{POST}/requestBody/required")) = json!(false),
            vec![("request-body-became-optional", BreaksNewClients)],
        ),
        case(
            "request media type removed",
            |d| {
                let c = at(d, &format!("{POST}/requestBody/content")).as_object_mut().unwrap();
                let v = c.remove("application/json").unwrap();
                c.insert("application/x-www-form-urlencoded".into(), v);
            },
            vec![("media-type-removed", BreaksOldClients), ("media-type-added", Neither)],
        ),
        // Responses, judged by the generated client.
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
            "response property added to an open object",
            |d| {
                at(d, &format!("{THING}/properties"))
                    .as_object_mut()
                    .unwrap()
                    .insert("weight".into(), json!({"type": "number"}));
            },
            vec![("property-added-optional", Neither)],
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
            "response property removed (required)",
            |d| {
                at(d, &format!("{THING}/properties")).as_object_mut().unwrap().remove("tags");
                at(d, &format!("{THING}/required")).as_array_mut().unwrap().retain(|v| v != "tags");
            },
            vec![("property-removed", BreaksOldClients)],
        ),
        case(
            "response property removed (optional)",
            |d| {
                at(d, &format!("{THING}/properties")).as_object_mut().unwrap().remove("note");
            },
            vec![("property-removed", Neither)],
        ),
        case(
            "response property became optional",
            |d| at(d, &format!("{THING}/required")).as_array_mut().unwrap().retain(|v| v != "name"),
            vec![("property-became-optional", BreaksOldClients)],
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
        ),
        case(
            "response integer widened",
            |d| *at(d, &format!("{THING}/properties/count/format")) = json!("uint64"),
            vec![("integer-widened", BreaksOldClients)],
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
            "response array items changed",
            |d| *at(d, &format!("{THING}/properties/tags/items/type")) = json!("integer"),
            vec![("type-changed", Both)],
        ),
        case(
            "response oneOf variant added",
            |d| {
                at(d, "/components/schemas/Shape/oneOf").as_array_mut().unwrap().push(json!({"type": "object", "required": ["line"], "properties": {"line": {"type": "number"}}}))
            },
            vec![("variant-added", BreaksOldClients)],
        ),
        case(
            "response oneOf variant removed",
            |d| {
                at(d, "/components/schemas/Shape/oneOf").as_array_mut().unwrap().pop();
            },
            vec![("variant-removed", BreaksNewClients)],
        ),
        case(
            "success status added",
            |d| {
                at(d, &format!("{GET}/responses"))
                    .as_object_mut()
                    .unwrap()
                    .insert("203".into(), json!({"description": "partial"}));
            },
            vec![("response-status-added", BreaksOldClients)],
        ),
        case(
            "error status added",
            |d| {
                at(d, &format!("{GET}/responses"))
                    .as_object_mut()
                    .unwrap()
                    .insert("5XX".into(), json!({"$ref": "#/components/responses/Error"}));
            },
            vec![("response-status-added", Neither)],
        ),
        case(
            "success status removed",
            |d| {
                let r = at(d, &format!("{POST}/responses")).as_object_mut().unwrap();
                let v = r.remove("201").unwrap();
                r.insert("200".into(), v);
            },
            vec![
                ("response-status-removed", BreaksNewClients),
                ("response-status-added", BreaksOldClients),
            ],
        ),
        case(
            "response media type removed",
            |d| {
                let c = at(d, &format!("{GET}/responses/200/content")).as_object_mut().unwrap();
                let v = c.remove("application/json").unwrap();
                c.insert("text/plain".into(), v);
            },
            vec![("media-type-removed", BreaksOldClients), ("media-type-added", Neither)],
        ),
    ]
}

#[test]
fn every_case_reports_exactly_its_cause() {
    for case in cases() {
        let (mut old, mut new) = (base(), base());
        (case.edit)(if case.reverse { &mut old } else { &mut new });
        let report = compare(&old, &new);
        let mut got: Vec<(&str, Direction)> =
            report.changes.iter().map(|c| (c.rule, c.direction)).collect();
        got.sort();
        let mut expected = case.expected.clone();
        expected.sort();
        assert_eq!(got, expected, "{}: {}", case.name, report.render(openapi_compat::Format::Text));
        for change in &report.changes {
            assert_eq!(change.level, change.direction.level(), "{}", case.name);
            assert!(change.pointer.starts_with("#/"), "{}: {}", case.name, change.pointer);
            assert!(change.method.is_some() && change.path.is_some(), "{}: no place", case.name);
        }
    }
}

#[test]
fn no_op_pairs_report_nothing() {
    let old = base();
    // Keys reordered (written in reverse order and read back).
    let reordered: Value = serde_json::from_str(&reverse_keys(&old).to_string()).unwrap();
    assert!(compare(&old, &reordered).changes.is_empty(), "reordered keys");

    // A component renamed, every $ref to it updated.
    let renamed: Value = serde_json::from_str(
        &old.to_string()
            .replace("#/components/schemas/Color", "#/components/schemas/Colour")
            .replace("\"Color\":", "\"Colour\":"),
    )
    .unwrap();
    assert!(renamed.pointer("/components/schemas/Colour").is_some());
    assert!(compare(&old, &renamed).changes.is_empty(), "{:?}", compare(&old, &renamed).changes);

    // Descriptions, titles and the document version changed.
    let mut described = old.clone();
    *at(&mut described, "/info/version") = json!("9.0.0");
    at(&mut described, &format!("{THING}/properties/name"))
        .as_object_mut()
        .unwrap()
        .insert("description".into(), json!("the name"));
    *at(&mut described, &format!("{GET}/responses/200/description")) = json!("the thing");
    assert!(compare(&old, &described).changes.is_empty());

    // A path parameter renamed is the same route.
    let mut param = old.clone();
    let paths = at(&mut param, "/paths").as_object_mut().unwrap();
    let item = paths.remove("/things/{thing_id}").unwrap();
    paths.insert("/things/{id}".into(), item);
    *at(&mut param, "/paths/~1things~1{id}/get/parameters/0/name") = json!("id");
    let report = compare(&old, &param);
    assert!(!report.fails(Level::Warning), "{}", report.render(openapi_compat::Format::Text));
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
    let mut new = base();
    *at(&mut new, &format!("{THING}/properties/name/maxLength")) = json!(64);
    // Thing refers to itself through `parent`; the comparison still ends and
    // reports the change once.
    let report = compare(&base(), &new);
    assert_eq!(report.changes.len(), 1, "{:?}", report.changes);
}

#[test]
fn a_version_bump_skips_nothing() {
    let mut new = base();
    *at(&mut new, "/info/version") = json!("2.0.0");
    at(&mut new, "/components/schemas/Color/enum").as_array_mut().unwrap().push(json!("BLUE"));
    assert!(compare(&base(), &new).fails(Level::Error));
}
