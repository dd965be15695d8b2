-- older binaries: keep working
-- The organization a placed data plane belongs to, so a fallback
-- placement (no cell can be asked) is checked for its owner too.
-- Nullable: binaries that predate it keep writing rows without one.
ALTER TABLE placements ADD COLUMN owner TEXT;
