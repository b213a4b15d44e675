-- Energy and carbon: entities and their meters, interval readings, rollups maintained as
-- readings arrive, versioned emission factors, targets, anomalies and CSV uploads.
--
-- Time: instants are BIGINT milliseconds (UTC). Buckets follow Asia/Shanghai (UTC+8, no
-- daylight saving): `hour` is the instant of the hour's start (hour boundaries agree in UTC
-- and UTC+8), `day` the local day number (days since 1970-01-01 in Shanghai), `month` the
-- local month as yyyymm. See `domain::energy`.

-- What consumes: a public building, an enterprise, a street-light circuit, a pumping
-- station... in a district (and a grid where known), maintained by a department (where an
-- anomaly's case goes).
CREATE TABLE energy_entities (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    code           TEXT    NOT NULL,
    name_zh        TEXT    NOT NULL,
    name_en        TEXT    NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('district', 'public_building', 'enterprise',
                                                    'street_light', 'pumping_station', 'heating_station')),
    district_code  TEXT    NOT NULL,
    grid_id        BIGINT  REFERENCES grids (id),
    department_id  BIGINT  NOT NULL REFERENCES departments (id),
    floor_area_m2  REAL,
    created_at     BIGINT  NOT NULL,
    CONSTRAINT energy_entities_code_key UNIQUE (code)
);
CREATE INDEX energy_entities_district_idx ON energy_entities (district_code);
CREATE INDEX energy_entities_department_idx ON energy_entities (department_id);

-- A meter measures one energy type at one entity. A sub-meter (parent_id) measures part of
-- its parent's consumption (same entity, same type): it has its own readings and rollup,
-- but only meters without a parent count towards entity, district and city totals.
CREATE TABLE meters (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    code              TEXT    NOT NULL,
    entity_id         BIGINT  NOT NULL REFERENCES energy_entities (id),
    energy_type       TEXT    NOT NULL CHECK (energy_type IN ('electricity', 'heat', 'water', 'gas')),
    parent_id         BIGINT  REFERENCES meters (id),
    interval_minutes  BIGINT  NOT NULL CHECK (interval_minutes IN (15, 30, 60)),
    name_zh           TEXT    NOT NULL,
    name_en           TEXT    NOT NULL,
    active            BOOLEAN NOT NULL DEFAULT TRUE,
    last_reading_at   BIGINT,
    last_received_at  BIGINT,
    created_at        BIGINT  NOT NULL,
    CONSTRAINT meters_code_key UNIQUE (code)
);
CREATE INDEX meters_entity_idx ON meters (entity_id, energy_type);
CREATE INDEX meters_parent_idx ON meters (parent_id);

-- Interval consumption: the amount used during the interval starting at `ts`, in the meter's
-- unit. One row per (meter, ts): a reading sent again with the same value is a duplicate, with
-- another value a correction (recorded below, rollups follow the difference).
CREATE TABLE readings (
    meter_id     BIGINT  NOT NULL,
    ts           BIGINT  NOT NULL,
    value        REAL NOT NULL,
    received_at  BIGINT  NOT NULL,
    source       TEXT    NOT NULL,
    PRIMARY KEY (meter_id, ts)
);

CREATE TABLE reading_corrections (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    meter_id   BIGINT  NOT NULL REFERENCES meters (id),
    ts         BIGINT  NOT NULL,
    old_value  REAL NOT NULL,
    new_value  REAL NOT NULL,
    source     TEXT    NOT NULL,
    at         BIGINT  NOT NULL
);
CREATE INDEX reading_corrections_meter_idx ON reading_corrections (meter_id, ts);

-- Rollups, maintained with each batch of readings (additive upserts of the batch's
-- differences). Entity and district rollups take meters without a parent only.
CREATE TABLE energy_meter_day (
    meter_id  BIGINT  NOT NULL,
    day       BIGINT  NOT NULL,
    value     REAL NOT NULL,
    PRIMARY KEY (meter_id, day)
);
CREATE TABLE energy_entity_hour (
    entity_id    BIGINT  NOT NULL,
    energy_type  TEXT    NOT NULL,
    hour         BIGINT  NOT NULL,
    value        REAL NOT NULL,
    PRIMARY KEY (entity_id, energy_type, hour)
);
CREATE TABLE energy_entity_day (
    entity_id    BIGINT  NOT NULL,
    energy_type  TEXT    NOT NULL,
    day          BIGINT  NOT NULL,
    value        REAL NOT NULL,
    carbon_kg    REAL NOT NULL,
    PRIMARY KEY (entity_id, energy_type, day)
);
CREATE TABLE energy_entity_month (
    entity_id    BIGINT  NOT NULL,
    energy_type  TEXT    NOT NULL,
    month        BIGINT  NOT NULL,
    value        REAL NOT NULL,
    carbon_kg    REAL NOT NULL,
    PRIMARY KEY (entity_id, energy_type, month)
);
CREATE INDEX energy_entity_month_top_idx ON energy_entity_month (energy_type, month, value);
CREATE TABLE energy_district_hour (
    district_code  TEXT    NOT NULL,
    energy_type    TEXT    NOT NULL,
    hour           BIGINT  NOT NULL,
    value          REAL NOT NULL,
    PRIMARY KEY (district_code, energy_type, hour)
);
CREATE TABLE energy_district_day (
    district_code  TEXT    NOT NULL,
    energy_type    TEXT    NOT NULL,
    day            BIGINT  NOT NULL,
    value          REAL NOT NULL,
    carbon_kg      REAL NOT NULL,
    PRIMARY KEY (district_code, energy_type, day)
);
CREATE TABLE energy_district_month (
    district_code  TEXT    NOT NULL,
    energy_type    TEXT    NOT NULL,
    month          BIGINT  NOT NULL,
    value          REAL NOT NULL,
    carbon_kg      REAL NOT NULL,
    PRIMARY KEY (district_code, energy_type, month)
);

-- Emission factors as published (kg CO2 per unit of the energy type), versioned: a revision
-- supersedes the factor in force and the carbon of the rollups it covers is recomputed.
-- Region `national` applies where a region has none of its own.
CREATE TABLE emission_factors (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    year           BIGINT  NOT NULL,
    region         TEXT    NOT NULL,
    energy_type    TEXT    NOT NULL CHECK (energy_type IN ('electricity', 'heat', 'water', 'gas')),
    kg_per_unit    REAL NOT NULL CHECK (kg_per_unit >= 0),
    source         TEXT    NOT NULL,
    created_by     BIGINT  REFERENCES users (id),
    created_at     BIGINT  NOT NULL,
    superseded_at  BIGINT,
    superseded_by  BIGINT  REFERENCES users (id)
);
CREATE UNIQUE INDEX emission_factors_current_idx ON emission_factors (year, region, energy_type)
    WHERE superseded_at IS NULL;

-- Reduction targets of a district or an entity, for carbon or one energy type: the target
-- year's total at most (100 - reduction_pct) % of the baseline year's.
CREATE TABLE energy_targets (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    scope          TEXT    NOT NULL CHECK (scope IN ('district', 'entity')),
    district_code  TEXT,
    entity_id      BIGINT  REFERENCES energy_entities (id),
    metric         TEXT    NOT NULL CHECK (metric IN ('carbon', 'electricity', 'heat', 'water', 'gas')),
    baseline_year  BIGINT  NOT NULL,
    target_year    BIGINT  NOT NULL,
    reduction_pct  REAL NOT NULL CHECK (reduction_pct > 0 AND reduction_pct < 100),
    note           TEXT    NOT NULL DEFAULT '',
    created_by     BIGINT  REFERENCES users (id),
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    version        BIGINT  NOT NULL DEFAULT 1,
    CHECK ((scope = 'district' AND district_code IS NOT NULL AND entity_id IS NULL)
        OR (scope = 'entity' AND entity_id IS NOT NULL AND district_code IS NULL)),
    CHECK (target_year > baseline_year)
);
CREATE UNIQUE INDEX energy_targets_district_key ON energy_targets (district_code, metric, target_year)
    WHERE scope = 'district';
CREATE UNIQUE INDEX energy_targets_entity_key ON energy_targets (entity_id, metric, target_year)
    WHERE scope = 'entity';

-- Hours of an entity's consumption far from its own hour-of-week baseline.
CREATE TABLE energy_anomalies (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_id    BIGINT  NOT NULL REFERENCES energy_entities (id),
    energy_type  TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('night_base', 'spike')),
    hour         BIGINT  NOT NULL,
    observed     REAL NOT NULL,
    expected     REAL NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('open', 'case_opened', 'dismissed')),
    case_id      BIGINT  REFERENCES cases (id),
    detected_at  BIGINT  NOT NULL,
    decided_by   BIGINT  REFERENCES users (id),
    decided_at   BIGINT,
    CONSTRAINT energy_anomalies_key UNIQUE (entity_id, energy_type, kind, hour)
);
CREATE INDEX energy_anomalies_state_idx ON energy_anomalies (state, hour);

-- A CSV file of readings: validated when uploaded (the report is kept), imported when the
-- uploader confirms, in steps that record their progress.
CREATE TABLE energy_uploads (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         BIGINT  NOT NULL REFERENCES users (id),
    department_id   BIGINT  NOT NULL REFERENCES departments (id),
    filename        TEXT    NOT NULL,
    encoding        TEXT    NOT NULL,
    bytes           BLOB    NOT NULL,
    total_lines     BIGINT  NOT NULL,
    good_lines      BIGINT  NOT NULL,
    bad_lines       BIGINT  NOT NULL,
    report          TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('validated', 'importing', 'imported', 'discarded')),
    imported_lines  BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);

-- Readings and rollups carry no foreign-key checks (as on PostgreSQL, where they were
-- measured to cost throughput); meters and entities instead are never deleted or renumbered.
CREATE TRIGGER meters_no_delete BEFORE DELETE ON meters
BEGIN
    SELECT RAISE(ABORT, 'meters rows are never deleted or renumbered: readings refer to them');
END;
CREATE TRIGGER meters_no_renumber BEFORE UPDATE OF id ON meters
BEGIN
    SELECT RAISE(ABORT, 'meters rows are never deleted or renumbered: readings refer to them');
END;
CREATE TRIGGER energy_entities_no_delete BEFORE DELETE ON energy_entities
BEGIN
    SELECT RAISE(ABORT, 'energy_entities rows are never deleted or renumbered: readings refer to them');
END;
CREATE TRIGGER energy_entities_no_renumber BEFORE UPDATE OF id ON energy_entities
BEGIN
    SELECT RAISE(ABORT, 'energy_entities rows are never deleted or renumbered: readings refer to them');
END;
