-- older binaries: must stop
CREATE TABLE deployments (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    name TEXT NOT NULL,
    generation INTEGER NOT NULL,
    record TEXT NOT NULL,
    UNIQUE (organization_id, workspace_id, name)
) STRICT;
CREATE INDEX deployments_by_organization ON deployments (organization_id, id);
