"""Static breakpoints (`interrupt_before` / `interrupt_after`): Continue, or Edit state first.

The request is `{"position", "nodes", "values"}`. Continue stores `{"action": "continue"}`;
Edit state stores `{"action": "edit", "values": {changed keys}}`, which the orchestrator applies
with `update_state` before pausing again at the same place (Continue is offered again).
"""

from __future__ import annotations

import json
from typing import Any

from slackbot.reviews.base import Control, Form, FormAnswer
from slackbot.reviews.readable import context, fields_blocks, header, section
from slackbot.safe_text import clip, neutralize
from slackbot.store import Review

CONTINUE = {"action": "continue"}
BLOCK = "state"
_STATE_LIMIT = 3_000  # a plain_text_input holds at most this much


class BreakpointKind:
    name = "breakpoint"

    def title(self, review: Review) -> str:
        request = review.request
        nodes = ", ".join(request.get("nodes") or ["?"])
        return f"Paused {request.get('position', 'before')} {nodes}"

    def body(self, review: Review) -> list[dict[str, Any]]:
        request = review.request
        nodes = ", ".join(f"`{neutralize(n)}`" for n in request.get("nodes") or [])
        blocks = [
            header(f"⏸️ {self.title(review)}"),
            section(f"Paused {request.get('position', 'before')} {nodes}. The state now:"),
        ]
        blocks += fields_blocks(request.get("values") or {}) or [section("_(empty state)_")]
        blocks.append(context("*Continue* runs on from here; *Edit state* changes values first."))
        return blocks

    def controls(self, review: Review) -> list[Control]:
        return [
            Control("Continue", answer=CONTINUE, style="primary"),
            Control("Edit state", form=True),
        ]

    def form(self, review: Review, control: int) -> Form:
        values = review.request.get("values") or {}
        text = json.dumps(values, indent=2, ensure_ascii=False, default=str)
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": True,
            "max_length": _STATE_LIMIT,
        }
        if len(text) <= _STATE_LIMIT:
            element["initial_value"] = text
        block = {
            "type": "input",
            "block_id": BLOCK,
            "label": {"type": "plain_text", "text": "State (JSON)"},
            "element": element,
            "hint": {
                "type": "plain_text",
                "text": "Change the values you want. Keys you leave out keep their value.",
            },
        }
        return Form(title="Edit state", blocks=[block], submit="Save")

    def read_form(self, review: Review, control: int, values: dict[str, Any]) -> FormAnswer:
        raw = ((values.get(BLOCK) or {}).get("value") or {}).get("value") or ""
        try:
            edited = json.loads(raw)
        except json.JSONDecodeError as error:
            return FormAnswer(errors={BLOCK: f"This is not valid JSON: {error.msg}."})
        if not isinstance(edited, dict):
            return FormAnswer(errors={BLOCK: 'The state must be a JSON object: {"key": value}.'})
        before = review.request.get("values") or {}
        changed = {k: v for k, v in edited.items() if k not in before or before[k] != v}
        if not changed:
            return FormAnswer(
                errors={BLOCK: "Nothing changed: edit a value, or close and Continue."}
            )
        return FormAnswer(answer={"action": "edit", "values": changed})

    def describe(self, review: Review) -> str:
        answer = review.answer or {}
        if answer.get("action") == "edit":
            keys = ", ".join(f"`{neutralize(k)}`" for k in answer.get("values", {}))
            return clip(f"Edit state ({keys})", 1_500)
        return "Continue"
