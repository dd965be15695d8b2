//! The catalogue: every rule the checker reports, each with one example,
//! and their identifiers ([`RuleId`]). What the examples produce, and the
//! rule list in `docs/compat-rules.md`, are [`crate::docs`]'s (apart from
//! the catalogue, so the comparison and the catalogue do not import each
//! other).

/// Where an example's two JSON merge patches (RFC 7396) apply in
/// [`crate::docs::template`].
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
    id: RuleId,
    finds: &'static str,
    at: At,
    old: &'static str,
    new: &'static str,
) -> Rule {
    Rule { id: id.0, finds, example: Example { at, old, new } }
}

/// A rule's identifier. Only this module makes one (the constants below,
/// each used once by [`RULES`]), so the comparison cannot emit a rule that
/// is not listed, and a misspelt rule does not compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(&'static str);

impl RuleId {
    /// The identifier as reported and named in ignore files.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

/// Every rule's identifier.
pub mod id {
    use super::RuleId;
    pub const OPERATION_REMOVED: RuleId = RuleId("operation-removed");
    pub const OPERATION_ADDED: RuleId = RuleId("operation-added");
    pub const OPERATION_ID_CHANGED: RuleId = RuleId("operation-id-changed");
    pub const PATH_PARAMETER_RENAMED: RuleId = RuleId("path-parameter-renamed");
    pub const PATHS_AMBIGUOUS: RuleId = RuleId("paths-ambiguous");
    pub const SECURITY_REQUIRED: RuleId = RuleId("security-required");
    pub const SECURITY_NO_LONGER_REQUIRED: RuleId = RuleId("security-no-longer-required");
    pub const SECURITY_REQUIREMENT_REMOVED: RuleId = RuleId("security-requirement-removed");
    pub const SECURITY_REQUIREMENT_ADDED: RuleId = RuleId("security-requirement-added");
    pub const SECURITY_SCOPES_ADDED: RuleId = RuleId("security-scopes-added");
    pub const SECURITY_SCOPES_REMOVED: RuleId = RuleId("security-scopes-removed");
    pub const SECURITY_SCHEME_TYPE_CHANGED: RuleId = RuleId("security-scheme-type-changed");
    pub const SECURITY_SCHEME_API_KEY_CHANGED: RuleId = RuleId("security-scheme-api-key-changed");
    pub const SECURITY_SCHEME_HTTP_SCHEME_CHANGED: RuleId =
        RuleId("security-scheme-http-scheme-changed");
    pub const SECURITY_SCHEME_BEARER_FORMAT_CHANGED: RuleId =
        RuleId("security-scheme-bearer-format-changed");
    pub const SECURITY_SCHEME_OAUTH_FLOW_REMOVED: RuleId =
        RuleId("security-scheme-oauth-flow-removed");
    pub const SECURITY_SCHEME_OAUTH_FLOW_ADDED: RuleId = RuleId("security-scheme-oauth-flow-added");
    pub const SECURITY_SCHEME_OAUTH_URL_CHANGED: RuleId =
        RuleId("security-scheme-oauth-url-changed");
    pub const SECURITY_SCHEME_SCOPE_REMOVED: RuleId = RuleId("security-scheme-scope-removed");
    pub const SECURITY_SCHEME_SCOPE_ADDED: RuleId = RuleId("security-scheme-scope-added");
    pub const SECURITY_SCHEME_OPENID_URL_CHANGED: RuleId =
        RuleId("security-scheme-openid-url-changed");
    pub const PARAMETER_MOVED: RuleId = RuleId("parameter-moved");
    pub const PARAMETER_ADDED_REQUIRED: RuleId = RuleId("parameter-added-required");
    pub const PARAMETER_ADDED_OPTIONAL: RuleId = RuleId("parameter-added-optional");
    pub const PARAMETER_BECAME_REQUIRED: RuleId = RuleId("parameter-became-required");
    pub const PARAMETER_BECAME_OPTIONAL: RuleId = RuleId("parameter-became-optional");
    pub const PARAMETER_STYLE_CHANGED: RuleId = RuleId("parameter-style-changed");
    pub const PARAMETER_EMPTY_VALUE_REFUSED: RuleId = RuleId("parameter-empty-value-refused");
    pub const PARAMETER_EMPTY_VALUE_ALLOWED: RuleId = RuleId("parameter-empty-value-allowed");
    pub const PARAMETER_REMOVED: RuleId = RuleId("parameter-removed");
    pub const REQUEST_BODY_ADDED: RuleId = RuleId("request-body-added");
    pub const REQUEST_BODY_REMOVED: RuleId = RuleId("request-body-removed");
    pub const REQUEST_BODY_BECAME_REQUIRED: RuleId = RuleId("request-body-became-required");
    pub const REQUEST_BODY_BECAME_OPTIONAL: RuleId = RuleId("request-body-became-optional");
    pub const MEDIA_TYPE_REMOVED: RuleId = RuleId("media-type-removed");
    pub const MEDIA_TYPE_ADDED: RuleId = RuleId("media-type-added");
    pub const RESPONSE_STATUS_REMOVED: RuleId = RuleId("response-status-removed");
    pub const RESPONSE_STATUS_ADDED: RuleId = RuleId("response-status-added");
    pub const RESPONSE_HEADER_REMOVED: RuleId = RuleId("response-header-removed");
    pub const RESPONSE_HEADER_ADDED: RuleId = RuleId("response-header-added");
    pub const RESPONSE_HEADER_BECAME_OPTIONAL: RuleId = RuleId("response-header-became-optional");
    pub const RESPONSE_HEADER_BECAME_REQUIRED: RuleId = RuleId("response-header-became-required");
    pub const RESPONSE_HEADER_STYLE_CHANGED: RuleId = RuleId("response-header-style-changed");
    pub const NULLABLE_ADDED: RuleId = RuleId("nullable-added");
    pub const NULLABLE_REMOVED: RuleId = RuleId("nullable-removed");
    pub const TYPE_WIDENED: RuleId = RuleId("type-widened");
    pub const TYPE_NARROWED: RuleId = RuleId("type-narrowed");
    pub const TYPE_CHANGED: RuleId = RuleId("type-changed");
    pub const INTEGER_WIDENED: RuleId = RuleId("integer-widened");
    pub const INTEGER_NARROWED: RuleId = RuleId("integer-narrowed");
    pub const FORMAT_ADDED: RuleId = RuleId("format-added");
    pub const FORMAT_REMOVED: RuleId = RuleId("format-removed");
    pub const FORMAT_CHANGED: RuleId = RuleId("format-changed");
    pub const REQUEST_ENUM_VALUE_ADDED: RuleId = RuleId("request-enum-value-added");
    pub const RESPONSE_ENUM_VALUE_ADDED: RuleId = RuleId("response-enum-value-added");
    pub const REQUEST_ENUM_VALUE_REMOVED: RuleId = RuleId("request-enum-value-removed");
    pub const RESPONSE_ENUM_VALUE_REMOVED: RuleId = RuleId("response-enum-value-removed");
    pub const EXTENSIBLE_ENUM_VALUE_ADDED: RuleId = RuleId("extensible-enum-value-added");
    pub const EXTENSIBLE_ENUM_VALUE_REMOVED: RuleId = RuleId("extensible-enum-value-removed");
    pub const ENUM_ADDED: RuleId = RuleId("enum-added");
    pub const ENUM_REMOVED: RuleId = RuleId("enum-removed");
    pub const CONSTRAINT_TIGHTENED: RuleId = RuleId("constraint-tightened");
    pub const CONSTRAINT_LOOSENED: RuleId = RuleId("constraint-loosened");
    pub const CONSTRAINT_CHANGED: RuleId = RuleId("constraint-changed");
    pub const PATTERN_CHANGED: RuleId = RuleId("pattern-changed");
    pub const DEFAULT_CHANGED: RuleId = RuleId("default-changed");
    pub const PROPERTY_ADDED_REQUIRED: RuleId = RuleId("property-added-required");
    pub const PROPERTY_ADDED_OPTIONAL: RuleId = RuleId("property-added-optional");
    pub const PROPERTY_BECAME_REQUIRED: RuleId = RuleId("property-became-required");
    pub const PROPERTY_BECAME_OPTIONAL: RuleId = RuleId("property-became-optional");
    pub const PROPERTY_REMOVED: RuleId = RuleId("property-removed");
    pub const PROPERTY_BECAME_READ_ONLY: RuleId = RuleId("property-became-read-only");
    pub const PROPERTY_NO_LONGER_READ_ONLY: RuleId = RuleId("property-no-longer-read-only");
    pub const PROPERTY_BECAME_WRITE_ONLY: RuleId = RuleId("property-became-write-only");
    pub const PROPERTY_NO_LONGER_WRITE_ONLY: RuleId = RuleId("property-no-longer-write-only");
    pub const ADDITIONAL_PROPERTIES_CLOSED: RuleId = RuleId("additional-properties-closed");
    pub const ADDITIONAL_PROPERTIES_OPENED: RuleId = RuleId("additional-properties-opened");
    pub const DISCRIMINATOR_CHANGED: RuleId = RuleId("discriminator-changed");
    pub const DISCRIMINATOR_MAPPING_ADDED: RuleId = RuleId("discriminator-mapping-added");
    pub const DISCRIMINATOR_MAPPING_CHANGED: RuleId = RuleId("discriminator-mapping-changed");
    pub const DISCRIMINATOR_MAPPING_REMOVED: RuleId = RuleId("discriminator-mapping-removed");
    pub const VARIANT_ADDED: RuleId = RuleId("variant-added");
    pub const VARIANT_REMOVED: RuleId = RuleId("variant-removed");
    pub const VARIANTS_CHANGED: RuleId = RuleId("variants-changed");
    pub const ALL_OF_CHANGED: RuleId = RuleId("all-of-changed");
}

use id::*;

use At::{Document, Operation, Pet};

/// Every rule, in the order the documentation lists them.
pub static RULES: &[Rule] = &[
    // Operations and paths.
    rule(
        OPERATION_REMOVED,
        "an operation is gone",
        Document,
        r##"{"paths":{"/pets":{"get":{"responses":{"204":{"description":"none"}}}}}}"##,
        "{}",
    ),
    rule(
        OPERATION_ADDED,
        "an operation is new",
        Document,
        "{}",
        r##"{"paths":{"/pets":{"get":{"responses":{"204":{"description":"none"}}}}}}"##,
    ),
    rule(
        OPERATION_ID_CHANGED,
        "an operationId changed (generated method names follow it)",
        Operation,
        "{}",
        r##"{"operationId":"pet_replace"}"##,
    ),
    rule(
        PATH_PARAMETER_RENAMED,
        "a path parameter is named differently in the route",
        Document,
        "{}",
        r##"{"paths":{"/pets/{id}":null,"/pets/{petId}":{"put":{"operationId":"pet_put","parameters":[{"in":"path","name":"petId","required":true,"schema":{"type":"string"}}],"responses":{"204":{"description":"ok"}}}}}}"##,
    ),
    rule(
        PATHS_AMBIGUOUS,
        "two paths differ only in parameter names, which makes the document invalid",
        Document,
        "{}",
        r##"{"paths":{"/pets/{petId}":{"get":{"parameters":[{"in":"path","name":"petId","required":true,"schema":{"type":"string"}}],"responses":{"204":{"description":"ok"}}}}}}"##,
    ),
    // Security requirements.
    rule(
        SECURITY_REQUIRED,
        "an operation that took anonymous calls now needs credentials",
        Document,
        r##"{"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"}}}}"##,
        r##"{"security":[{"token":[]}],"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"}}}}"##,
    ),
    rule(
        SECURITY_NO_LONGER_REQUIRED,
        "an operation that needed credentials takes anonymous calls",
        Document,
        r##"{"security":[{"token":[]}],"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"}}}}"##,
        r##"{"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"}}}}"##,
    ),
    rule(
        SECURITY_REQUIREMENT_REMOVED,
        "one way of authenticating is no longer accepted",
        Document,
        r##"{"security":[{"token":[]},{"key":[]}],"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"},"key":{"type":"apiKey","in":"header","name":"X-Key"}}}}"##,
        r##"{"security":[{"token":[]}],"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"},"key":{"type":"apiKey","in":"header","name":"X-Key"}}}}"##,
    ),
    rule(
        SECURITY_REQUIREMENT_ADDED,
        "one more way of authenticating is accepted",
        Document,
        r##"{"security":[{"token":[]}],"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"},"key":{"type":"apiKey","in":"header","name":"X-Key"}}}}"##,
        r##"{"security":[{"token":[]},{"key":[]}],"components":{"securitySchemes":{"token":{"type":"http","scheme":"bearer"},"key":{"type":"apiKey","in":"header","name":"X-Key"}}}}"##,
    ),
    rule(
        SECURITY_SCOPES_ADDED,
        "a requirement needs more OAuth scopes",
        Document,
        r##"{"security":[{"oauth":["read"]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r","write":"w"}}}}}}}"##,
        r##"{"security":[{"oauth":["read","write"]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r","write":"w"}}}}}}}"##,
    ),
    rule(
        SECURITY_SCOPES_REMOVED,
        "a requirement needs fewer OAuth scopes",
        Document,
        r##"{"security":[{"oauth":["read","write"]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r","write":"w"}}}}}}}"##,
        r##"{"security":[{"oauth":["read"]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r","write":"w"}}}}}}}"##,
    ),
    // Security schemes.
    rule(
        SECURITY_SCHEME_TYPE_CHANGED,
        "a security scheme changed its type",
        Document,
        r##"{"security":[{"auth":[]}],"components":{"securitySchemes":{"auth":{"type":"apiKey","in":"header","name":"X-Key"}}}}"##,
        r##"{"security":[{"auth":[]}],"components":{"securitySchemes":{"auth":{"type":"http","scheme":"bearer"}}}}"##,
    ),
    rule(
        SECURITY_SCHEME_API_KEY_CHANGED,
        "an API key moved (`in`) or was renamed",
        Document,
        r##"{"security":[{"key":[]}],"components":{"securitySchemes":{"key":{"type":"apiKey","in":"header","name":"X-Key"}}}}"##,
        r##"{"security":[{"key":[]}],"components":{"securitySchemes":{"key":{"type":"apiKey","in":"query","name":"X-Key"}}}}"##,
    ),
    rule(
        SECURITY_SCHEME_HTTP_SCHEME_CHANGED,
        "HTTP authentication changed scheme (basic, bearer, …)",
        Document,
        r##"{"security":[{"auth":[]}],"components":{"securitySchemes":{"auth":{"type":"http","scheme":"basic"}}}}"##,
        r##"{"security":[{"auth":[]}],"components":{"securitySchemes":{"auth":{"type":"http","scheme":"bearer"}}}}"##,
    ),
    rule(
        SECURITY_SCHEME_BEARER_FORMAT_CHANGED,
        "the bearer token format changed",
        Document,
        r##"{"security":[{"auth":[]}],"components":{"securitySchemes":{"auth":{"type":"http","scheme":"bearer","bearerFormat":"JWT"}}}}"##,
        r##"{"security":[{"auth":[]}],"components":{"securitySchemes":{"auth":{"type":"http","scheme":"bearer","bearerFormat":"opaque"}}}}"##,
    ),
    rule(
        SECURITY_SCHEME_OAUTH_FLOW_REMOVED,
        "an OAuth flow is gone",
        Document,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{}},"password":{"tokenUrl":"https://auth.example/token","scopes":{}}}}}}}"##,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{}}}}}}}"##,
    ),
    rule(
        SECURITY_SCHEME_OAUTH_FLOW_ADDED,
        "an OAuth flow is new",
        Document,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{}}}}}}}"##,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{}},"password":{"tokenUrl":"https://auth.example/token","scopes":{}}}}}}}"##,
    ),
    rule(
        SECURITY_SCHEME_OAUTH_URL_CHANGED,
        "an OAuth flow's authorization, token or refresh URL changed",
        Document,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{}}}}}}}"##,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://login.example/oauth/token","scopes":{}}}}}}}"##,
    ),
    rule(
        SECURITY_SCHEME_SCOPE_REMOVED,
        "an OAuth scope is gone from a flow",
        Document,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r","admin":"a"}}}}}}}"##,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r"}}}}}}}"##,
    ),
    rule(
        SECURITY_SCHEME_SCOPE_ADDED,
        "an OAuth scope is new in a flow",
        Document,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r"}}}}}}}"##,
        r##"{"security":[{"oauth":[]}],"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://auth.example/token","scopes":{"read":"r","admin":"a"}}}}}}}"##,
    ),
    rule(
        SECURITY_SCHEME_OPENID_URL_CHANGED,
        "an OpenID Connect discovery URL changed",
        Document,
        r##"{"security":[{"oidc":[]}],"components":{"securitySchemes":{"oidc":{"type":"openIdConnect","openIdConnectUrl":"https://a.example/.well-known/openid-configuration"}}}}"##,
        r##"{"security":[{"oidc":[]}],"components":{"securitySchemes":{"oidc":{"type":"openIdConnect","openIdConnectUrl":"https://b.example/.well-known/openid-configuration"}}}}"##,
    ),
    // Parameters.
    rule(
        PARAMETER_MOVED,
        "a parameter moved to another location (query, header, …)",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"dry_run","schema":{"type":"boolean"}}]}"##,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"header","name":"dry_run","schema":{"type":"boolean"}}]}"##,
    ),
    rule(
        PARAMETER_ADDED_REQUIRED,
        "a required parameter is new",
        Operation,
        "{}",
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","required":true,"schema":{"type":"string"}}]}"##,
    ),
    rule(
        PARAMETER_ADDED_OPTIONAL,
        "an optional parameter is new",
        Operation,
        "{}",
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","schema":{"type":"string"}}]}"##,
    ),
    rule(
        PARAMETER_BECAME_REQUIRED,
        "an optional parameter became required",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","schema":{"type":"string"}}]}"##,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","required":true,"schema":{"type":"string"}}]}"##,
    ),
    rule(
        PARAMETER_BECAME_OPTIONAL,
        "a required parameter became optional",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","required":true,"schema":{"type":"string"}}]}"##,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","schema":{"type":"string"}}]}"##,
    ),
    rule(
        PARAMETER_STYLE_CHANGED,
        "a parameter's `style` or `explode` (with their defaults) changed",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"tags","schema":{"type":"array","items":{"type":"string"}}}]}"##,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"tags","style":"pipeDelimited","explode":false,"schema":{"type":"array","items":{"type":"string"}}}]}"##,
    ),
    rule(
        PARAMETER_EMPTY_VALUE_REFUSED,
        "`allowEmptyValue` was withdrawn",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"filter","allowEmptyValue":true,"schema":{"type":"string"}}]}"##,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"filter","schema":{"type":"string"}}]}"##,
    ),
    rule(
        PARAMETER_EMPTY_VALUE_ALLOWED,
        "`allowEmptyValue` was granted",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"filter","schema":{"type":"string"}}]}"##,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"filter","allowEmptyValue":true,"schema":{"type":"string"}}]}"##,
    ),
    rule(
        PARAMETER_REMOVED,
        "a parameter is gone",
        Operation,
        r##"{"parameters":[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"query","name":"reason","required":true,"schema":{"type":"string"}}]}"##,
        "{}",
    ),
    // Request bodies and media types.
    rule(
        REQUEST_BODY_ADDED,
        "an operation takes a body it did not",
        Document,
        r##"{"paths":{"/pets":{"post":{"responses":{"204":{"description":"ok"}}}}}}"##,
        r##"{"paths":{"/pets":{"post":{"requestBody":{"required":true,"content":{"application/json":{"schema":{"type":"object"}}}},"responses":{"204":{"description":"ok"}}}}}}"##,
    ),
    rule(
        REQUEST_BODY_REMOVED,
        "an operation no longer takes a body",
        Operation,
        "{}",
        r##"{"requestBody":null}"##,
    ),
    rule(
        REQUEST_BODY_BECAME_REQUIRED,
        "an optional body became required",
        Operation,
        r##"{"requestBody":{"required":false}}"##,
        "{}",
    ),
    rule(
        REQUEST_BODY_BECAME_OPTIONAL,
        "a required body became optional",
        Operation,
        "{}",
        r##"{"requestBody":{"required":false}}"##,
    ),
    rule(
        MEDIA_TYPE_REMOVED,
        "a media type is no longer accepted or returned",
        Operation,
        r##"{"requestBody":{"content":{"application/yaml":{"schema":{"type":"string"}}}}}"##,
        "{}",
    ),
    rule(
        MEDIA_TYPE_ADDED,
        "a media type is new",
        Operation,
        "{}",
        r##"{"requestBody":{"content":{"application/yaml":{"schema":{"type":"string"}}}}}"##,
    ),
    // Responses.
    rule(
        RESPONSE_STATUS_REMOVED,
        "a response status is no longer documented",
        Operation,
        r##"{"responses":{"409":{"description":"conflict"}}}"##,
        "{}",
    ),
    rule(
        RESPONSE_STATUS_ADDED,
        "a response status is new (and no `default` or range documented it)",
        Operation,
        "{}",
        r##"{"responses":{"409":{"description":"conflict"}}}"##,
    ),
    rule(
        RESPONSE_HEADER_REMOVED,
        "a response header is gone",
        Operation,
        r##"{"responses":{"200":{"headers":{"ETag":{"required":true,"schema":{"type":"string"}}}}}}"##,
        "{}",
    ),
    rule(
        RESPONSE_HEADER_ADDED,
        "a response header is new",
        Operation,
        "{}",
        r##"{"responses":{"200":{"headers":{"ETag":{"required":true,"schema":{"type":"string"}}}}}}"##,
    ),
    rule(
        RESPONSE_HEADER_BECAME_OPTIONAL,
        "a required response header became optional",
        Operation,
        r##"{"responses":{"200":{"headers":{"ETag":{"required":true,"schema":{"type":"string"}}}}}}"##,
        r##"{"responses":{"200":{"headers":{"ETag":{"required":false,"schema":{"type":"string"}}}}}}"##,
    ),
    rule(
        RESPONSE_HEADER_BECAME_REQUIRED,
        "an optional response header became required",
        Operation,
        r##"{"responses":{"200":{"headers":{"ETag":{"schema":{"type":"string"}}}}}}"##,
        r##"{"responses":{"200":{"headers":{"ETag":{"required":true,"schema":{"type":"string"}}}}}}"##,
    ),
    rule(
        RESPONSE_HEADER_STYLE_CHANGED,
        "a response header's `style` or `explode` changed",
        Operation,
        r##"{"responses":{"200":{"headers":{"X-Tags":{"schema":{"type":"array","items":{"type":"string"}}}}}}}"##,
        r##"{"responses":{"200":{"headers":{"X-Tags":{"explode":true,"schema":{"type":"array","items":{"type":"string"}}}}}}}"##,
    ),
    // Values.
    rule(
        NULLABLE_ADDED,
        "a value may now be null (`nullable`, a `type` list with null, `anyOf` with null)",
        Pet,
        r##"{"required":["name"]}"##,
        r##"{"required":["name"],"properties":{"name":{"nullable":true}}}"##,
    ),
    rule(
        NULLABLE_REMOVED,
        "a value may no longer be null",
        Pet,
        r##"{"properties":{"name":{"nullable":true}}}"##,
        "{}",
    ),
    rule(
        TYPE_WIDENED,
        "a type admits more (`integer` to `number`, a type added to a list)",
        Pet,
        r##"{"properties":{"weight":{"type":"integer"}}}"##,
        r##"{"properties":{"weight":{"type":"number"}}}"##,
    ),
    rule(
        TYPE_NARROWED,
        "a type admits less (`number` to `integer`, a type dropped from a list)",
        Pet,
        r##"{"properties":{"weight":{"type":"number"}}}"##,
        r##"{"properties":{"weight":{"type":"integer"}}}"##,
    ),
    rule(
        TYPE_CHANGED,
        "a type changed to an unrelated one",
        Pet,
        r##"{"properties":{"weight":{"type":"number"}}}"##,
        r##"{"properties":{"weight":{"type":"string"}}}"##,
    ),
    rule(
        INTEGER_WIDENED,
        "an integer format grew (`int32` to `int64`)",
        Pet,
        r##"{"properties":{"age":{"type":"integer","format":"int32"}}}"##,
        r##"{"properties":{"age":{"type":"integer","format":"int64"}}}"##,
    ),
    rule(
        INTEGER_NARROWED,
        "an integer format shrank",
        Pet,
        r##"{"properties":{"age":{"type":"integer","format":"int64"}}}"##,
        r##"{"properties":{"age":{"type":"integer","format":"int32"}}}"##,
    ),
    rule(
        FORMAT_ADDED,
        "a `format` is new",
        Pet,
        "{}",
        r##"{"properties":{"name":{"format":"email"}}}"##,
    ),
    rule(
        FORMAT_REMOVED,
        "a `format` is gone",
        Pet,
        r##"{"properties":{"name":{"format":"email"}}}"##,
        "{}",
    ),
    rule(
        FORMAT_CHANGED,
        "a `format` changed",
        Pet,
        r##"{"properties":{"name":{"format":"email"}}}"##,
        r##"{"properties":{"name":{"format":"hostname"}}}"##,
    ),
    rule(
        REQUEST_ENUM_VALUE_ADDED,
        "a closed enum in a request gained a value",
        Pet,
        r##"{"properties":{"kind":{"type":"string","enum":["cat","dog"]}}}"##,
        r##"{"properties":{"kind":{"type":"string","enum":["cat","dog","fish"]}}}"##,
    ),
    rule(
        RESPONSE_ENUM_VALUE_ADDED,
        "a closed enum in a response gained a value",
        Pet,
        r##"{"properties":{"kind":{"type":"string","enum":["cat","dog"]}}}"##,
        r##"{"properties":{"kind":{"type":"string","enum":["cat","dog","fish"]}}}"##,
    ),
    rule(
        REQUEST_ENUM_VALUE_REMOVED,
        "an enum in a request lost a value",
        Pet,
        r##"{"properties":{"kind":{"type":"string","enum":["cat","dog"]}}}"##,
        r##"{"properties":{"kind":{"type":"string","enum":["cat"]}}}"##,
    ),
    rule(
        RESPONSE_ENUM_VALUE_REMOVED,
        "an enum in a response lost a value",
        Pet,
        r##"{"properties":{"kind":{"type":"string","enum":["cat","dog"]}}}"##,
        r##"{"properties":{"kind":{"type":"string","enum":["cat"]}}}"##,
    ),
    rule(
        EXTENSIBLE_ENUM_VALUE_ADDED,
        "an open enum (`x-extensible-enum`, or `anyOf` of an enum and its type) gained a value",
        Pet,
        r##"{"properties":{"kind":{"type":"string","x-extensible-enum":["cat","dog"]}}}"##,
        r##"{"properties":{"kind":{"type":"string","x-extensible-enum":["cat","dog","fish"]}}}"##,
    ),
    rule(
        EXTENSIBLE_ENUM_VALUE_REMOVED,
        "an open enum lost a value",
        Pet,
        r##"{"properties":{"kind":{"type":"string","x-extensible-enum":["cat","dog"]}}}"##,
        r##"{"properties":{"kind":{"type":"string","x-extensible-enum":["cat"]}}}"##,
    ),
    rule(
        ENUM_ADDED,
        "free values became an enum",
        Pet,
        "{}",
        r##"{"properties":{"name":{"enum":["Rex","Tom"]}}}"##,
    ),
    rule(
        ENUM_REMOVED,
        "an enum became free values",
        Pet,
        r##"{"properties":{"name":{"enum":["Rex","Tom"]}}}"##,
        "{}",
    ),
    rule(
        CONSTRAINT_TIGHTENED,
        "a length, bound (inclusive or exclusive, 3.0 or 3.1 form), size, `multipleOf` or `uniqueItems` admits less",
        Pet,
        r##"{"properties":{"age":{"type":"integer","minimum":0}}}"##,
        r##"{"properties":{"age":{"type":"integer","exclusiveMinimum":0}}}"##,
    ),
    rule(
        CONSTRAINT_LOOSENED,
        "a length, bound, size, `multipleOf` or `uniqueItems` admits more",
        Pet,
        r##"{"properties":{"tags":{"type":"array","items":{"type":"string"},"maxItems":5}}}"##,
        r##"{"properties":{"tags":{"type":"array","items":{"type":"string"},"maxItems":10}}}"##,
    ),
    rule(
        CONSTRAINT_CHANGED,
        "a `multipleOf` changed to one neither stricter nor looser",
        Pet,
        r##"{"properties":{"age":{"type":"integer","multipleOf":2}}}"##,
        r##"{"properties":{"age":{"type":"integer","multipleOf":3}}}"##,
    ),
    rule(
        PATTERN_CHANGED,
        "a `pattern` was added, removed or changed",
        Pet,
        "{}",
        r##"{"properties":{"name":{"pattern":"^[a-z]+$"}}}"##,
    ),
    rule(
        DEFAULT_CHANGED,
        "a `default` changed or was removed: a value left out now means something else",
        Pet,
        r##"{"properties":{"name":{"default":"rex"}}}"##,
        r##"{"properties":{"name":{"default":"fido"}}}"##,
    ),
    // Objects.
    rule(
        PROPERTY_ADDED_REQUIRED,
        "a required property is new",
        Pet,
        "{}",
        r##"{"required":["age"],"properties":{"age":{"type":"integer"}}}"##,
    ),
    rule(
        PROPERTY_ADDED_OPTIONAL,
        "an optional property is new",
        Pet,
        r##"{"additionalProperties":false}"##,
        r##"{"additionalProperties":false,"properties":{"age":{"type":"integer"}}}"##,
    ),
    rule(
        PROPERTY_BECAME_REQUIRED,
        "an optional property became required",
        Pet,
        "{}",
        r##"{"required":["name"]}"##,
    ),
    rule(
        PROPERTY_BECAME_OPTIONAL,
        "a required property became optional",
        Pet,
        r##"{"required":["name"]}"##,
        "{}",
    ),
    rule(
        PROPERTY_REMOVED,
        "a property is gone",
        Pet,
        r##"{"required":["name"]}"##,
        r##"{"properties":{"name":null}}"##,
    ),
    rule(
        PROPERTY_BECAME_READ_ONLY,
        "a property clients sent became `readOnly`",
        Pet,
        "{}",
        r##"{"properties":{"name":{"readOnly":true}}}"##,
    ),
    rule(
        PROPERTY_NO_LONGER_READ_ONLY,
        "a `readOnly` property may be sent",
        Pet,
        r##"{"required":["name"],"properties":{"name":{"readOnly":true}}}"##,
        r##"{"required":["name"]}"##,
    ),
    rule(
        PROPERTY_BECAME_WRITE_ONLY,
        "a property servers answered became `writeOnly`",
        Pet,
        r##"{"required":["name"]}"##,
        r##"{"required":["name"],"properties":{"name":{"writeOnly":true}}}"##,
    ),
    rule(
        PROPERTY_NO_LONGER_WRITE_ONLY,
        "a `writeOnly` property is answered",
        Pet,
        r##"{"required":["name"],"properties":{"name":{"writeOnly":true}}}"##,
        r##"{"required":["name"]}"##,
    ),
    rule(
        ADDITIONAL_PROPERTIES_CLOSED,
        "`additionalProperties: false` was set",
        Pet,
        "{}",
        r##"{"additionalProperties":false}"##,
    ),
    rule(
        ADDITIONAL_PROPERTIES_OPENED,
        "`additionalProperties: false` was withdrawn",
        Pet,
        r##"{"additionalProperties":false}"##,
        "{}",
    ),
    // Composition.
    rule(
        DISCRIMINATOR_CHANGED,
        "a discriminator was added, removed or names another property",
        Pet,
        r##"{"properties":{"shape":{"oneOf":[{"type":"object","required":["kind","r"],"properties":{"kind":{"type":"string"},"r":{"type":"number"}}},{"type":"object","required":["kind","side"],"properties":{"kind":{"type":"string"},"side":{"type":"number"}}}]}}}"##,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind"},"oneOf":[{"type":"object","required":["kind","r"],"properties":{"kind":{"type":"string"},"r":{"type":"number"}}},{"type":"object","required":["kind","side"],"properties":{"kind":{"type":"string"},"side":{"type":"number"}}}]}}}"##,
    ),
    rule(
        DISCRIMINATOR_MAPPING_ADDED,
        "a discriminator value is new",
        Pet,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind","mapping":{"circle":"#/components/schemas/Pet"}},"oneOf":[{"$ref":"#/components/schemas/Pet"}]}}}"##,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind","mapping":{"circle":"#/components/schemas/Pet","round":"#/components/schemas/Pet"}},"oneOf":[{"$ref":"#/components/schemas/Pet"}]}}}"##,
    ),
    rule(
        DISCRIMINATOR_MAPPING_CHANGED,
        "a discriminator value selects another schema",
        Pet,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind","mapping":{"circle":"#/components/schemas/Pet"}},"oneOf":[{"$ref":"#/components/schemas/Pet"}]}}}"##,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind","mapping":{"circle":"#/components/schemas/Other"}},"oneOf":[{"$ref":"#/components/schemas/Pet"}]}}}"##,
    ),
    rule(
        DISCRIMINATOR_MAPPING_REMOVED,
        "a discriminator value is gone",
        Pet,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind","mapping":{"circle":"#/components/schemas/Pet","round":"#/components/schemas/Pet"}},"oneOf":[{"$ref":"#/components/schemas/Pet"}]}}}"##,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind","mapping":{"circle":"#/components/schemas/Pet"}},"oneOf":[{"$ref":"#/components/schemas/Pet"}]}}}"##,
    ),
    rule(
        VARIANT_ADDED,
        "a `oneOf`/`anyOf` variant is new",
        Pet,
        r##"{"properties":{"owner":{"oneOf":[{"type":"string"},{"type":"integer"}]}}}"##,
        r##"{"properties":{"owner":{"oneOf":[{"type":"string"},{"type":"integer"},{"type":"object","required":["team"],"properties":{"team":{"type":"string"}}}]}}}"##,
    ),
    rule(
        VARIANT_REMOVED,
        "a `oneOf`/`anyOf` variant is gone",
        Pet,
        r##"{"properties":{"owner":{"oneOf":[{"type":"string"},{"type":"integer"}]}}}"##,
        r##"{"properties":{"owner":{"oneOf":[{"type":"string"}]}}}"##,
    ),
    rule(
        VARIANTS_CHANGED,
        "a schema became, or stopped being, a `oneOf`/`anyOf`",
        Pet,
        r##"{"properties":{"owner":{"oneOf":[{"type":"object","required":["a"]},{"type":"object","required":["b"]}]}}}"##,
        r##"{"properties":{"owner":{"type":"object"}}}"##,
    ),
    rule(
        ALL_OF_CHANGED,
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
