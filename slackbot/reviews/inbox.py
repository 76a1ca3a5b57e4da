"""Agent Inbox `HumanInterrupt` (a dict, or a list of one): Accept / Edit / Respond / Ignore
as its config allows, answered with a list of one `HumanResponse`."""

from __future__ import annotations

from typing import Any

from slackbot.reviews import forms
from slackbot.reviews.base import Control, Form, FormAnswer
from slackbot.reviews.tools import (
    MESSAGE_SCHEMA,
    args_schema,
    call_blocks,
    describe_decision,
    text_form,
)
from slackbot.safe_text import clip
from slackbot.store import Review

_PRIMARY = {"accept": "primary"}


def inbox_request(value: Any) -> dict[str, Any] | None:
    """The Agent Inbox `HumanInterrupt` in a value (a dict or a list of one), else None."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if (
        isinstance(value, dict)
        and isinstance(value.get("action_request"), dict)
        and isinstance(value.get("config"), dict)
    ):
        return value
    return None


class InboxKind:
    name = "inbox"
    _ORDER = (("accept", "Accept"), ("edit", "Edit"), ("response", "Respond"), ("ignore", "Ignore"))
    _ALLOW = (("accept", "allow_accept"), ("edit", "allow_edit"), ("response", "allow_respond"),
              ("ignore", "allow_ignore"))  # fmt: skip

    @staticmethod
    def _request(review: Review) -> dict[str, Any]:
        return inbox_request(review.request) or {}

    def _types(self, review: Review) -> list[str]:
        config = self._request(review).get("config", {})
        return [t for t, flag in self._ALLOW if config.get(flag)]

    def title(self, review: Review) -> str:
        action = self._request(review).get("action_request", {})
        return f"Run {action.get('action', '?')}?"

    def body(self, review: Review) -> list[dict[str, Any]]:
        request = self._request(review)
        action = request.get("action_request", {})
        return call_blocks(
            str(action.get("action", "?")),
            action.get("args"),
            str(request.get("description") or ""),
        )

    def controls(self, review: Review) -> list[Control]:
        labels = dict(self._ORDER)
        found = []
        for kind in self._types(review):
            if kind in ("edit", "response"):
                found.append(Control(labels[kind], form=True))
            else:
                answer = [{"type": kind, "args": None}]
                found.append(Control(labels[kind], answer=answer, style=_PRIMARY.get(kind)))
        return found

    def _fields(self, review: Review, control: int) -> tuple[Form, list[forms.Field]]:
        if self._types(review)[control] == "response":
            return text_form("Respond", MESSAGE_SCHEMA)
        action = self._request(review).get("action_request", {})
        args = action.get("args") or {}
        schema = args_schema(args, None)
        fields = forms.fields_for(schema, schema)
        name = clip(f"Edit {action.get('action', '')}", 24)
        return Form(title=name, blocks=forms.input_blocks(fields, dict(args))), fields

    def form(self, review: Review, control: int) -> Form:
        return self._fields(review, control)[0]

    def read_form(self, review: Review, control: int, values: dict[str, Any]) -> FormAnswer:
        kind = self._types(review)[control]
        _, fields = self._fields(review, control)
        read, errors = forms.read_answer(fields, values)
        if errors:
            return FormAnswer(errors=errors)
        if kind == "response":
            text = (read or "").strip()
            if not text:
                return FormAnswer(errors={fields[0].block_id: "Write the response."})
            return FormAnswer(answer=[{"type": "response", "args": text}])
        action = self._request(review).get("action_request", {})
        schema = args_schema(action.get("args") or {}, None)
        errors = forms.validate(read, schema, fields)
        edited = {"action": action.get("action"), "args": read}
        return FormAnswer(
            answer=None if errors else [{"type": "edit", "args": edited}], errors=errors
        )

    def describe(self, review: Review) -> str:
        return describe_decision(review.answer)
