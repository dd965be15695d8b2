-- older binaries: must stop
-- Rollouts: platform releases, rollouts (the controller's whole state as
-- one JSON document, rewritten by each step), and per data plane the
-- desired revision at which its current release was handed out (an
-- agent that applied it runs the release).
CREATE TABLE platform_releases (
    version TEXT PRIMARY KEY NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE TABLE rollouts (
    id TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX rollouts_by_state ON rollouts (state);
ALTER TABLE data_planes ADD COLUMN release_revision INTEGER NOT NULL DEFAULT 0;
