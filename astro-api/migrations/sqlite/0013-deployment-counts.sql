-- older binaries: keep working
-- How many deployments each workspace of each organization holds, moved in
-- the write that creates or deletes one, so the quotas on them read a row
-- or a few instead of counting deployments. Older binaries do not keep
-- the counts: every binary that knows them recounts them when it opens
-- the store.
CREATE TABLE deployment_counts (
    organization_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    deployments INTEGER NOT NULL,
    PRIMARY KEY (organization_id, workspace_id)
) STRICT;
