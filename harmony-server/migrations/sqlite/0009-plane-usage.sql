-- older binaries: keep working
-- What each deployment's current manifest set takes on its data plane
-- (its JSON bytes; NULL until a binary that knows this renders it again),
-- its organization, and the sums per data plane and per organization on
-- each plane (`organization_id` '' for the plane's total), kept in the
-- write that changes them so a budget check reads two rows whatever the
-- plane holds. Older binaries do not keep the sums: every binary that
-- knows them recounts them from `deployments` when it starts.
ALTER TABLE deployments ADD COLUMN rendered_bytes INTEGER;
ALTER TABLE deployments ADD COLUMN organization_id TEXT;
UPDATE deployments SET organization_id = json_extract(spec, '$.organization_id');
CREATE TABLE plane_usage (
    data_plane_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    rendered_bytes INTEGER NOT NULL,
    PRIMARY KEY (data_plane_id, organization_id)
) STRICT;
