//! Admission: what every request to the main API passes before dropshot
//! routes it or reads its body: the service credential, then the API
//! version.
//!
//! dropshot asks its version policy for a request's version before anything
//! else runs, so that is where the credential is checked too: a caller
//! without it learns nothing (not even whether its body would parse). Only
//! discovery (`GET /api-versions`) is open, so a client can learn what is
//! served before anything else. Credentials are compared as SHA-256 digests
//! in constant time; the value given is never echoed or logged.

use crate::versions::ServedVersions;
use dropshot::{ClientErrorStatusCode, DynamicVersionPolicy, HttpError};
use semver::Version;

#[derive(Debug)]
pub struct Admission {
    pub versions: ServedVersions,
    /// SHA-256 of the credential callers must send; `None` in a local run.
    pub credential_sha256: Option<[u8; 32]>,
}

impl Admission {
    fn authorize(&self, request: &http::Request<dropshot::Body>) -> Result<(), HttpError> {
        let Some(expected) = &self.credential_sha256 else {
            return Ok(());
        };
        let matches = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().strip_prefix("Bearer "))
            .is_some_and(|token| crate::crypto::sha256_matches(token.trim(), expected));
        if matches {
            return Ok(());
        }
        Err(HttpError::for_client_error(
            Some("Unauthenticated".to_owned()),
            ClientErrorStatusCode::UNAUTHORIZED,
            "send the service credential as `Authorization: Bearer <token>` (only \
             GET /api-versions is open)"
                .to_owned(),
        ))
    }
}

impl DynamicVersionPolicy for Admission {
    fn request_extract_version(
        &self,
        request: &http::Request<dropshot::Body>,
        log: &slog::Logger,
    ) -> Result<Version, HttpError> {
        if request.uri().path() != harmony_api::API_VERSIONS_PATH {
            self.authorize(request)?;
        }
        self.versions.request_extract_version(request, log)
    }
}
