//! Platform rollouts as an organization sees them: those reaching the data
//! planes its deployments run on, from every cell that can say.

use super::Astro;
use crate::auth::Principal;
use crate::failure::Failure;

impl Astro {
    /// Platform rollouts across the data planes the organization's
    /// deployments run on, cell by cell; a cell that cannot say is listed
    /// as unavailable.
    pub async fn platform_rollouts(
        &self,
        who: &Principal,
    ) -> Result<astro_public_api::types::PlatformRollouts, Failure> {
        who.may_see_platform()?;
        let org = who.organization_id.clone();
        let pairs = self.db(move |s| s.data_planes_of(&org)).await?;
        let mut by_cell: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (cell, plane) in pairs {
            by_cell.entry(cell).or_default().push(plane);
        }
        let mut answer = astro_public_api::types::PlatformRollouts {
            rollouts: Vec::new(),
            unavailable: Vec::new(),
        };
        for (cell, planes) in by_cell {
            match self.cells.rollouts(&cell, &planes, self.clock.now()).await {
                Ok(rollouts) => answer.rollouts.extend(rollouts),
                Err(unavailable) => answer.unavailable.push(unavailable),
            }
        }
        answer.rollouts.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        Ok(answer)
    }
}
