"""What a cancelled review tells its graph when the conversation goes on.

A conversation's Cancel ends the wait, but its graph still waits at the interrupt; new input
must never reach it there (LangGraph drops the interrupt and an agent's history keeps a tool
call with no result, which OpenAI refuses). Before the next message the interrupt is answered
as a person saying no would answer it: a tool call rejected "Cancelled by <name>" (so the
history has a result for every call), an Agent Inbox request ignored. Other kinds (questions,
forms, breakpoints) have no answer that means "cancelled": their conversation cannot go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slackbot.reviews.inbox import InboxKind, inbox_request
from slackbot.reviews.tools import ToolCallKind
from slackbot.store import Review, ReviewStatus


def cancelled_answer(review: Review, by: str) -> Any | None:
    """The answer that tells the graph the review was cancelled by `by`, or None: none fits."""
    why = f"Cancelled by {by}"
    if review.kind == ToolCallKind.name:
        allowed = ToolCallKind()._allowed(review)
        for decision in ("reject", "respond"):
            if decision in allowed:
                return {"type": decision, "message": why}
        return None
    if review.kind == InboxKind.name:
        config = (inbox_request(review.request) or {}).get("config") or {}
        if config.get("allow_ignore"):
            return [{"type": "ignore", "args": None}]
        if config.get("allow_respond"):
            return [{"type": "response", "args": why}]
    return None


def can_go_on(step: Sequence[Review]) -> bool:
    """Whether every review a Cancel closed in the step has an answer that says so."""
    return all(
        cancelled_answer(r, "someone") is not None
        for r in step
        if r.status == ReviewStatus.CANCELLED
    )
