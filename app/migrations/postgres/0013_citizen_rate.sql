-- The per-address limit of citizen reports: one row per hashed client address. A report
-- writes its row first inside its transaction, so concurrent reports from one address (on
-- any app server) are counted one after another rather than all passing the count at once.
-- `denied_at`: the last refusal written to the audit log (one per address and hour, so a
-- flood of refused attempts cannot grow the log without end).
CREATE TABLE citizen_rate (
    bucket     TEXT   PRIMARY KEY,
    touched    BIGINT NOT NULL,
    denied_at  BIGINT
);
