//! Which Harmony API versions each kind of work can go through: routing
//! and the deploy gate (`harmony_needs`) read the same functions.

use super::*;

/// The newest Harmony API version this astro-api speaks.
pub fn newest_spoken() -> Option<semver::Version> {
    harmony_client::negotiate::spoken_versions().into_iter().max()
}

/// The Harmony API versions this astro-api can do each kind of work through:
/// a cell hosting that kind must serve at least one of them. Hybrid work
/// goes through 1.0.0 or 2.0.0 (see `to_v1`); Hosted work needs 2.0.0.
/// `astro-api/harmony-needs.json` states the same for the deploy gate
/// (`cargo xtask can-i-deploy`); a test keeps the two equal.
pub fn harmony_needs() -> std::collections::BTreeMap<&'static str, Vec<semver::Version>> {
    [
        ("HYBRID", deployment_versions(PlaneKind::Hybrid)),
        ("HOSTED", deployment_versions(PlaneKind::Hosted)),
    ]
    .into()
}

/// The newest Harmony API version astro-api's data-plane and deployment
/// code is written against (`h` is its types). 3.0.0 changed nothing there
/// (it added rollouts), so that work keeps speaking 2.0.0 to a 3.0.0
/// Harmony, which serves every released version.
pub const DEPLOYMENT_API: semver::Version = semver::Version::new(2, 0, 0);

/// The Harmony API version rollout status is read through; a cell that does
/// not serve it shows as "unavailable" in the answer, never as an error.
pub const ROLLOUT_API: semver::Version = semver::Version::new(3, 0, 0);

/// The Harmony API version a deployment's status on its data plane is read
/// through. A cell that does not serve it leaves the status as the handoff
/// tells it (never an error).
pub const STATUS_API: semver::Version = semver::Version::new(4, 0, 0);

/// The Harmony API version a deployment's contact emails go through: a
/// cell that does not serve it gets the spec without them (at
/// [`DEPLOYMENT_API`] or older), and keeps what it has.
pub const CONTACT_EMAILS_API: semver::Version = semver::Version::new(4, 0, 0);

/// The versions work on a data plane of `kind` can go through, oldest first.
pub fn deployment_versions(kind: PlaneKind) -> Vec<semver::Version> {
    harmony_client::negotiate::spoken_versions()
        .into_iter()
        .filter(|v| *v >= minimum_version(kind) && *v <= DEPLOYMENT_API)
        .collect()
}

/// The oldest Harmony API version through which astro-api does work on a
/// data plane of `kind`. Requests are routed by it, and the deploy gate reads
/// it (through `harmony_needs`), so the two cannot disagree.
pub fn minimum_version(kind: PlaneKind) -> semver::Version {
    match kind {
        // Hybrid work has a 1.0.0 form (see `to_v1`).
        PlaneKind::Hybrid => semver::Version::new(1, 0, 0),
        PlaneKind::Hosted => semver::Version::new(2, 0, 0),
    }
}
