-- Reads that find one person's or one channel's runs (the run limits of /orchestrate, the App
-- Home, /orchestrate status) scanned every live run: at 10,000 waiting runs the Home's read
-- took ~100 ms. These let them start from the person, the channel or the notes owed.
CREATE INDEX IF NOT EXISTS orchestrate_runs_starter ON orchestrate_runs (started_by, status);
CREATE INDEX IF NOT EXISTS orchestrate_runs_channel ON orchestrate_runs (channel_id, status);
CREATE INDEX IF NOT EXISTS orchestrate_reviews_owed ON orchestrate_reviews (notes_requested_by)
  WHERE status = 'awaiting_notes';
