//! The APIs whose documents live in `openapi/`.

use anyhow::Result;
use dropshot_api_manager::{ManagedApiConfig, ManagedApis};
use dropshot_api_manager_types::{ManagedApiMetadata, Versions};

/// Every managed API. Harmony is versioned: each released version keeps its
/// own immutable document. Astro's public API is lockstep: one document,
/// regenerated with its implementation.
pub fn all() -> Result<ManagedApis> {
    ManagedApis::new(vec![harmony(), harmony_agent(), astro()])
}

fn astro() -> ManagedApiConfig {
    ManagedApiConfig {
        ident: "astro",
        versions: Versions::new_lockstep(astro_public_api::API_VERSION),
        title: "Astro API",
        metadata: ManagedApiMetadata {
            description: Some("Public API: organizations' Airflow deployments"),
            contact_url: None,
            contact_email: None,
            extra: serde_json::Value::Null,
        },
        api_description: astro_public_api::astro_api_mod::stub_api_description,
    }
}

fn harmony() -> ManagedApiConfig {
    ManagedApiConfig {
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
    }
}

fn harmony_agent() -> ManagedApiConfig {
    ManagedApiConfig {
        ident: "harmony-agent",
        versions: Versions::new_versioned(harmony_agent_api::supported_versions()),
        title: "Harmony agent",
        metadata: ManagedApiMetadata {
            description: Some(
                "Internal API: a data plane's agent fetches its desired state and reports back",
            ),
            contact_url: None,
            contact_email: None,
            extra: serde_json::Value::Null,
        },
        api_description: harmony_agent_api::harmony_agent_api_mod::stub_api_description,
    }
}
