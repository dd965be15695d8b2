-- older binaries: keep working
-- A workspace's id is unique within its organization, not across all of
-- them (a second organization may have its own `default`): the key is
-- (organization_id, id), and a workspace member token refers to its
-- workspace through both. Older binaries keep working: every query they
-- make for a workspace names its organization, and they never relied on
-- an id being unique elsewhere. SQLite cannot change a key in place, so
-- both tables are rebuilt (foreign keys are checked before the commit).
CREATE TABLE workspaces_keyed (
    id TEXT NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    description TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (organization_id, id),
    UNIQUE (organization_id, name)
) STRICT;
INSERT INTO workspaces_keyed (id, organization_id, name, description, created_at)
    SELECT id, organization_id, name, description, created_at FROM workspaces;
CREATE TABLE api_tokens_keyed (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('OWNER', 'WORKSPACE_MEMBER', 'READ_ONLY')),
    workspace_id TEXT,
    secret_sha256 BLOB NOT NULL,
    expires_at TEXT,
    created_at TEXT NOT NULL,
    FOREIGN KEY (organization_id, workspace_id) REFERENCES workspaces (organization_id, id)
) STRICT;
INSERT INTO api_tokens_keyed
    (id, organization_id, name, role, workspace_id, secret_sha256, expires_at, created_at)
    SELECT id, organization_id, name, role, workspace_id, secret_sha256, expires_at, created_at
    FROM api_tokens;
DROP TABLE api_tokens;
DROP TABLE workspaces;
ALTER TABLE workspaces_keyed RENAME TO workspaces;
ALTER TABLE api_tokens_keyed RENAME TO api_tokens;
CREATE INDEX api_tokens_by_organization ON api_tokens (organization_id, id);
