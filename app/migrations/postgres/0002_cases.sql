-- Digital city management: classification catalogue, working calendar, unit grids, cases with
-- their timeline, photos and department assignments, appeals and the scoring rule.

-- Major classes (大类) of components (部件) and events (事件): 2-digit codes per kind.
CREATE TABLE case_majors (
    kind     TEXT NOT NULL CHECK (kind IN ('component', 'event')),
    code     TEXT NOT NULL,
    name_zh  TEXT NOT NULL,
    name_en  TEXT NOT NULL,
    PRIMARY KEY (kind, code)
);

-- Minor classes (小类): 4-digit codes, filing and closing conditions, time limit and the
-- department a case of this class is dispatched to by default.
CREATE TABLE case_classes (
    id             BIGSERIAL PRIMARY KEY,
    kind           TEXT    NOT NULL,
    code           TEXT    NOT NULL,
    major_code     TEXT    NOT NULL,
    name_zh        TEXT    NOT NULL,
    name_en        TEXT    NOT NULL,
    filing_zh      TEXT    NOT NULL,
    filing_en      TEXT    NOT NULL,
    closing_zh     TEXT    NOT NULL,
    closing_en     TEXT    NOT NULL,
    limit_amount   BIGINT  NOT NULL CHECK (limit_amount > 0),
    limit_unit     TEXT    NOT NULL CHECK (limit_unit IN ('emergency_hours', 'work_hours', 'work_days', 'natural_days')),
    department_id  BIGINT  NOT NULL REFERENCES departments (id),
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at     BIGINT  NOT NULL,
    CONSTRAINT case_classes_code_key UNIQUE (kind, code),
    FOREIGN KEY (kind, major_code) REFERENCES case_majors (kind, code)
);

-- Settings edited by administrators: working periods, the filing time limit.
CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- Days that differ from Monday-to-Friday: public holidays and make-up working days (调休).
CREATE TABLE calendar_days (
    day      TEXT PRIMARY KEY,
    kind     TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name_zh  TEXT NOT NULL,
    name_en  TEXT NOT NULL
);

-- Unit grids (单元网格): rectangles in WGS-84 degrees.
CREATE TABLE grids (
    id             BIGSERIAL PRIMARY KEY,
    code           TEXT    NOT NULL,
    district_code  TEXT    NOT NULL,
    district_zh    TEXT    NOT NULL,
    district_en    TEXT    NOT NULL,
    street_zh      TEXT    NOT NULL,
    street_en      TEXT    NOT NULL,
    col            BIGINT  NOT NULL,
    row            BIGINT  NOT NULL,
    min_lon        DOUBLE PRECISION  NOT NULL,
    min_lat        DOUBLE PRECISION  NOT NULL,
    max_lon        DOUBLE PRECISION  NOT NULL,
    max_lat        DOUBLE PRECISION  NOT NULL,
    CONSTRAINT grids_code_key UNIQUE (code)
);
CREATE INDEX grids_lon_idx ON grids (min_lon, max_lon);

-- One row per case. The timeline (case_events) is the history; these columns are the
-- current state, written in the same transaction as each timeline entry.
CREATE TABLE cases (
    id                   BIGSERIAL PRIMARY KEY,
    code                 TEXT    NOT NULL,
    source               TEXT    NOT NULL CHECK (source IN ('inspector', 'citizen', 'hotline', 'skyeye')),
    class_id             BIGINT  NOT NULL REFERENCES case_classes (id),
    grid_id              BIGINT  NOT NULL REFERENCES grids (id),
    district_code        TEXT    NOT NULL,
    lon                  DOUBLE PRECISION  NOT NULL,
    lat                  DOUBLE PRECISION  NOT NULL,
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
    CONSTRAINT cases_code_key UNIQUE (code)
);
CREATE INDEX cases_state_deadline_idx ON cases (state, deadline_at);
CREATE INDEX cases_department_state_idx ON cases (department_id, state, deadline_at);
CREATE INDEX cases_reported_idx ON cases (reported_at);
CREATE INDEX cases_grid_state_idx ON cases (grid_id, state);
CREATE INDEX cases_class_idx ON cases (class_id, reported_at);
CREATE INDEX cases_district_idx ON cases (district_code, reported_at);

-- The timeline: one entry per step, never changed afterwards.
CREATE TABLE case_events (
    id                   BIGSERIAL PRIMARY KEY,
    case_id              BIGINT  NOT NULL REFERENCES cases (id),
    at                   BIGINT  NOT NULL,
    action               TEXT    NOT NULL,
    from_state           TEXT,
    to_state             TEXT    NOT NULL,
    user_id              BIGINT  REFERENCES users (id),
    actor_name           TEXT    NOT NULL,
    actor_department_id  BIGINT  REFERENCES departments (id),
    department_id        BIGINT  REFERENCES departments (id),
    deadline_at          BIGINT,
    note                 TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX case_events_case_idx ON case_events (case_id, at);

-- Photos live in the database so that every app server sees them.
CREATE TABLE case_photos (
    id        BIGSERIAL PRIMARY KEY,
    case_id   BIGINT  NOT NULL REFERENCES cases (id),
    event_id  BIGINT  REFERENCES case_events (id),
    stage     TEXT    NOT NULL CHECK (stage IN ('report', 'handle', 'verify')),
    mime      TEXT    NOT NULL CHECK (mime IN ('image/jpeg', 'image/png')),
    width     BIGINT  NOT NULL,
    height    BIGINT  NOT NULL,
    size      BIGINT  NOT NULL,
    bytes     BYTEA   NOT NULL,
    user_id   BIGINT  REFERENCES users (id),
    at        BIGINT  NOT NULL
);
CREATE INDEX case_photos_case_idx ON case_photos (case_id);

-- One department's responsibility for one case, opened by each dispatch: the unit of
-- department evaluation. Derived from the timeline and kept in step with it.
CREATE TABLE case_assignments (
    id                BIGSERIAL PRIMARY KEY,
    case_id           BIGINT  NOT NULL REFERENCES cases (id),
    department_id     BIGINT  NOT NULL REFERENCES departments (id),
    dispatched_at     BIGINT  NOT NULL,
    deadline_at       BIGINT  NOT NULL,
    accepted_at       BIGINT,
    returned_at       BIGINT,
    first_handled_at  BIGINT,
    handled_at        BIGINT,
    closed_at         BIGINT,
    rework_count      BIGINT  NOT NULL DEFAULT 0,
    on_hold           BOOLEAN NOT NULL DEFAULT FALSE,
    appealed          BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX case_assignments_period_idx ON case_assignments (dispatched_at, department_id);
CREATE INDEX case_assignments_case_idx ON case_assignments (case_id);
CREATE INDEX case_assignments_department_idx ON case_assignments (department_id, dispatched_at);

-- Appeals (申诉) against a deduction: one per assignment, decided by the command centre.
CREATE TABLE appeals (
    id             BIGSERIAL PRIMARY KEY,
    assignment_id  BIGINT  NOT NULL REFERENCES case_assignments (id),
    case_id        BIGINT  NOT NULL REFERENCES cases (id),
    department_id  BIGINT  NOT NULL REFERENCES departments (id),
    reason         TEXT    NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('pending', 'accepted', 'rejected')),
    filed_by       BIGINT  NOT NULL REFERENCES users (id),
    filed_at       BIGINT  NOT NULL,
    decided_by     BIGINT  REFERENCES users (id),
    decided_at     BIGINT,
    decision_note  TEXT    NOT NULL DEFAULT '',
    CONSTRAINT appeals_assignment_key UNIQUE (assignment_id)
);
CREATE INDEX appeals_state_idx ON appeals (state, filed_at);

-- The scoring rule as data; the rule in force for a period is the latest effective_from
-- (yyyy-mm) not after the period's start.
CREATE TABLE scoring_rules (
    id               BIGSERIAL PRIMARY KEY,
    effective_from   TEXT    NOT NULL,
    threshold_pct    DOUBLE PRECISION  NOT NULL,
    base_points      DOUBLE PRECISION  NOT NULL,
    per_point_below  DOUBLE PRECISION  NOT NULL,
    rework_penalty   DOUBLE PRECISION  NOT NULL,
    CONSTRAINT scoring_rules_from_key UNIQUE (effective_from)
);

-- The timeline is append-only, like the audit log.
CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case_events is append-only';
END;
$$;
CREATE TRIGGER case_events_no_update BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION case_events_append_only();
