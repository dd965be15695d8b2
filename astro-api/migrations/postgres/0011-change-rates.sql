-- older binaries: keep working
-- Each organization's change rate (quota::admit_change): the GCRA's
-- theoretical arrival time, Unix ms, read and moved on in the write of
-- every change it takes. Older binaries do not read it (their changes are
-- not counted until they are gone).
CREATE TABLE change_rates (
    organization_id TEXT PRIMARY KEY NOT NULL,
    tat_ms BIGINT NOT NULL
);
