-- The streamed message of each step of a run (step 0: from the start to the first review):
-- saved like every message, so a turn recovered after a crash finishes that same message.
CREATE TABLE orchestrate_live_messages (
    run_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    ts TEXT NOT NULL,
    PRIMARY KEY (run_id, step)
);
