-- Cameras and alert types can never be deleted or renumbered: alerts refer to them. On
-- PostgreSQL these guards replace the alerts' foreign-key checks on camera and type (see its
-- 0005, measured for ingest speed); SQLite keeps those checks as well, since its
-- single-writer ingest meets its goal with them.
CREATE TRIGGER cameras_no_delete BEFORE DELETE ON cameras
BEGIN
    SELECT RAISE(ABORT, 'cameras rows are never deleted or renumbered: alerts refer to them');
END;
CREATE TRIGGER cameras_no_renumber BEFORE UPDATE OF id ON cameras
BEGIN
    SELECT RAISE(ABORT, 'cameras rows are never deleted or renumbered: alerts refer to them');
END;
CREATE TRIGGER alert_types_no_delete BEFORE DELETE ON alert_types
BEGIN
    SELECT RAISE(ABORT, 'alert_types rows are never deleted or renumbered: alerts refer to them');
END;
CREATE TRIGGER alert_types_no_renumber BEFORE UPDATE OF id ON alert_types
BEGIN
    SELECT RAISE(ABORT, 'alert_types rows are never deleted or renumbered: alerts refer to them');
END;
