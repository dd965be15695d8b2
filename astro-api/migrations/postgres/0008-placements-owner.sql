-- older binaries: keep working
ALTER TABLE placements ADD COLUMN owner TEXT;
