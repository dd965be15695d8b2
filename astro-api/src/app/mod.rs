//! astro-api's application layer: validate, keep the record, hand the change
//! to Harmony.
//!
//! Every accepted change is committed with an outbox entry in one
//! transaction, then delivered through [`crate::handoff`]; the
//! request waits a moment for the delivery so that, with Harmony up, its
//! answer already says Harmony has the change. With Harmony down, the change
//! is still accepted (201 or 200, `status` CREATING or DEPLOYING,
//! `delivered_generation` behind `generation`, `status_reason` saying what it
//! waits for) and delivered when Harmony is back. What is refused at once,
//! with nothing written: invalid input, and a change the cell is known not
//! to serve a version for (503 with the version gap).
//!
//! One file per concern: `deployments.rs`, `deploys.rs`, `rollouts.rs`
//! (platform rollouts as an organization sees them) and `tenancy.rs`
//! (organizations, workspaces, tokens). This file holds [`Astro`], how it
//! reaches the store, and its readiness.

mod auth;
mod deployments;
mod deploys;
mod rollouts;
pub mod tenancy;

pub use deployments::STATUS_WAIT;

use crate::clock::Clock;
use crate::failure::{Failure, field_error};
use crate::handoff::Handoff;
use crate::harmony::{self, Cells};
use crate::store::{Store, StoreError};
use astro_public_api::types::{CellStatus, Readiness};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Upper bound on a page of results.
pub const MAX_PAGE: usize = 1000;

pub struct Astro {
    pub(crate) store: Store,
    cells: Arc<Cells>,
    handoff: Arc<Handoff>,
    /// How long a request waits for its change to reach Harmony before it
    /// is answered with the pending status.
    handoff_wait: Duration,
    /// Records' timestamps and tokens' expiry ([`crate::clock`]).
    pub(crate) clock: Arc<dyn Clock>,
}

impl Astro {
    /// Times the cells' data planes were listed to find a shared plane
    /// (at most once a second per cell, however many creates name a region).
    pub fn shared_plane_scans(&self) -> u64 {
        self.cells.shared_plane_scans()
    }

    /// Changes Harmony refused after astro-api accepted them, by cell.
    pub fn refusals(
        &self,
    ) -> prometheus_client::metrics::family::Family<
        crate::handoff::RefusalLabels,
        prometheus_client::metrics::counter::Counter,
    > {
        self.handoff.refusals()
    }

    /// Delivery attempts to Harmony, by cell and outcome.
    pub fn deliveries(
        &self,
    ) -> prometheus_client::metrics::family::Family<
        crate::handoff::DeliveryLabels,
        prometheus_client::metrics::counter::Counter,
    > {
        self.handoff.deliveries()
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Failure {
        match error {
            StoreError::NameTaken => name_taken(),
            StoreError::WorkspaceNameTaken => Failure::Conflict {
                message: "a workspace of this organization already has the name".to_owned(),
                field_errors: vec![field_error(
                    &deployment_rules::rule::PUBLIC_WORKSPACE_NAME,
                    "name",
                    "unique",
                    "already used",
                )],
            },
            StoreError::Quota(refused) => Failure::QuotaExceeded(refused),
            StoreError::LastOwner => Failure::Conflict {
                message: "this is the organization's last owner token that does not expire; \
                          create another owner token without expires_in_seconds before \
                          revoking it, so the organization always keeps an owner"
                    .to_owned(),
                field_errors: Vec::new(),
            },
            other => Failure::Internal(other.into()),
        }
    }
}

fn name_taken() -> Failure {
    Failure::Conflict {
        message: "the name is already used in this workspace".to_owned(),
        field_errors: vec![field_error(
            &deployment_rules::rule::PUBLIC_NAME,
            "name",
            "unique",
            "already used in this workspace",
        )],
    }
}

fn changed_meanwhile(id: Uuid) -> Failure {
    Failure::Conflict {
        message: format!("deployment {id} was changed by another request; fetch it and retry"),
        field_errors: Vec::new(),
    }
}

impl Astro {
    pub fn new(
        store: Store,
        cells: Arc<Cells>,
        handoff: Arc<Handoff>,
        handoff_wait: Duration,
        clock: Arc<dyn Clock>,
    ) -> Astro {
        Astro { store, cells, handoff, handoff_wait, clock }
    }

    /// Runs a blocking store call off the async executor.
    pub(crate) async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Failure> {
        let store = self.store.clone();
        sql_store::run_blocking(move || f(&store))
            .await
            .map_err(|e| Failure::Internal(e.into()))?
            .map_err(Failure::from)
    }

    /// A read of one row by its key. On SQLite that is answered from the
    /// page cache in microseconds, less than a hand-off to the blocking pool
    /// and back costs, so it runs on the calling task; on PostgreSQL it is
    /// a round trip to the server and goes to the blocking pool like any
    /// other store call.
    pub(crate) async fn lookup<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Failure> {
        match self.store.backend() {
            sql_store::Backend::Sqlite => f(&self.store).map_err(Failure::from),
            sql_store::Backend::Postgres => self.db(f).await,
        }
    }

    pub async fn readiness(&self) -> Readiness {
        let newest = harmony::newest_spoken();
        let cells: Vec<CellStatus> = self
            .cells
            .status()
            .await
            .into_iter()
            .map(|cell| match cell.negotiated {
                Ok(n) => CellStatus {
                    name: cell.name,
                    reachable: true,
                    degraded: Some(&n.version) != newest.as_ref(),
                    api_version: Some(n.version.to_string()),
                    served: n.served.iter().map(ToString::to_string).collect(),
                    detail: None,
                },
                Err(detail) => CellStatus {
                    name: cell.name,
                    reachable: false,
                    degraded: true,
                    api_version: None,
                    served: Vec::new(),
                    detail: Some(detail),
                },
            })
            .collect();
        Readiness { ready: cells.iter().all(|c| c.reachable), cells }
    }
}
