"""What every review kind does: show a request, offer controls, turn a click or a form into
the stored answer (the interrupt's resume value). Pure: no Slack calls, no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from slackbot.store import Review


@dataclass(frozen=True)
class Control:
    label: str
    answer: Any = None  # what a click stores (when it opens no form)
    form: bool = False  # opens a modal instead of answering at once
    style: str | None = None  # "primary" | "danger"


@dataclass(frozen=True)
class Form:
    title: str  # ≤ 24 characters
    blocks: list[dict[str, Any]]
    submit: str = "Submit"


@dataclass(frozen=True)
class FormAnswer:
    answer: Any = None
    errors: dict[str, str] = field(default_factory=dict)  # block id → message


class ReviewKind(Protocol):
    name: str

    def title(self, review: Review) -> str:
        """One line: the notification text and what the review asks."""
        ...

    def body(self, review: Review) -> list[dict[str, Any]]:
        """Blocks showing the request (above the controls or the answer)."""
        ...

    def controls(self, review: Review) -> list[Control]: ...

    def form(self, review: Review, control: int) -> Form: ...

    def read_form(self, review: Review, control: int, values: dict[str, Any]) -> FormAnswer:
        """A submitted form's `state.values` → the answer, or errors shown on its inputs."""
        ...

    def describe(self, review: Review) -> str:
        """The stored answer in a few words, for the decided review (escaped mrkdwn)."""
        ...
