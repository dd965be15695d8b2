//! Version negotiation: which API version to speak to one Harmony.
//!
//! A consumer holds one [`Harmony`] per Harmony endpoint. It asks the
//! endpoint which versions it serves (`GET /api-versions`, which every
//! version keeps and which a server answers whatever version a request
//! names), picks the newest version both sides speak, and hands out the
//! generated client for it ([`Speaking`]). The answer is cached for a while
//! (`ttl`) and learned again when it expires, so a Harmony upgraded under a
//! running consumer is noticed without a restart; a refusal of the cached
//! version (the Harmony was rolled back) drops the cache at once
//! ([`Harmony::observe`]).
//!
//! When the consumer needs a version the endpoint does not serve,
//! [`Harmony::require`] fails with a typed [`VersionGap`] naming what was
//! required and what is available, which the consumer can turn into a clear
//! answer (astro-api: a 503 naming the gap) or a fallback.

use crate::{v1, v2, v3, v4};
use semver::Version;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The versions this crate can speak, oldest first: one per generated module.
pub fn spoken_versions() -> Vec<Version> {
    vec![Version::new(1, 0, 0), Version::new(2, 0, 0), Version::new(3, 0, 0), Version::new(4, 0, 0)]
}

/// Error code a Harmony answers when it refuses a version.
pub const UNSUPPORTED_API_VERSION: &str = "UnsupportedApiVersion";

/// Error code of a 404 for a resource that exists but has no form in the
/// version asked (a Hosted resource asked for at 1.0.0).
pub const NOT_VISIBLE_AT_VERSION: &str = "NotVisibleAtVersion";

/// Error code of a 422 for a change past a data plane's rendered-bytes
/// budget (any version); [`QuotaRefusal::parse`] reads its message.
pub const QUOTA_EXCEEDED: &str = "QuotaExceeded";

/// What a [`QUOTA_EXCEEDED`] refusal says: the quota, its value, what is
/// used and what the change needed, in bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaRefusal {
    pub quota: String,
    pub limit: u64,
    pub used: u64,
    pub needed: u64,
}

impl QuotaRefusal {
    /// Reads `quota NAME is LIMIT bytes; USED used; this change needs
    /// NEEDED more`, the message Harmony sends with [`QUOTA_EXCEEDED`].
    pub fn parse(message: &str) -> Option<QuotaRefusal> {
        let rest = message.strip_prefix("quota ")?;
        let (quota, rest) = rest.split_once(" is ")?;
        let (limit, rest) = rest.split_once(" bytes; ")?;
        let (used, rest) = rest.split_once(" used; this change needs ")?;
        let needed = rest.strip_suffix(" more")?;
        let valid = !quota.is_empty() && quota.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        Some(QuotaRefusal {
            quota: valid.then(|| quota.to_owned())?,
            limit: limit.parse().ok()?,
            used: used.parse().ok()?,
            needed: needed.parse().ok()?,
        })
    }
}

/// A generated client for the negotiated version.
#[derive(Clone, Debug)]
pub enum Speaking {
    V1(v1::Client),
    V2(v2::Client),
    V3(v3::Client),
    V4(v4::Client),
}

impl Speaking {
    pub fn version(&self) -> Version {
        match self {
            Speaking::V1(_) => Version::new(1, 0, 0),
            Speaking::V2(_) => Version::new(2, 0, 0),
            Speaking::V3(_) => Version::new(3, 0, 0),
            Speaking::V4(_) => Version::new(4, 0, 0),
        }
    }
}

/// The version this consumer needed and what the Harmony serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionGap {
    /// Versions that would have done, oldest first.
    pub required: Vec<Version>,
    /// Versions the Harmony serves, oldest first.
    pub available: Vec<Version>,
}

impl std::fmt::Display for VersionGap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "needs API version {} but Harmony serves {}",
            list(&self.required),
            list(&self.available)
        )
    }
}

fn list(versions: &[Version]) -> String {
    if versions.is_empty() {
        return "none".to_owned();
    }
    versions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

#[derive(Debug, thiserror::Error)]
pub enum NegotiationError {
    /// The Harmony could not be asked (down, slow, or answering garbage).
    #[error("could not learn the API versions Harmony serves: {0}")]
    Unreachable(String),
    /// Harmony serves no version this consumer needs.
    #[error("{0}")]
    Gap(VersionGap),
}

/// What negotiation settled on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The version requests use.
    pub version: Version,
    /// Everything the Harmony serves, oldest first.
    pub served: Vec<Version>,
}

struct Cached {
    negotiated: Negotiated,
    at: Instant,
}

/// One Harmony endpoint, spoken to at the newest version both sides know.
pub struct Harmony {
    base_url: String,
    http: reqwest::Client,
    ttl: Duration,
    cache: Mutex<Option<Cached>>,
}

impl Harmony {
    /// `ttl` bounds how long a negotiated version is trusted before the
    /// endpoint is asked again.
    pub fn new(base_url: &str, http: reqwest::Client, ttl: Duration) -> Harmony {
        Harmony { base_url: base_url.to_owned(), http, ttl, cache: Mutex::new(None) }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn cached(&self) -> Option<Negotiated> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.as_ref().filter(|c| c.at.elapsed() < self.ttl).map(|c| c.negotiated.clone())
    }

    /// Forgets the negotiated version; the next call asks again.
    pub fn invalidate(&self) {
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The negotiated version, asking the endpoint if the cache is empty or
    /// stale.
    pub async fn negotiated(&self) -> Result<Negotiated, NegotiationError> {
        if let Some(negotiated) = self.cached() {
            return Ok(negotiated);
        }
        // Any generated client will do: discovery ignores the version header.
        let answer = v1::Client::new_with_client(&self.base_url, self.http.clone())
            .api_versions_get()
            .await
            .map_err(|e| NegotiationError::Unreachable(e.to_string()))?
            .into_inner();
        let mut served: Vec<Version> =
            answer.served.iter().filter_map(|v| v.parse().ok()).collect();
        served.sort();
        let spoken = spoken_versions();
        let version =
            served.iter().rev().find(|v| spoken.contains(v)).cloned().ok_or_else(|| {
                NegotiationError::Gap(VersionGap {
                    required: spoken.clone(),
                    available: served.clone(),
                })
            })?;
        let negotiated = Negotiated { version, served };
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Cached { negotiated: negotiated.clone(), at: Instant::now() });
        Ok(negotiated)
    }

    /// A client for the newest version in `versions` (the versions the
    /// caller's code for this piece of work is written against) that the
    /// Harmony serves, or the gap. A consumer whose code for some work
    /// stops at an older version keeps speaking it to newer Harmonies, for
    /// as long as they serve it.
    pub async fn speak(&self, versions: &[Version]) -> Result<Speaking, NegotiationError> {
        let negotiated = self.negotiated().await?;
        match negotiated.served.iter().rev().find(|v| versions.contains(v)) {
            Some(version) => Ok(self.speaking(version)),
            None => Err(NegotiationError::Gap(VersionGap {
                required: versions.to_vec(),
                available: negotiated.served,
            })),
        }
    }

    /// The generated client for the negotiated version.
    pub async fn client(&self) -> Result<Speaking, NegotiationError> {
        let negotiated = self.negotiated().await?;
        Ok(self.speaking(&negotiated.version))
    }

    /// A client for a version at least `minimum`, or the gap.
    pub async fn require(&self, minimum: &Version) -> Result<Speaking, NegotiationError> {
        let negotiated = self.negotiated().await?;
        if &negotiated.version >= minimum {
            return Ok(self.speaking(&negotiated.version));
        }
        Err(NegotiationError::Gap(VersionGap {
            required: spoken_versions().into_iter().filter(|v| v >= minimum).collect(),
            available: negotiated.served,
        }))
    }

    fn speaking(&self, version: &Version) -> Speaking {
        let (url, http) = (self.base_url.as_str(), self.http.clone());
        match version.major {
            0 | 1 => Speaking::V1(v1::Client::new_with_client(url, http)),
            2 => Speaking::V2(v2::Client::new_with_client(url, http)),
            3 => Speaking::V3(v3::Client::new_with_client(url, http)),
            _ => Speaking::V4(v4::Client::new_with_client(url, http)),
        }
    }

    /// Looks at an error from a call made through this endpoint: a refusal of
    /// the version (the Harmony was rolled back or replaced) drops the cache,
    /// so the next call negotiates again. Returns whether it was such a
    /// refusal.
    pub fn observe<E: ErrorBody>(&self, error: &crate::Error<E>) -> bool {
        let refused = match error {
            crate::Error::ErrorResponse(rv) => {
                rv.status().as_u16() == 400 && rv.error_code() == Some(UNSUPPORTED_API_VERSION)
            }
            _ => false,
        };
        if refused {
            self.invalidate();
        }
        refused
    }
}

/// What every generated version's error body says, so consumers can handle
/// errors from any version with one piece of code.
pub trait ErrorBody {
    fn error_code(&self) -> Option<&str>;
    fn message(&self) -> &str;
}

impl ErrorBody for v1::types::Error {
    fn error_code(&self) -> Option<&str> {
        self.error_code.as_deref()
    }

    fn message(&self) -> &str {
        &self.message
    }
}

impl ErrorBody for v4::types::Error {
    fn error_code(&self) -> Option<&str> {
        self.error_code.as_deref()
    }

    fn message(&self) -> &str {
        &self.message
    }
}

impl ErrorBody for v3::types::Error {
    fn error_code(&self) -> Option<&str> {
        self.error_code.as_deref()
    }

    fn message(&self) -> &str {
        &self.message
    }
}

impl ErrorBody for v2::types::Error {
    fn error_code(&self) -> Option<&str> {
        self.error_code.as_deref()
    }

    fn message(&self) -> &str {
        &self.message
    }
}
