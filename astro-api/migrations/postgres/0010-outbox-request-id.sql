-- older binaries: keep working
-- The id of the request that queued each change, sent to Harmony with it
-- (x-request-id) so both services' log lines for one change share it.
-- Nullable: older binaries keep queueing without one.
ALTER TABLE outbox ADD COLUMN request_id TEXT;
