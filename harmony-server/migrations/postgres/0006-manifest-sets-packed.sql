-- older binaries: keep working
ALTER TABLE manifest_sets ADD COLUMN packed BYTEA;
