-- older binaries: keep working
-- The log of what changed on each data plane since a plane revision, for
-- agents on the changes protocol. See the SQLite step of the same name.
ALTER TABLE deployments ADD COLUMN changed_at BIGINT;
CREATE INDEX deployments_by_change ON deployments (data_plane_id, changed_at, id);
CREATE TABLE plane_removals (
    data_plane_id TEXT NOT NULL,
    deployment_id TEXT NOT NULL,
    at_revision BIGINT NOT NULL,
    PRIMARY KEY (data_plane_id, at_revision, deployment_id)
);
ALTER TABLE data_planes ADD COLUMN logged_through BIGINT NOT NULL DEFAULT 0;
ALTER TABLE data_planes ADD COLUMN history_from BIGINT NOT NULL DEFAULT 0;
UPDATE data_planes SET logged_through = desired_revision, history_from = desired_revision;
