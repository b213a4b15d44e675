-- Readings and entity hours keyed by UTC day first: (day, meter, interval start) and (day,
-- entity, type, hour), where day = ts / 86400000. The key is still unique on (meter,
-- interval start), since the day follows from the time.
--
-- Why: a live feed sends every meter's latest hours. Keyed by meter first, one batch of
-- 2,000 meters added to 2,000 scattered index leaves (each meter's last); keyed by day
-- first, it adds to the few adjacent leaves of the current day. A meter's or an entity's
-- range is read as one index descent per day (`db::energy::key_days`).
ALTER TABLE readings DROP CONSTRAINT readings_pkey;
CREATE UNIQUE INDEX readings_key ON readings ((ts / 86400000), meter_id, ts);
ALTER TABLE energy_entity_hour DROP CONSTRAINT energy_entity_hour_pkey;
CREATE UNIQUE INDEX energy_entity_hour_key ON energy_entity_hour ((hour / 86400000), entity_id, energy_type, hour);
