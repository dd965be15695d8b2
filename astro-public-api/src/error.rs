//! The one error shape of the public API.

use dropshot::{ErrorStatusCode, HttpError, HttpResponseError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Every error response. `request_id` matches the `x-request-id` header
/// (empty only when the request was refused before it reached a handler,
/// for example an unparsable body; the header is always present).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct AstroError {
    pub status_code: u16,
    /// Stable, machine-readable: `InvalidRequest`, `Unauthenticated`,
    /// `Forbidden`, `NotFound`, `Conflict`, `PreconditionFailed`,
    /// `HarmonyUnavailable`, `HarmonyVersionUnsupported`, `HarmonyFailed`,
    /// `HarmonyRefused`, `QuotaExceeded`, `Internal`.
    pub error_code: String,
    pub message: String,
    pub request_id: String,
    /// On `InvalidRequest`: every bad field, at once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_errors: Vec<FieldError>,
    /// On 503 and 429: when trying again makes sense. (dropshot's custom error types
    /// cannot set a `Retry-After` header, so it travels in the body.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u32>,
    /// On `HarmonyVersionUnsupported`: which Harmony cell, what the request
    /// needed and what the cell serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_gap: Option<VersionGap>,
    /// On `QuotaExceeded` (403 for a count, 429 for the change rate, with
    /// `retry_after_seconds`): which quota an operator set, its value, and
    /// how much of it is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaUsage>,
}

/// A quota and its use, as a refusal names them.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct QuotaUsage {
    /// `deployments_per_organization`, `deployments_per_workspace` or
    /// `changes_per_minute`.
    pub name: String,
    pub limit: u64,
    pub used: u64,
}

/// A Harmony cell that does not (yet) serve an API version a request needs.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct VersionGap {
    pub cell: String,
    /// Harmony API versions that would do.
    pub required: Vec<String>,
    /// Harmony API versions the cell serves.
    pub available: Vec<String>,
}

/// One field that broke one rule.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct FieldError {
    /// Path of the field, as `worker_queues[1].name`.
    pub field: String,
    /// The kind of rule, machine-readable: `required`, `forbidden`,
    /// `range`, `length`, `format`, `unique`, `immutable`, `one_of`, ...
    pub code: String,
    pub message: String,
    /// The identifier of the declared rule that refused it (the
    /// document's `x-rules`); absent from answers of astro-api releases
    /// before rules were declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl std::fmt::Display for AstroError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status_code, self.error_code, self.message)?;
        for e in &self.field_errors {
            write!(f, "; {}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for AstroError {}

impl From<HttpError> for AstroError {
    fn from(error: HttpError) -> AstroError {
        let status = error.status_code.as_u16();
        AstroError {
            status_code: status,
            error_code: error.error_code.unwrap_or_else(|| {
                if status >= 500 { "Internal" } else { "InvalidRequest" }.to_owned()
            }),
            message: error.external_message,
            request_id: String::new(),
            field_errors: Vec::new(),
            retry_after_seconds: None,
            version_gap: None,
            quota: None,
        }
    }
}

impl HttpResponseError for AstroError {
    fn status_code(&self) -> ErrorStatusCode {
        ErrorStatusCode::from_u16(self.status_code)
            .unwrap_or(ErrorStatusCode::INTERNAL_SERVER_ERROR)
    }
}
