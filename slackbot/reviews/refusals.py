"""Answers a graph refuses on resume: a typed interrupt's model (a validator the JSON Schema
cannot express) raised `ValidationError`. Which reviews of the step were refused, the error in
one line a person can read, and the note shown on a review that is open again. Pure functions.

Pydantic's text (`str(error)`, the same locally and from an Agent Server) reads::

    1 validation error for Review
    comment
      Value error, a comment is required when rejecting [type=value_error, input_value=…]
        For further information visit https://errors.pydantic.dev/2.14/v/value_error
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Sequence
from typing import Any

from slackbot.reviews.base import ReviewKind
from slackbot.reviews.readable import clip_words
from slackbot.safe_text import neutralize
from slackbot.store import Review, ReviewStatus

_HEADER = re.compile(r"^\d+ validation errors? for (.+)$")
_DETAILS = re.compile(r"\s*\[type=[^\]]*(\]|$)")  # `[type=…, input_value=…, input_type=…]`
_PREFIX = re.compile(r"^(Value|Assertion) error, ")
LINE_LIMIT = 300


def model_title(text: str) -> str | None:
    """The model a pydantic error is about (`Review` in "1 validation error for Review")."""
    match = _HEADER.match(text.strip().split("\n", 1)[0].strip())
    return match.group(1).strip() if match else None


def readable_error(text: str, limit: int = LINE_LIMIT) -> str:
    """An error's text in one line: a pydantic message as `field: problem; …` without its
    type details and links; anything else its lines joined. Cut at a word, never mid-word."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if lines and _HEADER.match(lines[0].strip()):
        lines = _pydantic_problems(lines[1:])
    joined = "; ".join(" ".join(line.split()) for line in lines)
    return clip_words(joined, limit)


def _pydantic_problems(lines: list[str]) -> list[str]:
    problems, field = [], None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("For further information visit"):
            continue
        if not line.startswith(" "):  # a field's path; its problem is on the next line
            field = stripped
            continue
        problem = _PREFIX.sub("", _DETAILS.sub("", stripped))
        problems.append(f"{field}: {problem}" if field else problem)
        field = None
    return problems


def refused_reviews(
    step: Sequence[Review], waiting: Collection[str], text: str, certain: bool
) -> list[Review]:
    """The reviews whose answers the graph refused: answered, yet their interrupt still waits
    (the other tasks of the step ran with theirs). The error names the model it is about: when
    it matches some of them (their schema's title), those. `certain`: LangGraph marked the
    error as a refused resume (locally); from a server, only a matching model title counts."""
    answered = [
        r
        for r in step
        if r.status == ReviewStatus.DECIDED and r.response_schema and r.interrupt_id in waiting
    ]
    title = model_title(text)
    named = [r for r in answered if title and (r.response_schema or {}).get("title") == title]
    return named or (answered if certain else [])


def refusal_note(review: Review, kind: ReviewKind) -> str | None:
    """The line on a review open again after the graph refused its last answer (mrkdwn)."""
    if not review.refusals or review.status != ReviewStatus.PENDING:
        return None
    last: dict[str, Any] = review.refusals[-1]
    refused = dataclasses.replace(review, answer=last.get("answer"))
    who = f"<@{last['by']}>'s answer" if last.get("by") else "The answer"
    error = neutralize(str(last.get("error") or "refused"))
    return f"⚠️ {who} *{kind.describe(refused)}* was refused by the graph: {error}. Answer again."
