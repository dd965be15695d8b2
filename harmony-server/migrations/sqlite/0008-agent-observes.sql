-- older binaries: keep working
-- What a data plane's agent said it can observe, from its last report:
-- 1 it can tell workloads' health, 0 it cannot (it writes files), NULL it
-- did not say. A rollout gated on HEALTH is refused at planning for planes
-- whose agent cannot. Older binaries neither write nor read it.
ALTER TABLE data_planes ADD COLUMN observes_health INTEGER;
