-- Sky Eye: cameras, alert types, machine API keys, alerts folded into incidents, triage.

-- Keys of machine integrations (video analytics, meter gateways). Only the SHA-256 of the
-- secret is stored; `source` names the integration and scopes the idempotency of what it sends.
CREATE TABLE api_keys (
    id             BIGSERIAL PRIMARY KEY,
    name           TEXT    NOT NULL,
    source         TEXT    NOT NULL,
    department_id  BIGINT  NOT NULL REFERENCES departments (id),
    scopes         TEXT    NOT NULL,
    prefix         TEXT    NOT NULL,
    hash           TEXT    NOT NULL,
    created_by     BIGINT  REFERENCES users (id),
    created_at     BIGINT  NOT NULL,
    revoked_at     BIGINT,
    revoked_by     BIGINT  REFERENCES users (id),
    last_used_at   BIGINT,
    CONSTRAINT api_keys_hash_key UNIQUE (hash)
);

CREATE TABLE cameras (
    id                 BIGSERIAL PRIMARY KEY,
    code               TEXT    NOT NULL,
    name               TEXT    NOT NULL,
    lon                DOUBLE PRECISION NOT NULL,
    lat                DOUBLE PRECISION NOT NULL,
    grid_id            BIGINT  NOT NULL REFERENCES grids (id),
    district_code      TEXT    NOT NULL,
    department_id      BIGINT  NOT NULL REFERENCES departments (id),
    source             TEXT    NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN ('online', 'offline', 'tampered')),
    status_since       BIGINT  NOT NULL,
    last_heartbeat_at  BIGINT,
    created_at         BIGINT  NOT NULL,
    CONSTRAINT cameras_code_key UNIQUE (code)
);
CREATE INDEX cameras_status_idx ON cameras (status, last_heartbeat_at);
CREATE INDEX cameras_department_idx ON cameras (department_id, status);

-- What the analytics detect. `health` types (offline, tampered) belong to the camera's owner;
-- the others to the department that owns the Sky Eye data (setting skyeye.owner).
CREATE TABLE alert_types (
    id         BIGSERIAL PRIMARY KEY,
    code       TEXT    NOT NULL,
    name_zh    TEXT    NOT NULL,
    name_en    TEXT    NOT NULL,
    severity   TEXT    NOT NULL CHECK (severity IN ('critical', 'major', 'minor')),
    class_id   BIGINT  REFERENCES case_classes (id),
    health     BOOLEAN NOT NULL DEFAULT FALSE,
    active     BOOLEAN NOT NULL DEFAULT TRUE,
    CONSTRAINT alert_types_code_key UNIQUE (code)
);

-- Departments other than the owner that may read incidents of a type.
CREATE TABLE alert_type_grants (
    type_id        BIGINT NOT NULL REFERENCES alert_types (id),
    department_id  BIGINT NOT NULL REFERENCES departments (id),
    granted_by     BIGINT REFERENCES users (id),
    granted_at     BIGINT NOT NULL,
    PRIMARY KEY (type_id, department_id)
);

-- Repeated alerts of one type on one camera within the grouping window, as one item of work.
CREATE TABLE incidents (
    id                   BIGSERIAL PRIMARY KEY,
    camera_id            BIGINT  NOT NULL REFERENCES cameras (id),
    type_id              BIGINT  NOT NULL REFERENCES alert_types (id),
    owner_department_id  BIGINT  NOT NULL REFERENCES departments (id),
    severity             TEXT    NOT NULL,
    district_code        TEXT    NOT NULL,
    state                TEXT    NOT NULL CHECK (state IN ('new', 'acknowledged', 'dismissed', 'escalated', 'resolved')),
    alert_count          BIGINT  NOT NULL,
    first_seen           BIGINT  NOT NULL,
    last_seen            BIGINT  NOT NULL,
    max_confidence       DOUBLE PRECISION,
    snapshot_alert_id    BIGINT,
    dismiss_reason       TEXT    CHECK (dismiss_reason IN ('false_positive', 'duplicate', 'not_actionable')),
    case_id              BIGINT  REFERENCES cases (id),
    decided_by           BIGINT  REFERENCES users (id),
    decided_at           BIGINT,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL,
    version              BIGINT  NOT NULL DEFAULT 1
);
CREATE INDEX incidents_open_idx ON incidents (camera_id, type_id, state, last_seen);
CREATE INDEX incidents_last_seen_idx ON incidents (last_seen);
CREATE INDEX incidents_state_idx ON incidents (state, last_seen);
CREATE INDEX incidents_case_idx ON incidents (case_id);
CREATE INDEX incidents_type_idx ON incidents (type_id, last_seen);

-- Every alert as received, never deleted: the evidence behind an incident.
CREATE TABLE alerts (
    id            BIGSERIAL PRIMARY KEY,
    source        TEXT    NOT NULL,
    external_id   TEXT    NOT NULL,
    camera_id     BIGINT  NOT NULL REFERENCES cameras (id),
    type_id       BIGINT  NOT NULL REFERENCES alert_types (id),
    at            BIGINT  NOT NULL,
    confidence    DOUBLE PRECISION,
    incident_id   BIGINT  NOT NULL REFERENCES incidents (id),
    has_snapshot  BOOLEAN NOT NULL DEFAULT FALSE,
    received_at   BIGINT  NOT NULL,
    CONSTRAINT alerts_source_external_key UNIQUE (source, external_id)
);
CREATE INDEX alerts_incident_idx ON alerts (incident_id, at);
CREATE INDEX alerts_at_idx ON alerts (at);

CREATE TABLE alert_snapshots (
    alert_id  BIGINT  PRIMARY KEY REFERENCES alerts (id),
    mime      TEXT    NOT NULL CHECK (mime IN ('image/jpeg', 'image/png')),
    width     BIGINT  NOT NULL,
    height    BIGINT  NOT NULL,
    size      BIGINT  NOT NULL,
    bytes     BYTEA   NOT NULL
);

-- Who decided what on an incident, never changed afterwards.
CREATE TABLE incident_events (
    id           BIGSERIAL PRIMARY KEY,
    incident_id  BIGINT  NOT NULL REFERENCES incidents (id),
    at           BIGINT  NOT NULL,
    action       TEXT    NOT NULL,
    from_state   TEXT    NOT NULL,
    to_state     TEXT    NOT NULL,
    user_id      BIGINT  REFERENCES users (id),
    actor_name   TEXT    NOT NULL,
    reason       TEXT,
    note         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX incident_events_incident_idx ON incident_events (incident_id, at);

CREATE FUNCTION incident_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'incident_events is append-only';
END;
$$;
CREATE TRIGGER incident_events_no_update BEFORE UPDATE OR DELETE ON incident_events
    FOR EACH ROW EXECUTE FUNCTION incident_events_append_only();

-- Which incidents each user has opened.
CREATE TABLE incident_reviews (
    incident_id  BIGINT NOT NULL REFERENCES incidents (id),
    user_id      BIGINT NOT NULL REFERENCES users (id),
    at           BIGINT NOT NULL,
    PRIMARY KEY (incident_id, user_id)
);

-- A case photo copied from a Sky Eye snapshot remembers its alert, so that views of it by
-- other departments are audited like views of the snapshot.
ALTER TABLE case_photos ADD COLUMN alert_id BIGINT REFERENCES alerts (id);
