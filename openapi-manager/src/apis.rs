//! The APIs whose documents live in `openapi/`.

use anyhow::Result;
use dropshot_api_manager::{ManagedApiConfig, ManagedApis};
use dropshot_api_manager_types::{ManagedApiMetadata, Versions};

/// Every managed API. Harmony is versioned: each released version keeps its
/// own immutable document. (Astro API's public document joins this list as a
/// lockstep API.)
pub fn all() -> Result<ManagedApis> {
    ManagedApis::new(vec![ManagedApiConfig {
        ident: "harmony",
        versions: Versions::new_versioned(harmony_api::supported_versions()),
        title: "Harmony",
        metadata: ManagedApiMetadata {
            description: Some(
                "Internal API: renders and keeps Kubernetes manifests for Airflow deployments",
            ),
            contact_url: None,
            contact_email: None,
            extra: serde_json::Value::Null,
        },
        api_description: harmony_api::harmony_api_mod::stub_api_description,
    }])
}
