//! astro-api's own error type, and its one conversion to the public error
//! shape at the HTTP edge.

use astro_public_api::{AstroError, FieldError, QuotaUsage, VersionGap};

/// Why a request failed. Knows nothing of HTTP bodies; [`Failure::into_public`]
/// turns it into the public [`AstroError`].
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    /// No usable API token.
    #[error("{0}")]
    Unauthenticated(String),
    /// A valid token whose role does not allow the operation.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{message}")]
    Conflict { message: String, field_errors: Vec<FieldError> },
    /// The client's `If-Match` names a version that is no longer current.
    #[error("the deployment changed since it was read; its current ETag is {current}")]
    PreconditionFailed { current: String },
    /// astro-api cannot take this yet (a field its database does not hold
    /// until every replica knows it); the message says what ends it.
    #[error("{0}")]
    Unavailable(String),
    /// Harmony could not be reached, or answered 503.
    #[error("Harmony is unavailable: {0}")]
    HarmonyUnavailable(String),
    /// The cell's Harmony does not serve an API version this request needs.
    #[error(
        "Harmony cell {cell} does not serve the API version this request needs \
         (needs {}, serves {}); retry after the cell is upgraded",
        required.join(" or "),
        available.join(", ")
    )]
    HarmonyVersionUnsupported { cell: String, required: Vec<String>, available: Vec<String> },
    /// Harmony failed, or answered in a form this astro-api cannot read.
    #[error("Harmony failed: {0}")]
    HarmonyFailed(String),
    /// Harmony refused the request itself (a 4xx no retry can change):
    /// astro-api accepted something a live Harmony does not take.
    #[error("{0}")]
    HarmonyRefused(String),
    /// A quota an operator set: a count (403) or the change rate (429).
    #[error("{0}")]
    QuotaExceeded(crate::quota::Exceeded),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// How long a caller should wait before retrying a 503.
const RETRY_AFTER_SECONDS: u32 = 5;

/// A field refused by a declared rule (`deployment_rules::rule`): the
/// only way astro-api says a field is wrong, so every refusal names one.
pub fn field_error(
    rule: &'static deployment_rules::Rule,
    field: impl Into<String>,
    code: &str,
    message: impl Into<String>,
) -> FieldError {
    debug_assert_eq!(rule.api(), deployment_rules::rule::Api::Astro, "{}", rule.id());
    FieldError {
        field: field.into(),
        code: code.to_owned(),
        message: message.into(),
        rule: Some(rule.id().to_owned()),
    }
}

impl Failure {
    pub fn into_public(self, request_id: &str) -> AstroError {
        let (status_code, error_code, field_errors, retry) = match &self {
            Failure::Invalid(errors) => (400, "InvalidRequest", errors.clone(), None),
            Failure::Unauthenticated(_) => (401, "Unauthenticated", Vec::new(), None),
            Failure::Forbidden(_) => (403, "Forbidden", Vec::new(), None),
            Failure::NotFound(_) => (404, "NotFound", Vec::new(), None),
            Failure::Conflict { field_errors, .. } => (409, "Conflict", field_errors.clone(), None),
            Failure::PreconditionFailed { .. } => (412, "PreconditionFailed", Vec::new(), None),
            Failure::Unavailable(_) => (503, "Unavailable", Vec::new(), Some(RETRY_AFTER_SECONDS)),
            Failure::HarmonyUnavailable(_) => {
                (503, "HarmonyUnavailable", Vec::new(), Some(RETRY_AFTER_SECONDS))
            }
            Failure::HarmonyVersionUnsupported { .. } => {
                (503, "HarmonyVersionUnsupported", Vec::new(), Some(RETRY_AFTER_SECONDS))
            }
            Failure::HarmonyFailed(_) => (502, "HarmonyFailed", Vec::new(), None),
            Failure::HarmonyRefused(_) => (502, "HarmonyRefused", Vec::new(), None),
            Failure::QuotaExceeded(refused) => match refused.retry_after_ms {
                // Whole seconds, rounded up: retrying then is taken.
                Some(ms) => (429, "QuotaExceeded", Vec::new(), Some(((ms + 999) / 1000) as u32)),
                None => (403, "QuotaExceeded", Vec::new(), None),
            },
            Failure::Internal(_) => (500, "Internal", Vec::new(), None),
        };
        let message = match &self {
            Failure::Invalid(errors) => format!(
                "invalid request: {} field error{}",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            ),
            // Internal detail stays in the log.
            Failure::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        let version_gap = match &self {
            Failure::HarmonyVersionUnsupported { cell, required, available } => Some(VersionGap {
                cell: cell.clone(),
                required: required.clone(),
                available: available.clone(),
            }),
            _ => None,
        };
        let quota = match &self {
            Failure::QuotaExceeded(refused) => Some(QuotaUsage {
                name: refused.quota.name().to_owned(),
                limit: refused.limit,
                used: refused.used,
            }),
            _ => None,
        };
        AstroError {
            status_code,
            error_code: error_code.to_owned(),
            message,
            request_id: request_id.to_owned(),
            field_errors,
            retry_after_seconds: retry,
            version_gap,
            quota,
        }
    }
}
