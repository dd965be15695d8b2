//! Which API versions this process serves, and how a request picks one.
//!
//! A request names its version in the `api-version` header. Unlike dropshot's
//! `ClientSpecifiesVersionInHeader`, which accepts any version up to the
//! newest, this policy accepts exactly the released versions it serves, and
//! every refusal lists them, so a client can tell "too new for this Harmony"
//! from a typo. A server can be capped below its newest version
//! (`--max-api-version`) to stand in for an older release.

use dropshot::{ClientErrorStatusCode, DynamicVersionPolicy, HttpError};
use http::HeaderName;
use semver::Version;

use harmony_api::UNSUPPORTED_API_VERSION;

#[derive(Debug, Clone)]
pub struct ServedVersions {
    header: HeaderName,
    /// Ascending.
    versions: Vec<Version>,
}

impl ServedVersions {
    /// The released versions of the Harmony API, newest capped at `max`.
    pub fn new(max: Option<&Version>) -> Result<ServedVersions, String> {
        let mut versions: Vec<Version> = harmony_api::supported_versions()
            .iter()
            .map(|v| v.semver().clone())
            .filter(|v| max.is_none_or(|max| v <= max))
            .collect();
        versions.sort();
        if versions.is_empty() {
            return Err(format!(
                "no API version is at or below {}; the oldest is {}",
                max.map(ToString::to_string).unwrap_or_default(),
                harmony_api::oldest_version()
            ));
        }
        if let Some(max) = max
            && !versions.contains(max)
        {
            return Err(format!("{max} is not a released Harmony API version"));
        }
        Ok(ServedVersions {
            header: HeaderName::from_static(harmony_api::VERSION_HEADER),
            versions,
        })
    }

    /// Served versions, oldest first.
    pub fn versions(&self) -> &[Version] {
        &self.versions
    }

    pub fn newest(&self) -> &Version {
        // `new` refuses an empty list.
        &self.versions[self.versions.len() - 1]
    }

    fn list(&self) -> String {
        self.versions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    }

    fn refuse(&self, message: String) -> HttpError {
        let mut error = HttpError::for_client_error(
            Some(UNSUPPORTED_API_VERSION.to_owned()),
            ClientErrorStatusCode::BAD_REQUEST,
            format!("{message}; this Harmony serves API versions {}", self.list()),
        );
        if let Ok(value) = http::HeaderValue::from_str(&self.list()) {
            let mut headers = http::HeaderMap::new();
            headers.insert(HeaderName::from_static(harmony_api::VERSIONS_SERVED_HEADER), value);
            error.headers = Some(Box::new(headers));
        }
        error
    }
}

impl DynamicVersionPolicy for ServedVersions {
    fn request_extract_version(
        &self,
        request: &http::Request<dropshot::Body>,
        _log: &slog::Logger,
    ) -> Result<Version, HttpError> {
        // Discovery is answered whatever the request names: a client that
        // does not yet know what is served must be able to ask.
        if request.uri().path() == harmony_api::API_VERSIONS_PATH {
            return Ok(self.newest().clone());
        }
        let Some(value) = request.headers().get(&self.header) else {
            return Err(self.refuse(format!("missing {} header", self.header)));
        };
        let text = value
            .to_str()
            .map_err(|_| self.refuse(format!("{} header is not text", self.header)))?;
        let version = Version::parse(text.trim()).map_err(|_| {
            self.refuse(format!("{} header {text:?} is not a version", self.header))
        })?;
        if self.versions.contains(&version) {
            Ok(version)
        } else {
            Err(self.refuse(format!("server does not support this API version: {version}")))
        }
    }
}
