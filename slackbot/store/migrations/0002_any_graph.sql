-- Any graph: a run names its graph and keeps its input and result; a review keeps its kind
-- (how it is shown and answered) and the interrupt's response_schema. Older rows are the
-- built-in graph's.
ALTER TABLE orchestrate_runs ADD COLUMN graph TEXT NOT NULL DEFAULT 'orchestrate';
ALTER TABLE orchestrate_runs ADD COLUMN input TEXT;
ALTER TABLE orchestrate_runs ADD COLUMN result TEXT;
ALTER TABLE orchestrate_reviews ADD COLUMN kind TEXT NOT NULL DEFAULT 'worker';
ALTER TABLE orchestrate_reviews ADD COLUMN response_schema TEXT;
