-- The leadership overview.

-- Hourly snapshots of figures that are a state rather than a count of events (overdue cases,
-- critical alerts not yet acknowledged), taken by a job on the app servers: the overview
-- shows each beside its value 24 hours earlier. Several app servers may take the same hour;
-- the first one's row stays.
CREATE TABLE overview_snapshots (
    hour    BIGINT  NOT NULL,
    figure  TEXT    NOT NULL,
    value   DOUBLE PRECISION NOT NULL,
    taken_at BIGINT NOT NULL,
    PRIMARY KEY (hour, figure)
);

-- Cases closed or rejected in a period (the open count 24 hours ago, the daily trend).
CREATE INDEX cases_closed_idx ON cases (closed_at) WHERE closed_at IS NOT NULL;

-- Open and overdue cases by district in one pass over the open cases only.
CREATE INDEX cases_open_district_idx ON cases (district_code, state, on_hold, deadline_at)
    WHERE state NOT IN ('closed', 'rejected');
