//! The comparison. Operations are matched by method and path (path
//! parameters renamed still match); parameters by location and name; schemas
//! structurally, following `$ref`s in both documents, so renaming a component
//! changes nothing. Each pair of schemas is compared once per polarity, which
//! handles recursive schemas and keeps a change to a shared component from
//! being reported once per operation.
//!
//! Polarity is who writes: in a request the client writes and the server
//! reads; in a response the server writes and the client reads. A change that
//! lets the writer send what the reader did not accept before is "looser"; one
//! that makes the reader accept less is "stricter" ([`Polarity`]).
//!
//! OpenAPI 3.0 and 3.1 are read alike: `nullable: true`, a `type` list with
//! `"null"` and an `anyOf`/`oneOf` of a schema and `{"type": "null"}` are all
//! "may be null"; `const` is a one-value enum; `exclusiveMinimum` is a
//! boolean beside `minimum` in 3.0 and a number in 3.1. `examples` and other
//! annotations change nothing.
//!
//! Where the two [`Client`] profiles differ is written at the place it is
//! decided: response headers (progenitor does not decode them), error
//! statuses (progenitor returns any undocumented one as an unexpected
//! response), array and map sizes in responses (typify does not check them)
//! and `null` for an optional response property (typify reads it as absent).

use crate::ignore::normalize;
use crate::report::{Change, Client, Direction, Report, Side};
use crate::rules::{RuleId, id as R};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashSet};

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Polarity {
    Request,
    Response,
}

impl Polarity {
    /// The direction of a change that makes the writer send something the
    /// reader did not accept before ("looser") in this polarity.
    fn looser(self) -> Direction {
        match self {
            // New server answers what old clients cannot read.
            Polarity::Response => Direction::BreaksOldClients,
            // New clients send what old servers cannot read.
            Polarity::Request => Direction::BreaksNewClients,
        }
    }

    /// The direction of a change that makes the reader accept less
    /// ("stricter").
    fn stricter(self) -> Direction {
        match self {
            // New clients reject what old servers send.
            Polarity::Response => Direction::BreaksNewClients,
            // New server rejects what old clients send.
            Polarity::Request => Direction::BreaksOldClients,
        }
    }

    fn side(self) -> Side {
        match self {
            Polarity::Request => Side::Request,
            Polarity::Response => Side::Response,
        }
    }
}

fn combine(breaks_old: bool, breaks_new: bool) -> Direction {
    match (breaks_old, breaks_new) {
        (true, true) => Direction::Both,
        (true, false) => Direction::BreaksOldClients,
        (false, true) => Direction::BreaksNewClients,
        (false, false) => Direction::Neither,
    }
}

/// Escapes one JSON pointer segment.
fn seg(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

#[derive(Clone, Default)]
struct Site {
    operation_id: Option<String>,
    method: Option<String>,
    path: Option<String>,
}

/// A schema after following `$ref`s, transparent single-element `allOf`
/// wrappers (how schemars writes `Option<Ref>`) and 3.1's "X or null"
/// wrappers, with the nullability collected on the way.
#[derive(Clone, Copy)]
struct View<'a> {
    schema: &'a Value,
    nullable: bool,
}

struct Checker<'a> {
    old: &'a Value,
    new: &'a Value,
    client: Client,
    changes: Vec<Change>,
    /// Conditions of both documents (not changes): see [`Report::findings`].
    findings: Vec<Change>,
    seen: HashSet<(usize, usize, Polarity)>,
    seen_schemes: HashSet<String>,
    site: Site,
    side: Side,
}

/// `{"type": "null"}`, `{"const": null}` or `{"enum": [null]}`.
fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
        || v.get("const") == Some(&Value::Null)
        || v.get("enum").and_then(Value::as_array).is_some_and(|a| a.len() == 1 && a[0].is_null())
}

fn resolve<'a>(doc: &'a Value, mut schema: &'a Value, mut ptr: String) -> (View<'a>, String) {
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

fn obj(v: &Value) -> Option<&Map<String, Value>> {
    v.as_object()
}

fn strs(v: Option<&Value>) -> BTreeSet<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// The schema's types without `"null"` (a 3.0 string or a 3.1 list).
fn types(s: &Value) -> Option<BTreeSet<&str>> {
    let set: BTreeSet<&str> = match s.get("type")? {
        Value::String(t) => [t.as_str()].into(),
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    let set: BTreeSet<&str> = set.into_iter().filter(|t| *t != "null").collect();
    (!set.is_empty()).then_some(set)
}

/// Whether every value of the types `a` is a value of the types `b` (an
/// integer is a number).
fn types_within(a: &BTreeSet<&str>, b: &BTreeSet<&str>) -> bool {
    a.iter().all(|t| b.contains(t) || (*t == "integer" && b.contains("number")))
}

fn integer_width(format: &str) -> Option<(bool, u32)> {
    Some(match format {
        "int8" => (true, 8),
        "uint8" => (false, 8),
        "int16" => (true, 16),
        "uint16" => (false, 16),
        "int32" => (true, 32),
        "uint32" => (false, 32),
        "int64" => (true, 64),
        "uint64" => (false, 64),
        _ => return None,
    })
}

/// A numeric bound: its value and whether it is exclusive, read from 3.0
/// (`minimum` + `exclusiveMinimum: true`) or 3.1 (`exclusiveMinimum: 5`);
/// when both forms are present, the stricter one.
fn bound(s: &Value, inclusive: &str, exclusive: &str, lower: bool) -> Option<(f64, bool)> {
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

fn show_bound(b: Option<(f64, bool)>, lower: bool) -> String {
    match b {
        None => "none".to_owned(),
        Some((v, true)) => format!("{} {v}", if lower { ">" } else { "<" }),
        Some((v, false)) => format!("{} {v}", if lower { ">=" } else { "<=" }),
    }
}

/// A lower (or upper) bound `b` compared with `a`: whether it admits fewer
/// values.
fn bound_stricter(a: (f64, bool), b: (f64, bool), lower: bool) -> bool {
    if a.0 == b.0 {
        return b.1 && !a.1;
    }
    (b.0 > a.0) == lower
}

/// The responses that cover `code` besides itself: `default`, or its range.
fn covered_by(code: &str, responses: &Map<String, Value>) -> Option<String> {
    if code != "default" && responses.contains_key("default") {
        return Some("default".to_owned());
    }
    if code.len() == 3 && code.as_bytes()[1].is_ascii_digit() {
        let range = format!("{}XX", &code[..1]);
        if responses.keys().any(|k| k.eq_ignore_ascii_case(&range)) {
            return Some(range);
        }
    }
    None
}

/// A parameter's `style` and `explode`, with the defaults its location
/// gives them.
fn style(p: &Value) -> (String, bool) {
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

type Requirements = Vec<BTreeMap<String, BTreeSet<String>>>;

/// An operation's security requirements (its own, or the document's).
fn requirements(doc: &Value, op: &Value) -> Requirements {
    op.get("security")
        .or_else(|| doc.get("security"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_object)
                .map(|alt| alt.iter().map(|(k, v)| (k.clone(), strs(Some(v)))).collect())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a request without credentials is allowed.
fn anonymous(reqs: &Requirements) -> bool {
    reqs.is_empty() || reqs.iter().any(BTreeMap::is_empty)
}

fn alternative_name(alt: &BTreeMap<String, BTreeSet<String>>) -> String {
    alt.keys().cloned().collect::<Vec<_>>().join(" + ")
}

impl<'a> Checker<'a> {
    fn emit(&mut self, rule: RuleId, direction: Direction, pointer: &str, reason: String) {
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

    fn generic(&self) -> bool {
        self.client == Client::Generic
    }

    // ----- operations -------------------------------------------------------

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

    /// Operations keyed by method and route; a route written twice in
    /// either document is keyed by its exact path instead, so neither hides
    /// the other.
    fn operations(
        doc: &'a Value,
        exact: &BTreeSet<String>,
    ) -> BTreeMap<(String, String), (String, &'a Value, Vec<&'a Value>)> {
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

    fn run(&mut self) {
        let old_ambiguous = Self::ambiguous(self.old);
        let new_ambiguous = Self::ambiguous(self.new);
        let exact: BTreeSet<String> =
            old_ambiguous.keys().chain(new_ambiguous.keys()).cloned().collect();
        for (route, paths) in &new_ambiguous {
            let item = &self.new["paths"][&paths[1]];
            if let Some(method) = METHODS.iter().find(|m| item.get(**m).is_some()) {
                self.site = site(method, &paths[1], &item[*method]);
            }
            self.side = Side::Document;
            self.emit(
                R::PATHS_AMBIGUOUS,
                Direction::Both,
                &format!("/paths/{}", seg(&paths[1])),
                format!(
                    "{} differ only in parameter names: the document is invalid, and a server \
                     routes every request to one of them, so clients of the other get the wrong \
                     operation",
                    paths.join(" and ")
                ),
            );
            // Written the same way in both documents: a condition of the
            // document, said once, and no change.
            if old_ambiguous.get(route) == Some(paths)
                && let Some(finding) = self.changes.pop()
            {
                self.findings.push(finding);
            }
        }
        let old_ops = Self::operations(self.old, &exact);
        let new_ops = Self::operations(self.new, &exact);
        for (key, (path, op, _)) in &old_ops {
            if !new_ops.contains_key(key) {
                self.site = site(&key.0, path, op);
                self.side = Side::Operation;
                self.emit(
                    R::OPERATION_REMOVED,
                    Direction::BreaksOldClients,
                    &format!("/paths/{}/{}", seg(path), key.0),
                    format!(
                        "{} {path} was removed; old clients still call it",
                        key.0.to_uppercase()
                    ),
                );
            }
        }
        for (key, (path, op, shared)) in &new_ops {
            let ptr = format!("/paths/{}/{}", seg(path), key.0);
            self.site = site(&key.0, path, op);
            self.side = Side::Operation;
            let Some((old_path, old_op, old_shared)) = old_ops.get(key) else {
                self.emit(
                    R::OPERATION_ADDED,
                    Direction::BreaksNewClients,
                    &ptr,
                    format!(
                        "{} {path} is new; servers still on the old document answer 404",
                        key.0.to_uppercase()
                    ),
                );
                continue;
            };
            let old_id = old_op.get("operationId").and_then(Value::as_str);
            let new_id = op.get("operationId").and_then(Value::as_str);
            if old_id != new_id {
                self.emit(
                    R::OPERATION_ID_CHANGED,
                    Direction::Neither,
                    &ptr,
                    format!(
                        "operationId {} became {}: regenerated clients rename the method",
                        old_id.unwrap_or("(none)"),
                        new_id.unwrap_or("(none)")
                    ),
                );
            }
            if old_path != path {
                self.emit(
                    R::PATH_PARAMETER_RENAMED,
                    Direction::Neither,
                    &ptr,
                    format!("path {old_path} is now written {path}"),
                );
            }
            self.security(old_op, op, &ptr);
            self.side = Side::Request;
            self.parameters(old_path, old_op, old_shared, path, op, shared, &ptr);
            self.request_body(old_op, op, &ptr);
            self.side = Side::Response;
            self.responses(old_op, op, &ptr);
        }
    }

    // ----- security ---------------------------------------------------------

    /// Requirements (which schemes, which scopes) and the schemes they name.
    /// A generated client carries no credentials of its own: the code that
    /// builds it supplies them as the old document asked, so both profiles
    /// judge these alike.
    fn security(&mut self, old_op: &'a Value, op: &'a Value, ptr: &str) {
        let old = requirements(self.old, old_op);
        let new = requirements(self.new, op);
        let at = format!("{ptr}/security");
        match (anonymous(&old), anonymous(&new)) {
            (true, false) => self.emit(
                R::SECURITY_REQUIRED,
                Direction::BreaksOldClients,
                &at,
                "credentials became required; old clients call without them and get 401".to_owned(),
            ),
            (false, true) => self.emit(
                R::SECURITY_NO_LONGER_REQUIRED,
                Direction::BreaksNewClients,
                &at,
                "credentials became optional; new clients may call without them, which old \
                 servers refuse"
                    .to_owned(),
            ),
            (true, true) => {}
            (false, false) => {
                let index =
                    |reqs: &Requirements| -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
                        reqs.iter().map(|alt| (alternative_name(alt), alt.clone())).collect()
                    };
                let (oi, ni) = (index(&old), index(&new));
                for (name, alt) in &oi {
                    let Some(new_alt) = ni.get(name) else {
                        self.emit(
                            R::SECURITY_REQUIREMENT_REMOVED,
                            Direction::BreaksOldClients,
                            &at,
                            format!(
                                "credentials by {name} are no longer accepted; old clients that \
                                 authenticate that way get 401"
                            ),
                        );
                        continue;
                    };
                    for (scheme, scopes) in new_alt {
                        let before = alt.get(scheme).cloned().unwrap_or_default();
                        let added: Vec<_> = scopes.difference(&before).cloned().collect();
                        let removed: Vec<_> = before.difference(scopes).cloned().collect();
                        if !added.is_empty() {
                            self.emit(
                                R::SECURITY_SCOPES_ADDED,
                                Direction::BreaksOldClients,
                                &at,
                                format!(
                                    "{scheme} now needs scope {}; old clients' tokens lack it (403)",
                                    added.join(", ")
                                ),
                            );
                        }
                        if !removed.is_empty() {
                            self.emit(
                                R::SECURITY_SCOPES_REMOVED,
                                Direction::BreaksNewClients,
                                &at,
                                format!(
                                    "{scheme} no longer needs scope {}; new clients may ask \
                                     for tokens without it, which old servers refuse",
                                    removed.join(", ")
                                ),
                            );
                        }
                    }
                }
                for name in ni.keys().filter(|n| !oi.contains_key(*n)) {
                    self.emit(
                        R::SECURITY_REQUIREMENT_ADDED,
                        Direction::BreaksNewClients,
                        &at,
                        format!(
                            "credentials by {name} are accepted too; new clients that use them \
                             are refused by old servers"
                        ),
                    );
                }
            }
        }
        let names: BTreeSet<String> =
            old.iter().chain(new.iter()).flat_map(|alt| alt.keys().cloned()).collect();
        for name in names {
            if self.seen_schemes.insert(name.clone()) {
                self.security_scheme(&name);
            }
        }
    }

    fn security_scheme(&mut self, name: &str) {
        let ptr = format!("/components/securitySchemes/{}", seg(name));
        let (Some(o), Some(n)) = (self.old.pointer(&ptr), self.new.pointer(&ptr)) else {
            return;
        };
        let (o, n) = (
            resolve(self.old, o, String::new()).0.schema,
            resolve(self.new, n, String::new()).0.schema,
        );
        let text = |s: &Value, k: &str| s.get(k).and_then(Value::as_str).map(str::to_owned);
        self.side = Side::Operation;
        let (ot, nt) = (text(o, "type"), text(n, "type"));
        if ot != nt {
            self.emit(
                R::SECURITY_SCHEME_TYPE_CHANGED,
                Direction::Both,
                &ptr,
                format!(
                    "security scheme {name} went from {} to {}; clients of each document \
                     authenticate in a way the other server does not read",
                    ot.unwrap_or_default(),
                    nt.unwrap_or_default()
                ),
            );
            return;
        }
        match nt.as_deref() {
            Some("apiKey") => {
                for key in ["in", "name"] {
                    if text(o, key) != text(n, key) {
                        self.emit(
                            R::SECURITY_SCHEME_API_KEY_CHANGED,
                            Direction::Both,
                            &format!("{ptr}/{key}"),
                            format!(
                                "API key {name} moved ({key} {} became {}); each document's \
                                 clients send it where the other server does not look",
                                text(o, key).unwrap_or_default(),
                                text(n, key).unwrap_or_default()
                            ),
                        );
                    }
                }
            }
            Some("http") => {
                let lower = |s: &Value| text(s, "scheme").map(|s| s.to_ascii_lowercase());
                if lower(o) != lower(n) {
                    self.emit(
                        R::SECURITY_SCHEME_HTTP_SCHEME_CHANGED,
                        Direction::Both,
                        &format!("{ptr}/scheme"),
                        format!(
                            "HTTP authentication {name} went from {} to {}; the Authorization \
                             header each document's clients send is refused by the other server",
                            lower(o).unwrap_or_default(),
                            lower(n).unwrap_or_default()
                        ),
                    );
                }
                if text(o, "bearerFormat") != text(n, "bearerFormat") {
                    self.emit(
                        R::SECURITY_SCHEME_BEARER_FORMAT_CHANGED,
                        Direction::BreaksOldClients,
                        &format!("{ptr}/bearerFormat"),
                        format!(
                            "bearer tokens for {name} are now {}, not {}; old clients obtain and \
                             send the old kind",
                            text(n, "bearerFormat").unwrap_or_else(|| "unspecified".into()),
                            text(o, "bearerFormat").unwrap_or_else(|| "unspecified".into())
                        ),
                    );
                }
            }
            Some("oauth2") => {
                let flows = |s: &'a Value| s.get("flows").and_then(obj).unwrap_or(&EMPTY);
                let (of, nf) = (flows(o), flows(n));
                for (flow, old_flow) in of {
                    let at = format!("{ptr}/flows/{}", seg(flow));
                    let Some(new_flow) = nf.get(flow) else {
                        self.emit(
                            R::SECURITY_SCHEME_OAUTH_FLOW_REMOVED,
                            Direction::BreaksOldClients,
                            &at,
                            format!(
                                "OAuth flow {flow} of {name} was removed; old clients that \
                                 obtain tokens through it cannot"
                            ),
                        );
                        continue;
                    };
                    for url in ["authorizationUrl", "tokenUrl", "refreshUrl"] {
                        if text(old_flow, url) != text(new_flow, url) {
                            self.emit(
                                R::SECURITY_SCHEME_OAUTH_URL_CHANGED,
                                Direction::BreaksOldClients,
                                &format!("{at}/{url}"),
                                format!(
                                    "{url} of {name}'s {flow} flow changed; old clients still \
                                     go to {}",
                                    text(old_flow, url).unwrap_or_else(|| "none".into())
                                ),
                            );
                        }
                    }
                    let scopes = |f: &Value| -> BTreeSet<String> {
                        f.get("scopes")
                            .and_then(obj)
                            .map(|m| m.keys().cloned().collect())
                            .unwrap_or_default()
                    };
                    let (os, ns) = (scopes(old_flow), scopes(new_flow));
                    let removed: Vec<_> = os.difference(&ns).cloned().collect();
                    let added: Vec<_> = ns.difference(&os).cloned().collect();
                    if !removed.is_empty() {
                        self.emit(
                            R::SECURITY_SCHEME_SCOPE_REMOVED,
                            Direction::BreaksOldClients,
                            &format!("{at}/scopes"),
                            format!(
                                "scope {} of {name} was removed; old clients still ask for it",
                                removed.join(", ")
                            ),
                        );
                    }
                    if !added.is_empty() {
                        self.emit(
                            R::SECURITY_SCHEME_SCOPE_ADDED,
                            Direction::Neither,
                            &format!("{at}/scopes"),
                            format!("scope {} of {name} was added", added.join(", ")),
                        );
                    }
                }
                for flow in nf.keys().filter(|f| !of.contains_key(*f)) {
                    self.emit(
                        R::SECURITY_SCHEME_OAUTH_FLOW_ADDED,
                        Direction::Neither,
                        &format!("{ptr}/flows/{}", seg(flow)),
                        format!("OAuth flow {flow} of {name} was added: one more way to a token"),
                    );
                }
            }
            Some("openIdConnect") if text(o, "openIdConnectUrl") != text(n, "openIdConnectUrl") => {
                self.emit(
                    R::SECURITY_SCHEME_OPENID_URL_CHANGED,
                    Direction::BreaksOldClients,
                    &format!("{ptr}/openIdConnectUrl"),
                    format!(
                        "the OpenID Connect discovery URL of {name} changed; old clients \
                         still discover the old provider"
                    ),
                );
            }
            _ => {}
        }
    }

    // ----- parameters -------------------------------------------------------

    /// Parameters by (location, name); path parameters by their position in
    /// the route, so renaming one is not a removal and an addition.
    fn params(
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
    fn parameters(
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
                    if let Some(((from, _), _)) =
                        old.iter().find(|((l, n), _)| n == name && l != location)
                    {
                        self.emit(
                            R::PARAMETER_MOVED,
                            Direction::Both,
                            &at,
                            format!("parameter {name} moved from {from} to {location}"),
                        );
                    } else if required(p) {
                        self.emit(
                            R::PARAMETER_ADDED_REQUIRED,
                            Direction::BreaksOldClients,
                            &at,
                            format!("new required {location} parameter {name}; old clients do not send it"),
                        );
                    } else {
                        self.emit(
                            R::PARAMETER_ADDED_OPTIONAL,
                            Direction::Neither,
                            &at,
                            format!("new optional {location} parameter {name}"),
                        );
                    }
                }
                Some(old_p) => {
                    match (required(old_p), required(p)) {
                        (false, true) => self.emit(
                            R::PARAMETER_BECAME_REQUIRED,
                            Direction::BreaksOldClients,
                            &at,
                            format!("{location} parameter {name} became required; old clients may omit it"),
                        ),
                        (true, false) => self.emit(
                            R::PARAMETER_BECAME_OPTIONAL,
                            Direction::BreaksNewClients,
                            &at,
                            format!("{location} parameter {name} became optional; old servers still require it"),
                        ),
                        _ => {}
                    }
                    let (os, ns) = (style(old_p), style(p));
                    if os != ns {
                        self.emit(
                            R::PARAMETER_STYLE_CHANGED,
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
                            R::PARAMETER_EMPTY_VALUE_REFUSED,
                            Direction::BreaksOldClients,
                            &at,
                            format!("{location} parameter {name} may no longer be empty; old clients may send it empty"),
                        ),
                        (false, true) => self.emit(
                            R::PARAMETER_EMPTY_VALUE_ALLOWED,
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
                || new.keys().any(|(_, n)| n == name)
            {
                continue;
            }
            self.emit(
                R::PARAMETER_REMOVED,
                if required(p) { Direction::BreaksNewClients } else { Direction::Neither },
                &format!("{ptr}/parameters[{location}:{name}]"),
                format!(
                    "{location} parameter {name} was removed{}",
                    if required(p) { "; old servers still require it" } else { "" }
                ),
            );
        }
    }

    // ----- bodies -----------------------------------------------------------

    fn request_body(&mut self, old_op: &'a Value, op: &'a Value, ptr: &str) {
        let body = |doc: &'a Value, op: &'a Value| {
            op.get("requestBody").map(|b| resolve(doc, b, String::new()).0.schema)
        };
        let at = format!("{ptr}/requestBody");
        let required = |b: &Value| b.get("required").and_then(Value::as_bool).unwrap_or(false);
        match (body(self.old, old_op), body(self.new, op)) {
            (None, None) => {}
            (None, Some(b)) => self.emit(
                R::REQUEST_BODY_ADDED,
                if required(b) { Direction::BreaksOldClients } else { Direction::Neither },
                &at,
                "a request body was added".to_owned(),
            ),
            (Some(b), None) => self.emit(
                R::REQUEST_BODY_REMOVED,
                if required(b) { Direction::BreaksNewClients } else { Direction::Neither },
                &at,
                "the request body was removed".to_owned(),
            ),
            (Some(old_b), Some(new_b)) => {
                match (required(old_b), required(new_b)) {
                    (false, true) => self.emit(
                        R::REQUEST_BODY_BECAME_REQUIRED,
                        Direction::BreaksOldClients,
                        &at,
                        "the request body became required".to_owned(),
                    ),
                    (true, false) => self.emit(
                        R::REQUEST_BODY_BECAME_OPTIONAL,
                        Direction::BreaksNewClients,
                        &at,
                        "the request body became optional; old servers still require it".to_owned(),
                    ),
                    _ => {}
                }
                self.content(old_b, new_b, &at, Polarity::Request);
            }
        }
    }

    fn content(&mut self, old: &'a Value, new: &'a Value, at: &str, polarity: Polarity) {
        let old_c = old.get("content").and_then(obj).unwrap_or(&EMPTY);
        let new_c = new.get("content").and_then(obj).unwrap_or(&EMPTY);
        for (media, old_m) in old_c {
            let mat = format!("{at}/content/{}", seg(media));
            match new_c.get(media) {
                None => self.emit(
                    R::MEDIA_TYPE_REMOVED,
                    Direction::BreaksOldClients,
                    &mat,
                    format!(
                        "media type {media} is no longer {}",
                        match polarity {
                            Polarity::Request => "accepted",
                            Polarity::Response => "returned",
                        }
                    ),
                ),
                Some(new_m) => {
                    if let (Some(os), Some(ns)) = (old_m.get("schema"), new_m.get("schema")) {
                        self.schema(
                            os,
                            format!("{mat}/schema"),
                            ns,
                            format!("{mat}/schema"),
                            polarity,
                            false,
                        );
                    }
                }
            }
        }
        for media in new_c.keys() {
            if !old_c.contains_key(media) {
                self.emit(
                    R::MEDIA_TYPE_ADDED,
                    Direction::Neither,
                    &format!("{at}/content/{}", seg(media)),
                    format!("media type {media} was added"),
                );
            }
        }
    }

    // ----- responses --------------------------------------------------------

    fn responses(&mut self, old_op: &'a Value, op: &'a Value, ptr: &str) {
        let old_r = old_op.get("responses").and_then(obj).unwrap_or(&EMPTY);
        let new_r = op.get("responses").and_then(obj).unwrap_or(&EMPTY);
        let success = |code: &str| code.starts_with('2');
        for (code, old_resp) in old_r {
            let at = format!("{ptr}/responses/{}", seg(code));
            match new_r.get(code) {
                None => {
                    let (direction, why) = if let Some(by) = covered_by(code, new_r) {
                        (Direction::Neither, format!("; {by} still documents it"))
                    } else if success(code) {
                        (
                            Direction::BreaksNewClients,
                            "; old servers still send it and new clients cannot decode it"
                                .to_owned(),
                        )
                    } else if self.generic() {
                        (
                            Direction::BreaksNewClients,
                            "; old servers still send it, undocumented for new clients".to_owned(),
                        )
                    } else {
                        (
                            Direction::Neither,
                            "; a generated client returns an undocumented error status as an \
                             unexpected response, an error as before"
                                .to_owned(),
                        )
                    };
                    self.emit(
                        R::RESPONSE_STATUS_REMOVED,
                        direction,
                        &at,
                        format!("response {code} was removed{why}"),
                    );
                }
                Some(new_resp) => {
                    let (o, _) = resolve(self.old, old_resp, String::new());
                    let (n, _) = resolve(self.new, new_resp, String::new());
                    self.headers(o.schema, n.schema, &at);
                    self.content(o.schema, n.schema, &at, Polarity::Response);
                }
            }
        }
        for code in new_r.keys() {
            if old_r.contains_key(code) {
                continue;
            }
            let (direction, why) = if let Some(by) = covered_by(code, old_r) {
                (Direction::Neither, format!("; {by} already documented it"))
            } else if success(code) {
                (
                    Direction::BreaksOldClients,
                    "; old clients treat an undocumented success status as an unexpected response"
                        .to_owned(),
                )
            } else if self.generic() {
                (
                    Direction::BreaksOldClients,
                    "; it is undocumented for old clients, which have no handling for it"
                        .to_owned(),
                )
            } else {
                (
                    Direction::Neither,
                    "; old generated clients return it as an unexpected response, an error as \
                     they would have"
                        .to_owned(),
                )
            };
            self.emit(
                R::RESPONSE_STATUS_ADDED,
                direction,
                &format!("{ptr}/responses/{}", seg(code)),
                format!("response {code} was added{why}"),
            );
        }
    }

    /// Response headers. Progenitor hands them over undecoded, so for it a
    /// header change breaks nothing the client does; a generic client may
    /// read any header the document promises.
    fn headers(&mut self, old: &'a Value, new: &'a Value, at: &str) {
        let collect = |doc: &'a Value, r: &'a Value| -> BTreeMap<String, (String, &'a Value)> {
            r.get("headers")
                .and_then(obj)
                .into_iter()
                .flatten()
                .filter(|(name, _)| !name.eq_ignore_ascii_case("content-type"))
                .map(|(name, h)| {
                    (
                        name.to_ascii_lowercase(),
                        (name.clone(), resolve(doc, h, String::new()).0.schema),
                    )
                })
                .collect()
        };
        let (oh, nh) = (collect(self.old, old), collect(self.new, new));
        let required = |h: &Value| flag(h, "required");
        let generic = self.generic();
        let judge = |direction: Direction| if generic { direction } else { Direction::Neither };
        let unread = if generic { "" } else { " (progenitor clients do not decode headers)" };
        for (key, (name, h)) in &oh {
            let hat = format!("{at}/headers/{}", seg(name));
            let Some((_, nh_)) = nh.get(key) else {
                self.emit(
                    R::RESPONSE_HEADER_REMOVED,
                    judge(if required(h) {
                        Direction::BreaksOldClients
                    } else {
                        Direction::Neither
                    }),
                    &hat,
                    format!(
                        "response header {name} was removed{}{unread}",
                        if required(h) { "; old clients rely on it" } else { "" }
                    ),
                );
                continue;
            };
            match (required(h), required(nh_)) {
                (true, false) => self.emit(
                    R::RESPONSE_HEADER_BECAME_OPTIONAL,
                    judge(Direction::BreaksOldClients),
                    &hat,
                    format!("response header {name} became optional; old clients rely on it{unread}"),
                ),
                (false, true) => self.emit(
                    R::RESPONSE_HEADER_BECAME_REQUIRED,
                    judge(Direction::BreaksNewClients),
                    &hat,
                    format!(
                        "response header {name} became required; old servers may not send it{unread}"
                    ),
                ),
                _ => {}
            }
            let header_style = |h: &Value| {
                (
                    h.get("style").and_then(Value::as_str).unwrap_or("simple").to_owned(),
                    flag(h, "explode"),
                )
            };
            if header_style(h) != header_style(nh_) {
                self.emit(
                    R::RESPONSE_HEADER_STYLE_CHANGED,
                    judge(Direction::Both),
                    &hat,
                    format!(
                        "response header {name} is serialized differently; each document's \
                         clients parse the other server's value wrongly{unread}"
                    ),
                );
            }
            if generic && let (Some(os), Some(ns)) = (h.get("schema"), nh_.get("schema")) {
                self.schema(
                    os,
                    format!("{hat}/schema"),
                    ns,
                    format!("{hat}/schema"),
                    Polarity::Response,
                    !required(nh_),
                );
            }
        }
        for (key, (name, h)) in &nh {
            if oh.contains_key(key) {
                continue;
            }
            self.emit(
                R::RESPONSE_HEADER_ADDED,
                judge(if required(h) { Direction::BreaksNewClients } else { Direction::Neither }),
                &format!("{at}/headers/{}", seg(name)),
                format!(
                    "response header {name} was added{}{unread}",
                    if required(h) {
                        " as required; old servers do not send it to new clients"
                    } else {
                        ""
                    }
                ),
            );
        }
    }

    // ----- schemas ----------------------------------------------------------

    fn schema(
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
        match (o.nullable, n.nullable) {
            (false, true) => {
                let (direction, why) = match pol {
                    Polarity::Response if optional && !self.generic() => {
                        (Direction::Neither, "; generated clients read an optional null as absent")
                    }
                    Polarity::Response => {
                        (Direction::BreaksOldClients, "; old clients do not expect null here")
                    }
                    Polarity::Request => {
                        (Direction::BreaksNewClients, "; old servers refuse null here")
                    }
                };
                self.emit(
                    R::NULLABLE_ADDED,
                    direction,
                    &ptr,
                    format!("the value may now be null{why}"),
                );
            }
            (true, false) => self.emit(
                R::NULLABLE_REMOVED,
                pol.stricter(),
                &ptr,
                "the value may no longer be null".to_owned(),
            ),
            _ => {}
        }
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
        if let (Some(a), Some(b)) = (types(os), types(ns))
            && a != b
        {
            let show = |t: &BTreeSet<&str>| t.iter().copied().collect::<Vec<_>>().join(" or ");
            let (rule, direction) = if types_within(&a, &b) {
                (R::TYPE_WIDENED, pol.looser())
            } else if types_within(&b, &a) {
                (R::TYPE_NARROWED, pol.stricter())
            } else {
                (R::TYPE_CHANGED, Direction::Both)
            };
            self.emit(rule, direction, ptr, format!("type {} became {}", show(&a), show(&b)));
            return;
        }

        self.format(os, ns, ptr, pol);
        self.enums(os, ns, ptr, pol);
        self.constraints(os, ns, ptr, pol);
        self.default(os, ns, ptr);
        self.object(os, old_ptr, ns, ptr, pol);
        self.discriminator(os, ns, ptr, pol);

        if let (Some(oi), Some(ni)) = (os.get("items"), ns.get("items")) {
            self.schema(oi, format!("{old_ptr}/items"), ni, format!("{ptr}/items"), pol, false);
        }
        // A oneOf of single-value enums is a string enum (schemars writes
        // documented variants that way; typify reads it back as one closed
        // Rust enum): compared as an enum above, not as variants; so is an
        // open enum written as `anyOf: [{enum}, {type: string}]`.
        let enum_like = |doc, s: &Value| {
            (enum_values(doc, s).is_some() && s.get("enum").is_none() && s.get("const").is_none())
                || open_enum_values(s).is_some()
        };
        if !(enum_like(self.old, os) || enum_like(self.new, ns)) {
            for keyword in ["oneOf", "anyOf"] {
                self.variants(os, old_ptr, ns, ptr, pol, keyword);
            }
        }
        if let (Some(oa), Some(na)) =
            (os.get("allOf").and_then(Value::as_array), ns.get("allOf").and_then(Value::as_array))
        {
            for (i, (a, b)) in oa.iter().zip(na).enumerate() {
                self.schema(
                    a,
                    format!("{old_ptr}/allOf/{i}"),
                    b,
                    format!("{ptr}/allOf/{i}"),
                    pol,
                    optional,
                );
            }
            if oa.len() != na.len() {
                self.emit(
                    R::ALL_OF_CHANGED,
                    Direction::Both,
                    ptr,
                    format!("allOf went from {} to {} parts", oa.len(), na.len()),
                );
            }
        }
    }

    fn format(&mut self, os: &Value, ns: &Value, ptr: &str, pol: Polarity) {
        let of = os.get("format").and_then(Value::as_str);
        let nf = ns.get("format").and_then(Value::as_str);
        if of == nf {
            return;
        }
        match (of.and_then(integer_width), nf.and_then(integer_width)) {
            (Some((os_signed, ow)), Some((ns_signed, nw))) if os_signed == ns_signed => {
                let (rule, direction) = if nw > ow {
                    (R::INTEGER_WIDENED, pol.looser())
                } else {
                    (R::INTEGER_NARROWED, pol.stricter())
                };
                self.emit(
                    rule,
                    direction,
                    ptr,
                    format!(
                        "integer format {} became {}; clients decode into the width it names",
                        of.unwrap_or_default(),
                        nf.unwrap_or_default()
                    ),
                );
            }
            _ => match (of, nf) {
                (None, Some(f)) => self.emit(
                    R::FORMAT_ADDED,
                    pol.stricter(),
                    ptr,
                    format!(
                        "format {f} was added; {}",
                        match pol {
                            Polarity::Request =>
                                "the new server refuses values old clients may send",
                            Polarity::Response =>
                                "new clients parse it and refuse other values old servers may send",
                        }
                    ),
                ),
                (Some(f), None) => self.emit(
                    R::FORMAT_REMOVED,
                    pol.looser(),
                    ptr,
                    format!(
                        "format {f} was removed; {}",
                        match pol {
                            Polarity::Request => "new clients may send values old servers refuse",
                            Polarity::Response =>
                                "old clients parse the value as {f} and fail on anything else",
                        }
                        .replace("{f}", f)
                    ),
                ),
                (a, b) => self.emit(
                    R::FORMAT_CHANGED,
                    Direction::Both,
                    ptr,
                    format!("format {} became {}", a.unwrap_or_default(), b.unwrap_or_default()),
                ),
            },
        }
    }

    fn enums(&mut self, os: &Value, ns: &Value, ptr: &str, pol: Polarity) {
        if let (Some(old), Some(new)) = (open_enum_values(os), open_enum_values(ns)) {
            let added: Vec<_> = new.difference(&old).cloned().collect();
            let removed: Vec<_> = old.difference(&new).cloned().collect();
            if !added.is_empty() {
                self.emit(
                    R::EXTENSIBLE_ENUM_VALUE_ADDED,
                    match pol {
                        Polarity::Response => Direction::Neither,
                        Polarity::Request => Direction::BreaksNewClients,
                    },
                    ptr,
                    format!(
                        "value {} added to an open enum{}",
                        added.join(", "),
                        match pol {
                            Polarity::Response => "; clients must accept values they do not know",
                            Polarity::Request => "; old servers may not know it",
                        }
                    ),
                );
            }
            if !removed.is_empty() {
                self.emit(
                    R::EXTENSIBLE_ENUM_VALUE_REMOVED,
                    match pol {
                        Polarity::Response => Direction::Neither,
                        Polarity::Request => Direction::BreaksOldClients,
                    },
                    ptr,
                    format!("value {} removed from an open enum", removed.join(", ")),
                );
            }
            return;
        }
        match (enum_values(self.old, os), enum_values(self.new, ns)) {
            (Some(old), Some(new)) => {
                let added: Vec<_> = new.difference(&old).cloned().collect();
                let removed: Vec<_> = old.difference(&new).cloned().collect();
                if !added.is_empty() {
                    let why = match (pol, self.client) {
                        (Polarity::Response, Client::Progenitor) => {
                            "; generated clients close enums, so old clients fail to decode it"
                        }
                        (Polarity::Response, Client::Generic) => {
                            "; the document closes the enum (no x-extensible-enum), so old clients may not handle it"
                        }
                        (Polarity::Request, _) => "; old servers reject it",
                    };
                    self.emit(
                        match pol {
                            Polarity::Response => R::RESPONSE_ENUM_VALUE_ADDED,
                            Polarity::Request => R::REQUEST_ENUM_VALUE_ADDED,
                        },
                        pol.looser(),
                        ptr,
                        format!("enum value {} added{why}", added.join(", ")),
                    );
                }
                if !removed.is_empty() {
                    self.emit(
                        match pol {
                            Polarity::Response => R::RESPONSE_ENUM_VALUE_REMOVED,
                            Polarity::Request => R::REQUEST_ENUM_VALUE_REMOVED,
                        },
                        pol.stricter(),
                        ptr,
                        format!(
                            "enum value {} removed{}",
                            removed.join(", "),
                            match pol {
                                Polarity::Request => "; old clients may still send it",
                                Polarity::Response =>
                                    "; old servers may still send it to new clients",
                            }
                        ),
                    );
                }
            }
            (None, Some(_)) => self.emit(
                R::ENUM_ADDED,
                pol.stricter(),
                ptr,
                "values are now restricted to an enum".to_owned(),
            ),
            (Some(_), None) => self.emit(
                R::ENUM_REMOVED,
                pol.looser(),
                ptr,
                "values are no longer restricted to an enum".to_owned(),
            ),
            (None, None) => {}
        }
    }

    /// A `default` changed or removed: whoever leaves the value out (a
    /// client in a request, the server in a response, which a generated
    /// client fills from the default when it decodes) now means something
    /// else than old clients assume. A default added where there was none
    /// only states what absence already meant to the server.
    fn default(&mut self, os: &Value, ns: &Value, ptr: &str) {
        let (a, b) = (os.get("default"), ns.get("default"));
        let Some(a) = a else { return };
        if Some(a) == b {
            return;
        }
        let reason = match b {
            Some(b) => {
                format!("default {a} became {b}; old clients assume {a} where it is left out")
            }
            None => format!("default {a} was removed; old clients assume {a} where it is left out"),
        };
        self.emit(R::DEFAULT_CHANGED, Direction::BreaksOldClients, ptr, reason);
    }

    fn constraints(&mut self, os: &Value, ns: &Value, ptr: &str, pol: Polarity) {
        let num = |s: &Value, k: &str| s.get(k).and_then(Value::as_f64);
        // (keyword, a larger value is stricter?)
        for (keyword, larger_is_stricter) in [
            ("minLength", true),
            ("maxLength", false),
            ("minItems", true),
            ("maxItems", false),
            ("minProperties", true),
            ("maxProperties", false),
        ] {
            let (a, b) = (num(os, keyword), num(ns, keyword));
            let stricter = match (a, b) {
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(a), Some(b)) if a != b => (b > a) == larger_is_stricter,
                _ => continue,
            };
            let sizes = keyword.ends_with("Items") || keyword.ends_with("Properties");
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
                if stricter { R::CONSTRAINT_TIGHTENED } else { R::CONSTRAINT_LOOSENED },
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
                if stricter { R::CONSTRAINT_TIGHTENED } else { R::CONSTRAINT_LOOSENED },
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
                (None, Some(_)) => (R::CONSTRAINT_TIGHTENED, pol.stricter()),
                (Some(_), None) => (R::CONSTRAINT_LOOSENED, pol.looser()),
                (Some(a), Some(b)) if multiple(a, b) => (R::CONSTRAINT_LOOSENED, pol.looser()),
                (Some(a), Some(b)) if multiple(b, a) => (R::CONSTRAINT_TIGHTENED, pol.stricter()),
                _ => (R::CONSTRAINT_CHANGED, Direction::Both),
            };
            self.emit(rule, direction, ptr, format!("multipleOf {} became {}", show(a), show(b)));
        }
        match (flag(os, "uniqueItems"), flag(ns, "uniqueItems")) {
            (false, true) => self.emit(
                R::CONSTRAINT_TIGHTENED,
                pol.stricter(),
                ptr,
                "items must now be unique".to_owned(),
            ),
            (true, false) => self.emit(
                R::CONSTRAINT_LOOSENED,
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
                R::PATTERN_CHANGED,
                direction,
                ptr,
                format!("pattern {} became {}", show(a), show(b)),
            );
        }
    }

    fn object(&mut self, os: &'a Value, old_ptr: &str, ns: &'a Value, ptr: &str, pol: Polarity) {
        let op = os.get("properties").and_then(obj).unwrap_or(&EMPTY);
        let np = ns.get("properties").and_then(obj).unwrap_or(&EMPTY);
        let oreq = strs(os.get("required"));
        let nreq = strs(ns.get("required"));
        let closed = |s: &Value| s.get("additionalProperties") == Some(&Value::Bool(false));
        let (oclosed, nclosed) = (closed(os), closed(ns));
        // readOnly properties are not sent in requests and writeOnly ones
        // not in responses; `required` does not hold for them there.
        let (hiding, hidden_name) = match pol {
            Polarity::Request => ("readOnly", "read-only"),
            Polarity::Response => ("writeOnly", "write-only"),
        };
        let hidden = |doc: &'a Value, s: &'a Value| {
            flag(s, hiding) || flag(resolve(doc, s, String::new()).0.schema, hiding)
        };

        for (name, new_schema) in np {
            let at = format!("{ptr}/properties/{}", seg(name));
            let new_hidden = hidden(self.new, new_schema);
            let required_now = nreq.contains(name) && !new_hidden;
            let Some(old_schema) = op.get(name) else {
                let (breaks_old, breaks_new, why) = match pol {
                    _ if new_hidden => (false, false, format!("{hidden_name}, so not sent here")),
                    // Old clients reject unknown properties only if closed.
                    Polarity::Response => (
                        oclosed,
                        required_now,
                        if oclosed {
                            "old clients deny unknown fields".to_owned()
                        } else {
                            "old clients ignore it".to_owned()
                        },
                    ),
                    Polarity::Request => (
                        required_now,
                        oclosed,
                        if required_now {
                            "old clients do not send it".to_owned()
                        } else {
                            "optional".to_owned()
                        },
                    ),
                };
                self.emit(
                    if required_now {
                        R::PROPERTY_ADDED_REQUIRED
                    } else {
                        R::PROPERTY_ADDED_OPTIONAL
                    },
                    combine(breaks_old, breaks_new),
                    &at,
                    format!("property {name} added ({why})"),
                );
                continue;
            };
            let old_hidden = hidden(self.old, old_schema);
            let required_before = oreq.contains(name) && !old_hidden;
            if old_hidden != new_hidden {
                let (rule, direction, why) = match (pol, new_hidden) {
                    (Polarity::Request, true) => (
                        R::PROPERTY_BECAME_READ_ONLY,
                        Direction::BreaksOldClients,
                        "old clients still send it; the new server ignores or refuses it",
                    ),
                    (Polarity::Request, false) if required_now => (
                        R::PROPERTY_NO_LONGER_READ_ONLY,
                        Direction::BreaksOldClients,
                        "requests must now carry it and old clients do not",
                    ),
                    (Polarity::Request, false) => (
                        R::PROPERTY_NO_LONGER_READ_ONLY,
                        Direction::BreaksNewClients,
                        "new clients may send it; old servers ignore or refuse it",
                    ),
                    (Polarity::Response, true) if required_before => (
                        R::PROPERTY_BECAME_WRITE_ONLY,
                        Direction::BreaksOldClients,
                        "responses no longer carry it and old clients require it",
                    ),
                    (Polarity::Response, true) => (
                        R::PROPERTY_BECAME_WRITE_ONLY,
                        Direction::Neither,
                        "responses no longer carry it; old clients had it as optional",
                    ),
                    (Polarity::Response, false) if required_now => (
                        R::PROPERTY_NO_LONGER_WRITE_ONLY,
                        Direction::BreaksNewClients,
                        "new clients require it in responses; old servers do not send it",
                    ),
                    (Polarity::Response, false) => (
                        R::PROPERTY_NO_LONGER_WRITE_ONLY,
                        Direction::Neither,
                        "responses may carry it",
                    ),
                };
                self.emit(rule, direction, &at, format!("property {name}: {why}"));
            } else {
                match (required_before, required_now) {
                    (false, true) => self.emit(
                        R::PROPERTY_BECAME_REQUIRED,
                        pol.stricter(),
                        &at,
                        format!(
                            "property {name} became required{}",
                            match pol {
                                Polarity::Request => "; old clients may omit it",
                                Polarity::Response => "; old servers may omit it for new clients",
                            }
                        ),
                    ),
                    (true, false) => self.emit(
                        R::PROPERTY_BECAME_OPTIONAL,
                        pol.looser(),
                        &at,
                        format!(
                            "property {name} became optional{}",
                            match pol {
                                Polarity::Request => "; old servers still require it",
                                Polarity::Response => "; old clients require it",
                            }
                        ),
                    ),
                    _ => {}
                }
            }
            if !new_hidden {
                self.schema(
                    old_schema,
                    format!("{old_ptr}/properties/{}", seg(name)),
                    new_schema,
                    at,
                    pol,
                    !required_now,
                );
            }
        }
        for (name, old_schema) in op {
            if np.contains_key(name) {
                continue;
            }
            let old_hidden = hidden(self.old, old_schema);
            let required_before = oreq.contains(name) && !old_hidden;
            let (breaks_old, breaks_new) = match pol {
                _ if old_hidden => (false, false),
                Polarity::Response => (required_before, nclosed),
                Polarity::Request => (nclosed, required_before),
            };
            self.emit(
                R::PROPERTY_REMOVED,
                combine(breaks_old, breaks_new),
                &format!("{old_ptr}/properties/{}", seg(name)),
                format!(
                    "property {name} removed{}",
                    if required_before { " (it was required)" } else { "" }
                ),
            );
        }
        if oclosed != nclosed && (os.get("properties").is_some() || ns.get("properties").is_some())
        {
            self.emit(
                if nclosed {
                    R::ADDITIONAL_PROPERTIES_CLOSED
                } else {
                    R::ADDITIONAL_PROPERTIES_OPENED
                },
                Direction::Neither,
                ptr,
                format!(
                    "additionalProperties became {}",
                    if nclosed { "false" } else { "allowed" }
                ),
            );
        }
        if let (Some(oa), Some(na)) =
            (os.get("additionalProperties"), ns.get("additionalProperties"))
            && oa.is_object()
            && na.is_object()
        {
            self.schema(
                oa,
                format!("{old_ptr}/additionalProperties"),
                na,
                format!("{ptr}/additionalProperties"),
                pol,
                false,
            );
        }
    }

    fn discriminator(&mut self, os: &Value, ns: &Value, ptr: &str, pol: Polarity) {
        let (od, nd) = (os.get("discriminator"), ns.get("discriminator"));
        if od.is_none() && nd.is_none() {
            return;
        }
        let at = format!("{ptr}/discriminator");
        let property = |d: Option<&Value>| {
            d.and_then(|d| d.get("propertyName")).and_then(Value::as_str).map(str::to_owned)
        };
        if property(od) != property(nd) {
            self.emit(
                R::DISCRIMINATOR_CHANGED,
                Direction::Both,
                &at,
                format!(
                    "the discriminator property went from {} to {}; each document's clients tell \
                     variants apart by a property the other server does not set or read",
                    property(od).unwrap_or_else(|| "none".into()),
                    property(nd).unwrap_or_else(|| "none".into())
                ),
            );
            return;
        }
        let mapping = |d: Option<&Value>| -> BTreeMap<String, String> {
            d.and_then(|d| d.get("mapping"))
                .and_then(obj)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            // Targets compare by name: a component renamed
                            // everywhere changes nothing.
                            let target = v.as_str().unwrap_or_default();
                            (k.clone(), target.rsplit('/').next().unwrap_or(target).to_owned())
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let (om, nm) = (mapping(od), mapping(nd));
        for (value, target) in &nm {
            match om.get(value) {
                None => self.emit(
                    R::DISCRIMINATOR_MAPPING_ADDED,
                    pol.looser(),
                    &at,
                    format!(
                        "discriminator value {value} was added{}",
                        match pol {
                            Polarity::Response => "; old clients cannot pick a variant for it",
                            Polarity::Request => "; old servers do not know it",
                        }
                    ),
                ),
                Some(old) if old != target => self.emit(
                    R::DISCRIMINATOR_MAPPING_CHANGED,
                    Direction::Both,
                    &at,
                    format!("discriminator value {value} now selects {target}, not {old}"),
                ),
                Some(_) => {}
            }
        }
        for value in om.keys().filter(|v| !nm.contains_key(*v)) {
            self.emit(
                R::DISCRIMINATOR_MAPPING_REMOVED,
                pol.stricter(),
                &at,
                format!("discriminator value {value} was removed"),
            );
        }
    }

    fn variants(
        &mut self,
        os: &'a Value,
        old_ptr: &str,
        ns: &'a Value,
        ptr: &str,
        pol: Polarity,
        keyword: &str,
    ) {
        // `{"type": "null"}` variants are nullability, judged by `schema`.
        let list = |s: &'a Value| -> Option<Vec<(usize, &'a Value)>> {
            s.get(keyword)
                .and_then(Value::as_array)
                .map(|l| l.iter().enumerate().filter(|(_, v)| !is_null_schema(v)).collect())
        };
        let (Some(ov), Some(nv)) = (list(os), list(ns)) else {
            if list(os).is_some() != list(ns).is_some() {
                self.emit(
                    R::VARIANTS_CHANGED,
                    Direction::Both,
                    ptr,
                    format!("{keyword} appeared or disappeared"),
                );
            }
            return;
        };
        let old_sigs: Vec<String> = ov
            .iter()
            .map(|(i, v)| signature(self.old, v).unwrap_or_else(|| format!("#{i}")))
            .collect();
        let new_sigs: Vec<String> = nv
            .iter()
            .map(|(i, v)| signature(self.new, v).unwrap_or_else(|| format!("#{i}")))
            .collect();
        // Variants are paired by signature: where several share one (two
        // unnamed arrays, say), the one at the same place first, then in
        // order; every variant is paired at most once.
        let mut pair: Vec<Option<usize>> = vec![None; nv.len()];
        let mut taken = vec![false; ov.len()];
        for (k, s) in new_sigs.iter().enumerate() {
            if k < old_sigs.len() && old_sigs[k] == *s {
                pair[k] = Some(k);
                taken[k] = true;
            }
        }
        for (k, s) in new_sigs.iter().enumerate() {
            if pair[k].is_none()
                && let Some(j) = (0..old_sigs.len()).find(|&j| !taken[j] && old_sigs[j] == *s)
            {
                pair[k] = Some(j);
                taken[j] = true;
            }
        }
        for (k, s) in new_sigs.iter().enumerate() {
            let (i, v) = nv[k];
            match pair[k] {
                Some(j) => self.schema(
                    ov[j].1,
                    format!("{old_ptr}/{keyword}/{}", ov[j].0),
                    v,
                    format!("{ptr}/{keyword}/{i}"),
                    pol,
                    false,
                ),
                None => self.emit(
                    R::VARIANT_ADDED,
                    pol.looser(),
                    &format!("{ptr}/{keyword}/{i}"),
                    format!(
                        "{keyword} variant {s} added{}",
                        match pol {
                            Polarity::Response => "; old clients match no variant for it",
                            Polarity::Request => "; old servers do not accept it",
                        }
                    ),
                ),
            }
        }
        for (k, s) in old_sigs.iter().enumerate() {
            if !taken[k] {
                self.emit(
                    R::VARIANT_REMOVED,
                    pol.stricter(),
                    &format!("{old_ptr}/{keyword}/{}", ov[k].0),
                    format!(
                        "{keyword} variant {s} removed{}",
                        match pol {
                            Polarity::Request => "; old clients may still send it",
                            Polarity::Response => "; old servers may still send it to new clients",
                        }
                    ),
                );
            }
        }
    }
}

/// The values of a closed enum, written as `enum`, `const`, or a `oneOf`
/// whose variants are each a one-value `enum` or `const` (schemars' form for
/// documented variants). `null` is nullability, not a value.
fn enum_values(doc: &Value, s: &Value) -> Option<BTreeSet<String>> {
    let values = |s: &Value| -> Option<Vec<String>> {
        if let Some(values) = s.get("enum").and_then(Value::as_array) {
            return Some(values.iter().filter(|v| !v.is_null()).map(Value::to_string).collect());
        }
        s.get("const").filter(|v| !v.is_null()).map(|v| vec![v.to_string()])
    };
    if let Some(values) = values(s) {
        return Some(values.into_iter().collect());
    }
    let variants = s.get("oneOf").or_else(|| s.get("anyOf"))?.as_array()?;
    let mut out = BTreeSet::new();
    for v in variants.iter().filter(|v| !is_null_schema(v)) {
        let (view, _) = resolve(doc, v, String::new());
        if view.schema.get("properties").is_some() {
            return None;
        }
        out.extend(values(view.schema)?);
    }
    Some(out)
}

/// The known values of an open enum: `x-extensible-enum`, or `anyOf` of an
/// enum and the unconstrained type it belongs to.
fn open_enum_values(s: &Value) -> Option<BTreeSet<String>> {
    if let Some(values) = s.get("x-extensible-enum").and_then(Value::as_array) {
        return Some(values.iter().map(Value::to_string).collect());
    }
    let list = s.get("anyOf")?.as_array()?;
    let closed = list.iter().find(|v| v.get("enum").is_some())?;
    let open = list.iter().any(|v| {
        v.get("enum").is_none()
            && v.get("type").is_some()
            && v.get("type") == closed.get("type")
            && v.get("pattern").is_none()
    });
    if list.len() != 2 || !open {
        return None;
    }
    Some(closed["enum"].as_array()?.iter().map(Value::to_string).collect())
}

/// What identifies a oneOf/anyOf variant across documents: its single enum
/// value, or its types, required and named properties; a component renamed
/// still matches by this shape.
fn signature(doc: &Value, v: &Value) -> Option<String> {
    let (view, _) = resolve(doc, v, String::new());
    let s = view.schema;
    if let Some(values) = s.get("enum").and_then(Value::as_array)
        && values.len() == 1
    {
        return Some(format!("enum {}", values[0]));
    }
    if let Some(value) = s.get("const") {
        return Some(format!("enum {value}"));
    }
    let required = strs(s.get("required"));
    let properties: Vec<&String> =
        s.get("properties").and_then(obj).map(|p| p.keys().collect()).unwrap_or_default();
    let ty = types(s).map(|t| t.into_iter().collect::<Vec<_>>().join("|"));
    if required.is_empty() && ty.is_none() && properties.is_empty() {
        return v.get("$ref").and_then(Value::as_str).map(str::to_owned);
    }
    Some(format!(
        "{} {{{}}}",
        ty.unwrap_or_else(|| "any".to_owned()),
        if required.is_empty() {
            properties.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(",")
        } else {
            required.into_iter().collect::<Vec<_>>().join(",")
        }
    ))
}

fn show(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "none".to_owned())
}

fn site(method: &str, path: &str, op: &Value) -> Site {
    Site {
        operation_id: op.get("operationId").and_then(Value::as_str).map(str::to_owned),
        method: Some(method.to_uppercase()),
        path: Some(path.to_owned()),
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
