-- Cancel: who ended a run early. Reviews left open by it get status 'cancelled' and keep who
-- and when in decided_by / decided_at (never an answer).
ALTER TABLE orchestrate_runs ADD COLUMN ended_by TEXT;
