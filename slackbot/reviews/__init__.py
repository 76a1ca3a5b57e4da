"""Review kinds: one per interrupt shape (see base.py). The worker kind of the built-in graph
keeps its own Approve / Revise flow (blocks.py, store notes)."""

from __future__ import annotations

from typing import Any

from slackbot.reviews.base import Control, Form, FormAnswer, ReviewKind
from slackbot.reviews.breakpoint import BreakpointKind
from slackbot.reviews.inbox import InboxKind, inbox_request
from slackbot.reviews.question import QuestionKind
from slackbot.reviews.tools import ToolCallKind, is_tool_approval
from slackbot.reviews.typed import TypedKind

WORKER = "worker"
KINDS: dict[str, ReviewKind] = {
    k.name: k for k in (TypedKind(), QuestionKind(), BreakpointKind(), ToolCallKind(), InboxKind())
}
_WORKER_KEYS = {"worker_id", "role", "task", "draft", "round", "max_rounds", "answers"}

__all__ = ["KINDS", "WORKER", "Control", "Form", "FormAnswer", "ReviewKind", "kind_for"]


def kind_for(value: Any, response_schema: dict[str, Any] | None) -> str:
    """Which kind shows an interrupt: a schema first (a per-call tool approval looks like the
    batched ones), then known shapes, then the generic one. Batched tool requests are split
    into one `tool_call` review per action before this (tools.expand)."""
    if is_tool_approval(value):
        return ToolCallKind.name
    if response_schema:
        return TypedKind.name
    if isinstance(value, dict) and value.keys() >= _WORKER_KEYS:
        return WORKER
    if inbox_request(value) is not None:
        return InboxKind.name
    return QuestionKind.name
