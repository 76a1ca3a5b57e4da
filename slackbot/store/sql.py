"""The store: runs and their leases (runs.py), people's answers (answers.py), one SQL for both
PostgreSQL and SQLite (backends.py), schema by numbered migrations (migrations.py)."""

from __future__ import annotations

from slackbot.store.answers import AnswersMixin
from slackbot.store.audit import AuditMixin
from slackbot.store.cancel import CancelMixin
from slackbot.store.core import LeaseLost
from slackbot.store.due import DueMixin
from slackbot.store.feedback import FeedbackMixin
from slackbot.store.inbox import InboxMixin
from slackbot.store.live import LiveMixin
from slackbot.store.messages import MessagesMixin
from slackbot.store.outbox import OutboxMixin
from slackbot.store.retry import retry_public_methods
from slackbot.store.runs import RunsMixin, StepRequest
from slackbot.store.votes import VotesMixin

__all__ = ["LeaseLost", "StepRequest", "Store"]


@retry_public_methods
class Store(
    MessagesMixin,
    RunsMixin,
    AnswersMixin,
    CancelMixin,
    DueMixin,
    InboxMixin,
    VotesMixin,
    AuditMixin,
    OutboxMixin,
    LiveMixin,
    FeedbackMixin,
):
    """Every method is one transaction (retried when the database fails transiently);
    see core.py for the exactly-once rule."""
