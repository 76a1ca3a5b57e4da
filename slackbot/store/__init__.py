"""Durable state of orchestrations, behind one interface for PostgreSQL and SQLite."""

from slackbot.store.models import Decision, Outcome, Review, ReviewStatus, Run, RunStatus
from slackbot.store.sql import Store

__all__ = ["Decision", "Outcome", "Review", "ReviewStatus", "Run", "RunStatus", "Store"]
