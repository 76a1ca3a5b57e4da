"""Slack front end: /orchestrate, review messages, threaded revisions, summaries."""
