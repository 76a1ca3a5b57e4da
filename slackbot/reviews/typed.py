"""Typed interrupts (`interrupt(value, response_schema=...)`): the schema becomes the controls.

An enum of at most 5 values → a button per value; a boolean → Yes / No; a discriminated union
→ a button per branch (a form for branches with fields); anything else → Answer, with a form.
"""

from __future__ import annotations

from typing import Any

from slackbot.reviews import forms
from slackbot.reviews.base import Control, Form, FormAnswer
from slackbot.reviews.readable import inline, one_line, question_of, section, value_blocks
from slackbot.reviews.schema import (
    MAX_BUTTONS,
    branches,
    enum_values,
    label,
    schema_type,
    unwrap_optional,
)
from slackbot.safe_text import clip, neutralize
from slackbot.store import Review

ANSWER = "Answer"


class TypedKind:
    name = "typed"

    def title(self, review: Review) -> str:
        question, _ = question_of(review.request)
        return question or "Your answer is needed"

    def body(self, review: Review) -> list[dict[str, Any]]:
        question, rest = question_of(review.request)
        blocks = [section(f"❓ *{neutralize(question)}*")] if question else []
        return blocks + value_blocks(rest)

    def controls(self, review: Review) -> list[Control]:
        schema = review.response_schema or {}
        node, _ = unwrap_optional(schema, schema)
        values = enum_values(node, schema)
        if values and len(values) <= MAX_BUTTONS:
            return [Control(clip(str(v), 75), answer=v) for v in values]
        if schema_type(node) == "boolean":
            return [Control("Yes", answer=True, style="primary"), Control("No", answer=False)]
        union = branches(schema)
        if union:
            discriminator, options = union
            return [
                Control(label(const), form=True)
                if _own_fields(branch, discriminator)
                else Control(label(const), answer={discriminator: const})
                for const, branch in options
            ]
        return [Control(ANSWER, form=True, style="primary")]

    def _form_schema(self, review: Review, control: int) -> tuple[Any, frozenset[str], dict]:
        """(schema of the form, properties fixed by the button, their values)."""
        schema = review.response_schema or {}
        union = branches(schema)
        if union:
            discriminator, options = union
            const, branch = options[control]
            return branch, frozenset({discriminator}), {discriminator: const}
        return schema, frozenset(), {}

    def form(self, review: Review, control: int) -> Form:
        schema, skip, _fixed = self._form_schema(review, control)
        fields = forms.fields_for(schema, review.response_schema or {}, skip)
        title = self.controls(review)[control].label
        return Form(title=clip(title, 24), blocks=forms.input_blocks(fields, {}))

    def read_form(self, review: Review, control: int, values: dict[str, Any]) -> FormAnswer:
        root = review.response_schema or {}
        schema, skip, fixed = self._form_schema(review, control)
        fields = forms.fields_for(schema, root, skip)
        answer, errors = forms.read_answer(fields, values, fixed)
        if errors:
            return FormAnswer(errors=errors)
        # A union's branch is validated on its own: "not valid under any of the given schemas"
        # would tell a person nothing. The branch keeps the root's definitions for its $refs.
        against = root if schema is root else {**_definitions(root), **schema}
        errors = forms.validate(answer, against, fields)
        return FormAnswer(answer=None if errors else answer, errors=errors)

    def describe(self, review: Review) -> str:
        return describe_answer(review.answer)


def _definitions(root: dict[str, Any]) -> dict[str, Any]:
    return {k: root[k] for k in ("$defs", "definitions") if k in root}


def _own_fields(branch: dict[str, Any], discriminator: str) -> bool:
    return any(name != discriminator for name in branch.get("properties", {}))


def describe_answer(answer: Any) -> str:
    """A stored answer in a line: `approve`, or `decision: approve · note: ok`."""
    if isinstance(answer, dict):
        parts = [f"{neutralize(str(k))}: {inline(v)}" for k, v in answer.items()]
        return clip(one_line(" · ".join(parts)), 1_500) or "_(empty)_"
    return clip(one_line(inline(answer)), 1_500)
