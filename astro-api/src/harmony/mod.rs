//! astro-api's link to its Harmony cells, through the generated client only.
//!
//! astro-api is configured with one or more cells, each a Harmony endpoint
//! owning some data planes; during a Harmony rollout cells run different
//! versions. Each cell negotiates its version on its own
//! ([`harmony_client::HarmonyLink`]). A request is routed to the cell that owns
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
//!
//! This file holds [`Cells`], what the rest of astro-api calls; `cell.rs`
//! one cell's calls and how their errors are mapped; `versions.rs` which
//! versions each kind of work goes through; `wire.rs` astro-api's own types
//! and their mappings to and from Harmony's.

use crate::failure::Failure;
use astro_public_api::types as pub_types;
use futures::TryStreamExt;
use harmony_client::negotiate::{ErrorBody, NOT_VISIBLE_AT_VERSION};
use harmony_client::v2::types as h;
use harmony_client::{NegotiationError, Speaking, v1};
use std::time::Duration;
use uuid::Uuid;

mod cell;
mod versions;
mod wire;

use cell::Cell;
pub use cell::MAX_SHOWN;
pub use versions::{
    DEPLOYMENT_API, ROLLOUT_API, STATUS_API, deployment_versions, harmony_needs, minimum_version,
    newest_spoken,
};
pub use wire::{PlaneKind, Reported, Spec};
use wire::{harmony_cloud, to_v1};
pub(crate) use wire::{harmony_spec, plane_kind};

pub use harmony_client::request_id;

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

/// Every configured Harmony cell.
pub struct Cells {
    cells: Vec<Cell>,
    /// Which cell owns a data plane, as last found. A data plane's kind never
    /// changes; entries expire after `ttl` in case one moves between cells.
    planes: std::sync::Mutex<std::collections::HashMap<String, (Plane, std::time::Instant)>>,
    ttl: Duration,
    /// Where placements are also written, so every replica sharing the
    /// database can fall back on what any of them found.
    store: Option<std::sync::Arc<dyn Placements>>,
}

/// Placements shared by the replicas (the store keeps them): where each
/// key was last found. Blocking calls, made on the blocking pool. A
/// trait here, implemented by the store, so this module does not import
/// the store, which keeps this module's types.
pub trait Placements: Send + Sync + 'static {
    /// Where `key` was last found; `None` when unknown or unreadable.
    fn placement(&self, key: &str) -> Option<Plane>;
    /// Records that `key` was found as `plane`. A hint for later
    /// fallbacks: a failed write only means another replica cannot use it.
    fn remember_placement(&self, key: &str, plane: &Plane);
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
                    link: harmony_client::HarmonyLink::new(&c.url, http.clone(), ttl),
                    shared: Default::default(),
                    scans: Default::default(),
                })
                .collect(),
        })
    }

    /// Times the cells' data planes were listed to find a shared plane.
    pub fn shared_plane_scans(&self) -> u64 {
        self.cells.iter().map(|c| c.scans.load(std::sync::atomic::Ordering::Relaxed)).sum()
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
    pub fn with_store(mut self, store: impl Placements) -> Cells {
        self.store = Some(std::sync::Arc::new(store));
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
        sql_store::run_blocking(move || store.placement(&key)).await.ok()?
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
            tokio::spawn(sql_store::run_blocking(move || store.remember_placement(&key, &plane)));
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
                Ok(true) => cell.shared_data_plane(cloud, region, self.ttl).await,
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
