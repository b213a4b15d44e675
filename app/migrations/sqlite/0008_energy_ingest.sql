-- Readings ingest at rate: the month's top consumers were indexed by value, which every
-- batch of readings changes (an index entry removed and added per entity and batch); the
-- month's entities are few enough to sort. (PostgreSQL also leaves room on the pages of the
-- rollup tables: SQLite updates rows in place.)
DROP INDEX energy_entity_month_top_idx;
CREATE INDEX energy_entity_month_top_idx ON energy_entity_month (energy_type, month);
