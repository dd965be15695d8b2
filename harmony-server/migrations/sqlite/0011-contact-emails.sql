-- older binaries: keep working
-- Changes no table. Once every binary using the database knows this step
-- (after `harmony-server contract-schema`), a deployment's stored spec may
-- hold `contact_emails` (store/stored_spec.rs), which binaries from before
-- it refuse to read; until then Harmony refuses to store any (503) and a
-- spec without them is stored as before, byte for byte.
SELECT 1;
