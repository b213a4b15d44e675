-- Citizen intake: reports from people without an account (the public report page and the
-- Open311 GeoReport v2 API). The case itself is an ordinary case (source 'citizen') in the
-- dispatcher's queue; this table holds what only a citizen report has: the public tracking
-- code, the citizen-facing category, the channel, the answers to the category's questions
-- and the optional contact details, which are never shown publicly.
CREATE TABLE citizen_reports (
    case_id       BIGINT  PRIMARY KEY REFERENCES cases (id),
    -- The tracking code given to the citizen (also the Open311 service_request_id).
    code          TEXT    NOT NULL,
    service_code  TEXT    NOT NULL,
    channel       TEXT    NOT NULL CHECK (channel IN ('web', 'open311')),
    api_key_id    BIGINT  REFERENCES api_keys (id),
    -- Open311 attribute answers as a JSON object {code: value or [values]}.
    attributes    TEXT    NOT NULL DEFAULT '{}',
    email         TEXT,
    phone         TEXT,
    first_name    TEXT,
    last_name     TEXT,
    device_id     TEXT,
    account_id    TEXT,
    -- A keyed hash of the client's address: the per-address rate limit counts these, the
    -- address itself is not kept.
    address_hash  TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    CONSTRAINT citizen_reports_code_key UNIQUE (code)
);
CREATE INDEX citizen_reports_address_idx ON citizen_reports (address_hash, created_at);
CREATE INDEX citizen_reports_created_idx ON citizen_reports (created_at);

-- A note for the public written with a workflow step (shown on the status page and as the
-- Open311 status_notes); the staff note stays internal.
ALTER TABLE case_events ADD COLUMN public_note TEXT NOT NULL DEFAULT '';
