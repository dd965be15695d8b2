-- older binaries: keep working
CREATE TABLE placements (
    key TEXT PRIMARY KEY,
    cell TEXT NOT NULL,
    data_plane_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('HOSTED', 'HYBRID')),
    seen_at TIMESTAMPTZ NOT NULL
);
