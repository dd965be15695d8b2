-- older binaries: keep working
-- Outbox entries are claimed by one delivery worker at a time (several
-- replicas may share the database): until `claimed_until` (Unix ms).
ALTER TABLE outbox ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;
