//! Tenancy: organizations, workspaces, API tokens.

use super::{Store, StoreError, constraint_to_name_taken};
use astro_public_api::types::{ApiToken, Organization, Role, Workspace};
use sql_store::Tx;
use uuid::Uuid;

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Owner => "OWNER",
        Role::WorkspaceMember => "WORKSPACE_MEMBER",
        Role::ReadOnly => "READ_ONLY",
    }
}

fn role_of(name: &str) -> Role {
    match name {
        "OWNER" => Role::Owner,
        "WORKSPACE_MEMBER" => Role::WorkspaceMember,
        // The column's CHECK admits nothing else.
        _ => Role::ReadOnly,
    }
}

const TOKEN_COLUMNS: &str =
    "id, organization_id, name, role, workspace_id, expires_at, created_at, secret_sha256";

fn token_row(r: &sql_store::Row) -> Result<(ApiToken, Vec<u8>), StoreError> {
    let id: String = r.get(0)?;
    Ok((
        ApiToken {
            id: id.parse().map_err(|_| StoreError::BadId(id))?,
            organization_id: r.get(1)?,
            name: r.get(2)?,
            role: role_of(&r.get::<String>(3)?),
            workspace_id: r.get(4)?,
            expires_at: r.get(5)?,
            created_at: r.get(6)?,
        },
        r.get(7)?,
    ))
}

const WORKSPACE_COLUMNS: &str = "id, organization_id, name, description, created_at";

fn workspace_row(r: &sql_store::Row) -> Result<Workspace, StoreError> {
    Ok(Workspace {
        id: r.get(0)?,
        organization_id: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        created_at: r.get(4)?,
    })
}

fn insert_workspace(tx: &Tx<'_>, w: &Workspace) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO workspaces (id, organization_id, name, description, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        &[&w.id, &w.organization_id, &w.name, &w.description, &w.created_at],
    )
    .map_err(|e| match constraint_to_name_taken(e) {
        StoreError::NameTaken => StoreError::WorkspaceNameTaken,
        other => other,
    })?;
    Ok(())
}

fn insert_token(tx: &Tx<'_>, t: &ApiToken, secret_sha256: &[u8]) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO api_tokens
             (id, organization_id, name, role, workspace_id, secret_sha256, expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &[
            &t.id.to_string(),
            &t.organization_id,
            &t.name,
            &role_name(t.role),
            &t.workspace_id,
            &secret_sha256,
            &t.expires_at,
            &t.created_at,
        ],
    )?;
    Ok(())
}

/// Tenancy: organizations, workspaces, API tokens.
impl Store {
    /// Creates an organization with its first workspace and owner token;
    /// false (and nothing written) when the organization exists.
    pub fn bootstrap(
        &self,
        organization: &Organization,
        workspace: &Workspace,
        token: &ApiToken,
        secret_sha256: Vec<u8>,
    ) -> Result<bool, StoreError> {
        let (o, w, t) = (organization.clone(), workspace.clone(), token.clone());
        self.db.write(move |tx| {
            let n = tx.execute(
                "INSERT INTO organizations (id, name, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO NOTHING",
                &[&o.id, &o.name, &o.created_at],
            )?;
            if n == 0 {
                return Ok(false);
            }
            insert_workspace(tx, &w)?;
            insert_token(tx, &t, &secret_sha256)?;
            Ok(true)
        })
    }

    pub fn organization(&self, id: &str) -> Result<Option<Organization>, StoreError> {
        let row = self.db.read(|tx| {
            tx.query_opt("SELECT id, name, created_at FROM organizations WHERE id = ?1", &[&id])
        })?;
        row.map(|r| Ok(Organization { id: r.get(0)?, name: r.get(1)?, created_at: r.get(2)? }))
            .transpose()
    }

    pub fn insert_workspace(&self, workspace: &Workspace) -> Result<(), StoreError> {
        let w = workspace.clone();
        self.db.write(move |tx| insert_workspace(tx, &w))
    }

    pub fn workspace(
        &self,
        organization_id: &str,
        id: &str,
    ) -> Result<Option<Workspace>, StoreError> {
        self.db
            .read(|tx| {
                tx.query_opt(
                    &format!(
                        "SELECT {WORKSPACE_COLUMNS} FROM workspaces
                         WHERE id = ?1 AND organization_id = ?2"
                    ),
                    &[&id, &organization_id],
                )
            })?
            .as_ref()
            .map(workspace_row)
            .transpose()
    }

    /// Workspaces of an organization by id (only `only`, when given).
    pub fn workspaces(
        &self,
        organization_id: &str,
        only: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Workspace>, StoreError> {
        self.db
            .read(|tx| {
                tx.query(
                    &format!(
                        "SELECT {WORKSPACE_COLUMNS} FROM workspaces
                         WHERE organization_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR id = ?2)
                           AND id > ?3
                         ORDER BY id LIMIT ?4"
                    ),
                    &[&organization_id, &only, &after.unwrap_or(""), &(limit as i64)],
                )
            })?
            .iter()
            .map(workspace_row)
            .collect()
    }

    pub fn insert_token(&self, token: &ApiToken, secret_sha256: Vec<u8>) -> Result<(), StoreError> {
        let t = token.clone();
        self.db.write(move |tx| insert_token(tx, &t, &secret_sha256))
    }

    /// A token and the SHA-256 of its secret.
    pub fn token(&self, id: Uuid) -> Result<Option<(ApiToken, Vec<u8>)>, StoreError> {
        self.db
            .read(|tx| {
                tx.query_opt(
                    &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = ?1"),
                    &[&id.to_string()],
                )
            })?
            .as_ref()
            .map(token_row)
            .transpose()
    }

    pub fn tokens(
        &self,
        organization_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ApiToken>, StoreError> {
        self.db
            .read(|tx| {
                tx.query(
                    &format!(
                        "SELECT {TOKEN_COLUMNS} FROM api_tokens
                         WHERE organization_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
                    ),
                    &[&organization_id, &after.unwrap_or(""), &(limit as i64)],
                )
            })?
            .iter()
            .map(|r| token_row(r).map(|(t, _)| t))
            .collect()
    }

    /// Revokes a token; false when the organization has none by that id.
    /// Refuses ([`StoreError::LastOwner`]) to revoke the organization's last
    /// owner token that does not expire: the check and the delete are one
    /// write, and writes are serialized (across replicas too), so two owners
    /// revoking each other at once cannot both pass.
    pub fn delete_token(&self, organization_id: &str, id: Uuid) -> Result<bool, StoreError> {
        let organization_id = organization_id.to_owned();
        self.db.write(move |tx| {
            let id = id.to_string();
            let Some(target) = tx.query_opt(
                "SELECT role, CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END FROM api_tokens
                 WHERE id = ?1 AND organization_id = ?2",
                &[&id, &organization_id],
            )?
            else {
                return Ok(false);
            };
            let permanent_owner =
                target.get::<String>(0)? == role_name(Role::Owner) && target.get::<bool>(1)?;
            if permanent_owner {
                let others: i64 = tx
                    .query_one(
                        "SELECT COUNT(*) FROM api_tokens
                         WHERE organization_id = ?1 AND id <> ?2 AND role = ?3
                           AND expires_at IS NULL",
                        &[&organization_id, &id, &role_name(Role::Owner)],
                    )?
                    .get(0)?;
                if others == 0 {
                    return Err(StoreError::LastOwner);
                }
            }
            Ok(tx.execute(
                "DELETE FROM api_tokens WHERE id = ?1 AND organization_id = ?2",
                &[&id, &organization_id],
            )? == 1)
        })
    }
}
