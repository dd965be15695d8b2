-- older binaries: keep working
-- When each outbox entry was queued (Unix milliseconds), for the oldest
-- entry's age in the metrics (docs/operations.md). 0 for entries queued by
-- binaries that predate it, which keep writing rows without it.
ALTER TABLE outbox ADD COLUMN queued_at INTEGER NOT NULL DEFAULT 0;
