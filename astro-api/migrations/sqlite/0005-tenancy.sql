-- older binaries: must stop
-- Tenancy: organizations, their workspaces and API tokens (a SHA-256 of
-- each token's secret, never the secret).
CREATE TABLE organizations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE TABLE workspaces (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    description TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (organization_id, name)
) STRICT;
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('OWNER', 'WORKSPACE_MEMBER', 'READ_ONLY')),
    workspace_id TEXT REFERENCES workspaces (id),
    secret_sha256 BLOB NOT NULL,
    expires_at TEXT,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX api_tokens_by_organization ON api_tokens (organization_id, id);
