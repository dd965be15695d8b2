//! Rendered-bytes budgets of data planes (docs/security.md): a plane's
//! total, and on a shared Hosted plane each organization's part of it, so
//! that no tenant fills a plane its neighbours run on (issue 34: one
//! organization's 100 deployments at every limit made a shared plane's
//! desired state 276 MB). Pure: the application layer reads the plane's
//! sums in the write of a change and asks [`PlaneBudgets::admit`]; a change
//! that would go past a budget is refused before anything is stored. Only
//! growth is held to a budget: a change that shrinks a set, a delete, and a
//! platform rollout's re-render are always taken.

/// The label a shared Hosted plane carries (every organization's STANDARD
/// deployments land on it).
pub const SHARED_LABEL: &str = "astronomer.io/shared";

/// The budgets an operator sets (`--plane-budget-*` flags), in bytes of
/// rendered manifests (JSON, as handed to agents).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaneBudgets {
    /// A shared Hosted plane's total.
    pub shared_plane_bytes: u64,
    /// One organization's part of a shared plane.
    pub organization_bytes_on_shared_plane: u64,
    /// A plane one organization owns (Hybrid, Dedicated): its owner's
    /// cluster may hold more.
    pub owned_plane_bytes: u64,
}

const MIB: u64 = 1024 * 1024;

impl Default for PlaneBudgets {
    /// An ordinary deployment renders to about 37 KB and one at every
    /// per-deployment limit to about 2.1 MiB: a shared plane holds some
    /// 14,000 ordinary ones, and one organization some 900 ordinary or 15
    /// of the largest.
    fn default() -> PlaneBudgets {
        PlaneBudgets {
            shared_plane_bytes: 512 * MIB,
            organization_bytes_on_shared_plane: 32 * MIB,
            owned_plane_bytes: 1024 * MIB,
        }
    }
}

/// A change past a budget: which, its value, what is used, what the change
/// would add.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("quota {quota} is {limit} bytes; {used} used; this change needs {needed} more")]
pub struct OverBudget {
    pub quota: &'static str,
    pub limit: u64,
    pub used: u64,
    pub needed: u64,
}

/// The quota names a refusal uses (astro-api reads them back).
pub const PLANE_QUOTA: &str = "plane_rendered_bytes";
pub const ORGANIZATION_QUOTA: &str = "organization_rendered_bytes_on_plane";

impl PlaneBudgets {
    /// Whether a deployment going from `before` to `after` bytes fits, on
    /// a plane (`shared` or not) holding `plane_bytes` in all and
    /// `organization_bytes` of the deployment's organization (both counting
    /// `before`).
    pub fn admit(
        &self,
        shared: bool,
        plane_bytes: u64,
        organization_bytes: u64,
        before: u64,
        after: u64,
    ) -> Result<(), OverBudget> {
        let Some(needed) = after.checked_sub(before).filter(|n| *n > 0) else {
            return Ok(());
        };
        let mut budgets = vec![(
            PLANE_QUOTA,
            if shared { self.shared_plane_bytes } else { self.owned_plane_bytes },
            plane_bytes,
        )];
        if shared {
            budgets.push((
                ORGANIZATION_QUOTA,
                self.organization_bytes_on_shared_plane,
                organization_bytes,
            ));
        }
        for (quota, limit, used) in budgets {
            if used.saturating_add(needed) > limit {
                return Err(OverBudget { quota, limit, used, needed });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_past_either_budget_is_refused_and_shrinking_never_is() {
        let b = PlaneBudgets {
            shared_plane_bytes: 100,
            organization_bytes_on_shared_plane: 40,
            owned_plane_bytes: 200,
        };
        assert_eq!(b.admit(true, 60, 30, 0, 10), Ok(()));
        let org = b.admit(true, 60, 30, 0, 11).unwrap_err();
        assert_eq!((org.quota, org.limit, org.used, org.needed), (ORGANIZATION_QUOTA, 40, 30, 11));
        let plane = b.admit(true, 95, 0, 0, 6).unwrap_err();
        assert_eq!((plane.quota, plane.limit, plane.used, plane.needed), (PLANE_QUOTA, 100, 95, 6));
        // The set it replaces is counted already: only the growth needs room.
        assert_eq!(b.admit(true, 100, 40, 20, 20), Ok(()));
        assert_eq!(b.admit(true, 500, 500, 20, 5), Ok(()), "shrinking is always taken");
        // An owned plane has one budget, its own.
        assert_eq!(b.admit(false, 150, 150, 0, 50), Ok(()));
        assert_eq!(b.admit(false, 150, 150, 0, 51).unwrap_err().quota, PLANE_QUOTA);
        assert_eq!(
            b.admit(true, 0, 0, 0, 41).unwrap_err().to_string(),
            "quota organization_rendered_bytes_on_plane is 40 bytes; 0 used; this change needs 41 more"
        );
    }
}
