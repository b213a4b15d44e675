-- Indexes for the case list and the evaluation at scale (measured by `make bench`, 1,000,000
-- cases). Each serves a query that otherwise reads every case.

-- Open cases ("state=open" in the list), newest first: the COUNT reads this small index only,
-- and the page walks it in list order. id and department_id let a handler's open list
-- check its scope without reading the table.
CREATE INDEX cases_open_idx ON cases (reported_at, id, department_id)
    WHERE state NOT IN ('closed', 'rejected');

-- District and state together, newest first.
CREATE INDEX cases_district_state_idx ON cases (district_code, state, reported_at);

-- Overdue cases (state, not on hold, deadline passed): the COUNT is one index range.
CREATE INDEX cases_overdue_idx ON cases (state, on_hold, deadline_at);

-- A department's scope: the cases dispatched to it, without reading the assignments.
CREATE INDEX case_assignments_department_case_idx ON case_assignments (department_id, case_id);

-- Filing counts of the evaluation: a period's filings without reading the table.
CREATE INDEX cases_filed_idx ON cases (filed_at, filed_department_id, filing_deadline);

-- Text search in the list (code, address, description: LOWER(col) LIKE '%…%'): trigram
-- indexes turn a scan of every case into three index lookups. They need the pg_trgm
-- extension (shipped with PostgreSQL, trusted since version 13, so the database owner may
-- create it). Where it cannot be had, the search still works, only by reading every case.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX cases_code_trgm_idx ON cases USING gin (LOWER(code) gin_trgm_ops);
    CREATE INDEX cases_address_trgm_idx ON cases USING gin (LOWER(address) gin_trgm_ops);
    CREATE INDEX cases_description_trgm_idx ON cases USING gin (LOWER(description) gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'pg_trgm unavailable (%): case search reads every case', SQLERRM;
END
$$;
