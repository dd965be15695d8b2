//! Agents: their credentials, the desired state they poll, and what they
//! report.

use super::{Harmony, HarmonyError, check_written, not_found};
use crate::render;
use crate::store::StoreError;
use deployment_rules::{ApiVersion, Refusals, rule};

/// Prefix of an agent credential: `hagent.<data plane>.<secret>`.
const AGENT_CREDENTIAL_PREFIX: &str = "hagent.";

/// Longest message of an agent's report that is kept.
pub const MAX_AGENT_MESSAGE: usize = 1000;

impl Harmony {
    /// Issues (or replaces) the credential a data plane's agent presents;
    /// returns it (shown once: only a SHA-256 of its secret is kept).
    pub fn issue_agent_credential(&self, data_plane_id: &str) -> Result<String, HarmonyError> {
        use sha2::Digest;
        // 32 bytes from the operating system's RNG (a UUID v4 has 122
        // random bits), as hex.
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| HarmonyError::Store(StoreError::Invalid(format!("no randomness: {e}"))))?;
        let secret = hex::encode(bytes);
        let digest = sha2::Sha256::digest(secret.as_bytes()).to_vec();
        let (id, now) = (data_plane_id.to_owned(), self.clock.now());
        self.store.write(move |tx| {
            tx.data_plane(&id)?.ok_or_else(|| not_found("data plane", &id))?;
            Ok::<_, HarmonyError>(tx.put_agent_credential(&id, &digest, now)?)
        })?;
        Ok(format!("{AGENT_CREDENTIAL_PREFIX}{data_plane_id}.{secret}"))
    }

    /// The data plane an `Authorization` header's credential belongs to.
    pub fn authenticate_agent(&self, header: Option<&str>) -> Result<String, HarmonyError> {
        let refused = || {
            HarmonyError::Unauthenticated(
                "send the data plane's agent credential as `Authorization: Bearer <credential>`"
                    .to_owned(),
            )
        };
        let credential = header
            .and_then(|h| h.trim().strip_prefix("Bearer "))
            .and_then(|c| c.trim().strip_prefix(AGENT_CREDENTIAL_PREFIX))
            .ok_or_else(refused)?;
        let (plane, secret) = credential.rsplit_once('.').ok_or_else(refused)?;
        let stored = self.store.read(|tx| Ok::<_, HarmonyError>(tx.agent_credential(plane)?))?;
        match stored {
            Some(stored) if crate::crypto::sha256_matches(secret, &stored) => Ok(plane.to_owned()),
            _ => Err(refused()),
        }
    }

    /// A data plane's desired state: every deployment on it at its newest
    /// manifest revision, Secrets included (for its agent only). Unchanged
    /// (and empty) when the plane is still at `known_revision`.
    pub fn desired_state(
        &self,
        data_plane_id: &str,
        known_revision: u64,
    ) -> Result<harmony_agent_api::DesiredState, HarmonyError> {
        self.store.read(|tx| {
            let (revision, _) = tx
                .plane_revisions(data_plane_id)?
                .ok_or_else(|| not_found("data plane", data_plane_id))?;
            let mut deployments = Vec::new();
            let changed = revision != known_revision;
            if changed {
                for d in tx.deployments_on(data_plane_id)? {
                    // One set that cannot be read fails its own deployment
                    // (the agent keeps what it applied), never the plane.
                    let (objects, unavailable) = match tx.manifest_set(d.id, d.revision) {
                        Ok(Some(set)) => (set.objects.iter().map(|o| o.value()).collect(), None),
                        Ok(None) => (Vec::new(), Some(format!("revision {} is missing", d.revision))),
                        Err(e) => (Vec::new(), Some(format!("revision {} cannot be read: {e}", d.revision))),
                    };
                    if let Some(why) = &unavailable {
                        slog::error!(self.log, "a deployment's desired state cannot be served";
                            "deployment_id" => %d.id, "data_plane_id" => data_plane_id, "reason" => why);
                    }
                    deployments.push(harmony_agent_api::DesiredDeployment {
                        deployment_id: d.id,
                        manifest_revision: d.revision,
                        namespace: render::namespace(d.id),
                        objects,
                        unavailable: unavailable.map(|why| format!("Harmony cannot serve this deployment: {why}")),
                    });
                }
            }
            Ok(harmony_agent_api::DesiredState {
                data_plane_id: data_plane_id.to_owned(),
                revision,
                changed,
                deployments,
            })
        })
    }

    /// Records an agent's report: its applied revision, its heartbeat, what
    /// it can observe, and each deployment's health. Reports about
    /// deployments that are not on the agent's own data plane are ignored;
    /// messages are cut to [`MAX_AGENT_MESSAGE`] characters with control
    /// characters replaced. Waits for the disk.
    pub fn record_agent_status(
        &self,
        data_plane_id: &str,
        report: harmony_agent_api::StatusReport,
    ) -> Result<(), HarmonyError> {
        self.store.write(self.status_write(data_plane_id, report)?)
    }

    /// [`Harmony::record_agent_status`] for the agent API: a complete
    /// report (every deployment, repeated each round) is recorded without
    /// waiting for the disk, since the next round repairs its loss; an
    /// incomplete one (an older agent's, naming only what it just applied)
    /// waits, as it is not repeated.
    pub async fn report_agent_status(
        &self,
        data_plane_id: &str,
        report: harmony_agent_api::StatusReport,
    ) -> Result<(), HarmonyError> {
        let complete = report.complete;
        let write = self.status_write(data_plane_id, report)?;
        if complete {
            self.store.write_redoable_async(write).await
        } else {
            self.store.write_async(write).await
        }
    }

    /// The checked report as a write.
    fn status_write(
        &self,
        data_plane_id: &str,
        report: harmony_agent_api::StatusReport,
    ) -> Result<
        impl FnOnce(&crate::store::Tx<'_>) -> Result<(), HarmonyError> + Send + 'static,
        HarmonyError,
    > {
        // The agent API has one version so far; its rules are declared at it.
        let at = {
            let v = harmony_agent_api::VERSION_INITIAL;
            ApiVersion::new(v.major, v.minor, v.patch)
        };
        let mut problems = Refusals::new(at);
        let agent_version = &report.agent_version;
        check_written(&mut problems, &rule::REPORT_AGENT_VERSION, "agent_version", agent_version);
        for (i, d) in report.deployments.iter().enumerate() {
            if d.manifest_revision > i64::MAX as u64 {
                problems.refuse(
                    &rule::REPORT_REVISIONS,
                    format!("deployments[{i}].manifest_revision"),
                    format!("at most {}", i64::MAX),
                );
            }
        }
        problems.into_result().map_err(HarmonyError::Invalid)?;
        let reports: Vec<_> = report
            .deployments
            .iter()
            .map(|d| {
                let health = serde_json::to_value(d.health)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                // An agent's words reach users: kept bounded and printable.
                let message =
                    d.message.as_deref().map(|m| deployment_rules::shown(m, MAX_AGENT_MESSAGE));
                (d.deployment_id, d.manifest_revision, health, message)
            })
            .collect();
        let observes_health = report.observes.map(|o| o.health);
        let (id, now, applied) =
            (data_plane_id.to_owned(), self.clock.now(), report.applied_revision);
        Ok(move |tx: &crate::store::Tx<'_>| {
            let (desired, _) =
                tx.plane_revisions(&id)?.ok_or_else(|| not_found("data plane", &id))?;
            if applied > desired {
                return Err(HarmonyError::Invalid(Refusals::one(
                    at,
                    &rule::REPORT_REVISIONS,
                    "applied_revision",
                    format!("{applied} is ahead of the desired revision {desired}"),
                )));
            }
            Ok(tx.record_agent_status(&id, applied, &reports, observes_health, now)?)
        })
    }
}
