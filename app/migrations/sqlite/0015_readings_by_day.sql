-- Readings and entity hours keyed by UTC day first: (day, meter, interval start) and (day,
-- entity, type, hour), where day = ts / 86400000. The key is still unique on (meter,
-- interval start), since the day follows from the time.
--
-- Why: a live feed sends every meter's latest hours. Keyed by meter first, one batch of
-- 2,000 meters added to 2,000 scattered index pages (each meter's last), and every commit
-- wrote and synced them all. Keyed by day first, the same batch adds to the few adjacent pages
-- of the current day. A meter's or an entity's range is read as one index seek per day
-- (`db::energy::key_days`).
--
-- SQLite cannot drop a primary key, so the tables are rebuilt, their rows in the new key's
-- order.
CREATE TABLE readings_by_day (
    meter_id     BIGINT  NOT NULL,
    ts           BIGINT  NOT NULL,
    value        REAL NOT NULL,
    received_at  BIGINT  NOT NULL,
    source       TEXT    NOT NULL
);
INSERT INTO readings_by_day (meter_id, ts, value, received_at, source)
    SELECT meter_id, ts, value, received_at, source FROM readings ORDER BY ts / 86400000, meter_id, ts;
DROP TABLE readings;
ALTER TABLE readings_by_day RENAME TO readings;
CREATE UNIQUE INDEX readings_key ON readings ((ts / 86400000), meter_id, ts);

CREATE TABLE energy_entity_hour_by_day (
    entity_id    BIGINT  NOT NULL,
    energy_type  TEXT    NOT NULL,
    hour         BIGINT  NOT NULL,
    value        REAL NOT NULL
);
INSERT INTO energy_entity_hour_by_day (entity_id, energy_type, hour, value)
    SELECT entity_id, energy_type, hour, value FROM energy_entity_hour
    ORDER BY hour / 86400000, entity_id, energy_type, hour;
DROP TABLE energy_entity_hour;
ALTER TABLE energy_entity_hour_by_day RENAME TO energy_entity_hour;
CREATE UNIQUE INDEX energy_entity_hour_key ON energy_entity_hour ((hour / 86400000), entity_id, energy_type, hour);
