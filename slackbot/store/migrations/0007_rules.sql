-- Who answers (ORCHESTRATE_RULES): the rule that decided a review's audience when it opened,
-- the approvals it needs and has (a JSON list of user ids, one per distinct approver), and the
-- channel it is posted in when the rule routes it out of the run's thread. A run escalates once
-- (escalated_at); its reminders come every remind_every seconds (a rule may override the
-- app-wide interval).
ALTER TABLE orchestrate_reviews ADD COLUMN rule TEXT;
ALTER TABLE orchestrate_reviews ADD COLUMN quorum INTEGER NOT NULL DEFAULT 1;
ALTER TABLE orchestrate_reviews ADD COLUMN approvals TEXT;
ALTER TABLE orchestrate_reviews ADD COLUMN channel_id TEXT;
ALTER TABLE orchestrate_runs ADD COLUMN escalated_at DOUBLE PRECISION;
ALTER TABLE orchestrate_runs ADD COLUMN remind_every DOUBLE PRECISION;
-- The audit log: append-only, written in the transaction of what it records; never updated.
CREATE TABLE IF NOT EXISTS orchestrate_audit (
    id TEXT PRIMARY KEY,
    at DOUBLE PRECISION NOT NULL,
    actor TEXT,
    action TEXT NOT NULL,
    run_id TEXT NOT NULL,
    graph TEXT,
    review_id TEXT,
    rule TEXT,
    shown TEXT,
    answer TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS orchestrate_audit_at ON orchestrate_audit (at);
CREATE INDEX IF NOT EXISTS orchestrate_audit_run ON orchestrate_audit (run_id, at);
