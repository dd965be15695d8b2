-- older binaries: keep working
-- A workspace's id is unique within its organization: the key is
-- (organization_id, id), and a workspace member token refers to its
-- workspace through both. See the SQLite step of the same name.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_workspace_id_fkey;
ALTER TABLE workspaces DROP CONSTRAINT workspaces_pkey;
ALTER TABLE workspaces ADD PRIMARY KEY (organization_id, id);
ALTER TABLE api_tokens ADD FOREIGN KEY (organization_id, workspace_id)
    REFERENCES workspaces (organization_id, id);
