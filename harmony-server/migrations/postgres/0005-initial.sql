-- older binaries: must stop
-- PostgreSQL support began here: this creates what SQLite's first 5
-- migrations did.
CREATE TABLE data_planes (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    registration TEXT NOT NULL,
    status TEXT NOT NULL,
    last_heartbeat TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    desired_revision BIGINT NOT NULL DEFAULT 0,
    applied_revision BIGINT NOT NULL DEFAULT 0,
    release_revision BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE deployments (
    id TEXT PRIMARY KEY,
    generation BIGINT NOT NULL,
    spec TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    revision BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    data_plane_id TEXT
);
CREATE INDEX deployments_by_data_plane ON deployments (data_plane_id, id);
CREATE TABLE manifest_sets (
    deployment_id TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    revision BIGINT NOT NULL,
    generation BIGINT NOT NULL,
    platform_release TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    objects TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (deployment_id, revision)
);
CREATE TABLE meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE agent_credentials (
    data_plane_id TEXT PRIMARY KEY REFERENCES data_planes (id),
    secret_sha256 BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE deployment_health (
    deployment_id TEXT PRIMARY KEY,
    data_plane_id TEXT NOT NULL,
    manifest_revision BIGINT NOT NULL,
    health TEXT NOT NULL,
    message TEXT,
    reported_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE platform_releases (
    version TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE rollouts (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX rollouts_by_state ON rollouts (state);
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
