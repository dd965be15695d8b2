//! The walker. It reads both documents once: operations are matched by
//! method and path (path parameters renamed still match), parameters by
//! location and name, schemas structurally, following `$ref`s in both
//! documents, so renaming a component changes nothing. Each pair of nodes is
//! handed to the families that judge it ([`crate::families`]): an operation
//! pair to operations, deprecation, security, parameters, bodies and
//! responses; a schema pair to deprecation, types, enums, constraints,
//! defaults, objects, composition and keywords.
//! Each pair of schemas is walked once per polarity, which handles recursive
//! schemas and keeps a change to a shared component from being reported once
//! per operation.
//!
//! Polarity is who writes: in a request the client writes and the server
//! reads; in a response the server writes and the client reads. A change that
//! lets the writer send what the reader did not accept before is "looser"; one
//! that makes the reader accept less is "stricter" ([`view::Polarity`]).
//!
//! OpenAPI 3.0 and 3.1 are read alike: `nullable: true`, a `type` list with
//! `"null"` and an `anyOf`/`oneOf` of a schema and `{"type": "null"}` are all
//! "may be null"; `const` is a one-value enum; `exclusiveMinimum` is a
//! boolean beside `minimum` in 3.0 and a number in 3.1. `examples` and other
//! annotations change nothing.
//!
//! Where the two [`Client`] profiles differ is written in the family that
//! decides it: response headers (progenitor does not decode them), error
//! statuses (progenitor returns any undocumented one as an unexpected
//! response), array and map sizes in responses (typify does not check them)
//! and `null` for an optional response property (typify reads it as absent).

pub(crate) mod view;

use crate::report::{Change, Client, Direction, Report, Side};
use crate::rules::RuleId;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use view::{METHODS, Polarity, Site, normalize, obj, resolve, seg, site};

/// The walk's state: the two documents, what was found, and where.
pub(crate) struct Checker<'a> {
    pub(crate) old: &'a Value,
    pub(crate) new: &'a Value,
    pub(crate) client: Client,
    changes: Vec<Change>,
    /// Conditions of both documents (not changes): see [`Report::findings`].
    findings: Vec<Change>,
    /// Schema pairs walked, by address and polarity.
    seen: HashSet<(usize, usize, Polarity)>,
    /// Security schemes compared (each once, however many operations use it).
    pub(crate) seen_schemes: HashSet<String>,
    pub(crate) site: Site,
    pub(crate) side: Side,
}

/// Operations by (method, route key): the path as written, the operation,
/// and the path item's shared parameters.
type Operations<'a> = BTreeMap<(String, String), (String, &'a Value, Vec<&'a Value>)>;

/// Normalized routes written more than once (`/pets/{id}` and
/// `/pets/{petId}`), with the paths that write them.
fn ambiguous(doc: &Value) -> BTreeMap<String, Vec<String>> {
    let mut routes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(paths) = doc.get("paths").and_then(obj) {
        for path in paths.keys() {
            routes.entry(normalize(path)).or_default().push(path.clone());
        }
    }
    routes.retain(|_, paths| paths.len() > 1);
    routes
}

/// Operations keyed by method and route; a route written twice in either
/// document is keyed by its exact path instead, so neither hides the other.
fn operations<'a>(doc: &'a Value, exact: &BTreeSet<String>) -> Operations<'a> {
    let mut out = BTreeMap::new();
    let Some(paths) = doc.get("paths").and_then(obj) else { return out };
    for (path, item) in paths {
        let shared: Vec<&Value> = item
            .get("parameters")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let route = normalize(path);
        let key_path = if exact.contains(&route) { path.clone() } else { route };
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.insert(
                    (method.to_owned(), key_path.clone()),
                    (path.clone(), op, shared.clone()),
                );
            }
        }
    }
    out
}

impl<'a> Checker<'a> {
    pub(crate) fn emit(
        &mut self,
        rule: RuleId,
        direction: Direction,
        pointer: &str,
        reason: String,
    ) {
        self.changes.push(Change {
            rule: rule.as_str(),
            level: direction.level(),
            direction,
            side: self.side,
            operation_id: self.site.operation_id.clone(),
            method: self.site.method.clone(),
            path: self.site.path.clone(),
            pointer: format!("#{pointer}"),
            reason,
        });
    }

    /// Reports a condition both documents share: not a change (see
    /// [`Report::findings`]).
    pub(crate) fn find(&mut self, rule: RuleId, pointer: &str, reason: String) {
        self.emit(rule, Direction::Both, pointer, reason);
        if let Some(finding) = self.changes.pop() {
            self.findings.push(finding);
        }
    }

    pub(crate) fn generic(&self) -> bool {
        self.client == Client::Generic
    }

    fn run(&mut self) {
        let old_ambiguous = ambiguous(self.old);
        let new_ambiguous = ambiguous(self.new);
        self.ambiguous_routes(&old_ambiguous, &new_ambiguous);
        let exact: BTreeSet<String> =
            old_ambiguous.keys().chain(new_ambiguous.keys()).cloned().collect();
        let old_ops = operations(self.old, &exact);
        let new_ops = operations(self.new, &exact);
        for (key, (path, op, _)) in &old_ops {
            if !new_ops.contains_key(key) {
                self.site = site(&key.0, path, op);
                self.side = Side::Operation;
                self.operation_removed(&key.0, path);
            }
        }
        for (key, (path, op, shared)) in &new_ops {
            let ptr = format!("/paths/{}/{}", seg(path), key.0);
            self.site = site(&key.0, path, op);
            self.side = Side::Operation;
            let Some((old_path, old_op, old_shared)) = old_ops.get(key) else {
                self.operation_added(&key.0, path, &ptr);
                continue;
            };
            self.operation(old_path, old_op, path, op, &ptr);
            self.deprecation(old_op, op, &ptr, "operation");
            self.security(old_op, op, &ptr);
            self.side = Side::Request;
            self.parameters(old_path, old_op, old_shared, path, op, shared, &ptr);
            self.request_body(old_op, op, &ptr);
            self.side = Side::Response;
            self.responses(old_op, op, &ptr);
        }
    }

    /// A pair of schemas at a place, `optional` when the place is an
    /// optional property.
    pub(crate) fn schema(
        &mut self,
        old: &'a Value,
        old_ptr: String,
        new: &'a Value,
        new_ptr: String,
        pol: Polarity,
        optional: bool,
    ) {
        let (o, old_ptr) = resolve(self.old, old, old_ptr);
        let (n, ptr) = resolve(self.new, new, new_ptr);
        let side = self.side;
        self.side = pol.side();
        // Nullability belongs to the place (schemars puts it on the wrapper
        // around a `$ref`), so it is judged here, before the memo.
        self.nullability(o.nullable, n.nullable, &ptr, pol, optional);
        let key = (o.schema as *const Value as usize, n.schema as *const Value as usize, pol);
        if self.seen.insert(key) {
            self.schema_body(o.schema, &old_ptr, n.schema, &ptr, pol, optional);
        }
        self.side = side;
    }

    fn schema_body(
        &mut self,
        os: &'a Value,
        old_ptr: &str,
        ns: &'a Value,
        ptr: &str,
        pol: Polarity,
        optional: bool,
    ) {
        // Values of another type: nothing else about them compares.
        if self.type_changed(os, ns, ptr, pol) {
            return;
        }
        self.deprecation(os, ns, ptr, "schema");
        self.format(os, ns, ptr, pol);
        self.enums(os, ns, ptr, pol);
        self.constraints(os, ns, ptr, pol);
        self.default(os, ns, ptr);
        self.object(os, old_ptr, ns, ptr, pol);
        self.discriminator(os, ns, ptr, pol);
        if let (Some(oi), Some(ni)) = (os.get("items"), ns.get("items")) {
            self.schema(oi, format!("{old_ptr}/items"), ni, format!("{ptr}/items"), pol, false);
        }
        self.composition(os, old_ptr, ns, ptr, pol, optional);
        self.keywords(os, old_ptr, ns, ptr, pol);
    }
}

/// Compares two OpenAPI 3.0 or 3.1 documents as `client` reads them. Never
/// skips a check because the documents' versions differ.
pub fn compare(old: &Value, new: &Value, client: Client) -> Report {
    let mut checker = Checker {
        old,
        new,
        client,
        changes: Vec::new(),
        findings: Vec::new(),
        seen: HashSet::new(),
        seen_schemes: HashSet::new(),
        site: Site::default(),
        side: Side::Document,
    };
    checker.run();
    let mut changes = checker.changes;
    changes.sort_by(|a, b| {
        (a.level, &a.path, &a.method, &a.pointer, a.rule)
            .cmp(&(b.level, &b.path, &b.method, &b.pointer, b.rule))
    });
    Report {
        client,
        changes,
        findings: checker.findings,
        ignored: Vec::new(),
        unused_ignores: Vec::new(),
    }
}
