//! astro-api's link to Harmony, through the generated client only.
//!
//! Every Harmony error is mapped on purpose, never passed through: an
//! unreachable Harmony or a 503 becomes [`Failure::HarmonyUnavailable`], a
//! version Harmony does not serve becomes
//! [`Failure::HarmonyVersionUnsupported`] (both 503 with a retry hint, never
//! a 500), a response this client cannot decode (a newer Harmony's shape)
//! becomes [`Failure::HarmonyFailed`] naming the skew.

use crate::failure::Failure;
use futures::TryStreamExt;
use harmony_client::latest::{Client, types};
use std::time::Duration;
use uuid::Uuid;

/// Harmony's answer to a version it does not serve.
const UNSUPPORTED_API_VERSION: &str = "UnsupportedApiVersion";

/// What astro-api reads of a data plane.
pub struct Plane {
    pub id: String,
    pub kind: types::DataPlaneKind,
}

#[derive(Clone)]
pub struct Harmony {
    url: String,
    client: Client,
}

/// Label a Hosted data plane carries when STANDARD deployments may share it.
pub const SHARED_LABEL: &str = "astronomer.io/shared";

impl Harmony {
    pub fn new(url: &str, timeout: Duration) -> anyhow::Result<Harmony> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .timeout(timeout)
            .build()?;
        Ok(Harmony {
            url: url.to_owned(),
            client: Client::new_with_client(url, http),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The API version this link speaks.
    pub fn api_version(&self) -> &'static str {
        client_api_version()
    }

    /// A cheap call that proves Harmony answers at our version.
    pub async fn probe(&self) -> Result<(), Failure> {
        self.client
            .data_plane_list(std::num::NonZeroU32::new(1), None)
            .await
            .map_err(map)?;
        Ok(())
    }

    pub async fn data_plane(&self, id: &str) -> Result<Option<Plane>, Failure> {
        match self.client.data_plane_get(id).await {
            Ok(plane) => Ok(Some(Plane {
                id: plane.id.clone(),
                kind: plane.kind,
            })),
            Err(e) if e.status() == Some(reqwest::StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(map(e)),
        }
    }

    /// A shared Hosted data plane in `cloud`/`region`, if there is one.
    pub async fn shared_data_plane(
        &self,
        cloud: types::CloudProvider,
        region: &str,
    ) -> Result<Option<Plane>, Failure> {
        let planes: Vec<types::DataPlane> = self
            .client
            .data_plane_list_stream(None)
            .try_collect()
            .await
            .map_err(map)?;
        Ok(planes
            .into_iter()
            .find(|p| {
                p.kind == types::DataPlaneKind::Hosted
                    && p.cloud_provider == cloud
                    && p.region == region
                    && p.labels.get(SHARED_LABEL).is_some_and(|v| v == "true")
            })
            .map(|p| Plane {
                id: p.id,
                kind: p.kind,
            }))
    }

    pub async fn put_deployment(
        &self,
        id: Uuid,
        spec: &types::DeploymentSpec,
    ) -> Result<types::Deployment, Failure> {
        Ok(self
            .client
            .deployment_put(&id, spec)
            .await
            .map_err(map)?
            .into_inner())
    }

    /// Deletes a deployment; one Harmony no longer has is already deleted.
    pub async fn delete_deployment(&self, id: Uuid) -> Result<(), Failure> {
        match self.client.deployment_delete(&id).await {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(reqwest::StatusCode::NOT_FOUND) => Ok(()),
            Err(e) => Err(map(e)),
        }
    }
}

/// Maps a Harmony client error to astro-api's failure, case by case.
pub fn map(error: harmony_client::Error<types::Error>) -> Failure {
    use harmony_client::Error as E;
    match error {
        E::CommunicationError(e) | E::ResponseBodyError(e) | E::InvalidUpgrade(e) => {
            Failure::HarmonyUnavailable(if e.is_timeout() {
                "request timed out".to_owned()
            } else if e.is_connect() {
                "connection refused or unreachable".to_owned()
            } else {
                "connection failed".to_owned()
            })
        }
        E::ErrorResponse(response) => {
            let status = response.status();
            let body = response.into_inner();
            match (status.as_u16(), body.error_code.as_deref()) {
                (400, Some(UNSUPPORTED_API_VERSION)) => Failure::HarmonyVersionUnsupported {
                    required: client_api_version().to_owned(),
                    detail: body.message,
                },
                (503, _) => Failure::HarmonyUnavailable(body.message),
                (400, _) => Failure::HarmonyFailed(format!(
                    "Harmony refused a request astro-api considered valid: {}",
                    body.message
                )),
                (409, _) => Failure::Conflict {
                    message: body.message,
                    field_errors: Vec::new(),
                },
                (404, _) => Failure::NotFound(body.message),
                (code, _) => Failure::HarmonyFailed(format!("Harmony answered {code}")),
            }
        }
        E::InvalidResponsePayload(_, e) => Failure::HarmonyFailed(format!(
            "Harmony answered in a form this astro-api cannot read (version skew?): {e}"
        )),
        E::UnexpectedResponse(response) => {
            let status = response.status();
            if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                Failure::HarmonyUnavailable("Harmony answered 503".to_owned())
            } else {
                Failure::HarmonyFailed(format!("Harmony answered an undocumented {status}"))
            }
        }
        E::InvalidRequest(message) | E::Custom(message) => {
            Failure::Internal(anyhow::anyhow!("building a Harmony request: {message}"))
        }
    }
}

/// The version the generated client sends in its `api-version` header.
fn client_api_version() -> &'static str {
    <Client as harmony_client::ClientInfo<()>>::api_version()
}
