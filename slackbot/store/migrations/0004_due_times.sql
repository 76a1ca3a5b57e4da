-- Expiry and reminders: when a run began to wait for people and when something is due next.
-- Due times live here so that any replica does each once and a restart neither skips nor
-- repeats one. remind_claimed_until is a short lease on the reminder being posted.
ALTER TABLE orchestrate_runs ADD COLUMN waiting_since DOUBLE PRECISION;
ALTER TABLE orchestrate_runs ADD COLUMN expires_at DOUBLE PRECISION;
ALTER TABLE orchestrate_runs ADD COLUMN remind_at DOUBLE PRECISION;
ALTER TABLE orchestrate_runs ADD COLUMN reminders_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orchestrate_runs ADD COLUMN remind_claimed_until DOUBLE PRECISION;
CREATE INDEX IF NOT EXISTS orchestrate_runs_due ON orchestrate_runs (status, expires_at, remind_at);
