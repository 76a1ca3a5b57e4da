-- The schema as the first release created it (IF NOT EXISTS: such databases upgrade in place).
CREATE TABLE IF NOT EXISTS orchestrate_runs (
    run_id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    started_by TEXT NOT NULL,
    topic TEXT NOT NULL,
    root_ts TEXT,
    status TEXT NOT NULL,
    phase TEXT NOT NULL,
    step INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until DOUBLE PRECISION,
    error TEXT,
    summary_ts TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS orchestrate_runs_thread ON orchestrate_runs (channel_id, root_ts);
CREATE INDEX IF NOT EXISTS orchestrate_runs_lease ON orchestrate_runs (status, lease_until);
CREATE TABLE IF NOT EXISTS orchestrate_reviews (
    review_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES orchestrate_runs (run_id),
    step INTEGER NOT NULL,
    interrupt_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    request TEXT NOT NULL,
    message_ts TEXT,
    status TEXT NOT NULL,
    notes_requested_by TEXT,
    notes_requested_at DOUBLE PRECISION,
    answer TEXT,
    decided_by TEXT,
    decided_at DOUBLE PRECISION,
    notes_ts TEXT,
    UNIQUE (run_id, interrupt_id)
);
CREATE INDEX IF NOT EXISTS orchestrate_reviews_step ON orchestrate_reviews (run_id, step);
CREATE UNIQUE INDEX IF NOT EXISTS orchestrate_reviews_notes
    ON orchestrate_reviews (run_id, notes_ts) WHERE notes_ts IS NOT NULL;
