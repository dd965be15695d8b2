//! One cell: its negotiated client, the calls astro-api makes through it,
//! and how every error of a call is mapped.

use super::*;
use crate::quota::{Exceeded, Quota};
use harmony_client::negotiate::{QUOTA_EXCEEDED, QuotaRefusal};

pub(super) struct Cell {
    pub(super) name: String,
    pub(super) link: harmony_client::HarmonyLink,
    /// The cell's shared Hosted planes by cloud and region, as last listed.
    pub(super) shared: tokio::sync::Mutex<SharedPlanes>,
    /// Times the cell's data planes were listed to find shared ones.
    pub(super) scans: std::sync::atomic::AtomicU64,
}

/// A cell's shared Hosted planes, listed at most once a placement lifetime
/// (`Cells`' `ttl`, the negotiation TTL: 30 s by default): a create naming
/// a region costs a map lookup, not a listing of the whole fleet (issue 34:
/// 27 ms of Harmony's CPU per create naming an unknown region at 2,005
/// planes, against 2.3 ms at 5). A shared plane registered meanwhile is
/// placed on once the listing is that old.
#[derive(Default)]
pub(super) struct SharedPlanes {
    listed_at: Option<std::time::Instant>,
    by_place: std::collections::HashMap<(h::CloudProvider, String), Plane>,
}

/// A client for deployment work, at a version that code is written for.
pub(super) enum Deployments {
    V1(v1::Client),
    V2(harmony_client::v2::Client),
}

impl Cell {
    /// A client for work on data planes of `kind`.
    pub(super) async fn client_for(&self, kind: PlaneKind) -> Result<Deployments, Failure> {
        let versions = deployment_versions(kind);
        let speaking = self.link.speak(&versions).await.map_err(|e| self.negotiation_failure(e))?;
        self.deployments(speaking, versions)
    }

    /// The client for deployment work that `speaking` is; a gap naming
    /// `versions` (what that work needs) when it is another.
    fn deployments(
        &self,
        speaking: Speaking,
        versions: Vec<semver::Version>,
    ) -> Result<Deployments, Failure> {
        match speaking {
            Speaking::V1(c) => Ok(Deployments::V1(c)),
            Speaking::V2(c) => Ok(Deployments::V2(c)),
            // `speak` only hands out a version from the list given.
            other => Err(self.gap(versions, vec![other.version()])),
        }
    }

    /// A client for work any version can do (reads of data planes).
    pub(super) async fn client(&self) -> Result<Deployments, Failure> {
        self.client_for(PlaneKind::Hybrid).await
    }

    pub(super) fn negotiation_failure(&self, error: NegotiationError) -> Failure {
        match error {
            // The client's detail names the cell's URL: not for callers.
            NegotiationError::Unreachable(_) => Failure::HarmonyUnavailable(format!(
                "cell {}: unreachable (its API versions could not be learned)",
                self.name
            )),
            NegotiationError::Gap(gap) => self.gap(gap.required, gap.available),
        }
    }

    pub(super) fn gap(
        &self,
        required: Vec<semver::Version>,
        available: Vec<semver::Version>,
    ) -> Failure {
        Failure::HarmonyVersionUnsupported {
            cell: self.name.clone(),
            required: required.iter().map(ToString::to_string).collect(),
            available: available.iter().map(ToString::to_string).collect(),
        }
    }

    /// Maps an error of a call made at the negotiated version.
    pub(super) fn map<E: ErrorBody>(&self, error: harmony_client::Error<E>) -> Failure {
        if self.link.observe(&error) {
            // Negotiated a moment ago, refused now: the Harmony changed
            // under us. Said as unavailable; the next request negotiates again.
            return Failure::HarmonyUnavailable(format!(
                "cell {} no longer serves the negotiated API version",
                self.name
            ));
        }
        map(&self.name, error)
    }

    pub(super) async fn data_plane(&self, id: &str) -> Result<Option<Plane>, Failure> {
        let found = match self.client().await? {
            Deployments::V2(c) => match c.data_plane_get(id).await {
                Ok(plane) => Some((plane.kind.into(), plane.labels.get(OWNER_LABEL).cloned())),
                Err(e) => self.not_found_or(e).map(|()| None)?,
            },
            Deployments::V1(c) => match c.data_plane_get(id).await {
                Ok(plane) => Some((PlaneKind::Hybrid, plane.labels.get(OWNER_LABEL).cloned())),
                Err(e) if is_not_visible(&e) => {
                    // A Hosted data plane, hidden from 1.0.0 clients.
                    return Err(self.gap_to_v2().await);
                }
                Err(e) => self.not_found_or(e).map(|()| None)?,
            },
        };
        Ok(found.map(|(kind, owner)| Plane {
            cell: self.name.clone(),
            id: id.to_owned(),
            kind,
            owner,
        }))
    }

    /// The gap of a cell that serves nothing from 2.0.0 on.
    pub(super) async fn gap_to_v2(&self) -> Failure {
        match self.link.negotiated().await {
            Ok(negotiated) => self.gap(vec![semver::Version::new(2, 0, 0)], negotiated.served),
            Err(e) => self.negotiation_failure(e),
        }
    }

    /// Whether this cell speaks 2.0.0 or later (and so can see Hosted
    /// data planes).
    pub(super) async fn sees_hosted(&self) -> Result<bool, Failure> {
        Ok(matches!(self.client().await?, Deployments::V2(_)))
    }

    /// `Ok(())` for a 404 (not in this cell), the mapped failure otherwise.
    pub(super) fn not_found_or<E: ErrorBody>(
        &self,
        error: harmony_client::Error<E>,
    ) -> Result<(), Failure> {
        if error.status() == Some(reqwest::StatusCode::NOT_FOUND) {
            Ok(())
        } else {
            Err(self.map(error))
        }
    }

    /// The cell's shared Hosted plane in `cloud` and `region`, from its
    /// listing ([`SharedPlanes`]) when that is younger than `lasts` (or was
    /// made while this call waited for it); otherwise the planes are listed
    /// again. Calls wait on each other per cell, so concurrent lookups
    /// share one listing.
    pub(super) async fn shared_data_plane(
        &self,
        cloud: h::CloudProvider,
        region: &str,
        lasts: Duration,
    ) -> Result<Option<Plane>, Failure> {
        let asked = std::time::Instant::now();
        let key = (cloud, region.to_owned());
        let mut index = self.shared.lock().await;
        if let Some(listed) = index.listed_at
            && (listed >= asked || listed.elapsed() < lasts)
        {
            return Ok(index.by_place.get(&key).cloned());
        }
        // A 1.0.0 Harmony has no Hosted data planes.
        let Deployments::V2(c) = self.client().await? else {
            return Ok(None);
        };
        self.scans.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let planes: Vec<h::DataPlane> =
            c.data_plane_list_stream(None).try_collect().await.map_err(|e| self.map(e))?;
        index.by_place = planes
            .into_iter()
            .filter(|p| {
                p.kind == h::DataPlaneKind::Hosted
                    && p.labels.get(SHARED_LABEL).is_some_and(|v| v == "true")
            })
            .map(|p| {
                let plane =
                    Plane { cell: self.name.clone(), id: p.id, kind: p.kind.into(), owner: None };
                ((p.cloud_provider, p.region), plane)
            })
            .collect();
        index.listed_at = Some(std::time::Instant::now());
        Ok(index.by_place.get(&key).cloned())
    }

    /// Puts a deployment's spec: at 4.0.0 when the cell serves it and the
    /// spec says what its contact emails are, else at the newest version
    /// deployment work speaks (Harmony keeps the contact emails it has).
    pub(super) async fn put_deployment(&self, id: Uuid, whole: &Spec) -> Result<(), Failure> {
        let spec = &whole.spec;
        // One negotiation: 4.0.0 is asked for only when the spec says what
        // the contact emails are.
        let needed = deployment_versions(spec.kind.into());
        let mut versions = needed.clone();
        if whole.contact_emails.is_some() {
            versions.push(versions::CONTACT_EMAILS_API);
        }
        let client =
            match self.link.speak(&versions).await.map_err(|e| self.negotiation_failure(e))? {
                Speaking::V4(c) => {
                    let v4 = whole.to_v4().map_err(Failure::HarmonyRefused)?;
                    c.deployment_put(&id, &v4).await.map_err(|e| at("4.0.0", self.map(e)))?;
                    return Ok(());
                }
                other => self.deployments(other, needed)?,
            };
        match client {
            Deployments::V2(c) => {
                c.deployment_put(&id, spec).await.map_err(|e| at("2.0.0", self.map(e)))?;
            }
            Deployments::V1(c) => {
                let Some(old) = to_v1(spec) else {
                    let negotiated =
                        self.link.negotiated().await.map_err(|e| self.negotiation_failure(e))?;
                    return Err(self.gap(vec![semver::Version::new(2, 0, 0)], negotiated.served));
                };
                c.deployment_put(&id, &old).await.map_err(|e| at("1.0.0", self.map(e)))?;
            }
        }
        Ok(())
    }

    /// Deletes a deployment; one Harmony no longer has is already deleted.
    /// Made at a version that can see deployments of `kind` (a 1.0.0 Harmony
    /// hides Hosted ones, and its 404 would not mean "gone").
    pub(super) async fn delete_deployment(&self, id: Uuid, kind: PlaneKind) -> Result<(), Failure> {
        match self.client_for(kind).await? {
            Deployments::V2(c) => {
                c.deployment_delete(&id).await.map(drop).or_else(|e| self.not_found_or(e))
            }
            Deployments::V1(c) => {
                c.deployment_delete(&id).await.map(drop).or_else(|e| self.not_found_or(e))
            }
        }
    }
}

impl Cell {
    pub(super) async fn deployment_status(
        &self,
        id: Uuid,
    ) -> Result<harmony_client::v4::types::DeploymentReport, Failure> {
        let versions = [STATUS_API];
        let c = match self.link.speak(&versions).await.map_err(|e| self.negotiation_failure(e))? {
            Speaking::V4(c) => c,
            other => return Err(self.gap(versions.to_vec(), vec![other.version()])),
        };
        match c.deployment_status_get(&id).await {
            Ok(status) => Ok(status.into_inner()),
            Err(error) => {
                self.link.observe(&error);
                Err(self.map(error))
            }
        }
    }

    pub(super) async fn rollouts(
        &self,
        planes: &[String],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<pub_types::PlatformRollout>, Failure> {
        use harmony_client::v3::types as r;
        let versions = [ROLLOUT_API];
        let c = match self.link.speak(&versions).await.map_err(|e| self.negotiation_failure(e))? {
            Speaking::V3(c) => c,
            other => return Err(self.gap(versions.to_vec(), vec![other.version()])),
        };
        let recent = now - chrono::Duration::days(7);
        let mut found: Vec<(r::Rollout, Vec<String>)> = Vec::new();
        for plane in planes {
            let rollouts = c.rollout_list(Some(plane)).await.map_err(|e| self.map(e))?.into_inner();
            for rollout in rollouts {
                let finished = matches!(
                    rollout.state,
                    r::RolloutState::Succeeded
                        | r::RolloutState::Aborted
                        | r::RolloutState::RolledBack
                );
                if finished && rollout.updated_at < recent {
                    continue;
                }
                match found.iter_mut().find(|(f, _)| f.id == rollout.id) {
                    Some((_, ours)) => ours.push(plane.clone()),
                    None => found.push((rollout, vec![plane.clone()])),
                }
            }
        }
        let mut out = Vec::new();
        for (rollout, ours) in found {
            let mut data_planes = Vec::new();
            for plane in ours {
                let current = c.data_plane_get(&plane).await.map_err(|e| self.map(e))?;
                data_planes.push(pub_types::PlatformRolloutDataPlane {
                    data_plane_id: plane,
                    platform_release: current.platform_release.clone(),
                });
            }
            // Only what concerns this organization: a rollout's reason and
            // decisions name other organizations' data planes, so they stay
            // inside Harmony.
            out.push(pub_types::PlatformRollout {
                cell: self.name.clone(),
                id: rollout.id,
                from_release: rollout.from_release,
                to_release: rollout.to_release,
                state: match rollout.state {
                    r::RolloutState::Pending => pub_types::PlatformRolloutState::Pending,
                    r::RolloutState::Progressing => pub_types::PlatformRolloutState::Progressing,
                    r::RolloutState::Baking => pub_types::PlatformRolloutState::Baking,
                    r::RolloutState::Paused => pub_types::PlatformRolloutState::Paused,
                    r::RolloutState::Succeeded => pub_types::PlatformRolloutState::Succeeded,
                    r::RolloutState::Aborted => pub_types::PlatformRolloutState::Aborted,
                    r::RolloutState::RolledBack => pub_types::PlatformRolloutState::RolledBack,
                },
                current_wave: rollout.current_wave,
                data_planes,
                created_at: rollout.created_at,
                updated_at: rollout.updated_at,
            });
        }
        Ok(out)
    }
}

fn is_not_visible<E: ErrorBody>(error: &harmony_client::Error<E>) -> bool {
    match error {
        harmony_client::Error::ErrorResponse(rv) => {
            rv.status().as_u16() == 404 && rv.error_code() == Some(NOT_VISIBLE_AT_VERSION)
        }
        _ => false,
    }
}

/// The identifiers of the declared rules a Harmony 400 names in its
/// `harmony-refused-by` header (`deployment_rules::rule`), each shown as
/// this build knows it: a declared identifier, or `undeclared` for one it
/// does not know (a newer Harmony's rule), so neither the log nor the
/// metric takes text a server chose.
fn refusing_rules(headers: &reqwest::header::HeaderMap) -> Vec<&'static str> {
    let Some(value) = headers.get(REFUSED_BY_HEADER).and_then(|v| v.to_str().ok()) else {
        return Vec::new();
    };
    let mut rules: Vec<&'static str> = value
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| deployment_rules::rule::rule(id).map_or("undeclared", |r| r.id()))
        .collect();
    rules.dedup();
    rules.truncate(16);
    rules
}

/// The header's name, as Harmony's contract crate declares it (astro-api
/// reaches Harmony only through its client, so it is written here too; a
/// test holds the two equal).
const REFUSED_BY_HEADER: &str = "harmony-refused-by";

/// A refusal names the API version the request was made at: a refusal is
/// what a live Harmony does not take, and its version says which.
fn at(version: &str, failure: Failure) -> Failure {
    match failure {
        Failure::HarmonyRefused(why) => Failure::HarmonyRefused(format!("{why} (API {version})")),
        other => other,
    }
}

/// Longest text from Harmony or an agent a user is shown.
pub const MAX_SHOWN: usize = 300;

/// Maps a Harmony client error to astro-api's failure, case by case.
pub(super) fn map<E: ErrorBody>(cell: &str, error: harmony_client::Error<E>) -> Failure {
    use harmony_client::Error as E;
    match error {
        E::CommunicationError(e) | E::ResponseBodyError(e) | E::InvalidUpgrade(e) => {
            Failure::HarmonyUnavailable(format!(
                "cell {cell}: {}",
                if e.is_timeout() {
                    "request timed out"
                } else if e.is_connect() {
                    "connection refused or unreachable"
                } else {
                    "connection failed"
                }
            ))
        }
        E::ErrorResponse(response) => {
            let status = response.status().as_u16();
            let rules = refusing_rules(response.headers());
            let body = response.into_inner();
            // Harmony's words reach a user (a status reason, an error):
            // bounded, and nothing in them a terminal or log would act on.
            let message = deployment_rules::shown(body.message(), MAX_SHOWN);
            match status {
                503 => Failure::HarmonyUnavailable(format!("cell {cell}: {message}")),
                // An operator's fix (the credential); the outbox keeps the
                // change and retries meanwhile.
                401 | 403 => Failure::HarmonyUnavailable(format!(
                    "cell {cell} refused astro-api's service credential \
                     (--harmony-token-file): {message}"
                )),
                409 => Failure::Conflict { message, field_errors: Vec::new() },
                404 => Failure::NotFound(message),
                // Busy or throttled: another try can succeed.
                408 | 429 => Failure::HarmonyUnavailable(format!("cell {cell} answered {status}")),
                // The data plane has no room: a quota, passed on as one.
                400..=499 if body.error_code() == Some(QUOTA_EXCEEDED) => {
                    match QuotaRefusal::parse(&message).and_then(|r| {
                        Some(Exceeded {
                            quota: Quota::named(&r.quota)?,
                            limit: r.limit,
                            used: r.used,
                            retry_after_ms: None,
                        })
                    }) {
                        Some(exceeded) => Failure::QuotaExceeded(exceeded),
                        None => Failure::HarmonyRefused(format!(
                            "cell {cell} refused for a quota ({status}): {message}"
                        )),
                    }
                }
                // The request itself: sending it again changes nothing.
                400..=499 => {
                    for rule in &rules {
                        crate::metrics::count_harmony_rule(rule);
                    }
                    let named = match rules.is_empty() {
                        true => "no rule named".to_owned(),
                        false => format!("rules {}", rules.join(", ")),
                    };
                    Failure::HarmonyRefused(format!(
                        "cell {cell} refused a request astro-api considered valid ({status}, \
                         {named}): {message}"
                    ))
                }
                code => Failure::HarmonyFailed(format!("Harmony answered {code}")),
            }
        }
        E::InvalidResponsePayload(_, e) => Failure::HarmonyFailed(format!(
            "cell {cell} answered in a form this astro-api cannot read (version skew?): {e}"
        )),
        E::UnexpectedResponse(response) => {
            let status = response.status();
            if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                Failure::HarmonyUnavailable(format!("cell {cell} answered 503"))
            } else {
                Failure::HarmonyFailed(format!("cell {cell} answered an undocumented {status}"))
            }
        }
        E::InvalidRequest(message) | E::Custom(message) => {
            Failure::Internal(anyhow::anyhow!("building a Harmony request: {message}"))
        }
    }
}

#[cfg(test)]
mod refusing_rules_tests {
    #[test]
    fn the_header_is_harmonys_and_names_only_declared_rules() {
        assert_eq!(super::REFUSED_BY_HEADER, harmony_api::REFUSED_BY_HEADER);
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            super::REFUSED_BY_HEADER,
            "queue_names_unique, platform_environment_keys,<script>,".parse().unwrap(),
        );
        assert_eq!(
            super::refusing_rules(&headers),
            ["queue_names_unique", "platform_environment_keys", "undeclared"]
        );
        assert!(super::refusing_rules(&reqwest::header::HeaderMap::new()).is_empty());
    }
}
