-- Conversations: a run may live in a thread whose root is a person's message (a mention, a DM):
-- thread_ts is that root (NULL: the thread is root_ts, the app's own message, as /orchestrate
-- makes it). turn_ts is the message whose turn the run works on now. Every message the app acts
-- on is stored once, keyed by (channel, ts), before anything else; queued ones wait their turn.
ALTER TABLE orchestrate_runs ADD COLUMN thread_ts TEXT;
ALTER TABLE orchestrate_runs ADD COLUMN turn_ts TEXT;
CREATE INDEX IF NOT EXISTS orchestrate_runs_conversation ON orchestrate_runs (channel_id, thread_ts);
CREATE TABLE IF NOT EXISTS orchestrate_messages (
    channel_id TEXT NOT NULL,
    ts TEXT NOT NULL,
    thread_ts TEXT NOT NULL,
    user_id TEXT NOT NULL,
    text TEXT NOT NULL,
    run_id TEXT,
    status TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (channel_id, ts)
);
CREATE INDEX IF NOT EXISTS orchestrate_messages_queue ON orchestrate_messages (run_id, status, ts);
