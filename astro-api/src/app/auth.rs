//! Authentication: the caller behind a request's token ([`crate::auth`]
//! parses and digests tokens; this reads the token the store keeps).

use super::Astro;
use crate::auth::{
    Principal, digest, expired_token, invalid_token, organization_not_found, parse, same_digest,
};
use crate::failure::Failure;

impl Astro {
    /// The caller behind an `Authorization` header, for a request on
    /// `organization_id`.
    pub async fn authenticate(
        &self,
        header: Option<&str>,
        organization_id: &str,
    ) -> Result<Principal, Failure> {
        let (id, secret) = parse(header)?;
        let (token, stored) = self.lookup(move |s| s.token(id)).await?.ok_or_else(invalid_token)?;
        if !same_digest(&digest(&secret), &stored) {
            return Err(invalid_token());
        }
        if token.expires_at.is_some_and(|at| at <= self.clock.now()) {
            return Err(expired_token());
        }
        if token.organization_id != organization_id {
            return Err(organization_not_found(organization_id));
        }
        Ok(Principal {
            token_id: token.id,
            organization_id: token.organization_id,
            role: token.role,
            workspace_id: token.workspace_id,
            expires_at: token.expires_at,
        })
    }
}
