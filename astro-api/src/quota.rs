//! Quotas an operator sets so that no tenant crowds out the others
//! (docs/security.md): deployments per organization and per workspace, and
//! changes per organization per minute. Pure: the store applies them inside
//! the write that would exceed them, so a refused change stores nothing and
//! two replicas cannot both let one through.
//!
//! The change rate is a GCRA (generic cell rate algorithm, the token bucket
//! written as one timestamp): an organization's row keeps its *theoretical
//! arrival time* (TAT). Each change moves it on by one interval (a minute
//! divided by the rate); a change is refused while the TAT is more than a
//! minute minus one interval ahead of now, and told when the next one
//! would be taken. One row per organization, read and written once per
//! change: the cost does not grow with the organization or the fleet, and a
//! burst of a whole minute's changes is taken at once, then one interval
//! apart.

/// A quota, as a refusal names it: astro-api's own, or a data plane's
/// budget a Harmony holds (`harmony_server::budget`), which astro-api
/// passes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quota {
    DeploymentsPerOrganization,
    DeploymentsPerWorkspace,
    ChangesPerMinute,
    /// A data plane's rendered bytes, in all.
    PlaneRenderedBytes,
    /// One organization's rendered bytes on a shared data plane.
    OrganizationRenderedBytesOnPlane,
}

impl Quota {
    /// The quota's name in answers and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Quota::DeploymentsPerOrganization => "deployments_per_organization",
            Quota::DeploymentsPerWorkspace => "deployments_per_workspace",
            Quota::ChangesPerMinute => "changes_per_minute",
            Quota::PlaneRenderedBytes => "plane_rendered_bytes",
            Quota::OrganizationRenderedBytesOnPlane => "organization_rendered_bytes_on_plane",
        }
    }

    /// The quota a Harmony refusal names.
    pub fn named(name: &str) -> Option<Quota> {
        [Quota::PlaneRenderedBytes, Quota::OrganizationRenderedBytesOnPlane]
            .into_iter()
            .chain(Quota::OWN)
            .find(|q| q.name() == name)
    }

    /// The quotas astro-api holds changes to itself.
    pub const OWN: [Quota; 3] = [
        Quota::DeploymentsPerOrganization,
        Quota::DeploymentsPerWorkspace,
        Quota::ChangesPerMinute,
    ];
}

/// The values an operator sets (`--quota-*` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quotas {
    pub deployments_per_organization: u64,
    pub deployments_per_workspace: u64,
    /// Creates, updates and finalized deploys per organization per minute
    /// (deletes are never refused: they free what the quotas protect).
    pub changes_per_minute: u32,
}

impl Default for Quotas {
    /// Sized for a shared Hosted plane: an organization of 200 ordinary
    /// deployments is about 7 MiB of rendered manifests, and a minute of
    /// its changes about a second of Harmony's rendering.
    fn default() -> Quotas {
        Quotas {
            deployments_per_organization: 200,
            deployments_per_workspace: 100,
            changes_per_minute: 120,
        }
    }
}

impl Quotas {
    /// The value of one of astro-api's own quotas (`None` for a data
    /// plane's budget, which its Harmony holds).
    pub fn limit(&self, quota: Quota) -> Option<u64> {
        match quota {
            Quota::DeploymentsPerOrganization => Some(self.deployments_per_organization),
            Quota::DeploymentsPerWorkspace => Some(self.deployments_per_workspace),
            Quota::ChangesPerMinute => Some(u64::from(self.changes_per_minute)),
            Quota::PlaneRenderedBytes | Quota::OrganizationRenderedBytesOnPlane => None,
        }
    }
}

/// A change a quota refused: which, its value, how much is used, and (for
/// the rate) when trying again will be taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("quota {} is {limit}; {used} used", quota.name())]
pub struct Exceeded {
    pub quota: Quota,
    pub limit: u64,
    pub used: u64,
    pub retry_after_ms: Option<i64>,
}

/// One minute, in milliseconds: the rate's window.
const MINUTE_MS: i64 = 60_000;

/// The GCRA step for `changes_per_minute` at `now_ms` from the stored TAT
/// (`None` for an organization with none yet): the TAT to store when the
/// change is taken, or why not.
pub fn admit_change(per_minute: u32, tat_ms: Option<i64>, now_ms: i64) -> Result<i64, Exceeded> {
    let per_minute = i64::from(per_minute.max(1));
    let interval = MINUTE_MS / per_minute;
    let tat = tat_ms.unwrap_or(now_ms).max(now_ms);
    let ahead = tat - now_ms;
    let tolerance = MINUTE_MS - interval;
    if ahead > tolerance {
        return Err(Exceeded {
            quota: Quota::ChangesPerMinute,
            limit: per_minute as u64,
            // The changes the TAT stands for within the last minute.
            used: (ahead / interval).min(per_minute) as u64,
            retry_after_ms: Some(ahead - tolerance),
        });
    }
    Ok(tat + interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minute's changes are taken at once, the next is refused and told
    /// to wait one interval, and after that interval one more is taken.
    #[test]
    fn a_minutes_burst_then_one_per_interval() {
        let (rate, mut tat, now) = (60, None, 1_000_000);
        for i in 0..60 {
            tat = Some(admit_change(rate, tat, now).unwrap_or_else(|e| panic!("{i}: {e}")));
        }
        let refused = admit_change(rate, tat, now).unwrap_err();
        assert_eq!(refused.quota, Quota::ChangesPerMinute);
        assert_eq!((refused.limit, refused.used), (60, 60));
        assert_eq!(refused.retry_after_ms, Some(1_000));
        assert!(admit_change(rate, tat, now + 999).is_err());
        let tat = admit_change(rate, tat, now + 1_000).unwrap();
        assert!(admit_change(rate, Some(tat), now + 1_000).is_err());
        // A quiet minute later, a whole burst again.
        let mut tat = Some(tat);
        for _ in 0..60 {
            tat = Some(admit_change(rate, tat, now + 200_000).unwrap());
        }
    }

    /// Over any hour the changes taken never exceed the rate by more than
    /// one minute's burst, however they are spread.
    #[test]
    fn never_more_than_the_rate_plus_one_burst() {
        for rate in [1, 7, 60, 120, 1000] {
            let (mut tat, mut taken) = (None, 0u64);
            let mut now = 0;
            while now < 3_600_000 {
                if let Ok(next) = admit_change(rate, tat, now) {
                    tat = Some(next);
                    taken += 1;
                }
                now += 37;
            }
            assert!(taken <= u64::from(rate) * 61, "{rate}: {taken}");
            assert!(taken >= u64::from(rate) * 59, "{rate}: {taken}");
        }
    }
}
