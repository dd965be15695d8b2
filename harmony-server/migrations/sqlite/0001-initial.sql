-- older binaries: must stop
CREATE TABLE data_planes (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    registration TEXT NOT NULL,
    status TEXT NOT NULL,
    last_heartbeat TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE deployments (
    id TEXT PRIMARY KEY NOT NULL,
    generation INTEGER NOT NULL,
    spec TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    revision INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE manifest_sets (
    deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    platform_release TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    objects TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (deployment_id, revision)
) STRICT;
