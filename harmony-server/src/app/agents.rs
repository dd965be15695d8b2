//! Agents: their credentials, the desired state they poll, and what they
//! report.

use super::{HarmonyApp, HarmonyError, check_written, not_found};
use crate::render;
use crate::store::StoreError;
use deployment_rules::{ApiVersion, Refusals, rule};

/// Prefix of an agent credential: `hagent.<data plane>.<secret>`.
const AGENT_CREDENTIAL_PREFIX: &str = "hagent.";

/// Longest message of an agent's report that is kept.
pub const MAX_AGENT_MESSAGE: usize = 1000;

impl HarmonyApp {
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
                    deployments
                        .push(self.desired_deployment(tx, data_plane_id, d.id, d.revision).0);
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

    /// One page of what changed on a data plane since plane revision
    /// `since` (`None`: a full sync), or the page `token` continues (the
    /// agent API's changes protocol; its guarantees are written in
    /// `harmony_agent_api`). Reads one transaction; holds at most
    /// [`harmony_agent_api::PAGE_BYTES`] of objects (or one deployment).
    pub fn changes(
        &self,
        data_plane_id: &str,
        since: Option<u64>,
        token: Option<&str>,
    ) -> Result<harmony_agent_api::Changes, HarmonyError> {
        let at = agent_api_version(2);
        let token =
            token.map(|t| Pass::parse(t).ok_or_else(|| bad_token(at, "malformed"))).transpose()?;
        self.store.read(|tx| {
            let log = tx
                .plane_log(data_plane_id)?
                .ok_or_else(|| not_found("data plane", data_plane_id))?;
            let (pass, reason) = match token {
                Some(pass) => {
                    pass.still_valid(&log).map_err(|why| bad_token(at, why))?;
                    (pass, None)
                }
                None => match Pass::start(since, &log) {
                    Ok(pass) => (pass, None),
                    Err(why) => (Pass::Full { upto: log.desired, after: String::new() }, Some(why)),
                },
            };
            let mut answer = harmony_agent_api::Changes {
                data_plane_id: data_plane_id.to_owned(),
                revision: pass.upto(),
                full: matches!(pass, Pass::Full { .. }),
                full_reason: reason,
                deployments: Vec::new(),
                removed: Vec::new(),
                next_page: None,
            };
            let mut bytes = 0usize;
            let full = |bytes: usize, answer: &harmony_agent_api::Changes| {
                bytes >= harmony_agent_api::PAGE_BYTES && !answer.deployments.is_empty()
            };
            match pass {
                Pass::Delta { since, upto, mut after_at, mut after_id } => loop {
                    let (entries, more) =
                        tx.log_entries(data_plane_id, since, upto, (after_at, &after_id), 64)?;
                    let read = entries.len();
                    for entry in entries {
                        if full(bytes, &answer) {
                            break;
                        }
                        (after_at, after_id) = (entry.at, entry.deployment_id.to_string());
                        if entry.removed {
                            answer.removed.push(entry.deployment_id);
                        } else {
                            let d = self.desired_deployment(
                                tx,
                                data_plane_id,
                                entry.deployment_id,
                                entry.manifest_revision,
                            );
                            bytes += d.1;
                            answer.deployments.push(d.0);
                        }
                    }
                    if full(bytes, &answer) {
                        // Something may follow: the next page says.
                        answer.next_page =
                            Some(Pass::Delta { since, upto, after_at, after_id }.token());
                        break;
                    }
                    if !more || read == 0 {
                        break;
                    }
                },
                Pass::Full { upto, mut after } => loop {
                    let page = tx.plane_page(data_plane_id, &after, 64)?;
                    let read = page.len();
                    for (id, revision) in page {
                        if full(bytes, &answer) {
                            break;
                        }
                        after = id.to_string();
                        let d = self.desired_deployment(tx, data_plane_id, id, revision);
                        bytes += d.1;
                        answer.deployments.push(d.0);
                    }
                    if full(bytes, &answer) {
                        answer.next_page = Some(Pass::Full { upto, after }.token());
                        break;
                    }
                    if read < 64 {
                        break;
                    }
                },
            }
            Ok(answer)
        })
    }

    /// A deployment's objects at a manifest revision, and their size; one
    /// set that cannot be read fails its own deployment (the agent keeps
    /// what it applied), never the plane.
    fn desired_deployment(
        &self,
        tx: &crate::store::Tx<'_>,
        data_plane_id: &str,
        id: uuid::Uuid,
        revision: u64,
    ) -> (harmony_agent_api::DesiredDeployment, usize) {
        let (objects, bytes, unavailable) = match tx.manifest_set(id, revision) {
            Ok(Some(set)) => {
                let bytes = set.objects.iter().map(|o| o.body.get().len()).sum();
                (set.objects.into_iter().map(|o| o.body).collect(), bytes, None)
            }
            Ok(None) => (Vec::new(), 0, Some(format!("revision {revision} is missing"))),
            Err(e) => (Vec::new(), 0, Some(format!("revision {revision} cannot be read: {e}"))),
        };
        if let Some(why) = &unavailable {
            slog::error!(self.log, "a deployment's desired state cannot be served";
                "deployment_id" => %id, "data_plane_id" => data_plane_id, "reason" => why);
        }
        let deployment = harmony_agent_api::DesiredDeployment {
            deployment_id: id,
            manifest_revision: revision,
            namespace: render::namespace(id),
            objects,
            unavailable: unavailable
                .map(|why| format!("Harmony cannot serve this deployment: {why}")),
        };
        (deployment, bytes)
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

    /// [`HarmonyApp::record_agent_status`] for the agent API: a complete
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
        // The report's rules are declared at the first version.
        let at = agent_api_version(1);
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

/// An agent API version as rules name them.
pub fn agent_api_version(major: u64) -> ApiVersion {
    ApiVersion::new(major, 0, 0)
}

fn bad_token(at: ApiVersion, why: &str) -> HarmonyError {
    HarmonyError::Invalid(Refusals::one(
        at,
        &rule::AGENT_PAGE_TOKEN,
        "page_token",
        format!("{why}; ask again without page_token"),
    ))
}

/// One pass of the changes protocol, as its page token carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pass {
    /// What changed in `(since, upto]`, after `(after_at, after_id)`.
    Delta { since: u64, upto: u64, after_at: u64, after_id: String },
    /// Every deployment of the plane after `after` (an id); the agent is at
    /// `upto` once it applied the whole pass.
    Full { upto: u64, after: String },
}

impl Pass {
    /// The pass that answers an agent at `since`, or why it must be full.
    fn start(since: Option<u64>, log: &crate::store::PlaneLog) -> Result<Pass, String> {
        let since = since.ok_or("the agent asked for a full sync")?;
        if since > log.desired {
            return Err(format!(
                "revision {since} is ahead of the data plane's revision {}",
                log.desired
            ));
        }
        if log.logged_through != log.desired {
            return Err(format!(
                "revision {} was written by a Harmony that does not log changes",
                log.desired
            ));
        }
        if since < log.history_from || since + crate::store::HISTORY_REVISIONS < log.desired {
            return Err(format!(
                "revision {since} is older than the changes Harmony keeps for this data plane"
            ));
        }
        Ok(Pass::Delta { since, upto: log.desired, after_at: since, after_id: String::new() })
    }

    /// Whether a pass handed out earlier can go on.
    fn still_valid(&self, log: &crate::store::PlaneLog) -> Result<(), &'static str> {
        match self {
            Pass::Delta { upto, .. } | Pass::Full { upto, .. } if *upto > log.desired => {
                Err("it is ahead of the data plane")
            }
            Pass::Delta { since, .. } if since + crate::store::HISTORY_REVISIONS < log.desired => {
                Err("its pass fell out of the plane's history")
            }
            _ => Ok(()),
        }
    }

    fn upto(&self) -> u64 {
        match self {
            Pass::Delta { upto, .. } | Pass::Full { upto, .. } => *upto,
        }
    }

    fn token(&self) -> String {
        let text = match self {
            Pass::Delta { since, upto, after_at, after_id } => {
                format!("d:{since}:{upto}:{after_at}:{after_id}")
            }
            Pass::Full { upto, after } => format!("f:{upto}:{after}"),
        };
        hex::encode(text)
    }

    fn parse(token: &str) -> Option<Pass> {
        let text = String::from_utf8(hex::decode(token).ok()?).ok()?;
        let parts: Vec<&str> = text.split(':').collect();
        let id = |t: &str| -> Option<String> {
            (t.is_empty() || t.parse::<uuid::Uuid>().is_ok()).then(|| t.to_owned())
        };
        let pass = match parts.as_slice() {
            ["d", since, upto, at, after] => Pass::Delta {
                since: since.parse().ok()?,
                upto: upto.parse().ok()?,
                after_at: at.parse().ok()?,
                after_id: id(after)?,
            },
            ["f", upto, after] => Pass::Full { upto: upto.parse().ok()?, after: id(after)? },
            _ => return None,
        };
        // Revisions are int64s in the store.
        let fits = |n: u64| n <= i64::MAX as u64;
        let ok = match &pass {
            Pass::Delta { since, upto, after_at, .. } => {
                fits(*upto) && since <= upto && since <= after_at && after_at <= upto
            }
            Pass::Full { upto, .. } => fits(*upto),
        };
        ok.then_some(pass)
    }
}

#[cfg(test)]
mod tests {
    use super::Pass;

    #[test]
    fn page_tokens_round_trip_and_refuse_what_was_not_handed_out() {
        let id = uuid::Uuid::from_u128(7).to_string();
        for pass in [
            Pass::Delta { since: 3, upto: 9, after_at: 4, after_id: id.clone() },
            Pass::Delta { since: 0, upto: 0, after_at: 0, after_id: String::new() },
            Pass::Full { upto: 12, after: id.clone() },
        ] {
            assert_eq!(Pass::parse(&pass.token()), Some(pass));
        }
        for bad in [
            "".to_owned(),
            "zz".to_owned(),
            hex::encode("d:9:3:4:"),
            hex::encode("d:1:9:12:"),
            hex::encode("f:1:../../etc"),
            hex::encode(format!("f:{}:", u64::MAX)),
            hex::encode("x:1"),
        ] {
            assert_eq!(Pass::parse(&bad), None, "{bad}");
        }
    }
}
