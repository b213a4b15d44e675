-- Cases opened from energy anomalies: a fifth source, `energy`, and the department the source
-- routes the case to (an anomaly's entity's maintaining department), which the dispatcher
-- sees preselected instead of the class's default.
ALTER TABLE cases DROP CONSTRAINT cases_source_check;
ALTER TABLE cases ADD CONSTRAINT cases_source_check
    CHECK (source IN ('inspector', 'citizen', 'hotline', 'skyeye', 'energy'));
ALTER TABLE cases ADD COLUMN route_department_id BIGINT REFERENCES departments (id);

-- The catalogue's class for them (event 0607, "abnormal energy use"). A new database gets it
-- from the catalogue seed (`db::catalogue_seed`), which runs after the migrations; this adds
-- it to a database whose catalogue was seeded before, unless that code is already taken.
INSERT INTO case_classes (kind, code, major_code, name_zh, name_en, filing_zh, filing_en, closing_zh,
                          closing_en, limit_amount, limit_unit, department_id, active, updated_at)
SELECT 'event', '0607', '06', '能耗异常', 'Abnormal energy use',
       '计量数据显示夜间基础负荷或用能突增明显超出本单位同时段基线',
       'Metered consumption shows a night base load or a spike well above the entity''s own baseline for the same hours',
       '已查明原因并整改（设备关停、漏损修复、运行时段调整），用能回落至基线',
       'Cause found and fixed (equipment switched off, leak repaired, schedule corrected); consumption back to baseline',
       5, 'work_days', d.id, TRUE, (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT
FROM departments d
WHERE d.code = 'ndrc'
  AND EXISTS (SELECT 1 FROM case_majors WHERE kind = 'event' AND code = '06')
  AND NOT EXISTS (SELECT 1 FROM case_classes WHERE kind = 'event' AND code = '0607');
