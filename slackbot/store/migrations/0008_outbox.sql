-- Slack updates a state change owes (a review's or the root's message to redraw, a note to
-- post), written in the same transaction as the change (expiry, cancel) and deleted once Slack
-- has them. Whichever process comes next does what a crashed or stopped one left owed.
-- `version` grows when the same update is owed again while it is being done, so an older
-- attempt's success does not delete the newer debt.
CREATE TABLE IF NOT EXISTS orchestrate_outbox (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  target TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  attempts INTEGER NOT NULL DEFAULT 0,
  due_at DOUBLE PRECISION NOT NULL,
  claimed_until DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS orchestrate_outbox_due ON orchestrate_outbox (due_at);
