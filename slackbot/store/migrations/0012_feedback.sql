-- What people think of answers: each person's current opinion ('good' or 'bad') of one answer
-- message (channel, ts); a second click by the same person replaces the first.
CREATE TABLE IF NOT EXISTS orchestrate_feedback (
    channel_id TEXT NOT NULL,
    message_ts TEXT NOT NULL,
    user_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    opinion TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (channel_id, message_ts, user_id)
);
