"""Durable state of orchestrations, behind one interface for PostgreSQL and SQLite."""

from slackbot.store.models import Decision, Outcome, Review, ReviewStatus, Run, RunStatus
from slackbot.store.runs import RunLimitReached
from slackbot.store.sql import LeaseLost, StepRequest, Store

__all__ = [
    "Decision",
    "LeaseLost",
    "Outcome",
    "Review",
    "ReviewStatus",
    "Run",
    "RunLimitReached",
    "RunStatus",
    "StepRequest",
    "Store",
]
