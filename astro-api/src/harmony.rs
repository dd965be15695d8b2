//! astro-api's link to its Harmony cells, through the generated client only.
//!
//! astro-api is configured with one or more cells, each a Harmony endpoint
//! owning some data planes; during a Harmony rollout cells run different
//! versions. Each cell negotiates its version on its own
//! ([`harmony_client::Harmony`]). A request is routed to the cell that owns
//! its data plane and made at that cell's negotiated version: Hybrid work goes
//! through 1.0.0 when that is all a cell serves; work that 1.0.0 cannot
//! express (anything Hosted) gets a named version gap.
//!
//! Every Harmony error is mapped on purpose, never passed through:
//! unreachable or 503 becomes [`Failure::HarmonyUnavailable`], a version gap
//! [`Failure::HarmonyVersionUnsupported`] (both 503 with a retry hint, never
//! a 500), an answer this astro-api cannot decode [`Failure::HarmonyFailed`].
//!
//! Only this module knows Harmony's types (a tidy test holds it): the rest
//! of astro-api speaks of a [`PlaneKind`], a [`Plane`], a [`Spec`] (what the
//! outbox carries, opaque) and a [`Reported`] status, and takes the request
//! id's scope from [`request_id`].

use crate::failure::Failure;
use astro_public_api::types as pub_types;
use futures::TryStreamExt;
use harmony_client::negotiate::{ErrorBody, NOT_VISIBLE_AT_VERSION};
use harmony_client::v2::types as h;
use harmony_client::{NegotiationError, Speaking, v1};
use std::time::Duration;
use uuid::Uuid;

pub use harmony_client::request_id;

/// The two kinds of data plane. astro-api's own type: Harmony's wire enum
/// stays in this module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaneKind {
    Hosted,
    Hybrid,
}

impl From<h::DataPlaneKind> for PlaneKind {
    fn from(kind: h::DataPlaneKind) -> PlaneKind {
        match kind {
            h::DataPlaneKind::Hosted => PlaneKind::Hosted,
            h::DataPlaneKind::Hybrid => PlaneKind::Hybrid,
        }
    }
}

impl From<PlaneKind> for h::DataPlaneKind {
    fn from(kind: PlaneKind) -> h::DataPlaneKind {
        match kind {
            PlaneKind::Hosted => h::DataPlaneKind::Hosted,
            PlaneKind::Hybrid => h::DataPlaneKind::Hybrid,
        }
    }
}

/// A deployment's desired state as Harmony takes it (its 2.0.0 spec, made
/// by [`harmony_spec`]): what an outbox entry carries. Opaque outside this
/// module but for its generation and its JSON, which the store seals.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec(h::DeploymentSpec);

impl Spec {
    pub fn generation(&self) -> u64 {
        self.0.generation
    }

    pub fn to_json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(&self.0)
    }

    /// The spec [`Spec::to_json`] wrote; an error when the JSON is not
    /// Harmony's 2.0.0 spec.
    pub fn from_json(json: serde_json::Value) -> serde_json::Result<Spec> {
        serde_json::from_value(json).map(Spec)
    }
}

/// A deployment's status as its data plane's agent reports it, through
/// Harmony's [`STATUS_API`].
pub struct Reported(harmony_client::v4::types::DeploymentStatus);

impl Reported {
    /// Sets `d`'s status to what the data plane reports, for the generation
    /// Harmony has (a report about an older generation changes nothing).
    pub fn apply_to(&self, d: &mut pub_types::Deployment) {
        use harmony_client::v4::types::DeploymentState as S;
        let reported = &self.0;
        if reported.generation < d.generation {
            return;
        }
        // The agent's words, bounded and without controls: an agent is not
        // trusted to write into a user's view.
        let said = reported
            .message
            .as_deref()
            .map(|m| format!(": {}", deployment_rules::shown(m, MAX_SHOWN)))
            .unwrap_or_default();
        let (status, reason) = match reported.state {
            S::Healthy => (
                pub_types::DeploymentStatus::Healthy,
                format!(
                    "the data plane runs revision {} and reports it healthy{said}",
                    reported.revision
                ),
            ),
            S::Unhealthy => (
                pub_types::DeploymentStatus::Unhealthy,
                format!("the data plane reports revision {} unhealthy{said}", reported.revision),
            ),
            S::Unknown => (
                pub_types::DeploymentStatus::Unknown,
                "the data plane's agent is not reporting; its state is unknown".to_owned(),
            ),
            // What the handoff already says: waiting for the data plane.
            S::Deploying => return,
        };
        d.status = status;
        d.status_reason = Some(reason);
    }
}

/// The newest Harmony API version this astro-api speaks.
pub fn newest_spoken() -> Option<semver::Version> {
    harmony_client::negotiate::spoken_versions().into_iter().max()
}

/// The Harmony API versions this astro-api can do each kind of work through:
/// a cell hosting that kind must serve at least one of them. Hybrid work
/// goes through 1.0.0 or 2.0.0 (see [`to_v1`]); Hosted work needs 2.0.0.
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

/// Label a Hosted data plane carries when STANDARD deployments may share it.
pub const SHARED_LABEL: &str = "astronomer.io/shared";

/// What astro-api reads of a data plane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plane {
    pub cell: String,
    pub id: String,
    pub kind: PlaneKind,
    /// The organization a Hybrid or Dedicated data plane belongs to (its
    /// [`OWNER_LABEL`]); `None` for a shared one, or one registered
    /// without an owner, which no organization may place on by id.
    pub owner: Option<String>,
}

/// The label that records, at registration, which organization a Hybrid or
/// Dedicated data plane belongs to. Only that organization may place
/// deployments on it; to every other it does not exist.
pub const OWNER_LABEL: &str = "astronomer.io/organization";

/// How one cell is configured.
#[derive(Clone, Debug)]
pub struct CellConfig {
    pub name: String,
    pub url: String,
}

struct Cell {
    name: String,
    link: harmony_client::Harmony,
}

/// Every configured Harmony cell.
pub struct Cells {
    cells: Vec<Cell>,
    /// Which cell owns a data plane, as last found. A data plane's kind never
    /// changes; entries expire after `ttl` in case one moves between cells.
    planes: std::sync::Mutex<std::collections::HashMap<String, (Plane, std::time::Instant)>>,
    ttl: Duration,
    /// Where placements are also written, so every replica sharing the
    /// database can fall back on what any of them found.
    store: Option<crate::store::Store>,
}

/// One cell's state, for readiness. No URL and no downstream text: the
/// answer is open to callers without a token.
pub struct CellStatus {
    pub name: String,
    pub negotiated: Result<harmony_client::Negotiated, String>,
}

impl Cells {
    pub fn new(
        configs: &[CellConfig],
        timeout: Duration,
        ttl: Duration,
        token: Option<&str>,
        ca: Option<&[u8]>,
    ) -> anyhow::Result<Cells> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .timeout(timeout);
        if let Some(ca) = ca {
            builder = harmony_client::trusting(builder, ca).map_err(|e| {
                anyhow::anyhow!("the Harmony CA bundle is not PEM certificates: {e}")
            })?;
        }
        let http = match token {
            Some(token) => harmony_client::with_service_token(builder, token)?,
            None => builder.build()?,
        };
        anyhow::ensure!(!configs.is_empty(), "at least one Harmony cell is needed");
        Ok(Cells {
            planes: Default::default(),
            ttl,
            store: None,
            cells: configs
                .iter()
                .map(|c| Cell {
                    name: c.name.clone(),
                    link: harmony_client::Harmony::new(&c.url, http.clone(), ttl),
                })
                .collect(),
        })
    }

    fn cell(&self, name: &str) -> Result<&Cell, Failure> {
        self.cells.iter().find(|c| c.name == name).ok_or_else(|| {
            Failure::Internal(anyhow::anyhow!("deployment is recorded in unknown cell {name:?}"))
        })
    }

    pub async fn status(&self) -> Vec<CellStatus> {
        let mut out = Vec::new();
        for cell in &self.cells {
            let negotiated = cell.link.negotiated().await.map_err(|e| match e {
                // The client's words name the URL and the transport error.
                harmony_client::NegotiationError::Unreachable(_) => {
                    "unreachable: its API versions could not be learned".to_owned()
                }
                gap @ harmony_client::NegotiationError::Gap(_) => gap.to_string(),
            });
            out.push(CellStatus { name: cell.name.clone(), negotiated });
        }
        out
    }

    /// Also keeps placements in `store` (shared by the replicas on its
    /// database).
    pub fn with_store(mut self, store: crate::store::Store) -> Cells {
        self.store = Some(store);
        self
    }

    /// The placement remembered under `key`: fresh (within the TTL), or any
    /// age when the cells cannot be asked.
    fn remembered(&self, key: &str, any_age: bool) -> Option<Plane> {
        let planes = self.planes.lock().unwrap_or_else(|p| p.into_inner());
        let (plane, at) = planes.get(key)?;
        (any_age || at.elapsed() < self.ttl).then(|| plane.clone())
    }

    /// When no cell can be asked: the placement this process remembers, or
    /// else the one any replica recorded in the store.
    async fn recalled(&self, key: &str) -> Option<Plane> {
        if let Some(plane) = self.remembered(key, true) {
            return Some(plane);
        }
        let store = self.store.clone()?;
        let key = key.to_owned();
        let found = sql_store::run_blocking(move || store.placement(&key)).await.ok()?;
        found.ok()?
    }

    fn remember(&self, key: String, plane: &Plane) {
        let previous = self
            .planes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), (plane.clone(), std::time::Instant::now()));
        // Written through when new or changed (not at every refresh). A
        // hint for later fallbacks, not an acknowledged change: a failed
        // write only means another replica cannot use it.
        if let Some(store) = self.store.clone()
            && previous.is_none_or(|(p, _)| p != *plane)
        {
            let plane = plane.clone();
            tokio::task::spawn_blocking(move || {
                let _ = store.remember_placement(&key, &plane);
            });
        }
    }

    /// The cell and data plane named `id`. A cell that cannot be asked only
    /// matters when no other cell has the data plane; when none can be asked,
    /// the last answer seen is used (a data plane's cell and kind do not
    /// change under a running control plane), so work can still be queued.
    pub async fn data_plane(&self, id: &str) -> Result<Option<Plane>, Failure> {
        if let Some(plane) = self.remembered(id, false) {
            return Ok(Some(plane));
        }
        let mut unreachable = None;
        for cell in &self.cells {
            match cell.data_plane(id).await {
                Ok(Some(plane)) => {
                    self.remember(id.to_owned(), &plane);
                    return Ok(Some(plane));
                }
                Ok(None) => {}
                Err(failure) => unreachable = Some(failure),
            }
        }
        match unreachable {
            Some(failure @ Failure::HarmonyUnavailable(_)) => {
                self.recalled(id).await.map(Some).ok_or(failure)
            }
            Some(failure) => Err(failure),
            None => Ok(None),
        }
    }

    /// A shared Hosted data plane in `cloud`/`region`, in any cell (the last
    /// one seen when no cell can be asked).
    pub async fn shared_data_plane(
        &self,
        cloud: pub_types::CloudProvider,
        region: &str,
    ) -> Result<Option<Plane>, Failure> {
        let cloud = harmony_cloud(cloud);
        let key = format!("shared/{cloud:?}/{region}");
        if let Some(plane) = self.remembered(&key, false) {
            return Ok(Some(plane));
        }
        let mut unanswered = None;
        for cell in &self.cells {
            let found = match cell.sees_hosted().await {
                Ok(true) => cell.shared_data_plane(cloud, region).await,
                // A 1.0.0 cell cannot say whether it has one.
                Ok(false) => Err(cell.gap_to_v2().await),
                Err(failure) => Err(failure),
            };
            match found {
                Ok(Some(plane)) => {
                    self.remember(key, &plane);
                    return Ok(Some(plane));
                }
                Ok(None) => {}
                Err(failure) => unanswered = Some(failure),
            }
        }
        match unanswered {
            Some(failure @ Failure::HarmonyUnavailable(_)) => {
                self.recalled(&key).await.map(Some).ok_or(failure)
            }
            Some(failure) => Err(failure),
            None => Ok(None),
        }
    }

    /// Whether `cell` can take work on a data plane of `kind`: refused now
    /// with the version gap when the cell is known to serve no version that
    /// can express it; accepted when the cell cannot be asked (the outbox
    /// waits for it).
    pub async fn accepts(&self, cell: &str, kind: PlaneKind) -> Result<(), Failure> {
        let cell = self.cell(cell)?;
        match cell.link.speak(&deployment_versions(kind)).await {
            Ok(_) | Err(NegotiationError::Unreachable(_)) => Ok(()),
            Err(gap @ NegotiationError::Gap(_)) => Err(cell.negotiation_failure(gap)),
        }
    }

    /// Rollouts in `cell` that target any of `planes` (running, or finished
    /// within a week), with those planes' current releases. A cell that
    /// cannot say is an `Err` describing why, never a failed request.
    pub async fn rollouts(
        &self,
        cell: &str,
        planes: &[String],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<pub_types::PlatformRollout>, pub_types::PlatformRolloutsUnavailable> {
        let unavailable = |failure: Failure| {
            let version_gap = match &failure {
                Failure::HarmonyVersionUnsupported { cell, required, available } => {
                    Some(astro_public_api::VersionGap {
                        cell: cell.clone(),
                        required: required.clone(),
                        available: available.clone(),
                    })
                }
                _ => None,
            };
            pub_types::PlatformRolloutsUnavailable {
                cell: cell.to_owned(),
                reason: failure.to_string(),
                version_gap,
            }
        };
        let cell = self.cell(cell).map_err(unavailable)?;
        cell.rollouts(planes, now).await.map_err(unavailable)
    }

    /// A deployment's status on its data plane, from its agent's reports
    /// (through [`STATUS_API`]).
    pub async fn deployment_status(&self, cell: &str, id: Uuid) -> Result<Reported, Failure> {
        self.cell(cell)?.deployment_status(id).await.map(Reported)
    }

    pub async fn put_deployment(&self, cell: &str, id: Uuid, spec: &Spec) -> Result<(), Failure> {
        self.cell(cell)?.put_deployment(id, spec).await
    }

    pub async fn delete_deployment(
        &self,
        cell: &str,
        id: Uuid,
        kind: PlaneKind,
    ) -> Result<(), Failure> {
        self.cell(cell)?.delete_deployment(id, kind).await
    }
}

/// A client for deployment work, at a version that code is written for.
enum Deployments {
    V1(v1::Client),
    V2(harmony_client::v2::Client),
}

impl Cell {
    /// A client for work on data planes of `kind`.
    async fn client_for(&self, kind: PlaneKind) -> Result<Deployments, Failure> {
        let versions = deployment_versions(kind);
        match self.link.speak(&versions).await.map_err(|e| self.negotiation_failure(e))? {
            Speaking::V1(c) => Ok(Deployments::V1(c)),
            Speaking::V2(c) => Ok(Deployments::V2(c)),
            // `speak` only hands out a version from the list given.
            other => Err(self.gap(versions, vec![other.version()])),
        }
    }

    /// A client for work any version can do (reads of data planes).
    async fn client(&self) -> Result<Deployments, Failure> {
        self.client_for(PlaneKind::Hybrid).await
    }

    fn negotiation_failure(&self, error: NegotiationError) -> Failure {
        match error {
            // The client's detail names the cell's URL: not for callers.
            NegotiationError::Unreachable(_) => Failure::HarmonyUnavailable(format!(
                "cell {}: unreachable (its API versions could not be learned)",
                self.name
            )),
            NegotiationError::Gap(gap) => self.gap(gap.required, gap.available),
        }
    }

    fn gap(&self, required: Vec<semver::Version>, available: Vec<semver::Version>) -> Failure {
        Failure::HarmonyVersionUnsupported {
            cell: self.name.clone(),
            required: required.iter().map(ToString::to_string).collect(),
            available: available.iter().map(ToString::to_string).collect(),
        }
    }

    /// Maps an error of a call made at the negotiated version.
    fn map<E: ErrorBody>(&self, error: harmony_client::Error<E>) -> Failure {
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

    async fn data_plane(&self, id: &str) -> Result<Option<Plane>, Failure> {
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
    async fn gap_to_v2(&self) -> Failure {
        match self.link.negotiated().await {
            Ok(negotiated) => self.gap(vec![semver::Version::new(2, 0, 0)], negotiated.served),
            Err(e) => self.negotiation_failure(e),
        }
    }

    /// Whether this cell speaks 2.0.0 or later (and so can see Hosted
    /// data planes).
    async fn sees_hosted(&self) -> Result<bool, Failure> {
        Ok(matches!(self.client().await?, Deployments::V2(_)))
    }

    /// `Ok(())` for a 404 (not in this cell), the mapped failure otherwise.
    fn not_found_or<E: ErrorBody>(&self, error: harmony_client::Error<E>) -> Result<(), Failure> {
        if error.status() == Some(reqwest::StatusCode::NOT_FOUND) {
            Ok(())
        } else {
            Err(self.map(error))
        }
    }

    async fn shared_data_plane(
        &self,
        cloud: h::CloudProvider,
        region: &str,
    ) -> Result<Option<Plane>, Failure> {
        // A 1.0.0 Harmony has no Hosted data planes.
        let Deployments::V2(c) = self.client().await? else {
            return Ok(None);
        };
        let planes: Vec<h::DataPlane> =
            c.data_plane_list_stream(None).try_collect().await.map_err(|e| self.map(e))?;
        Ok(planes
            .into_iter()
            .find(|p| {
                p.kind == h::DataPlaneKind::Hosted
                    && p.cloud_provider == cloud
                    && p.region == region
                    && p.labels.get(SHARED_LABEL).is_some_and(|v| v == "true")
            })
            .map(|p| Plane { cell: self.name.clone(), id: p.id, kind: p.kind.into(), owner: None }))
    }

    async fn put_deployment(&self, id: Uuid, Spec(spec): &Spec) -> Result<(), Failure> {
        match self.client_for(spec.kind.into()).await? {
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
    async fn delete_deployment(&self, id: Uuid, kind: PlaneKind) -> Result<(), Failure> {
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
    async fn deployment_status(
        &self,
        id: Uuid,
    ) -> Result<harmony_client::v4::types::DeploymentStatus, Failure> {
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

    async fn rollouts(
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

/// The 1.0.0 form of a spec, when it has one (Hybrid only).
fn to_v1(spec: &h::DeploymentSpec) -> Option<v1::types::DeploymentSpec> {
    use v1::types as o;
    if spec.kind != h::DataPlaneKind::Hybrid {
        return None;
    }
    let scheduler = spec.scheduler.as_ref()?;
    Some(o::DeploymentSpec {
        organization_id: spec.organization_id.clone(),
        workspace_id: spec.workspace_id.clone(),
        data_plane_id: spec.data_plane_id.clone(),
        name: spec.name.clone(),
        runtime_version: spec.runtime_version.clone(),
        executor: match spec.executor {
            h::Executor::Celery => o::Executor::Celery,
            h::Executor::Kubernetes => o::Executor::Kubernetes,
            h::Executor::Astro => return None,
        },
        scheduler: o::HybridScheduler { au: scheduler.au, replicas: scheduler.replicas },
        worker_queues: spec
            .worker_queues
            .iter()
            .map(|q| {
                Some(o::WorkerQueue {
                    name: q.name.clone(),
                    is_default: q.is_default,
                    min_worker_count: q.min_worker_count,
                    max_worker_count: q.max_worker_count,
                    worker_concurrency: q.worker_concurrency,
                    node_pool_id: q.node_pool_id.clone()?,
                })
            })
            .collect::<Option<Vec<_>>>()?,
        environment_variables: spec
            .environment_variables
            .iter()
            .map(|v| o::EnvironmentVariable {
                key: v.key.clone(),
                value: v.value.clone(),
                is_secret: v.is_secret,
            })
            .collect(),
        image_tag: spec.image_tag.clone(),
        dag_bundle_version: spec.dag_bundle_version.clone(),
        generation: spec.generation,
    })
}

fn is_not_visible<E: ErrorBody>(error: &harmony_client::Error<E>) -> bool {
    match error {
        harmony_client::Error::ErrorResponse(rv) => {
            rv.status().as_u16() == 404 && rv.error_code() == Some(NOT_VISIBLE_AT_VERSION)
        }
        _ => false,
    }
}

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
fn map<E: ErrorBody>(cell: &str, error: harmony_client::Error<E>) -> Failure {
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
                // The request itself: sending it again changes nothing.
                400..=499 => Failure::HarmonyRefused(format!(
                    "cell {cell} refused a request astro-api considered valid ({status}): {message}"
                )),
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

/// The kind of data plane a deployment's type lands on.
pub(crate) fn plane_kind(input: &pub_types::DeploymentInput) -> PlaneKind {
    match input.deployment_type {
        pub_types::DeploymentType::Hybrid => PlaneKind::Hybrid,
        pub_types::DeploymentType::Standard | pub_types::DeploymentType::Dedicated => {
            PlaneKind::Hosted
        }
    }
}

fn harmony_cloud(cloud: pub_types::CloudProvider) -> h::CloudProvider {
    match cloud {
        pub_types::CloudProvider::Aws => h::CloudProvider::Aws,
        pub_types::CloudProvider::Azure => h::CloudProvider::Azure,
        pub_types::CloudProvider::Gcp => h::CloudProvider::Gcp,
    }
}

/// The Harmony 2.0.0 spec for an input.
pub(crate) fn harmony_spec(
    org: &str,
    input: &pub_types::DeploymentInput,
    plane: &Plane,
    generation: u64,
    image_tag: &str,
    dag_bundle_version: Option<&str>,
) -> Spec {
    Spec(h::DeploymentSpec {
        kind: plane.kind.into(),
        organization_id: org.to_owned(),
        workspace_id: input.workspace_id.clone(),
        data_plane_id: plane.id.clone(),
        name: input.name.clone(),
        runtime_version: input.runtime_version.clone(),
        executor: match input.executor {
            pub_types::Executor::Celery => h::Executor::Celery,
            pub_types::Executor::Kubernetes => h::Executor::Kubernetes,
            pub_types::Executor::Astro => h::Executor::Astro,
        },
        scheduler_size: input.scheduler_size.map(|size| match size {
            pub_types::SchedulerSize::Small => h::SchedulerSize::Small,
            pub_types::SchedulerSize::Medium => h::SchedulerSize::Medium,
            pub_types::SchedulerSize::Large => h::SchedulerSize::Large,
            pub_types::SchedulerSize::ExtraLarge => h::SchedulerSize::ExtraLarge,
        }),
        scheduler: input.scheduler.map(|s| h::HybridScheduler { au: s.au, replicas: s.replicas }),
        is_high_availability: input.is_high_availability,
        worker_queues: input
            .worker_queues
            .iter()
            .map(|q| h::WorkerQueue {
                name: q.name.clone(),
                is_default: q.is_default,
                min_worker_count: q.min_worker_count,
                max_worker_count: q.max_worker_count,
                worker_concurrency: q.worker_concurrency,
                astro_machine: q.astro_machine.map(|m| match m {
                    pub_types::AstroMachine::A5 => h::AstroMachine::A5,
                    pub_types::AstroMachine::A10 => h::AstroMachine::A10,
                    pub_types::AstroMachine::A20 => h::AstroMachine::A20,
                    pub_types::AstroMachine::A40 => h::AstroMachine::A40,
                    pub_types::AstroMachine::A60 => h::AstroMachine::A60,
                    pub_types::AstroMachine::A120 => h::AstroMachine::A120,
                    pub_types::AstroMachine::A160 => h::AstroMachine::A160,
                }),
                node_pool_id: q.node_pool_id.clone(),
            })
            .collect(),
        environment_variables: input
            .environment_variables
            .iter()
            .map(|v| h::EnvironmentVariable {
                key: v.key.clone(),
                value: v.value.clone(),
                is_secret: v.is_secret,
            })
            .collect(),
        image_tag: image_tag.to_owned(),
        dag_bundle_version: dag_bundle_version.map(str::to_owned),
        generation,
    })
}
