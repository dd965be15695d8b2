-- older binaries: must stop
ALTER TABLE deployments ADD COLUMN cell TEXT NOT NULL DEFAULT 'default';
