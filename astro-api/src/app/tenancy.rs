//! Organizations, workspaces and API tokens: who may call, and on what.
//!
//! Organizations are created by an operator ([`Astro::bootstrap`], the
//! `--bootstrap` flag of the binary) with a first workspace and an owner
//! token; owners create further workspaces and tokens through the API.

use super::{Astro, MAX_PAGE};
use crate::auth::{self, Principal};
use crate::failure::{Failure, field_error};
use astro_public_api::types::{
    ApiToken, CreatedToken, Organization, Role, TokenInput, Workspace, WorkspaceInput,
};
use deployment_rules::rule;
use uuid::Uuid;

/// Token lifetimes (the public document states them).
pub use astro_public_api::types::{MAX_TOKEN_SECONDS, MIN_TOKEN_SECONDS};

/// An identifier chosen by an operator: 1 to 63 letters, digits, `-`, `_`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 63
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn check_name(
    errors: &mut Vec<astro_public_api::FieldError>,
    rule: &'static deployment_rules::Rule,
    name: &str,
) {
    let length = name.chars().count();
    if !(1..=63).contains(&length) {
        errors.push(field_error(rule, "name", "length", "must be 1 to 63 characters"));
    } else if let Err(detail) = deployment_rules::name_text(name) {
        errors.push(field_error(rule, "name", "format", detail));
    }
}

impl Astro {
    /// Creates `organization_id` with workspace `workspace_id` and an owner
    /// token, returning the token's value; `None` when the organization
    /// exists already (its tokens are not shown again).
    pub async fn bootstrap(
        &self,
        organization_id: &str,
        workspace_id: &str,
    ) -> Result<Option<String>, Failure> {
        for (field, id) in [("organization", organization_id), ("workspace", workspace_id)] {
            if !valid_id(id) {
                return Err(Failure::Invalid(vec![field_error(
                    &rule::PUBLIC_BOOTSTRAP_IDS,
                    field,
                    "format",
                    "must be 1 to 63 letters, digits, '-' or '_'",
                )]));
            }
        }
        let now = self.clock.now();
        let organization = Organization {
            id: organization_id.to_owned(),
            name: organization_id.to_owned(),
            created_at: now,
        };
        let workspace = Workspace {
            id: workspace_id.to_owned(),
            organization_id: organization_id.to_owned(),
            name: workspace_id.to_owned(),
            description: Some("created with the organization".to_owned()),
            created_at: now,
        };
        let minted = auth::mint();
        let token = ApiToken {
            id: minted.id,
            organization_id: organization_id.to_owned(),
            name: "bootstrap".to_owned(),
            role: Role::Owner,
            workspace_id: None,
            expires_at: None,
            created_at: now,
        };
        let digest = minted.secret_sha256;
        let created =
            self.db(move |s| s.bootstrap(&organization, &workspace, &token, digest)).await?;
        Ok(created.then_some(minted.value))
    }

    pub async fn organization(&self, who: &Principal) -> Result<Organization, Failure> {
        let org = who.organization_id.clone();
        self.db(move |s| s.organization(&org))
            .await?
            .ok_or_else(|| auth::organization_not_found(&who.organization_id))
    }

    pub async fn create_workspace(
        &self,
        who: &Principal,
        input: WorkspaceInput,
    ) -> Result<Workspace, Failure> {
        who.may_administer()?;
        let mut errors = Vec::new();
        check_name(&mut errors, &rule::PUBLIC_WORKSPACE_NAME, &input.name);
        if let Some(Err(rule)) = input.description.as_deref().map(deployment_rules::described_text)
        {
            errors.push(field_error(
                &rule::PUBLIC_WORKSPACE_DESCRIPTION,
                "description",
                "format",
                rule,
            ));
        }
        if input.description.as_ref().is_some_and(|d| {
            d.chars().count() as u64 > astro_public_api::types::MAX_WORKSPACE_DESCRIPTION
        }) {
            errors.push(field_error(
                &rule::PUBLIC_WORKSPACE_DESCRIPTION,
                "description",
                "length",
                "must be at most 1000 characters",
            ));
        }
        if !errors.is_empty() {
            return Err(Failure::Invalid(errors));
        }
        let workspace = Workspace {
            id: format!("ws-{}", Uuid::new_v4().simple()),
            organization_id: who.organization_id.clone(),
            name: input.name,
            description: input.description,
            created_at: self.clock.now(),
        };
        let stored = workspace.clone();
        self.db(move |s| s.insert_workspace(&stored)).await?;
        Ok(workspace)
    }

    /// Whether the caller may put deployments in `workspace_id` (it exists
    /// in the caller's organization and the caller sees it).
    pub async fn workspace_visible(
        &self,
        who: &Principal,
        workspace_id: &str,
    ) -> Result<bool, Failure> {
        if !who.sees(workspace_id) {
            return Ok(false);
        }
        let (org, id) = (who.organization_id.clone(), workspace_id.to_owned());
        Ok(self.lookup(move |s| s.workspace(&org, &id)).await?.is_some())
    }

    pub async fn workspace(&self, who: &Principal, id: String) -> Result<Workspace, Failure> {
        let not_found = Failure::NotFound(format!("workspace {id}"));
        if !who.sees(&id) {
            return Err(not_found);
        }
        let org = who.organization_id.clone();
        self.db(move |s| s.workspace(&org, &id)).await?.ok_or(not_found)
    }

    pub async fn workspaces(
        &self,
        who: &Principal,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<Workspace>, Failure> {
        let org = who.organization_id.clone();
        let only = who.confined_to().map(str::to_owned);
        self.db(move |s| s.workspaces(&org, only.as_deref(), after.as_deref(), limit.min(MAX_PAGE)))
            .await
    }

    pub async fn create_token(
        &self,
        who: &Principal,
        input: TokenInput,
    ) -> Result<CreatedToken, Failure> {
        who.may_administer()?;
        let mut errors = Vec::new();
        check_name(&mut errors, &rule::PUBLIC_TOKEN_NAME, &input.name);
        match (input.role, &input.workspace_id) {
            (Role::WorkspaceMember, None) => errors.push(field_error(
                &rule::PUBLIC_TOKEN_SCOPE,
                "workspace_id",
                "required",
                "a WORKSPACE_MEMBER token is scoped to one workspace",
            )),
            (Role::WorkspaceMember, Some(ws)) => {
                if !self.workspace_visible(who, ws).await? {
                    errors.push(field_error(
                        &rule::PUBLIC_TOKEN_SCOPE,
                        "workspace_id",
                        "not_found",
                        format!("no workspace {ws:?} in this organization"),
                    ));
                }
            }
            (Role::Owner | Role::ReadOnly, Some(_)) => errors.push(field_error(
                &rule::PUBLIC_TOKEN_SCOPE,
                "workspace_id",
                "forbidden",
                "only WORKSPACE_MEMBER tokens are scoped to a workspace",
            )),
            (Role::Owner | Role::ReadOnly, None) => {}
        }
        if let Some(seconds) = input.expires_in_seconds
            && !(MIN_TOKEN_SECONDS..=MAX_TOKEN_SECONDS).contains(&seconds)
        {
            errors.push(field_error(
                &rule::PUBLIC_TOKEN_LIFETIME,
                "expires_in_seconds",
                "range",
                format!("must be {MIN_TOKEN_SECONDS} to {MAX_TOKEN_SECONDS}"),
            ));
        }
        let now = self.clock.now();
        // A token cannot mint one that outlives it: a leaked short-lived
        // token must not become a permanent one.
        if let Some(limit) = who.expires_at {
            let left = (limit - now).num_seconds().max(0) as u64;
            match input.expires_in_seconds {
                None => errors.push(field_error(
                    &rule::PUBLIC_TOKEN_LIFETIME,
                    "expires_in_seconds",
                    "required",
                    format!(
                        "the token making this request expires in {left} s; a token it \
                         creates must expire no later"
                    ),
                )),
                Some(seconds) if seconds > left => errors.push(field_error(
                    &rule::PUBLIC_TOKEN_LIFETIME,
                    "expires_in_seconds",
                    "range",
                    format!("must be at most {left}: no later than the token making this request"),
                )),
                Some(_) => {}
            }
        }
        if !errors.is_empty() {
            return Err(Failure::Invalid(errors));
        }
        let minted = auth::mint();
        let api_token = ApiToken {
            id: minted.id,
            organization_id: who.organization_id.clone(),
            name: input.name,
            role: input.role,
            workspace_id: input.workspace_id,
            expires_at: input.expires_in_seconds.map(|s| now + chrono::Duration::seconds(s as i64)),
            created_at: now,
        };
        let (stored, digest) = (api_token.clone(), minted.secret_sha256);
        self.db(move |s| s.insert_token(&stored, digest)).await?;
        Ok(CreatedToken { token: minted.value, api_token })
    }

    pub async fn tokens(
        &self,
        who: &Principal,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<ApiToken>, Failure> {
        who.may_administer()?;
        let org = who.organization_id.clone();
        self.db(move |s| s.tokens(&org, after.as_deref(), limit.min(MAX_PAGE))).await
    }

    /// Revokes a token. A token cannot revoke itself, and the organization's
    /// last owner token that does not expire cannot be revoked by anyone
    /// (409): a short-lived owner token that revoked every other would
    /// otherwise lock the organization out for good once it expired.
    pub async fn delete_token(&self, who: &Principal, id: Uuid) -> Result<(), Failure> {
        who.may_administer()?;
        if id == who.token_id {
            return Err(Failure::Conflict {
                message: "a token cannot revoke itself; revoke it with another owner token"
                    .to_owned(),
                field_errors: Vec::new(),
            });
        }
        let org = who.organization_id.clone();
        if self.db(move |s| s.delete_token(&org, id)).await? {
            Ok(())
        } else {
            Err(Failure::NotFound(format!("token {id}")))
        }
    }
}
