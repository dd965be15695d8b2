-- older binaries: keep working
-- Leases on background work shared by replicas (the rollout
-- controller): one holder at a time, until it expires.
CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;
