//! Document pairs with expected verdicts, one cause per pair, built from one
//! small base document. Each case edits a copy of the base into the "new"
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

use openapi_compat::{Client, Direction, Level, compare};
use serde_json::{Value, json};

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

fn remove(doc: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    at(doc, parent).as_object_mut().unwrap().remove(key).unwrap_or_else(|| panic!("no {pointer}"));
}

const THING: &str = "/components/schemas/Thing";
const INPUT: &str = "/components/schemas/ThingInput";
const GET: &str = "/paths/~1things~1{thing_id}/get";
const POST: &str = "/paths/~1things/post";
const SCHEMES: &str = "/components/securitySchemes";
const HEADERS: &str = "/paths/~1things~1{thing_id}/get/responses/200/headers";

type Expected = Vec<(&'static str, Direction)>;

pub(crate) struct Case {
    pub(crate) name: &'static str,
    /// Applied to both documents first.
    setup: Option<fn(&mut Value)>,
    edit: fn(&mut Value),
    /// Applied to the old document instead of the new one.
    reverse: bool,
    /// For the progenitor profile.
    pub(crate) expected: Expected,
    /// For the generic profile, where it differs.
    pub(crate) generic: Option<Expected>,
    /// The edit writes 3.1 syntax: not run as a 3.0 document.
    only_31: bool,
}

impl Case {
    fn generic(mut self, expected: Expected) -> Case {
        self.generic = Some(expected);
        self
    }

    fn only_31(mut self) -> Case {
        self.only_31 = true;
        self
    }

    fn setup(mut self, setup: fn(&mut Value)) -> Case {
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

use Direction::{Both, BreaksNewClients, BreaksOldClients, Neither};

fn case(name: &'static str, edit: fn(&mut Value), expected: Expected) -> Case {
    Case { name, setup: None, edit, reverse: false, expected, generic: None, only_31: false }
}

fn reverse(name: &'static str, edit: fn(&mut Value), expected: Expected) -> Case {
    Case { reverse: true, ..case(name, edit, expected) }
}

pub(crate) fn cases() -> Vec<Case> {
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
                    .insert("mass".into(), json!({"type": "number"}));
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
        )
        .generic(vec![("nullable-added", BreaksOldClients)]),
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
        )
        .generic(vec![("response-status-added", BreaksOldClients)]),
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

        // --- Security requirements (judged alike by both profiles) ---
        case(
            "document security now required where calls were anonymous",
            |d| *at(d, "/security") = json!([{"token": []}]),
            vec![("security-required", BreaksOldClients)],
        ),
        reverse(
            "document security no longer required",
            |d| *at(d, "/security") = json!([{"token": []}]),
            vec![("security-no-longer-required", BreaksNewClients)],
        ),
        case(
            "operation security: an alternative removed",
            |d| {
                at(d, &format!("{GET}/security")).as_array_mut().unwrap().remove(1);
            },
            vec![("security-requirement-removed", BreaksOldClients)],
        ),
        reverse(
            "operation security: an alternative added",
            |d| {
                at(d, &format!("{GET}/security")).as_array_mut().unwrap().remove(1);
            },
            vec![("security-requirement-added", BreaksNewClients)],
        ),
        case(
            "operation security: a scope added to a requirement",
            |d| *at(d, &format!("{GET}/security/0/oauth")) = json!(["read", "write"]),
            vec![("security-scopes-added", BreaksOldClients)],
        ),
        reverse(
            "operation security: a scope removed from a requirement",
            |d| *at(d, &format!("{GET}/security/0/oauth")) = json!(["read", "write"]),
            vec![("security-scopes-removed", BreaksNewClients)],
        ),
        // --- Security schemes ---
        case(
            "security scheme type changed",
            |d| *at(d, &format!("{SCHEMES}/key")) = json!({"type": "http", "scheme": "basic"}),
            vec![("security-scheme-type-changed", Both)],
        ),
        case(
            "API key moved from header to query",
            |d| *at(d, &format!("{SCHEMES}/key/in")) = json!("query"),
            vec![("security-scheme-api-key-changed", Both)],
        ),
        case(
            "API key renamed",
            |d| *at(d, &format!("{SCHEMES}/key/name")) = json!("X-Api-Key"),
            vec![("security-scheme-api-key-changed", Both)],
        ),
        case(
            "HTTP scheme bearer became basic",
            |d| *at(d, &format!("{SCHEMES}/token/scheme")) = json!("basic"),
            vec![("security-scheme-http-scheme-changed", Both)],
        ),
        case(
            "HTTP scheme written in other case is the same",
            |d| *at(d, &format!("{SCHEMES}/token/scheme")) = json!("Bearer"),
            vec![],
        ),
        case(
            "bearer format changed",
            |d| *at(d, &format!("{SCHEMES}/token/bearerFormat")) = json!("opaque"),
            vec![("security-scheme-bearer-format-changed", BreaksOldClients)],
        ),
        case(
            "OAuth token URL changed",
            |d| *at(d, &format!("{SCHEMES}/oauth/flows/clientCredentials/tokenUrl")) = json!("https://login.example/token"),
            vec![("security-scheme-oauth-url-changed", BreaksOldClients)],
        ),
        case(
            "OAuth flow removed",
            |d| {
                let flows = at(d, &format!("{SCHEMES}/oauth/flows")).as_object_mut().unwrap();
                let flow = flows.remove("clientCredentials").unwrap();
                flows.insert("password".into(), flow);
            },
            vec![
                ("security-scheme-oauth-flow-removed", BreaksOldClients),
                ("security-scheme-oauth-flow-added", Neither),
            ],
        ),
        case(
            "OAuth scope removed from the scheme",
            |d| remove(d, &format!("{SCHEMES}/oauth/flows/clientCredentials/scopes/write")),
            vec![("security-scheme-scope-removed", BreaksOldClients)],
        ),
        reverse(
            "OAuth scope added to the scheme",
            |d| remove(d, &format!("{SCHEMES}/oauth/flows/clientCredentials/scopes/write")),
            vec![("security-scheme-scope-added", Neither)],
        ),
        case(
            "OpenID Connect URL changed",
            |d| *at(d, &format!("{SCHEMES}/oidc/openIdConnectUrl")) = json!("https://other.example/.well-known/openid-configuration"),
            vec![("security-scheme-openid-url-changed", BreaksOldClients)],
        ),
        case(
            "a scheme no operation uses changed",
            |d| *at(d, &format!("{SCHEMES}/unused")) = json!({"type": "http", "scheme": "basic"}),
            vec![],
        ),
        // --- Response headers: progenitor does not decode them ---
        case(
            "required response header removed",
            |d| remove(d, &format!("{HEADERS}/ETag")),
            vec![("response-header-removed", Neither)],
        )
        .generic(vec![("response-header-removed", BreaksOldClients)]),
        case(
            "optional response header removed",
            |d| remove(d, &format!("{HEADERS}/X-Rate-Limit")),
            vec![("response-header-removed", Neither)],
        ),
        reverse(
            "required response header added",
            |d| remove(d, &format!("{HEADERS}/ETag")),
            vec![("response-header-added", Neither)],
        )
        .generic(vec![("response-header-added", BreaksNewClients)]),
        case(
            "response header became optional",
            |d| *at(d, &format!("{HEADERS}/ETag/required")) = json!(false),
            vec![("response-header-became-optional", Neither)],
        )
        .generic(vec![("response-header-became-optional", BreaksOldClients)]),
        reverse(
            "response header became required",
            |d| *at(d, &format!("{HEADERS}/ETag/required")) = json!(false),
            vec![("response-header-became-required", Neither)],
        )
        .generic(vec![("response-header-became-required", BreaksNewClients)]),
        case(
            "response header explode changed",
            |d| *at(d, &format!("{HEADERS}/X-Rate-Limit/explode")) = json!(true),
            vec![("response-header-style-changed", Neither)],
        )
        .generic(vec![("response-header-style-changed", Both)]),
        case(
            "response header type changed",
            |d| *at(d, &format!("{HEADERS}/X-Rate-Limit/schema/type")) = json!("string"),
            vec![],
        )
        .generic(vec![("type-changed", Both)]),
        case(
            "response header name written in other case is the same",
            |d| {
                let headers = at(d, HEADERS).as_object_mut().unwrap();
                let etag = headers.remove("ETag").unwrap();
                headers.insert("etag".into(), etag);
            },
            vec![],
        ),
        // --- Parameter serialization ---
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
                at(d, &format!("{GET}/parameters/3")).as_object_mut().unwrap().remove("allowEmptyValue");
            },
            vec![("parameter-empty-value-refused", BreaksOldClients)],
        ),
        reverse(
            "empty value allowed",
            |d| {
                at(d, &format!("{GET}/parameters/3")).as_object_mut().unwrap().remove("allowEmptyValue");
            },
            vec![("parameter-empty-value-allowed", BreaksNewClients)],
        ),
        // --- readOnly / writeOnly ---
        case(
            "request property became readOnly",
            |d| *at(d, &format!("{INPUT}/properties/note/readOnly")) = json!(true),
            vec![("property-became-read-only", BreaksOldClients)],
        ),
        reverse(
            "request property no longer readOnly",
            |d| *at(d, &format!("{INPUT}/properties/note/readOnly")) = json!(true),
            vec![("property-no-longer-read-only", BreaksNewClients)],
        ),
        case(
            "readOnly request property made required",
            |d| at(d, &format!("{INPUT}/required")).as_array_mut().unwrap().push(json!("id")),
            vec![],
        ),
        case(
            "readOnly property added as required to a request",
            |d| {
                at(d, &format!("{INPUT}/properties")).as_object_mut().unwrap().insert("created".into(), json!({"type": "string", "readOnly": true}));
                at(d, &format!("{INPUT}/required")).as_array_mut().unwrap().push(json!("created"));
            },
            vec![("property-added-optional", Neither)],
        ),
        case(
            "required response property became writeOnly",
            |d| *at(d, &format!("{THING}/properties/name/writeOnly")) = json!(true),
            vec![("property-became-write-only", BreaksOldClients)],
        ),
        reverse(
            "required response property no longer writeOnly",
            |d| *at(d, &format!("{THING}/properties/name/writeOnly")) = json!(true),
            vec![("property-no-longer-write-only", BreaksNewClients)],
        ),
        case(
            "required writeOnly response property removed",
            |d| {
                remove(d, &format!("{THING}/properties/secret"));
                at(d, &format!("{THING}/required")).as_array_mut().unwrap().retain(|v| v != "secret");
            },
            vec![("property-removed", Neither)],
        ),
        // --- Numbers and arrays ---
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
                at(d, &format!("{THING}/properties/labels")).as_object_mut().unwrap().remove("uniqueItems");
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
        // --- Variants and discriminators ---
        case(
            "request oneOf variant removed",
            |d| {
                at(d, &format!("{INPUT}/properties/mode/oneOf")).as_array_mut().unwrap().pop();
            },
            vec![("variant-removed", BreaksOldClients)],
        ),
        reverse(
            "request oneOf variant added",
            |d| {
                at(d, &format!("{INPUT}/properties/mode/oneOf")).as_array_mut().unwrap().pop();
            },
            vec![("variant-added", BreaksNewClients)],
        ),
        case(
            "request anyOf variant removed",
            |d| {
                at(d, &format!("{INPUT}/properties/mode/anyOf")).as_array_mut().unwrap().pop();
            },
            vec![("variant-removed", BreaksOldClients)],
        )
        .setup(|d| {
            let mode = at(d, &format!("{INPUT}/properties/mode")).as_object_mut().unwrap();
            let variants = mode.remove("oneOf").unwrap();
            mode.insert("anyOf".into(), variants);
        }),
        case(
            "response discriminator value added",
            |d| *at(d, "/components/schemas/Pick/discriminator/mapping/kitten") = json!("#/components/schemas/Cat"),
            vec![("discriminator-mapping-added", BreaksOldClients)],
        ),
        case(
            "response discriminator value removed",
            |d| remove(d, "/components/schemas/Pick/discriminator/mapping/dog"),
            vec![("discriminator-mapping-removed", BreaksNewClients)],
        ),
        case(
            "response discriminator value selects another variant",
            |d| *at(d, "/components/schemas/Pick/discriminator/mapping/cat") = json!("#/components/schemas/Dog"),
            vec![("discriminator-mapping-changed", Both)],
        ),
        case(
            "discriminator property renamed",
            |d| *at(d, "/components/schemas/Pick/discriminator/propertyName") = json!("kind"),
            vec![("discriminator-changed", Both)],
        ),
        reverse(
            "discriminator added",
            |d| remove(d, "/components/schemas/Pick/discriminator"),
            vec![("discriminator-changed", Both)],
        ),
        // --- Formats ---
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
        // --- Statuses: progenitor versus any client ---
        reverse(
            "error response removed",
            |d| {
                at(d, &format!("{GET}/responses")).as_object_mut().unwrap().insert("503".into(), json!({"description": "unavailable"}));
            },
            vec![("response-status-removed", Neither)],
        )
        .generic(vec![("response-status-removed", BreaksNewClients)]),
        case(
            "error status added where `default` documented it",
            |d| {
                at(d, &format!("{GET}/responses")).as_object_mut().unwrap().insert("409".into(), json!({"description": "conflict"}));
            },
            vec![("response-status-added", Neither)],
        )
        .setup(|d| {
            at(d, &format!("{GET}/responses")).as_object_mut().unwrap().insert("default".into(), json!({"description": "anything"}));
        }),
        case(
            "error status added within a documented range",
            |d| {
                at(d, &format!("{GET}/responses")).as_object_mut().unwrap().insert("404".into(), json!({"$ref": "#/components/responses/Error"}));
            },
            vec![("response-status-added", Neither)],
        ),
        // --- Open enums ---
        case(
            "response open enum gained a value",
            |d| at(d, &format!("{THING}/properties/kind/x-extensible-enum")).as_array_mut().unwrap().push(json!("c")),
            vec![("extensible-enum-value-added", Neither)],
        ),
        case(
            "response open enum (anyOf) gained a value",
            |d| at(d, &format!("{THING}/properties/note/anyOf/0/enum")).as_array_mut().unwrap().push(json!("c")),
            vec![("extensible-enum-value-added", Neither)],
        )
        .setup(|d| {
            *at(d, &format!("{THING}/properties/note")) = json!({"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "string"}]});
        }),
        // --- Paths ---
        case(
            "two paths differ only in parameter names",
            |d| {
                let item = json!({"get": {"operationId": "thing_get_by_id", "responses": {"204": {"description": "none"}}}});
                at(d, "/paths").as_object_mut().unwrap().insert("/things/{id}".into(), item);
            },
            vec![("paths-ambiguous", Both), ("operation-added", BreaksNewClients)],
        ),
        // --- The rest of the rule list, one cause each ---
        case(
            "path parameter renamed",
            |d| {
                let paths = at(d, "/paths").as_object_mut().unwrap();
                let item = paths.remove("/things/{thing_id}").unwrap();
                paths.insert("/things/{id}".into(), item);
                *at(d, "/paths/~1things~1{id}/get/parameters/0/name") = json!("id");
            },
            vec![("path-parameter-renamed", Neither)],
        ),
        case(
            "required request body added",
            |d| *at(d, &format!("{GET}/requestBody")) = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}}),
            vec![("request-body-added", BreaksOldClients)],
        ),
        case(
            "optional request body added",
            |d| *at(d, &format!("{GET}/requestBody")) = json!({"content": {"application/json": {"schema": {"type": "object"}}}}),
            vec![("request-body-added", Neither)],
        ),
        case(
            "required request body removed",
            |d| remove(d, &format!("{POST}/requestBody")),
            vec![("request-body-removed", BreaksNewClients)],
        ),
        reverse(
            "request body became required",
            |d| *at(d, &format!("{POST}/requestBody/required")) = json!(false),
            vec![("request-body-became-required", BreaksOldClients)],
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
        reverse(
            "response open enum lost a value",
            |d| at(d, &format!("{THING}/properties/kind/x-extensible-enum")).as_array_mut().unwrap().push(json!("c")),
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
            "response object closed",
            |d| *at(d, &format!("{THING}/additionalProperties")) = json!(false),
            vec![("additional-properties-closed", Neither)],
        ),
        case(
            "request object opened",
            |d| remove(d, &format!("{INPUT}/additionalProperties")),
            vec![("additional-properties-opened", Neither)],
        ),
        case(
            "response oneOf became a plain object",
            |d| *at(d, "/components/schemas/Shape") = json!({"type": "object"}),
            vec![("variants-changed", Both)],
        ),
        case(
            "response allOf gained a part",
            |d| at(d, &format!("{THING}/properties/extra/allOf")).as_array_mut().unwrap().push(json!({"type": "object", "properties": {"c": {"type": "string"}}})),
            vec![("all-of-changed", Both)],
        )
        .setup(|d| {
            *at(d, &format!("{THING}/properties/extra")) = json!({"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}}, {"type": "object", "properties": {"b": {"type": "string"}}}]});
        }),
        // --- OpenAPI 3.1 spellings ---
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
        case(
            "3.1: request const changed",
            |d| *at(d, &format!("{INPUT}/properties/api/enum")) = json!(["v2"]),
            vec![("request-enum-value-added", BreaksNewClients), ("request-enum-value-removed", BreaksOldClients)],
        ),
        case(
            "3.1: examples changed",
            |d| *at(d, &format!("{THING}/properties/name/examples")) = json!(["Ada", "Grace"]),
            vec![],
        )
        .only_31(),
    ]
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
                        report.render(openapi_compat::Format::Text, Level::Error)
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
    assert!(same.changes.is_empty() && !same.fails(openapi_compat::Level::Info));
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
    assert!(
        !report.fails(Level::Warning),
        "{}",
        report.render(openapi_compat::Format::Text, Level::Error)
    );
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
