//! The comparison. Operations are matched by method and path (path
//! parameters renamed still match); parameters by location and name; schemas
//! structurally, following `$ref`s in both documents, so renaming a component
//! changes nothing. Each pair of schemas is compared once per polarity, which
//! handles recursive schemas and keeps a change to a shared component from
//! being reported once per operation.
//!
//! Polarity is who writes: in a request the client writes and the server
//! reads; in a response the server writes and the client reads. Responses are
//! judged by what a progenitor/typify client accepts: string enums are closed
//! (a new value fails to decode), objects with `additionalProperties: false`
//! reject unknown properties, required properties must be present, strings
//! with length or pattern constraints are validated newtypes, integers decode
//! into the width their format names.

use crate::report::{Change, Direction, Report};
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

/// A schema after following `$ref`s and transparent single-element `allOf`
/// wrappers (how schemars writes `Option<Ref>`), with what was collected on
/// the way.
#[derive(Clone, Copy)]
struct View<'a> {
    schema: &'a Value,
    nullable: bool,
}

struct Checker<'a> {
    old: &'a Value,
    new: &'a Value,
    changes: Vec<Change>,
    seen: HashSet<(usize, usize, Polarity)>,
    site: Site,
}

fn resolve<'a>(doc: &'a Value, mut schema: &'a Value, mut ptr: String) -> (View<'a>, String) {
    let mut nullable = false;
    for _ in 0..64 {
        nullable |= schema.get("nullable").and_then(Value::as_bool).unwrap_or(false);
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
        // `allOf: [X]` with nothing else of substance is X.
        if let Some(all) = schema.get("allOf").and_then(Value::as_array)
            && all.len() == 1
            && schema.get("properties").is_none()
            && schema.get("type").is_none()
        {
            schema = &all[0];
            ptr = format!("{ptr}/allOf/0");
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

impl<'a> Checker<'a> {
    fn emit(&mut self, rule: &'static str, direction: Direction, pointer: &str, reason: String) {
        self.changes.push(Change {
            rule,
            level: direction.level(),
            direction,
            operation_id: self.site.operation_id.clone(),
            method: self.site.method.clone(),
            path: self.site.path.clone(),
            pointer: format!("#{pointer}"),
            reason,
        });
    }

    // ----- operations -------------------------------------------------------

    fn operations(doc: &Value) -> BTreeMap<(String, String), (String, &Value, Vec<&Value>)> {
        let mut out = BTreeMap::new();
        let Some(paths) = doc.get("paths").and_then(obj) else { return out };
        for (path, item) in paths {
            let shared: Vec<&Value> = item
                .get("parameters")
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    out.insert(
                        (method.to_owned(), normalize(path)),
                        (path.clone(), op, shared.clone()),
                    );
                }
            }
        }
        out
    }

    fn run(&mut self) {
        let old_ops = Self::operations(self.old);
        let new_ops = Self::operations(self.new);
        for (key, (path, op, _)) in &old_ops {
            if !new_ops.contains_key(key) {
                self.site = site(&key.0, path, op);
                self.emit(
                    "operation-removed",
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
            let Some((old_path, old_op, old_shared)) = old_ops.get(key) else {
                self.emit(
                    "operation-added",
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
                    "operation-id-changed",
                    Direction::Neither,
                    &ptr,
                    format!(
                        "operationId {old_id:?} became {new_id:?}: regenerated clients rename the method"
                    ),
                );
            }
            if old_path != path {
                self.emit(
                    "path-parameter-renamed",
                    Direction::Neither,
                    &ptr,
                    format!("path {old_path} is now written {path}"),
                );
            }
            self.parameters(old_path, old_op, old_shared, path, op, shared, &ptr);
            self.request_body(old_op, op, &ptr);
            self.responses(old_op, op, &ptr);
        }
    }

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
            let key = match positions.iter().position(|n| *n == name) {
                Some(i) if location == "path" => format!("{{{i}}}"),
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
                            "parameter-moved",
                            Direction::Both,
                            &at,
                            format!("parameter {name} moved from {from} to {location}"),
                        );
                    } else if required(p) {
                        self.emit(
                            "parameter-added-required",
                            Direction::BreaksOldClients,
                            &at,
                            format!("new required {location} parameter {name}; old clients do not send it"),
                        );
                    } else {
                        self.emit(
                            "parameter-added-optional",
                            Direction::Neither,
                            &at,
                            format!("new optional {location} parameter {name}"),
                        );
                    }
                }
                Some(old_p) => {
                    match (required(old_p), required(p)) {
                        (false, true) => self.emit(
                            "parameter-became-required",
                            Direction::BreaksOldClients,
                            &at,
                            format!("{location} parameter {name} became required; old clients may omit it"),
                        ),
                        (true, false) => self.emit(
                            "parameter-became-optional",
                            Direction::BreaksNewClients,
                            &at,
                            format!("{location} parameter {name} became optional; old servers still require it"),
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
                "parameter-removed",
                if required(p) { Direction::BreaksNewClients } else { Direction::Neither },
                &format!("{ptr}/parameters[{location}:{name}]"),
                format!(
                    "{location} parameter {name} was removed{}",
                    if required(p) { "; old servers still require it" } else { "" }
                ),
            );
        }
    }

    fn request_body(&mut self, old_op: &'a Value, op: &'a Value, ptr: &str) {
        let body = |doc: &'a Value, op: &'a Value| {
            op.get("requestBody").map(|b| resolve(doc, b, String::new()).0.schema)
        };
        let at = format!("{ptr}/requestBody");
        let required = |b: &Value| b.get("required").and_then(Value::as_bool).unwrap_or(false);
        match (body(self.old, old_op), body(self.new, op)) {
            (None, None) => {}
            (None, Some(b)) => self.emit(
                "request-body-added",
                if required(b) { Direction::BreaksOldClients } else { Direction::Neither },
                &at,
                "a request body was added".to_owned(),
            ),
            (Some(b), None) => self.emit(
                "request-body-removed",
                if required(b) { Direction::BreaksNewClients } else { Direction::Neither },
                &at,
                "the request body was removed".to_owned(),
            ),
            (Some(old_b), Some(new_b)) => {
                match (required(old_b), required(new_b)) {
                    (false, true) => self.emit(
                        "request-body-became-required",
                        Direction::BreaksOldClients,
                        &at,
                        "the request body became required".to_owned(),
                    ),
                    (true, false) => self.emit(
                        "request-body-became-optional",
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
                    "media-type-removed",
                    match polarity {
                        Polarity::Request => Direction::BreaksOldClients,
                        Polarity::Response => Direction::BreaksOldClients,
                    },
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
                    "media-type-added",
                    Direction::Neither,
                    &format!("{at}/content/{}", seg(media)),
                    format!("media type {media} was added"),
                );
            }
        }
    }

    fn responses(&mut self, old_op: &'a Value, op: &'a Value, ptr: &str) {
        let old_r = old_op.get("responses").and_then(obj).unwrap_or(&EMPTY);
        let new_r = op.get("responses").and_then(obj).unwrap_or(&EMPTY);
        let success = |code: &str| code.starts_with('2');
        for (code, old_resp) in old_r {
            let at = format!("{ptr}/responses/{}", seg(code));
            match new_r.get(code) {
                None => self.emit(
                    "response-status-removed",
                    if success(code) { Direction::BreaksNewClients } else { Direction::Neither },
                    &at,
                    format!(
                        "response {code} was removed{}",
                        if success(code) {
                            "; old servers still send it and new clients cannot decode it"
                        } else {
                            ""
                        }
                    ),
                ),
                Some(new_resp) => {
                    let (o, _) = resolve(self.old, old_resp, String::new());
                    let (n, _) = resolve(self.new, new_resp, String::new());
                    self.content(o.schema, n.schema, &at, Polarity::Response);
                }
            }
        }
        for code in new_r.keys() {
            if !old_r.contains_key(code) {
                self.emit(
                    "response-status-added",
                    if success(code) { Direction::BreaksOldClients } else { Direction::Neither },
                    &format!("{ptr}/responses/{}", seg(code)),
                    format!(
                        "response {code} was added{}",
                        if success(code) { "; old generated clients treat an undocumented status as an unexpected response" } else { "" }
                    ),
                );
            }
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
        // Nullability belongs to the place (schemars puts it on the wrapper
        // around a `$ref`), so it is judged here, before the memo.
        match (o.nullable, n.nullable) {
            (false, true) => {
                let direction = match pol {
                    Polarity::Response if optional => Direction::Neither,
                    Polarity::Response => Direction::BreaksOldClients,
                    Polarity::Request => Direction::BreaksNewClients,
                };
                self.emit(
                    "nullable-added",
                    direction,
                    &ptr,
                    "the value may now be null".to_owned(),
                );
            }
            (true, false) => self.emit(
                "nullable-removed",
                pol.stricter(),
                &ptr,
                "the value may no longer be null".to_owned(),
            ),
            _ => {}
        }
        let key = (o.schema as *const Value as usize, n.schema as *const Value as usize, pol);
        if !self.seen.insert(key) {
            return;
        }
        let (os, ns) = (o.schema, n.schema);

        // Type.
        let otype = os.get("type").and_then(Value::as_str);
        let ntype = ns.get("type").and_then(Value::as_str);
        if let (Some(a), Some(b)) = (otype, ntype)
            && a != b
        {
            self.emit(
                "type-changed",
                Direction::Both,
                &ptr,
                format!("type changed from {a} to {b}"),
            );
            return;
        }

        self.format(os, ns, &ptr, pol);
        self.enums(os, ns, &ptr, pol);
        self.constraints(os, ns, &ptr, pol);
        self.object(os, &old_ptr, ns, &ptr, pol);

        if let (Some(oi), Some(ni)) = (os.get("items"), ns.get("items")) {
            self.schema(oi, format!("{old_ptr}/items"), ni, format!("{ptr}/items"), pol, false);
        }
        // A oneOf of single-value enums is a string enum (schemars writes
        // documented variants that way; typify reads it back as one closed
        // Rust enum): compared as an enum above, not as variants.
        let enum_like = |doc, s| enum_values(doc, s).is_some() && s.get("enum").is_none();
        if !(enum_like(self.old, os) || enum_like(self.new, ns)) {
            for keyword in ["oneOf", "anyOf"] {
                self.variants(os, &old_ptr, ns, &ptr, pol, keyword);
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
                    "all-of-changed",
                    Direction::Both,
                    &ptr,
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
                    ("integer-widened", pol.looser())
                } else {
                    ("integer-narrowed", pol.stricter())
                };
                self.emit(
                    rule,
                    direction,
                    ptr,
                    format!(
                        "integer format {} became {}",
                        of.unwrap_or_default(),
                        nf.unwrap_or_default()
                    ),
                );
            }
            _ => match (of, nf) {
                (None, Some(f)) => {
                    self.emit("format-added", pol.stricter(), ptr, format!("format {f} was added"))
                }
                (Some(f), None) => self.emit(
                    "format-removed",
                    pol.looser(),
                    ptr,
                    format!("format {f} was removed"),
                ),
                (a, b) => self.emit(
                    "format-changed",
                    Direction::Both,
                    ptr,
                    format!("format {} became {}", a.unwrap_or_default(), b.unwrap_or_default()),
                ),
            },
        }
    }

    fn enums(&mut self, os: &Value, ns: &Value, ptr: &str, pol: Polarity) {
        match (enum_values(self.old, os), enum_values(self.new, ns)) {
            (Some(old), Some(new)) => {
                let added: Vec<_> = new.difference(&old).cloned().collect();
                let removed: Vec<_> = old.difference(&new).cloned().collect();
                if !added.is_empty() {
                    let why = match pol {
                        Polarity::Response => {
                            "; generated clients close enums, so old clients fail to decode it"
                        }
                        Polarity::Request => "; old servers reject it",
                    };
                    self.emit(
                        match pol {
                            Polarity::Response => "response-enum-value-added",
                            Polarity::Request => "request-enum-value-added",
                        },
                        pol.looser(),
                        ptr,
                        format!("enum value {} added{why}", added.join(", ")),
                    );
                }
                if !removed.is_empty() {
                    self.emit(
                        match pol {
                            Polarity::Response => "response-enum-value-removed",
                            Polarity::Request => "request-enum-value-removed",
                        },
                        pol.stricter(),
                        ptr,
                        format!("enum value {} removed", removed.join(", ")),
                    );
                }
            }
            (None, Some(_)) => self.emit(
                "enum-added",
                pol.stricter(),
                ptr,
                "values are now restricted to an enum".to_owned(),
            ),
            (Some(_), None) => self.emit(
                "enum-removed",
                pol.looser(),
                ptr,
                "values are no longer restricted to an enum".to_owned(),
            ),
            (None, None) => {}
        }
    }

    fn constraints(&mut self, os: &Value, ns: &Value, ptr: &str, pol: Polarity) {
        let num = |s: &Value, k: &str| s.get(k).and_then(Value::as_f64);
        // (keyword, a larger value is stricter?)
        for (keyword, larger_is_stricter) in [
            ("minLength", true),
            ("maxLength", false),
            ("minimum", true),
            ("maximum", false),
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
            let items = keyword.ends_with("Items") || keyword.ends_with("Properties");
            // typify validates string constraints and picks integer types from
            // numeric bounds when it decodes; it does not check array sizes.
            let direction = if stricter {
                pol.stricter()
            } else if items && pol == Polarity::Response {
                Direction::Neither
            } else {
                pol.looser()
            };
            self.emit(
                if stricter { "constraint-tightened" } else { "constraint-loosened" },
                direction,
                ptr,
                format!("{keyword} {} became {}", show(a), show(b)),
            );
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
            self.emit("pattern-changed", direction, ptr, format!("pattern {a:?} became {b:?}"));
        }
    }

    fn object(&mut self, os: &'a Value, old_ptr: &str, ns: &'a Value, ptr: &str, pol: Polarity) {
        let op = os.get("properties").and_then(obj).unwrap_or(&EMPTY);
        let np = ns.get("properties").and_then(obj).unwrap_or(&EMPTY);
        let oreq = strs(os.get("required"));
        let nreq = strs(ns.get("required"));
        let closed = |s: &Value| s.get("additionalProperties") == Some(&Value::Bool(false));
        let (oclosed, nclosed) = (closed(os), closed(ns));

        for (name, new_schema) in np {
            let at = format!("{ptr}/properties/{}", seg(name));
            let required_now = nreq.contains(name);
            let Some(old_schema) = op.get(name) else {
                let (breaks_old, breaks_new, why) = match pol {
                    // Old clients reject unknown properties only if closed.
                    Polarity::Response => (
                        oclosed,
                        required_now,
                        if oclosed {
                            "old clients deny unknown fields"
                        } else {
                            "old clients ignore it"
                        },
                    ),
                    Polarity::Request => (
                        required_now,
                        oclosed,
                        if required_now { "old clients do not send it" } else { "optional" },
                    ),
                };
                self.emit(
                    if required_now {
                        "property-added-required"
                    } else {
                        "property-added-optional"
                    },
                    combine(breaks_old, breaks_new),
                    &at,
                    format!("property {name} added ({why})"),
                );
                continue;
            };
            let required_before = oreq.contains(name);
            match (required_before, required_now) {
                (false, true) => self.emit(
                    "property-became-required",
                    pol.stricter(),
                    &at,
                    format!("property {name} became required"),
                ),
                (true, false) => self.emit(
                    "property-became-optional",
                    pol.looser(),
                    &at,
                    format!("property {name} became optional"),
                ),
                _ => {}
            }
            self.schema(
                old_schema,
                format!("{old_ptr}/properties/{}", seg(name)),
                new_schema,
                at,
                pol,
                !required_now,
            );
        }
        for name in op.keys() {
            if np.contains_key(name) {
                continue;
            }
            let required_before = oreq.contains(name);
            let (breaks_old, breaks_new) = match pol {
                Polarity::Response => (required_before, nclosed),
                Polarity::Request => (nclosed, required_before),
            };
            self.emit(
                "property-removed",
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
                    "additional-properties-closed"
                } else {
                    "additional-properties-opened"
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

    fn variants(
        &mut self,
        os: &'a Value,
        old_ptr: &str,
        ns: &'a Value,
        ptr: &str,
        pol: Polarity,
        keyword: &str,
    ) {
        let list = |s: &'a Value| s.get(keyword).and_then(Value::as_array);
        let (Some(ov), Some(nv)) = (list(os), list(ns)) else {
            if list(os).is_some() != list(ns).is_some() {
                self.emit(
                    "variants-changed",
                    Direction::Both,
                    ptr,
                    format!("{keyword} appeared or disappeared"),
                );
            }
            return;
        };
        let sig = |doc: &Value, v: &Value, i: usize| -> String {
            if let Some(r) = v.get("$ref").and_then(Value::as_str) {
                // Renamed components still match by their shape below.
                let (view, _) = resolve(doc, v, String::new());
                return signature(view.schema).unwrap_or_else(|| r.to_owned());
            }
            signature(v).unwrap_or_else(|| format!("#{i}"))
        };
        let old_sigs: Vec<String> =
            ov.iter().enumerate().map(|(i, v)| sig(self.old, v, i)).collect();
        let new_sigs: Vec<String> =
            nv.iter().enumerate().map(|(i, v)| sig(self.new, v, i)).collect();
        for (i, s) in new_sigs.iter().enumerate() {
            match old_sigs.iter().position(|o| o == s) {
                Some(j) => self.schema(
                    &ov[j],
                    format!("{old_ptr}/{keyword}/{j}"),
                    &nv[i],
                    format!("{ptr}/{keyword}/{i}"),
                    pol,
                    false,
                ),
                None => self.emit(
                    "variant-added",
                    pol.looser(),
                    &format!("{ptr}/{keyword}/{i}"),
                    format!("{keyword} variant {s} added"),
                ),
            }
        }
        for (j, s) in old_sigs.iter().enumerate() {
            if !new_sigs.contains(s) {
                self.emit(
                    "variant-removed",
                    pol.stricter(),
                    &format!("{old_ptr}/{keyword}/{j}"),
                    format!("{keyword} variant {s} removed"),
                );
            }
        }
    }
}

/// The values of a string enum, written either as `enum` or as a `oneOf`
/// whose variants are each an `enum` (schemars' form for documented
/// variants).
fn enum_values(doc: &Value, s: &Value) -> Option<BTreeSet<String>> {
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        return Some(values.iter().map(Value::to_string).collect());
    }
    let variants = s.get("oneOf").or_else(|| s.get("anyOf"))?.as_array()?;
    let mut out = BTreeSet::new();
    for v in variants {
        let (view, _) = resolve(doc, v, String::new());
        let values = view.schema.get("enum")?.as_array()?;
        if view.schema.get("properties").is_some() {
            return None;
        }
        out.extend(values.iter().map(Value::to_string));
    }
    Some(out)
}

/// What identifies a oneOf/anyOf variant across documents: its single enum
/// value, or its type and required properties.
fn signature(v: &Value) -> Option<String> {
    if let Some(values) = v.get("enum").and_then(Value::as_array)
        && values.len() == 1
    {
        return Some(format!("enum {}", values[0]));
    }
    let required = strs(v.get("required"));
    let ty = v.get("type").and_then(Value::as_str);
    if required.is_empty() && ty.is_none() {
        return None;
    }
    Some(format!(
        "{} {{{}}}",
        ty.unwrap_or("any"),
        required.into_iter().collect::<Vec<_>>().join(",")
    ))
}

fn show(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "none".to_owned())
}

/// `/deployments/{deployment_id}` and `/deployments/{id}` are the same route.
fn normalize(path: &str) -> String {
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

fn site(method: &str, path: &str, op: &Value) -> Site {
    Site {
        operation_id: op.get("operationId").and_then(Value::as_str).map(str::to_owned),
        method: Some(method.to_uppercase()),
        path: Some(path.to_owned()),
    }
}

/// Compares two OpenAPI 3.0 documents. Never skips a check because the
/// documents' versions differ.
pub fn compare(old: &Value, new: &Value) -> Report {
    let mut checker =
        Checker { old, new, changes: Vec::new(), seen: HashSet::new(), site: Site::default() };
    checker.run();
    let mut changes = checker.changes;
    changes.sort_by(|a, b| {
        (a.level, &a.path, &a.method, &a.pointer).cmp(&(b.level, &b.path, &b.method, &b.pointer))
    });
    Report { changes }
}
