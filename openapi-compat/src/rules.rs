//! Every rule the checker reports, each with one example. The rule list in
//! `docs/compat-rules.md` is [`markdown`]'s output: the levels it shows are
//! what [`crate::compare`] reports for each example under each client
//! profile, so the document cannot say one thing while the code does
//! another (`cargo xtask regenerate` rewrites it; a test fails when stale).

use crate::report::{Client, Level, Side};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Where an example's two JSON merge patches (RFC 7396) apply in
/// [`template`].
#[derive(Clone, Copy, Debug)]
pub enum At {
    /// The `Pet` schema, which is both `PUT /pets/{id}`'s request body and
    /// its 200 response: one example shows both sides.
    Pet,
    /// The operation `PUT /pets/{id}`.
    Operation,
    /// The document's root.
    Document,
}

#[derive(Clone, Copy, Debug)]
pub struct Example {
    pub at: At,
    /// Merge patch giving the old document.
    pub old: &'static str,
    /// Merge patch giving the new document.
    pub new: &'static str,
}

#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// Stable id, as reported in [`crate::Change::rule`] and named in
    /// ignore files.
    pub id: &'static str,
    /// What the rule finds.
    pub finds: &'static str,
    pub example: Example,
}

const fn rule(
    id: &'static str,
    finds: &'static str,
    at: At,
    old: &'static str,
    new: &'static str,
) -> Rule {
    Rule { id, finds, example: Example { at, old, new } }
}

use At::{Document, Operation, Pet};

/// Every rule, in the order the documentation lists them.
pub static RULES: &[Rule] = &[
    // Operations and paths.
    rule(
        "operation-removed",
        "an operation is gone",
        Document,
        r##"{"paths":{"/pets":{"get":{"responses":{"204":{"description":"none"}}}}}}"##,
        "{}",
    ),
    rule(
        "operation-added",
        "an operation is new",
        Document,
        "{}",
        r##"{"paths":{"/pets":{"get":{"responses":{"204":{"description":"none"}}}}}}"##,
    ),
    rule(
        "operation-id-changed",
        "an operationId changed (generated method names follow it)",
        Operation,
        "{}",
        r##"{"operationId":"pet_replace"}"##,
    ),
    rule(
        "path-parameter-renamed",
        "a path parameter is named differently in the route",
        Document,
        "{}",
        r##"{"paths":{"/pets/{id}":null,"/pets/{petId}":{"put":{"operationId":"pet_put","parameters":[{"in":"path","name":"petId","required":true,"schema":{"type":"string"}}],"responses":{"204":{"description":"ok"}}}}}}"##,
    ),
    rule(
        "paths-ambiguous",
        "two paths differ only in parameter names, which makes the document invalid",
        Document,
        "{}",
        r##"{"paths":{"/pets/{petId}":{"get":{"parameters":[{"in":"path","name":"petId","required":true,"schema":{"type":"string"}}],"responses":{"204":{"description":"ok"}}}}}}"##,
    ),
    // Security requirements.
    rule(
        "security-required",
        "an operation that took anonymous calls now needs credentials",
        Document,
        r##"{"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"}}}}"##,
        r##"{"security":[{"token":[]}],"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"}}}}"##,
    ),
    rule(
        "security-no-longer-required",
        "an operation that needed credentials takes anonymous calls",
        Document,
        r##"{"security":[{"token":[]}],"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"}}}}"##,
        r##"{"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"}}}}"##,
    ),
    rule(
        "security-requirement-removed",
        "one way of authenticating is no longer accepted",
        Document,
        r##"{"security":[{"token":[]},{"key":[]}],"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"},"key":{"type":"apiKey","in":"header","name":"X-Key"}}}}"##,
        r##"{"security":[{"token":[]}],"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"},"key":{"type":"apiKey","in":"header","name":"X-Key"}}}}"##,
    ),
    rule(
        "security-requirement-added",
        "one more way of authenticating is accepted",
        Document,
        r##"{"security":[{"token":[]}],"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"},"key":{"type":"apiKey","in":"header","name":"X-Key"}}}}"##,
        r##"{"security":[{"token":[]},{"key":[]}],"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"},"key":{"type":"apiKey","in":"header","name":"X-Key"}}}}"##,
    ),
    rule(
        "security-scopes-added",
        "a requirement needs more OAuth scopes",
        Document,
        r##"{"security":[{"oauth":["read"]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r","write":"w"}}}}}}}"##,
        r##"{"security":[{"oauth":["read","write"]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r","write":"w"}}}}}}}"##,
    ),
    rule(
        "security-scopes-removed",
        "a requirement needs fewer OAuth scopes",
        Document,
        r##"{"security":[{"oauth":["read","write"]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r","write":"w"}}}}}}}"##,
        r##"{"security":[{"oauth":["read"]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r","write":"w"}}}}}}}"##,
    ),
    // Security schemes.
    rule(
        "security-scheme-type-changed",
        "a security scheme changed its type",
        Document,
        r##"{"security":[{"auth":[]}],"components":{"securitySchemes":{"auth":{"type":"apiKey","in":"header","name":"X-Key"}}}}"##,
        r##"{"security":[{"auth":[]}],"components":{"securitySchemes":{"auth":{"type":"http","scheme":"bearer"}}}}"##,
    ),
    rule(
        "security-scheme-api-key-changed",
        "an API key moved (`in`) or was renamed",
        Document,
        r##"{"security":[{"key":[]}],"components":{"securitySchemes":{"key":{"type":"apiKey","in":"header","name":"X-Key"}}}}"##,
        r##"{"security":[{"key":[]}],"components":{"securitySchemes":{"key":{"type":"apiKey","in":"query","name":"X-Key"}}}}"##,
    ),
    rule(
        "security-scheme-http-scheme-changed",
        "HTTP authentication changed scheme (basic, bearer, …)",
        Document,
        r##"{"security":[{"auth":[]}],"components":{"securitySchemes":{"auth":{"type":"http","scheme":"basic"}}}}"##,
        r##"{"security":[{"auth":[]}],"components":{"securitySchemes":{"auth":{"type":"http","scheme":"bearer"}}}}"##,
    ),
    rule(
        "security-scheme-bearer-format-changed",
        "the bearer token format changed",
        Document,
        r##"{"security":[{"auth":[]}],"components":{"securitySchemes":{"auth":{"type":"http","scheme":"bearer","bearerFormat":"JWT"}}}}"##,
        r##"{"security":[{"auth":[]}],"components":{"securitySchemes":{"auth":{"type":"http","scheme":"bearer","bearerFormat":"opaque"}}}}"##,
    ),
    rule(
        "security-scheme-oauth-flow-removed",
        "an OAuth flow is gone",
        Document,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{}},"password":{"tokenUrl":"https://auth.example/token","scopes":{}}}}}}}"##,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{}}}}}}}"##,
    ),
    rule(
        "security-scheme-oauth-flow-added",
        "an OAuth flow is new",
        Document,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{}}}}}}}"##,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{}},"password":{"tokenUrl":"https://auth.example/token","scopes":{}}}}}}}"##,
    ),
    rule(
        "security-scheme-oauth-url-changed",
        "an OAuth flow's authorization, token or refresh URL changed",
        Document,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{}}}}}}}"##,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://login.example/oauth/token","scopes":{}}}}}}}"##,
    ),
    rule(
        "security-scheme-scope-removed",
        "an OAuth scope is gone from a flow",
        Document,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r","admin":"a"}}}}}}}"##,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r"}}}}}}}"##,
    ),
    rule(
        "security-scheme-scope-added",
        "an OAuth scope is new in a flow",
        Document,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r"}}}}}}}"##,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r","admin":"a"}}}}}}}"##,
    ),
    rule(
        "security-scheme-openid-url-changed",
        "an OpenID Connect discovery URL changed",
        Document,
        r##"{"security":[{"oidc":[]}],"components":{"securitySchemes":{"oidc":{"type":"openIdConnect","openIdConnectUrl":"https://a.example/.well-known/openid-configuration"}}}}"##,
        r##"{"security":[{"oidc":[]}],"components":{"securitySchemes":{"oidc":{"type":"openIdConnect","openIdConnectUrl":"https://b.example/.well-known/openid-configuration"}}}}"##,
    ),
    // Parameters.
    rule(
        "parameter-moved",
        "a parameter moved to another location (query, header, …)",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"dry_run","schema":{"type":"boolean"}}]}"##,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"header","name":"dry_run","schema":{"type":"boolean"}}]}"##,
    ),
    rule(
        "parameter-added-required",
        "a required parameter is new",
        Operation,
        "{}",
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","required":true,"schema":{"type":"string"}}]}"##,
    ),
    rule(
        "parameter-added-optional",
        "an optional parameter is new",
        Operation,
        "{}",
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","schema":{"type":"string"}}]}"##,
    ),
    rule(
        "parameter-became-required",
        "an optional parameter became required",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","schema":{"type":"string"}}]}"##,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","required":true,"schema":{"type":"string"}}]}"##,
    ),
    rule(
        "parameter-became-optional",
        "a required parameter became optional",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","required":true,"schema":{"type":"string"}}]}"##,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","schema":{"type":"string"}}]}"##,
    ),
    rule(
        "parameter-style-changed",
        "a parameter's `style` or `explode` (with their defaults) changed",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"tags","schema":{"type":"array","items":{"type":"string"}}}]}"##,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"tags","style":"pipeDelimited","explode":false,"schema":{"type":"array","items":{"type":"string"}}}]}"##,
    ),
    rule(
        "parameter-empty-value-refused",
        "`allowEmptyValue` was withdrawn",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"filter","allowEmptyValue":true,"schema":{"type":"string"}}]}"##,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"filter","schema":{"type":"string"}}]}"##,
    ),
    rule(
        "parameter-empty-value-allowed",
        "`allowEmptyValue` was granted",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"filter","schema":{"type":"string"}}]}"##,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"filter","allowEmptyValue":true,"schema":{"type":"string"}}]}"##,
    ),
    rule(
        "parameter-removed",
        "a parameter is gone",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","required":true,"schema":{"type":"string"}}]}"##,
        "{}",
    ),
    // Request bodies and media types.
    rule(
        "request-body-added",
        "an operation takes a body it did not",
        Document,
        r##"{"paths":{"/pets":{"post":{"responses":{"204":{"description":"ok"}}}}}}"##,
        r##"{"paths":{"/pets":{"post":{"requestBody":{"required":true,"content":{"application/json":{"schema":{"type":"object"}}}},"responses":{"204":{"description":"ok"}}}}}}"##,
    ),
    rule(
        "request-body-removed",
        "an operation no longer takes a body",
        Operation,
        "{}",
        r##"{"requestBody":null}"##,
    ),
    rule(
        "request-body-became-required",
        "an optional body became required",
        Operation,
        r##"{"requestBody":{"required":false}}"##,
        "{}",
    ),
    rule(
        "request-body-became-optional",
        "a required body became optional",
        Operation,
        "{}",
        r##"{"requestBody":{"required":false}}"##,
    ),
    rule(
        "media-type-removed",
        "a media type is no longer accepted or returned",
        Operation,
        r##"{"requestBody":{"content":{"application/yaml":{"schema":{"type":"string"}}}}}"##,
        "{}",
    ),
    rule(
        "media-type-added",
        "a media type is new",
        Operation,
        "{}",
        r##"{"requestBody":{"content":{"application/yaml":{"schema":{"type":"string"}}}}}"##,
    ),
    // Responses.
    rule(
        "response-status-removed",
        "a response status is no longer documented",
        Operation,
        r##"{"responses":{"409":{"description":"conflict"}}}"##,
        "{}",
    ),
    rule(
        "response-status-added",
        "a response status is new (and no `default` or range documented it)",
        Operation,
        "{}",
        r##"{"responses":{"409":{"description":"conflict"}}}"##,
    ),
    rule(
        "response-header-removed",
        "a response header is gone",
        Operation,
        r##"{"responses":{"200":{"headers":{"ETag":{"required":true,"schema":{"type":"string"}}}}}}"##,
        "{}",
    ),
    rule(
        "response-header-added",
        "a response header is new",
        Operation,
        "{}",
        r##"{"responses":{"200":{"headers":{"ETag":{"required":true,"schema":{"type":"string"}}}}}}"##,
    ),
    rule(
        "response-header-became-optional",
        "a required response header became optional",
        Operation,
        r##"{"responses":{"200":{"headers":{"ETag":{"required":true,"schema":{"type":"string"}}}}}}"##,
        r##"{"responses":{"200":{"headers":{"ETag":{"required":false,"schema":{"type":"string"}}}}}}"##,
    ),
    rule(
        "response-header-became-required",
        "an optional response header became required",
        Operation,
        r##"{"responses":{"200":{"headers":{"ETag":{"schema":{"type":"string"}}}}}}"##,
        r##"{"responses":{"200":{"headers":{"ETag":{"required":true,"schema":{"type":"string"}}}}}}"##,
    ),
    rule(
        "response-header-style-changed",
        "a response header's `style` or `explode` changed",
        Operation,
        r##"{"responses":{"200":{"headers":{"X-Tags":{"schema":{"type":"array","items":{"type":"string"}}}}}}}"##,
        r##"{"responses":{"200":{"headers":{"X-Tags":{"explode":true,"schema":{"type":"array","items":{"type":"string"}}}}}}}"##,
    ),
    // Values.
    rule(
        "nullable-added",
        "a value may now be null (`nullable`, a `type` list with null, `anyOf` with null)",
        Pet,
        r##"{"required":["name"]}"##,
        r##"{"required":["name"],"properties":{"name":{"nullable":true}}}"##,
    ),
    rule(
        "nullable-removed",
        "a value may no longer be null",
        Pet,
        r##"{"properties":{"name":{"nullable":true}}}"##,
        "{}",
    ),
    rule(
        "type-widened",
        "a type admits more (`integer` to `number`, a type added to a list)",
        Pet,
        r##"{"properties":{"weight":{"type":"integer"}}}"##,
        r##"{"properties":{"weight":{"type":"number"}}}"##,
    ),
    rule(
        "type-narrowed",
        "a type admits less (`number` to `integer`, a type dropped from a list)",
        Pet,
        r##"{"properties":{"weight":{"type":"number"}}}"##,
        r##"{"properties":{"weight":{"type":"integer"}}}"##,
    ),
    rule(
        "type-changed",
        "a type changed to an unrelated one",
        Pet,
        r##"{"properties":{"weight":{"type":"number"}}}"##,
        r##"{"properties":{"weight":{"type":"string"}}}"##,
    ),
    rule(
        "integer-widened",
        "an integer format grew (`int32` to `int64`)",
        Pet,
        r##"{"properties":{"age":{"type":"integer","format":"int32"}}}"##,
        r##"{"properties":{"age":{"type":"integer","format":"int64"}}}"##,
    ),
    rule(
        "integer-narrowed",
        "an integer format shrank",
        Pet,
        r##"{"properties":{"age":{"type":"integer","format":"int64"}}}"##,
        r##"{"properties":{"age":{"type":"integer","format":"int32"}}}"##,
    ),
    rule(
        "format-added",
        "a `format` is new",
        Pet,
        "{}",
        r##"{"properties":{"name":{"format":"email"}}}"##,
    ),
    rule(
        "format-removed",
        "a `format` is gone",
        Pet,
        r##"{"properties":{"name":{"format":"email"}}}"##,
        "{}",
    ),
    rule(
        "format-changed",
        "a `format` changed",
        Pet,
        r##"{"properties":{"name":{"format":"email"}}}"##,
        r##"{"properties":{"name":{"format":"hostname"}}}"##,
    ),
    rule(
        "request-enum-value-added",
        "a closed enum in a request gained a value",
        Pet,
        r##"{"properties":{"kind":{"type":"string","enum":["cat","dog"]}}}"##,
        r##"{"properties":{"kind":{"type":"string","enum":["cat","dog","fish"]}}}"##,
    ),
    rule(
        "response-enum-value-added",
        "a closed enum in a response gained a value",
        Pet,
        r##"{"properties":{"kind":{"type":"string","enum":["cat","dog"]}}}"##,
        r##"{"properties":{"kind":{"type":"string","enum":["cat","dog","fish"]}}}"##,
    ),
    rule(
        "request-enum-value-removed",
        "an enum in a request lost a value",
        Pet,
        r##"{"properties":{"kind":{"type":"string","enum":["cat","dog"]}}}"##,
        r##"{"properties":{"kind":{"type":"string","enum":["cat"]}}}"##,
    ),
    rule(
        "response-enum-value-removed",
        "an enum in a response lost a value",
        Pet,
        r##"{"properties":{"kind":{"type":"string","enum":["cat","dog"]}}}"##,
        r##"{"properties":{"kind":{"type":"string","enum":["cat"]}}}"##,
    ),
    rule(
        "extensible-enum-value-added",
        "an open enum (`x-extensible-enum`, or `anyOf` of an enum and its type) gained a value",
        Pet,
        r##"{"properties":{"kind":{"type":"string","x-extensible-enum":["cat","dog"]}}}"##,
        r##"{"properties":{"kind":{"type":"string","x-extensible-enum":["cat","dog","fish"]}}}"##,
    ),
    rule(
        "extensible-enum-value-removed",
        "an open enum lost a value",
        Pet,
        r##"{"properties":{"kind":{"type":"string","x-extensible-enum":["cat","dog"]}}}"##,
        r##"{"properties":{"kind":{"type":"string","x-extensible-enum":["cat"]}}}"##,
    ),
    rule(
        "enum-added",
        "free values became an enum",
        Pet,
        "{}",
        r##"{"properties":{"name":{"enum":["Rex","Tom"]}}}"##,
    ),
    rule(
        "enum-removed",
        "an enum became free values",
        Pet,
        r##"{"properties":{"name":{"enum":["Rex","Tom"]}}}"##,
        "{}",
    ),
    rule(
        "constraint-tightened",
        "a length, bound (inclusive or exclusive, 3.0 or 3.1 form), size, `multipleOf` or `uniqueItems` admits less",
        Pet,
        r##"{"properties":{"age":{"type":"integer","minimum":0}}}"##,
        r##"{"properties":{"age":{"type":"integer","exclusiveMinimum":0}}}"##,
    ),
    rule(
        "constraint-loosened",
        "a length, bound, size, `multipleOf` or `uniqueItems` admits more",
        Pet,
        r##"{"properties":{"tags":{"type":"array","items":{"type":"string"},"maxItems":5}}}"##,
        r##"{"properties":{"tags":{"type":"array","items":{"type":"string"},"maxItems":10}}}"##,
    ),
    rule(
        "constraint-changed",
        "a `multipleOf` changed to one neither stricter nor looser",
        Pet,
        r##"{"properties":{"age":{"type":"integer","multipleOf":2}}}"##,
        r##"{"properties":{"age":{"type":"integer","multipleOf":3}}}"##,
    ),
    rule(
        "pattern-changed",
        "a `pattern` was added, removed or changed",
        Pet,
        "{}",
        r##"{"properties":{"name":{"pattern":"^[a-z]+$"}}}"##,
    ),
    // Objects.
    rule(
        "property-added-required",
        "a required property is new",
        Pet,
        "{}",
        r##"{"required":["age"],"properties":{"age":{"type":"integer"}}}"##,
    ),
    rule(
        "property-added-optional",
        "an optional property is new",
        Pet,
        r##"{"additionalProperties":false}"##,
        r##"{"additionalProperties":false,"properties":{"age":{"type":"integer"}}}"##,
    ),
    rule(
        "property-became-required",
        "an optional property became required",
        Pet,
        "{}",
        r##"{"required":["name"]}"##,
    ),
    rule(
        "property-became-optional",
        "a required property became optional",
        Pet,
        r##"{"required":["name"]}"##,
        "{}",
    ),
    rule(
        "property-removed",
        "a property is gone",
        Pet,
        r##"{"required":["name"]}"##,
        r##"{"properties":{"name":null}}"##,
    ),
    rule(
        "property-became-read-only",
        "a property clients sent became `readOnly`",
        Pet,
        "{}",
        r##"{"properties":{"name":{"readOnly":true}}}"##,
    ),
    rule(
        "property-no-longer-read-only",
        "a `readOnly` property may be sent",
        Pet,
        r##"{"required":["name"],"properties":{"name":{"readOnly":true}}}"##,
        r##"{"required":["name"]}"##,
    ),
    rule(
        "property-became-write-only",
        "a property servers answered became `writeOnly`",
        Pet,
        r##"{"required":["name"]}"##,
        r##"{"required":["name"],"properties":{"name":{"writeOnly":true}}}"##,
    ),
    rule(
        "property-no-longer-write-only",
        "a `writeOnly` property is answered",
        Pet,
        r##"{"required":["name"],"properties":{"name":{"writeOnly":true}}}"##,
        r##"{"required":["name"]}"##,
    ),
    rule(
        "additional-properties-closed",
        "`additionalProperties: false` was set",
        Pet,
        "{}",
        r##"{"additionalProperties":false}"##,
    ),
    rule(
        "additional-properties-opened",
        "`additionalProperties: false` was withdrawn",
        Pet,
        r##"{"additionalProperties":false}"##,
        "{}",
    ),
    // Composition.
    rule(
        "discriminator-changed",
        "a discriminator was added, removed or names another property",
        Pet,
        r##"{"properties":{"shape":{"oneOf":[{"type":"object","required":["kind","r"],"properties":{"kind":{"type":"string"},"r":{"type":"number"}}},{"type":"object","required":["kind","side"],"properties":{"kind":{"type":"string"},"side":{"type":"number"}}}]}}}"##,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind"},"oneOf":[{"type":"object","required":["kind","r"],"properties":{"kind":{"type":"string"},"r":{"type":"number"}}},{"type":"object","required":["kind","side"],"properties":{"kind":{"type":"string"},"side":{"type":"number"}}}]}}}"##,
    ),
    rule(
        "discriminator-mapping-added",
        "a discriminator value is new",
        Pet,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind","mapping":{"circle":"#/components/schemas/Pet"}},"oneOf":[{"$ref":"#/components/schemas/Pet"}]}}}"##,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind","mapping":{"circle":"#/components/schemas/Pet","round":"#/components/schemas/Pet"}},"oneOf":[{"$ref":"#/components/schemas/Pet"}]}}}"##,
    ),
    rule(
        "discriminator-mapping-changed",
        "a discriminator value selects another schema",
        Pet,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind","mapping":{"circle":"#/components/schemas/Pet"}},"oneOf":[{"$ref":"#/components/schemas/Pet"}]}}}"##,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind","mapping":{"circle":"#/components/schemas/Other"}},"oneOf":[{"$ref":"#/components/schemas/Pet"}]}}}"##,
    ),
    rule(
        "discriminator-mapping-removed",
        "a discriminator value is gone",
        Pet,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind","mapping":{"circle":"#/components/schemas/Pet","round":"#/components/schemas/Pet"}},"oneOf":[{"$ref":"#/components/schemas/Pet"}]}}}"##,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind","mapping":{"circle":"#/components/schemas/Pet"}},"oneOf":[{"$ref":"#/components/schemas/Pet"}]}}}"##,
    ),
    rule(
        "variant-added",
        "a `oneOf`/`anyOf` variant is new",
        Pet,
        r##"{"properties":{"owner":{"oneOf":[{"type":"string"},{"type":"integer"}]}}}"##,
        r##"{"properties":{"owner":{"oneOf":[{"type":"string"},{"type":"integer"},{"type":"object","required":["team"],"properties":{"team":{"type":"string"}}}]}}}"##,
    ),
    rule(
        "variant-removed",
        "a `oneOf`/`anyOf` variant is gone",
        Pet,
        r##"{"properties":{"owner":{"oneOf":[{"type":"string"},{"type":"integer"}]}}}"##,
        r##"{"properties":{"owner":{"oneOf":[{"type":"string"}]}}}"##,
    ),
    rule(
        "variants-changed",
        "a schema became, or stopped being, a `oneOf`/`anyOf`",
        Pet,
        r##"{"properties":{"owner":{"oneOf":[{"type":"object","required":["a"]},{"type":"object","required":["b"]}]}}}"##,
        r##"{"properties":{"owner":{"type":"object"}}}"##,
    ),
    rule(
        "all-of-changed",
        "an `allOf` gained or lost parts",
        Pet,
        r##"{"properties":{"owner":{"allOf":[{"type":"object"},{"type":"object","properties":{"a":{"type":"string"}}}]}}}"##,
        r##"{"properties":{"owner":{"allOf":[{"type":"object"},{"type":"object","properties":{"a":{"type":"string"}}},{"type":"object","properties":{"b":{"type":"string"}}}]}}}"##,
    ),
];

/// The rule with this id.
pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

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
        "<!-- Generated from openapi-compat/src/rules.rs by `cargo xtask regenerate`; do not edit. -->\n\
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
         takes and answers a `Pet` (`openapi_compat::rules::template`); *Pet* patches that\n\
         schema, *operation* the operation, *document* the root.\n\n\
         | rule | finds | side | progenitor | generic | example (old → new) | reason given |\n\
         |---|---|---|---|---|---|---|\n",
    );
    let cell = |s: &str| s.replace('|', "\\|");
    for rule in RULES {
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
         `OPERATION RULE REASON` per line; see `openapi-compat --help`.\n",
    );
    Ok(out)
}
