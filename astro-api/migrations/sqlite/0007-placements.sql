-- older binaries: keep working
-- Where data planes were last found (which cell, which kind): what
-- every replica falls back on when no cell can be asked.
CREATE TABLE placements (
    key TEXT PRIMARY KEY NOT NULL,
    cell TEXT NOT NULL,
    data_plane_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('HOSTED', 'HYBRID')),
    seen_at TEXT NOT NULL
) STRICT;
