-- older binaries: keep working
-- What a data plane's agent said it can observe, from its last report
-- (NULL: it did not say). See the SQLite step of the same name.
ALTER TABLE data_planes ADD COLUMN observes_health BOOLEAN;
