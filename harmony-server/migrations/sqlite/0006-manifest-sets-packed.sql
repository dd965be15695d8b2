-- older binaries: keep working
-- Manifest sets compressed (see `pack`): new rows keep `objects` empty
-- and the compressed JSON in `packed`; older rows keep their text.
ALTER TABLE manifest_sets ADD COLUMN packed BLOB;
