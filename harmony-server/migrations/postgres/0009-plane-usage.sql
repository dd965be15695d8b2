-- older binaries: keep working
-- What each deployment's current manifest set takes on its data plane,
-- and the sums per plane and per organization on it. See the SQLite step
-- of the same name.
ALTER TABLE deployments ADD COLUMN rendered_bytes BIGINT;
ALTER TABLE deployments ADD COLUMN organization_id TEXT;
UPDATE deployments SET organization_id = spec::jsonb ->> 'organization_id';
CREATE TABLE plane_usage (
    data_plane_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    rendered_bytes BIGINT NOT NULL,
    PRIMARY KEY (data_plane_id, organization_id)
);
