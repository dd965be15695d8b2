//! What the catalogue's examples produce, and the rule list in
//! `docs/compat-rules.md` ([`markdown`]'s output): the levels it shows are
//! what [`crate::compare`] reports for each example under each client
//! profile, so the document cannot say one thing while the code does
//! another (`cargo xtask regenerate` rewrites it; a test fails when stale).

use crate::anchors::{ANCHORS, Answer};
use crate::families::RULES;
use crate::report::{Client, Level, Side};
use crate::rules::{At, Example, Rule};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The document examples apply to: `PUT /pets/{id}` taking and answering a
/// `Pet`, and an `Other` schema to point at.
pub fn template() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "pets", "version": "1.0.0"},
        "paths": {
            "/pets/{id}": {
                "put": {
                    "operationId": "pet_put",
                    "parameters": [{"in": "path", "name": "id", "required": true, "schema": {"type": "string"}}],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
                    "responses": {
                        "200": {"description": "the pet", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}
                    }
                }
            }
        },
        "components": {"schemas": {
            "Pet": {"type": "object", "properties": {"name": {"type": "string"}}},
            "Other": {"type": "object", "properties": {"id": {"type": "string"}}}
        }}
    })
}

/// RFC 7396 JSON merge patch: objects merge, `null` removes, anything else
/// replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    let Value::Object(map) = target else { return };
    for (key, value) in patch {
        if value.is_null() {
            map.remove(key);
        } else {
            merge(map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

impl Example {
    /// The example's old and new documents.
    pub fn documents(&self) -> Result<(Value, Value), String> {
        let build = |patch: &str| -> Result<Value, String> {
            let patch: Value =
                serde_json::from_str(patch).map_err(|e| format!("example patch {patch}: {e}"))?;
            let mut doc = template();
            let target = match self.at {
                At::Pet => doc.pointer_mut("/components/schemas/Pet"),
                At::Operation => doc.pointer_mut("/paths/~1pets~1{id}/put"),
                At::Document => Some(&mut doc),
            };
            merge(target.ok_or("template lacks the example's place")?, &patch);
            Ok(doc)
        };
        Ok((build(self.old)?, build(self.new)?))
    }
}

/// What one rule's example produces: per side, the level under each client
/// profile (`None`: not reported to that client), and the reason given to a
/// generic client (or, failing that, to progenitor).
pub struct Outcome {
    pub levels: BTreeMap<Side, [Option<Level>; 2]>,
    pub reason: String,
}

/// Runs the rule's example under both profiles. An error when the example
/// does not produce its own rule.
pub fn outcome(rule: &Rule) -> Result<Outcome, String> {
    let (old, new) = rule.example.documents()?;
    let mut levels: BTreeMap<Side, [Option<Level>; 2]> = BTreeMap::new();
    let mut reason = String::new();
    for (i, client) in Client::ALL.into_iter().enumerate() {
        for change in crate::compare(&old, &new, client).changes {
            if change.rule != rule.id {
                continue;
            }
            let slot = &mut levels.entry(change.side).or_default()[i];
            *slot = Some(slot.map_or(change.level, |l| l.min(change.level)));
            if reason.is_empty() || client == Client::Generic {
                reason = change.reason;
            }
        }
    }
    if levels.is_empty() {
        return Err(format!("the example of rule {} does not produce it", rule.id));
    }
    Ok(Outcome { levels, reason })
}

/// The rule list as Markdown: `docs/compat-rules.md`.
pub fn markdown() -> Result<String, String> {
    let mut out = String::from(
        "<!-- Generated from openapi-compat/src/families/ by `cargo xtask regenerate`; do not edit. -->\n\
         # openapi-compat rules\n\n\
         Every rule `openapi-compat` (`cargo xtask compat OLD NEW`) reports. The levels are\n\
         what the checker reports for the rule's example, run under each client profile\n\
         when this page was generated:\n\n\
         - **error**: breaks clients built from the old document, talking to the new server;\n\
         - **warning**: breaks only clients built from the new document talking to a server\n  \
           still on the old one (fine where clients negotiate versions, as harmony-client does);\n\
         - **info**: breaks neither; `-`: not reported to that client.\n\n\
         Profiles (`--client`): **progenitor** judges what a progenitor/typify-generated Rust\n\
         client rejects or ignores (closed enums, validated strings, integer widths; response\n\
         headers and array sizes not decoded; any undocumented error status is an unexpected\n\
         response, as before); **generic** judges any client that conforms to the document,\n\
         in any language (every stated header, size, error status and `null` may be relied on).\n\
         A rule's level depends on where it applies: in a request the client writes, in a\n\
         response it reads, so the same change to a shared schema is judged once per side.\n\n\
         Examples are JSON merge patches over a template document in which `PUT /pets/{id}`\n\
         takes and answers a `Pet` (`openapi_compat::docs::template`); *Pet* patches that\n\
         schema, *operation* the operation, *document* the root.\n\n\
         | rule | finds | side | progenitor | generic | example (old → new) | reason given |\n\
         |---|---|---|---|---|---|---|\n",
    );
    let cell = |s: &str| s.replace('|', "\\|");
    for rule in RULES.iter() {
        let outcome = outcome(rule)?;
        for (k, (side, [progenitor, generic])) in outcome.levels.iter().enumerate() {
            let level = |l: &Option<Level>| l.map_or("-", Level::name);
            let at = match rule.example.at {
                At::Pet => "Pet",
                At::Operation => "operation",
                At::Document => "document",
            };
            if k == 0 {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} | {} | {at}: `{}` → `{}` | {} |",
                    rule.id,
                    cell(rule.finds),
                    side.name(),
                    level(progenitor),
                    level(generic),
                    cell(rule.example.old),
                    cell(rule.example.new),
                    cell(&outcome.reason)
                );
            } else {
                let _ = writeln!(
                    out,
                    "| | | {} | {} | {} | | |",
                    side.name(),
                    level(progenitor),
                    level(generic)
                );
            }
        }
    }
    out.push_str(
        "\nA change the team accepts goes in an ignore file (`--ignore FILE`), one\n\
         `OPERATION RULE REASON` per line; see `openapi-compat --help`.\n\n\
         ## Against the anchors\n\n\
         Every check family of oasdiff (its `checker/check_*.go` files) and every rule of\n\
         openapi-diff (`BackwardIncompatibleProp`), with the rules here that find the same\n\
         changes, or why the family does not apply to a client profile\n\
         (`openapi_compat::anchors`).\n\n\
         | checker | family | here |\n\
         |---|---|---|\n",
    );
    for anchor in ANCHORS {
        let here = match anchor.answer {
            Answer::Rules(rules) => {
                rules.iter().map(|r| format!("`{}`", r.as_str())).collect::<Vec<_>>().join(", ")
            }
            Answer::Why(why) => format!("does not apply: {}", cell(why)),
        };
        let _ = writeln!(out, "| {} | `{}` | {here} |", anchor.checker.name(), anchor.family);
    }
    Ok(out)
}
