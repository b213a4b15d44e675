-- Readings ingest at rate: every batch of readings adds to rollup rows that other batches
-- add to as well (a meter's day, an entity's day and month, a district's hour, day and
-- month) and writes its meters' latest reading. Room on each page lets PostgreSQL put the
-- new row version beside the old one without touching the indexes (a HOT update) instead
-- of adding index entries that later need cleaning up.
ALTER TABLE energy_meter_day SET (fillfactor = 70);
ALTER TABLE energy_entity_day SET (fillfactor = 70);
ALTER TABLE energy_entity_month SET (fillfactor = 70);
ALTER TABLE energy_district_hour SET (fillfactor = 70);
ALTER TABLE energy_district_day SET (fillfactor = 70);
ALTER TABLE energy_district_month SET (fillfactor = 70);
ALTER TABLE meters SET (fillfactor = 50);

-- The month's top consumers: an index holding the value changed with every batch (no HOT
-- update possible); the month's entities are few enough to sort.
DROP INDEX energy_entity_month_top_idx;
CREATE INDEX energy_entity_month_top_idx ON energy_entity_month (energy_type, month);
