-- older binaries: must stop
-- The durable handoff: every change Harmony must hear of is an outbox
-- entry committed with the record it belongs to. Deployments stored
-- before it were handed over synchronously, so Harmony has them.
ALTER TABLE deployments ADD COLUMN delivered_generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN handoff_error TEXT;
ALTER TABLE deployments ADD COLUMN handoff_refused INTEGER NOT NULL DEFAULT 0;
UPDATE deployments SET delivered_generation = generation;
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id TEXT NOT NULL,
    cell TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('HOSTED', 'HYBRID')),
    generation INTEGER NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('PUT', 'DELETE')),
    spec TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
) STRICT;
CREATE INDEX outbox_by_deployment ON outbox (deployment_id, seq);
