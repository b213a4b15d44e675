-- The data catalogue: every dataset the platform holds, public or restricted, with its owner,
-- what it is, how often it changes and its licence; and the read grants an owner gives other
-- departments (kept with their history: a revoked grant stays, with who revoked it and when).
--
-- The owner is a rule resolved at read time, because departments are data written after the
-- migrations: `dispatchers` is the department where the active dispatchers work (the command
-- centre, which owns the case records), `setting:KEY` the department whose code the setting
-- KEY holds, `department:CODE` a department by code.
CREATE TABLE datasets (
    code            TEXT    NOT NULL PRIMARY KEY,
    title_zh        TEXT    NOT NULL,
    title_en        TEXT    NOT NULL,
    description_zh  TEXT    NOT NULL,
    description_en  TEXT    NOT NULL,
    owner_rule      TEXT    NOT NULL,
    -- Public datasets are downloadable by anyone at /data; restricted ones are read only by
    -- their owner, leaders, administrators and departments holding a grant.
    public          BOOLEAN NOT NULL,
    -- monthly, daily, live
    frequency       TEXT    NOT NULL CHECK (frequency IN ('monthly', 'daily', 'live')),
    licence         TEXT    NOT NULL,
    -- Comma-separated download formats of a public dataset ('' for restricted ones).
    formats         TEXT    NOT NULL,
    position        BIGINT  NOT NULL
);

CREATE TABLE dataset_grants (
    id             BIGSERIAL PRIMARY KEY,
    dataset_code   TEXT    NOT NULL REFERENCES datasets (code),
    department_id  BIGINT  NOT NULL REFERENCES departments (id),
    granted_at     BIGINT  NOT NULL,
    granted_by     BIGINT  NOT NULL REFERENCES users (id),
    revoked_at     BIGINT,
    revoked_by     BIGINT  REFERENCES users (id),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
-- At most one grant in force per dataset and department; the scope checks read these.
CREATE UNIQUE INDEX dataset_grants_active_idx ON dataset_grants (dataset_code, department_id)
    WHERE revoked_at IS NULL;

INSERT INTO datasets (code, title_zh, title_en, description_zh, description_en, owner_rule, public, frequency, licence, formats, position) VALUES
('cases-monthly', '城市管理案件月度统计', 'City management cases by month',
 '每个完整月份按区县和案件小类统计的案件数：上报、立案、结案、按期结案。只到区县一级，不含描述、地址和人员。',
 'Cases per complete month by district and minor class: reported, filed, closed and closed on time. District level only; no descriptions, addresses or people.',
 'dispatchers', TRUE, 'monthly', 'CC BY 4.0', 'csv,json', 10),
('energy-monthly', '能耗与碳排放月度统计', 'Energy use and carbon by month',
 '每个完整月份按区县和能源类型统计的用量与碳排放（取自月度汇总，只计总表）。',
 'Use and carbon per complete month by district and energy type (from the monthly rollups, main meters only).',
 'setting:energy.owner_department', TRUE, 'monthly', 'CC BY 4.0', 'csv,json', 20),
('rankings', '部门月度考核排名', 'Monthly department rankings',
 '领导小组已发布的月度考核：各部门的排名、得分和主要指标。',
 'The monthly assessments published by the leadership group: each department''s rank, score and main indicators.',
 'dispatchers', TRUE, 'monthly', 'CC BY 4.0', 'csv,json', 30),
('cases', '案件记录', 'Case records',
 '每一件案件的完整记录：描述、地址、照片、时间线和处置部门。',
 'Every case in full: description, address, photos, timeline and departments.',
 'dispatchers', FALSE, 'live', '', '', 40),
('skyeye', '天眼告警事件', 'Sky Eye incidents',
 '摄像头告警及其分组事件、抓拍图片和研判记录。',
 'Camera alerts with their incidents, snapshots and triage history.',
 'setting:skyeye.owner_department', FALSE, 'live', '', '', 50),
('energy', '能耗主体、表计与读数', 'Energy entities, meters and readings',
 '各能耗主体和表计的明细、逐时读数和异常。',
 'Each entity and meter in detail, interval readings and anomalies.',
 'setting:energy.owner_department', FALSE, 'live', '', '', 60);
