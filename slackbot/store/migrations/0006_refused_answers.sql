-- Answers the graph refused (a typed interrupt's model rejected them on resume): the review is
-- open again and each refused answer is kept here, a JSON list of {answer, by, at, error}.
ALTER TABLE orchestrate_reviews ADD COLUMN refusals TEXT;
