-- The newest step of any case (the freshness of the case datasets on the open data page and
-- in the data catalogue) without a scan of every step.
CREATE INDEX case_events_at_idx ON case_events (at);
