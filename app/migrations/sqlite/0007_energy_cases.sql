-- Cases opened from energy anomalies: a fifth source, `energy`, and the department the source
-- routes the case to (an anomaly's entity's maintaining department), which the dispatcher
-- sees preselected instead of the class's default.
--
-- SQLite cannot alter a CHECK constraint, so the table is rebuilt (the procedure of
-- sqlite.org/lang_altertable.html, section 7). sqlx runs a SQLite migration inside a
-- transaction, where `PRAGMA foreign_keys = OFF` has no effect; instead the foreign keys that
-- refer to cases (timeline, assignments, photos, incidents, anomalies...) are deferred to the
-- commit: dropping the table counts their rows as violations and putting each case back under
-- its old id counts them off again, so the commit fails if a single case went missing.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE cases_copy AS SELECT * FROM cases;
-- The AUTOINCREMENT counter goes with the table: kept, so no id is ever handed out twice.
CREATE TABLE cases_seq AS SELECT seq FROM sqlite_sequence WHERE name = 'cases';
DROP TABLE cases;

CREATE TABLE cases (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    code                 TEXT    NOT NULL,
    source               TEXT    NOT NULL CHECK (source IN ('inspector', 'citizen', 'hotline', 'skyeye', 'energy')),
    class_id             BIGINT  NOT NULL REFERENCES case_classes (id),
    grid_id              BIGINT  NOT NULL REFERENCES grids (id),
    district_code        TEXT    NOT NULL,
    lon                  REAL    NOT NULL,
    lat                  REAL    NOT NULL,
    address              TEXT    NOT NULL,
    description          TEXT    NOT NULL,
    state                TEXT    NOT NULL,
    on_hold              BOOLEAN NOT NULL DEFAULT FALSE,
    verified_ok          BOOLEAN NOT NULL DEFAULT FALSE,
    department_id        BIGINT  REFERENCES departments (id),
    reporter_id          BIGINT  REFERENCES users (id),
    reported_at          BIGINT  NOT NULL,
    filing_deadline      BIGINT  NOT NULL,
    filed_at             BIGINT,
    filed_department_id  BIGINT  REFERENCES departments (id),
    deadline_at          BIGINT,
    hold_remaining_min   BIGINT,
    closed_at            BIGINT,
    rework_count         BIGINT  NOT NULL DEFAULT 0,
    updated_at           BIGINT  NOT NULL,
    version              BIGINT  NOT NULL DEFAULT 1,
    route_department_id  BIGINT  REFERENCES departments (id),
    CONSTRAINT cases_code_key UNIQUE (code)
);
INSERT INTO cases (id, code, source, class_id, grid_id, district_code, lon, lat, address, description,
                   state, on_hold, verified_ok, department_id, reporter_id, reported_at, filing_deadline,
                   filed_at, filed_department_id, deadline_at, hold_remaining_min, closed_at,
                   rework_count, updated_at, version)
SELECT id, code, source, class_id, grid_id, district_code, lon, lat, address, description,
       state, on_hold, verified_ok, department_id, reporter_id, reported_at, filing_deadline,
       filed_at, filed_department_id, deadline_at, hold_remaining_min, closed_at,
       rework_count, updated_at, version
FROM cases_copy ORDER BY id;
DROP TABLE cases_copy;
INSERT INTO sqlite_sequence (name, seq)
SELECT 'cases', seq FROM cases_seq WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'cases');
UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT seq FROM cases_seq))
WHERE name = 'cases' AND EXISTS (SELECT 1 FROM cases_seq);
DROP TABLE cases_seq;

-- The indexes of 0002 and 0003, as they were.
CREATE INDEX cases_state_deadline_idx ON cases (state, deadline_at);
CREATE INDEX cases_department_state_idx ON cases (department_id, state, deadline_at);
CREATE INDEX cases_reported_idx ON cases (reported_at);
CREATE INDEX cases_grid_state_idx ON cases (grid_id, state);
CREATE INDEX cases_class_idx ON cases (class_id, reported_at);
CREATE INDEX cases_district_idx ON cases (district_code, reported_at);
CREATE INDEX cases_open_idx ON cases (reported_at, id, department_id)
    WHERE state NOT IN ('closed', 'rejected');
CREATE INDEX cases_district_state_idx ON cases (district_code, state, reported_at);
CREATE INDEX cases_overdue_idx ON cases (state, on_hold, deadline_at);
CREATE INDEX cases_filed_idx ON cases (filed_at, filed_department_id, filing_deadline);

-- The catalogue's class for them (event 0607, "abnormal energy use"). A new database gets it
-- from the catalogue seed (`db::catalogue_seed`), which runs after the migrations; this adds
-- it to a database whose catalogue was seeded before, unless that code is already taken.
INSERT INTO case_classes (kind, code, major_code, name_zh, name_en, filing_zh, filing_en, closing_zh,
                          closing_en, limit_amount, limit_unit, department_id, active, updated_at)
SELECT 'event', '0607', '06', '能耗异常', 'Abnormal energy use',
       '计量数据显示夜间基础负荷或用能突增明显超出本单位同时段基线',
       'Metered consumption shows a night base load or a spike well above the entity''s own baseline for the same hours',
       '已查明原因并整改（设备关停、漏损修复、运行时段调整），用能回落至基线',
       'Cause found and fixed (equipment switched off, leak repaired, schedule corrected); consumption back to baseline',
       5, 'work_days', d.id, TRUE, CAST(strftime('%s', 'now') AS INTEGER) * 1000
FROM departments d
WHERE d.code = 'ndrc'
  AND EXISTS (SELECT 1 FROM case_majors WHERE kind = 'event' AND code = '06')
  AND NOT EXISTS (SELECT 1 FROM case_classes WHERE kind = 'event' AND code = '0607');
