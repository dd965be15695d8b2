-- older binaries: keep working
-- Changes no table. Once every binary using the database knows this step
-- (after `astro-api contract-schema`), a deployment's record may hold
-- `contact_emails`, which binaries from before it would drop when they
-- rewrite the record; until then astro-api refuses to store any (503) and
-- records are written as before, byte for byte.
SELECT 1;
