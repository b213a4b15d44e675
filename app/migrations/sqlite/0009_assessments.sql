-- Published monthly assessments (月度考核): the month's department evaluation as it stood when
-- the leadership published it (the `EvaluationReport` as JSON). Later changes to the month's
-- cases and appeals do not reach a published ranking, and a published month is never edited
-- or withdrawn: the triggers refuse it.
CREATE TABLE assessments (
    month         TEXT    NOT NULL PRIMARY KEY,
    report        TEXT    NOT NULL,
    published_at  BIGINT  NOT NULL,
    published_by  BIGINT  NOT NULL REFERENCES users (id)
);
CREATE TRIGGER assessments_no_update BEFORE UPDATE ON assessments
BEGIN
    SELECT RAISE(ABORT, 'a published assessment is final');
END;
CREATE TRIGGER assessments_no_delete BEFORE DELETE ON assessments
BEGIN
    SELECT RAISE(ABORT, 'a published assessment is final');
END;
