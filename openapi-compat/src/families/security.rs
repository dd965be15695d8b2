//! Security: which credentials an operation takes (requirements and scopes) and how each scheme is used.

use crate::report::{Direction, Side};
use crate::walk::Checker;
use crate::walk::view::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

crate::rules::catalogue! {
    SECURITY_REQUIRED = "security-required": "an operation that took anonymous calls now needs credentials",
        Document,
        r##"{"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"}}}}"##,
        r##"{"security":[{"token":[]}],"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"}}}}"##;
    SECURITY_NO_LONGER_REQUIRED = "security-no-longer-required": "an operation that needed credentials takes anonymous calls",
        Document,
        r##"{"security":[{"token":[]}],"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"}}}}"##,
        r##"{"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"}}}}"##;
    SECURITY_REQUIREMENT_REMOVED = "security-requirement-removed": "one way of authenticating is no longer accepted",
        Document,
        r##"{"security":[{"token":[]},{"key":[]}],"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"},"key":{"type":"apiKey","in":"header","name":"X-Key"}}}}"##,
        r##"{"security":[{"token":[]}],"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"},"key":{"type":"apiKey","in":"header","name":"X-Key"}}}}"##;
    SECURITY_REQUIREMENT_ADDED = "security-requirement-added": "one more way of authenticating is accepted",
        Document,
        r##"{"security":[{"token":[]}],"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"},"key":{"type":"apiKey","in":"header","name":"X-Key"}}}}"##,
        r##"{"security":[{"token":[]},{"key":[]}],"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"},"key":{"type":"apiKey","in":"header","name":"X-Key"}}}}"##;
    SECURITY_SCOPES_ADDED = "security-scopes-added": "a requirement needs more OAuth scopes",
        Document,
        r##"{"security":[{"oauth":["read"]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r","write":"w"}}}}}}}"##,
        r##"{"security":[{"oauth":["read","write"]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r","write":"w"}}}}}}}"##;
    SECURITY_SCOPES_REMOVED = "security-scopes-removed": "a requirement needs fewer OAuth scopes",
        Document,
        r##"{"security":[{"oauth":["read","write"]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r","write":"w"}}}}}}}"##,
        r##"{"security":[{"oauth":["read"]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r","write":"w"}}}}}}}"##;
    SECURITY_SCHEME_TYPE_CHANGED = "security-scheme-type-changed": "a security scheme changed its type",
        Document,
        r##"{"security":[{"auth":[]}],"components":{"securitySchemes":{"auth":{"type":"apiKey","in":"header","name":"X-Key"}}}}"##,
        r##"{"security":[{"auth":[]}],"components":{"securitySchemes":{"auth":{"type":"http","scheme":"bearer"}}}}"##;
    SECURITY_SCHEME_API_KEY_CHANGED = "security-scheme-api-key-changed": "an API key moved (`in`) or was renamed",
        Document,
        r##"{"security":[{"key":[]}],"components":{"securitySchemes":{"key":{"type":"apiKey","in":"header","name":"X-Key"}}}}"##,
        r##"{"security":[{"key":[]}],"components":{"securitySchemes":{"key":{"type":"apiKey","in":"query","name":"X-Key"}}}}"##;
    SECURITY_SCHEME_HTTP_SCHEME_CHANGED = "security-scheme-http-scheme-changed": "HTTP authentication changed scheme (basic, bearer, …)",
        Document,
        r##"{"security":[{"auth":[]}],"components":{"securitySchemes":{"auth":{"type":"http","scheme":"basic"}}}}"##,
        r##"{"security":[{"auth":[]}],"components":{"securitySchemes":{"auth":{"type":"http","scheme":"bearer"}}}}"##;
    SECURITY_SCHEME_BEARER_FORMAT_CHANGED = "security-scheme-bearer-format-changed": "the bearer token format changed",
        Document,
        r##"{"security":[{"auth":[]}],"components":{"securitySchemes":{"auth":{"type":"http","scheme":"bearer","bearerFormat":"JWT"}}}}"##,
        r##"{"security":[{"auth":[]}],"components":{"securitySchemes":{"auth":{"type":"http","scheme":"bearer","bearerFormat":"opaque"}}}}"##;
    SECURITY_SCHEME_OAUTH_FLOW_REMOVED = "security-scheme-oauth-flow-removed": "an OAuth flow is gone",
        Document,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{}},"password":{"tokenUrl":"https://auth.example/token","scopes":{}}}}}}}"##,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{}}}}}}}"##;
    SECURITY_SCHEME_OAUTH_FLOW_ADDED = "security-scheme-oauth-flow-added": "an OAuth flow is new",
        Document,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{}}}}}}}"##,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{}},"password":{"tokenUrl":"https://auth.example/token","scopes":{}}}}}}}"##;
    SECURITY_SCHEME_OAUTH_URL_CHANGED = "security-scheme-oauth-url-changed": "an OAuth flow's authorization, token or refresh URL changed",
        Document,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{}}}}}}}"##,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://login.example/oauth/token","scopes":{}}}}}}}"##;
    SECURITY_SCHEME_SCOPE_REMOVED = "security-scheme-scope-removed": "an OAuth scope is gone from a flow",
        Document,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r","admin":"a"}}}}}}}"##,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r"}}}}}}}"##;
    SECURITY_SCHEME_SCOPE_ADDED = "security-scheme-scope-added": "an OAuth scope is new in a flow",
        Document,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r"}}}}}}}"##,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r","admin":"a"}}}}}}}"##;
    SECURITY_SCHEME_OPENID_URL_CHANGED = "security-scheme-openid-url-changed": "an OpenID Connect discovery URL changed",
        Document,
        r##"{"security":[{"oidc":[]}],"components":{"securitySchemes":{"oidc":{"type":"openIdConnect","openIdConnectUrl":"https://a.example/.well-known/openid-configuration"}}}}"##,
        r##"{"security":[{"oidc":[]}],"components":{"securitySchemes":{"oidc":{"type":"openIdConnect","openIdConnectUrl":"https://b.example/.well-known/openid-configuration"}}}}"##;
}

impl<'a> Checker<'a> {
    /// Requirements (which schemes, which scopes) and the schemes they name.
    /// A generated client carries no credentials of its own: the code that
    /// builds it supplies them as the old document asked, so both profiles
    /// judge these alike.
    pub(crate) fn security(&mut self, old_op: &'a Value, op: &'a Value, ptr: &str) {
        let old = requirements(self.old, old_op);
        let new = requirements(self.new, op);
        let at = format!("{ptr}/security");
        match (anonymous(&old), anonymous(&new)) {
            (true, false) => self.emit(
                SECURITY_REQUIRED,
                Direction::BreaksOldClients,
                &at,
                "credentials became required; old clients call without them and get 401".to_owned(),
            ),
            (false, true) => self.emit(
                SECURITY_NO_LONGER_REQUIRED,
                Direction::BreaksNewClients,
                &at,
                "credentials became optional; new clients may call without them, which old \
                 servers refuse"
                    .to_owned(),
            ),
            (true, true) => {}
            (false, false) => {
                // Alternatives are paired exactly first, then by the schemes
                // they name (in order, each once), so one of several naming
                // the same scheme with other scopes is not mistaken for another.
                let mut taken = vec![false; new.len()];
                let mut pairs: Vec<(usize, Option<usize>)> = Vec::new();
                let mut unpaired = Vec::new();
                for (i, alt) in old.iter().enumerate() {
                    match (0..new.len()).find(|&j| !taken[j] && new[j] == *alt) {
                        Some(j) => taken[j] = true,
                        None => unpaired.push(i),
                    }
                }
                for i in unpaired {
                    let name = alternative_name(&old[i]);
                    let j =
                        (0..new.len()).find(|&j| !taken[j] && alternative_name(&new[j]) == name);
                    if let Some(j) = j {
                        taken[j] = true;
                    }
                    pairs.push((i, j));
                }
                for (i, j) in pairs {
                    let (alt, name) = (&old[i], alternative_name(&old[i]));
                    let Some(j) = j else {
                        self.emit(
                            SECURITY_REQUIREMENT_REMOVED,
                            Direction::BreaksOldClients,
                            &at,
                            format!(
                                "credentials by {name} are no longer accepted; old clients that \
                                 authenticate that way get 401"
                            ),
                        );
                        continue;
                    };
                    for (scheme, scopes) in &new[j] {
                        let before = alt.get(scheme).cloned().unwrap_or_default();
                        let added: Vec<_> = scopes.difference(&before).cloned().collect();
                        let removed: Vec<_> = before.difference(scopes).cloned().collect();
                        if !added.is_empty() {
                            self.emit(
                                SECURITY_SCOPES_ADDED,
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
                                SECURITY_SCOPES_REMOVED,
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
                for j in (0..new.len()).filter(|&j| !taken[j]) {
                    let name = alternative_name(&new[j]);
                    self.emit(
                        SECURITY_REQUIREMENT_ADDED,
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

    pub(crate) fn security_scheme(&mut self, name: &str) {
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
                SECURITY_SCHEME_TYPE_CHANGED,
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
                            SECURITY_SCHEME_API_KEY_CHANGED,
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
                        SECURITY_SCHEME_HTTP_SCHEME_CHANGED,
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
                        SECURITY_SCHEME_BEARER_FORMAT_CHANGED,
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
                            SECURITY_SCHEME_OAUTH_FLOW_REMOVED,
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
                                SECURITY_SCHEME_OAUTH_URL_CHANGED,
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
                            SECURITY_SCHEME_SCOPE_REMOVED,
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
                            SECURITY_SCHEME_SCOPE_ADDED,
                            Direction::Neither,
                            &format!("{at}/scopes"),
                            format!("scope {} of {name} was added", added.join(", ")),
                        );
                    }
                }
                for flow in nf.keys().filter(|f| !of.contains_key(*f)) {
                    self.emit(
                        SECURITY_SCHEME_OAUTH_FLOW_ADDED,
                        Direction::Neither,
                        &format!("{ptr}/flows/{}", seg(flow)),
                        format!("OAuth flow {flow} of {name} was added: one more way to a token"),
                    );
                }
            }
            Some("openIdConnect") if text(o, "openIdConnectUrl") != text(n, "openIdConnectUrl") => {
                self.emit(
                    SECURITY_SCHEME_OPENID_URL_CHANGED,
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
}

pub(crate) type Requirements = Vec<BTreeMap<String, BTreeSet<String>>>;

/// An operation's security requirements (its own, or the document's).
pub(crate) fn requirements(doc: &Value, op: &Value) -> Requirements {
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
pub(crate) fn anonymous(reqs: &Requirements) -> bool {
    reqs.is_empty() || reqs.iter().any(BTreeMap::is_empty)
}

pub(crate) fn alternative_name(alt: &BTreeMap<String, BTreeSet<String>>) -> String {
    alt.keys().cloned().collect::<Vec<_>>().join(" + ")
}

#[cfg(test)]
pub(crate) fn cases() -> Vec<super::cases::Case> {
    use super::cases::*;
    vec![
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
            |d| {
                *at(d, &format!("{SCHEMES}/oauth/flows/clientCredentials/tokenUrl")) =
                    json!("https://login.example/token")
            },
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
            |d| {
                *at(d, &format!("{SCHEMES}/oidc/openIdConnectUrl")) =
                    json!("https://other.example/.well-known/openid-configuration")
            },
            vec![("security-scheme-openid-url-changed", BreaksOldClients)],
        ),
        case(
            "a scheme no operation uses changed",
            |d| *at(d, &format!("{SCHEMES}/unused")) = json!({"type": "http", "scheme": "basic"}),
            vec![],
        ),
        case(
            "one of two requirements of the same scheme removed",
            |d| {
                at(d, &format!("{GET}/security")).as_array_mut().unwrap().pop();
            },
            vec![("security-requirement-removed", BreaksOldClients)],
        )
        .setup(|d| {
            at(d, &format!("{GET}/security"))
                .as_array_mut()
                .unwrap()
                .push(json!({"oauth": ["write"]}));
        }),
    ]
}
