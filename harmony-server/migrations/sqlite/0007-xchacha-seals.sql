-- older binaries: keep working
-- Changes no table. Once every binary using the database knows this step
-- (after `harmony-server contract-schema`), new secret values are sealed
-- with XChaCha20-Poly1305 (`sealed:v2:`, crypto.rs), which binaries from
-- before it cannot open; until then they stay `sealed:v1:`.
SELECT 1;
