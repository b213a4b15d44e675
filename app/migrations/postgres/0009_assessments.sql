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
CREATE FUNCTION assessments_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a published assessment is final';
END;
$$;
CREATE TRIGGER assessments_no_change BEFORE UPDATE OR DELETE ON assessments
    FOR EACH ROW EXECUTE FUNCTION assessments_final();
CREATE TRIGGER assessments_no_truncate BEFORE TRUNCATE ON assessments
    FOR EACH STATEMENT EXECUTE FUNCTION assessments_final();
