-- The audit log is append-only: the app never updates or deletes it, and the database refuses
-- anyone who tries (a DELETE or UPDATE of orchestrate_audit raises).
-- only postgres
CREATE OR REPLACE FUNCTION orchestrate_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION USING MESSAGE = 'orchestrate_audit is append-only: ' || TG_OP || ' refused'; END $$;
-- only postgres
CREATE TRIGGER orchestrate_audit_append_only BEFORE UPDATE OR DELETE ON orchestrate_audit FOR EACH ROW EXECUTE FUNCTION orchestrate_audit_append_only();
-- only sqlite
CREATE TRIGGER IF NOT EXISTS orchestrate_audit_no_update BEFORE UPDATE ON orchestrate_audit BEGIN SELECT RAISE(ABORT, 'orchestrate_audit is append-only: UPDATE refused'); END;
-- only sqlite
CREATE TRIGGER IF NOT EXISTS orchestrate_audit_no_delete BEFORE DELETE ON orchestrate_audit BEGIN SELECT RAISE(ABORT, 'orchestrate_audit is append-only: DELETE refused'); END;
