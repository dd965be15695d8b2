-- older binaries: must stop
-- The agent protocol: a desired and an applied revision per data plane,
-- agents' credentials (a SHA-256 of the secret), their health reports.
ALTER TABLE data_planes ADD COLUMN desired_revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE data_planes ADD COLUMN applied_revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN data_plane_id TEXT;
UPDATE deployments SET data_plane_id = json_extract(spec, '$.data_plane_id');
CREATE INDEX deployments_by_data_plane ON deployments (data_plane_id, id);
CREATE TABLE agent_credentials (
    data_plane_id TEXT PRIMARY KEY NOT NULL REFERENCES data_planes (id),
    secret_sha256 BLOB NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE TABLE deployment_health (
    deployment_id TEXT PRIMARY KEY NOT NULL,
    data_plane_id TEXT NOT NULL,
    manifest_revision INTEGER NOT NULL,
    health TEXT NOT NULL,
    message TEXT,
    reported_at TEXT NOT NULL
) STRICT;
