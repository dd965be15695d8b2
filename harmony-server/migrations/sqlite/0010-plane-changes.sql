-- older binaries: keep working
-- What an agent on the changes protocol (agent API 2.0.0) needs to be
-- told only what moved since the plane revision it knows:
-- * `deployments.changed_at`: the plane revision at which the deployment's
--   desired objects last changed (NULL: before this step, or written by a
--   binary that predates it);
-- * `plane_removals`: a deployment removed from its plane, and the plane
--   revision that removed it (pruned once older than the history kept);
-- * `data_planes.logged_through`: the plane revision up to which every
--   change is in the two above (a bump by an older binary leaves it
--   behind `desired_revision`, which sends agents to a full sync);
-- * `data_planes.history_from`: the oldest plane revision from which the
--   log is complete (an agent that knows an older one syncs in full).
ALTER TABLE deployments ADD COLUMN changed_at INTEGER;
CREATE INDEX deployments_by_change ON deployments (data_plane_id, changed_at, id);
CREATE TABLE plane_removals (
    data_plane_id TEXT NOT NULL,
    deployment_id TEXT NOT NULL,
    at_revision INTEGER NOT NULL,
    PRIMARY KEY (data_plane_id, at_revision, deployment_id)
) STRICT;
ALTER TABLE data_planes ADD COLUMN logged_through INTEGER NOT NULL DEFAULT 0;
ALTER TABLE data_planes ADD COLUMN history_from INTEGER NOT NULL DEFAULT 0;
UPDATE data_planes SET logged_through = desired_revision, history_from = desired_revision;
