-- older binaries: must stop
-- Which secret key the data was sealed with (a fingerprint, not the key).
CREATE TABLE meta (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
