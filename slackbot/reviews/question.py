"""Interrupts without a schema: options as buttons, or an Answer form with one text input.

A dict with an `options` list of at most 25 strings → a button per option, answering with that
exact string. Anything else → Answer, answering with the text typed (parsed when it is a JSON
object, list, number or boolean, as LangGraph Studio does).
"""

from __future__ import annotations

import json
import math
from typing import Any

from slackbot.reviews import forms
from slackbot.reviews.base import Control, Form, FormAnswer
from slackbot.reviews.readable import question_of, section, value_blocks
from slackbot.reviews.typed import describe_answer
from slackbot.safe_text import clip, neutralize
from slackbot.store import Review

MAX_OPTIONS = 25  # Slack's limit of elements in one actions block
_TEXT = {
    "type": "string",
    "title": "Your answer",
    "description": "Sent as text. Valid JSON (an object, a list, a number, true or false) is"
    ' sent as JSON, as LangGraph Studio does: {"action": "approve"}.',
}


def options_of(value: Any) -> list[str] | None:
    options = value.get("options") if isinstance(value, dict) else None
    if (
        isinstance(options, list)
        and 0 < len(options) <= MAX_OPTIONS
        and all(isinstance(o, str) for o in options)
    ):
        return options
    return None


def as_json(text: str) -> Any:
    """A typed answer that is a JSON object, list, number or boolean, as that value (the docs'
    own untyped interrupts read `answer["action"]` or check `isinstance(answer, int)`); any
    other text (a JSON string or null too) stays the text as typed."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, float) and not math.isfinite(value):  # NaN, Infinity: not JSON
        return text
    return value if isinstance(value, dict | list | bool | int | float) else text


class QuestionKind:
    name = "question"

    def title(self, review: Review) -> str:
        question, _ = question_of(review.request)
        return question or "The graph asks for your answer"

    def body(self, review: Review) -> list[dict[str, Any]]:
        question, rest = question_of(review.request)
        if isinstance(rest, dict) and options_of(review.request):
            rest = {k: v for k, v in rest.items() if k != "options"}
        blocks = [section(f"❓ *{neutralize(question)}*")] if question else []
        return blocks + value_blocks(rest)

    def controls(self, review: Review) -> list[Control]:
        options = options_of(review.request)
        if options:
            return [Control(clip(o, 75) or "(empty)", answer=o) for o in options]
        return [Control("Answer", form=True, style="primary")]

    def form(self, review: Review, control: int) -> Form:
        fields = forms.fields_for(_TEXT, _TEXT)
        return Form(title="Answer", blocks=forms.input_blocks(fields, {}))

    def read_form(self, review: Review, control: int, values: dict[str, Any]) -> FormAnswer:
        fields = forms.fields_for(_TEXT, _TEXT)
        answer, errors = forms.read_answer(fields, values)
        if not errors and not (isinstance(answer, str) and answer.strip()):
            errors = {fields[0].block_id: "Write an answer."}
        return FormAnswer(answer=None if errors else as_json(answer), errors=errors)

    def describe(self, review: Review) -> str:
        return describe_answer(review.answer)
