//! API tokens: minting, parsing, checking, and what a token may do.
//!
//! A token reads `astro_<id>_<secret>`: the id (a UUID, 32 hex digits) finds
//! the stored token, the secret (64 hex digits, 244 random bits from two v4
//! UUIDs) proves possession. Only the secret's SHA-256 is stored; a fast
//! hash is right for a secret of that entropy, and the comparison takes the
//! same time wherever the digests differ.
//!
//! Tenancy rules, in one place:
//! - no token, a malformed, unknown, revoked or expired one: 401;
//! - a token of another organization: 404, as if nothing were there;
//! - a workspace member outside its workspace: 404 as well;
//! - a role that does not allow the operation: 403.

use crate::failure::Failure;
use astro_public_api::types::Role;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const PREFIX: &str = "astro_";

/// Who is calling: what a valid token of an organization grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub token_id: Uuid,
    pub organization_id: String,
    pub role: Role,
    /// WORKSPACE_MEMBER: the one workspace it may see and change.
    pub workspace_id: Option<String>,
    /// When the token runs out; a token it creates may not outlive it.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A new token: its id, the value shown once, and the digest to store.
pub struct Minted {
    pub id: Uuid,
    pub value: String,
    pub secret_sha256: Vec<u8>,
}

/// A new token. The secret is 32 bytes from the operating system's RNG
/// (256 bits, none fixed: a UUID v4 carries 122 random bits), as hex.
pub fn mint() -> Minted {
    let id = Uuid::new_v4();
    // The operating system's RNG does not fail on the platforms this runs on.
    let bytes = sealing::new_key();
    let secret = hex::encode(bytes);
    Minted {
        id,
        value: format!("{PREFIX}{}_{secret}", id.simple()),
        secret_sha256: digest(&secret),
    }
}

pub fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

fn unauthenticated(why: &str) -> Failure {
    Failure::Unauthenticated(why.to_owned())
}

/// The token id and secret of an `Authorization` header value.
pub fn parse(header: Option<&str>) -> Result<(Uuid, String), Failure> {
    let header = header
        .ok_or_else(|| unauthenticated("send an API token as `Authorization: Bearer <token>`"))?;
    let malformed = || unauthenticated("the Authorization header does not hold an Astro API token");
    let (scheme, token) = header.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(malformed());
    }
    let rest = token.trim().strip_prefix(PREFIX).ok_or_else(malformed)?;
    let (id, secret) = rest.split_once('_').ok_or_else(malformed)?;
    let hex = |s: &str, len| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(id, 32) || !hex(secret, 64) {
        return Err(malformed());
    }
    let id = Uuid::try_parse(id).map_err(|_| malformed())?;
    Ok((id, secret.to_owned()))
}

/// Equal digests, compared in time independent of where they differ.
pub fn same_digest(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(a.ct_eq(b))
}

pub fn invalid_token() -> Failure {
    unauthenticated("the API token is not valid (unknown, revoked, or mistyped)")
}

pub fn expired_token() -> Failure {
    unauthenticated("the API token has expired")
}

/// What a caller outside an organization, or outside a workspace, is told.
pub fn organization_not_found(organization_id: &str) -> Failure {
    Failure::NotFound(format!("organization {organization_id}"))
}

impl Principal {
    /// May this caller see resources of `workspace_id`?
    pub fn sees(&self, workspace_id: &str) -> bool {
        match self.role {
            Role::Owner | Role::ReadOnly => true,
            Role::WorkspaceMember => self.workspace_id.as_deref() == Some(workspace_id),
        }
    }

    /// The workspace a listing is confined to, if any.
    pub fn confined_to(&self) -> Option<&str> {
        match self.role {
            Role::WorkspaceMember => self.workspace_id.as_deref(),
            Role::Owner | Role::ReadOnly => None,
        }
    }

    /// Changes to deployments (of a workspace the caller sees).
    pub fn may_change(&self) -> Result<(), Failure> {
        match self.role {
            Role::Owner | Role::WorkspaceMember => Ok(()),
            Role::ReadOnly => Err(Failure::Forbidden("this API token is read-only".to_owned())),
        }
    }

    /// Platform information (rollouts across the organization's data planes).
    pub fn may_see_platform(&self) -> Result<(), Failure> {
        match self.role {
            Role::Owner => Ok(()),
            Role::WorkspaceMember | Role::ReadOnly => Err(Failure::Forbidden(
                "only an organization owner's token may read platform rollouts".to_owned(),
            )),
        }
    }

    /// Workspaces and tokens.
    pub fn may_administer(&self) -> Result<(), Failure> {
        match self.role {
            Role::Owner => Ok(()),
            Role::WorkspaceMember | Role::ReadOnly => Err(Failure::Forbidden(
                "only an organization owner's token may manage workspaces and tokens".to_owned(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_parses_back_to_its_id_and_digest() {
        let minted = mint();
        let (id, secret) = parse(Some(&format!("Bearer {}", minted.value))).unwrap();
        assert_eq!(id, minted.id);
        assert!(same_digest(&digest(&secret), &minted.secret_sha256));
        assert!(!same_digest(&digest("other"), &minted.secret_sha256));
    }

    #[test]
    fn malformed_headers_are_401() {
        let good = mint().value;
        for header in [
            String::new(),
            good.clone(),
            format!("Basic {good}"),
            format!("Bearer {}", &good[..good.len() - 1]),
            format!("Bearer {}", good.replace("astro_", "astra_")),
            "Bearer astro_zz".to_owned(),
        ] {
            assert!(matches!(parse(Some(&header)), Err(Failure::Unauthenticated(_))), "{header:?}");
        }
        assert!(matches!(parse(None), Err(Failure::Unauthenticated(_))));
    }
}
