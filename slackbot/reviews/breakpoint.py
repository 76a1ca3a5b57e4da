"""Static breakpoints (`interrupt_before` / `interrupt_after`): Continue, or Edit state first.

The request is `{"position", "nodes", "values"}`. Continue stores `{"action": "continue"}`;
Edit state stores `{"action": "edit", "values": {changed keys}}`, which the orchestrator applies
with `update_state` before pausing again at the same place (Continue is offered again).

What the paused node will act on comes first: in a messages graph (`create_react_agent(...,
interrupt_before=["tools"])`), the tool calls of the last AI message, each editable as its
arguments (the edit replaces that message, by id, with the new arguments). The rest of the
state is clipped to what Slack shows; the editor holds the keys that fit in its 3,000
characters (keys left out keep their value), so it never opens empty.
"""

from __future__ import annotations

import json
from typing import Any

from slackbot.reviews.base import Control, Form, FormAnswer
from slackbot.reviews.readable import context, fields_blocks, header, section
from slackbot.reviews.tools import call_blocks
from slackbot.safe_text import clip, neutralize
from slackbot.store import Review

CONTINUE = {"action": "continue"}
BLOCK = "state"
CALL = "call"  # block id prefix of a pending tool call's arguments
MESSAGES = "messages"
_STATE_LIMIT = 3_000  # a plain_text_input holds at most this much
_MAX_CALLS = 10


def pending_calls(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool calls the last AI message asks for (what a `tools` node runs next), else []."""
    messages = values.get(MESSAGES)
    last = messages[-1] if isinstance(messages, list) and messages else None
    if not isinstance(last, dict) or last.get("type") not in ("ai", "AIMessageChunk"):
        return []
    calls = last.get("tool_calls")
    if not isinstance(calls, list):
        return []
    return [c for c in calls if isinstance(c, dict) and "name" in c][:_MAX_CALLS]


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _editable(values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The keys whose JSON fits the editor together (in order), and those left out."""
    kept: dict[str, Any] = {}
    left: list[str] = []
    for key, value in values.items():
        if len(_json(kept | {key: value})) <= _STATE_LIMIT:
            kept[key] = value
        else:
            left.append(key)
    return kept, left


class BreakpointKind:
    name = "breakpoint"

    def title(self, review: Review) -> str:
        request = review.request
        nodes = ", ".join(request.get("nodes") or ["?"])
        return f"Paused {request.get('position', 'before')} {nodes}"

    def body(self, review: Review) -> list[dict[str, Any]]:
        request = review.request
        values = request.get("values") or {}
        nodes = ", ".join(f"`{neutralize(n)}`" for n in request.get("nodes") or [])
        where = f"Paused {request.get('position', 'before')} {nodes}"
        blocks = [header(f"⏸️ {self.title(review)}")]
        calls = pending_calls(values)
        if calls:
            blocks.append(section(f"{where}. It will run these tool calls:"))
            for call in calls:
                blocks += call_blocks(str(call["name"]), call.get("args") or {}, "")
            messages = values[MESSAGES]
            rest = {k: v for k, v in values.items() if k != MESSAGES}
            blocks.append(context(f"The conversation so far: {len(messages)} message(s)."))
            blocks += fields_blocks(rest, max_blocks=10)
        else:
            blocks.append(section(f"{where}. The state now:"))
            blocks += fields_blocks(values, max_blocks=30) or [section("_(empty state)_")]
        blocks.append(context("*Continue* runs on from here; *Edit state* changes values first."))
        return blocks

    def controls(self, review: Review) -> list[Control]:
        return [
            Control("Continue", answer=CONTINUE, style="primary"),
            Control("Edit state", form=True),
        ]

    def form(self, review: Review, control: int) -> Form:
        values = review.request.get("values") or {}
        calls = pending_calls(values)
        inputs = []
        for index, call in enumerate(calls):
            args = call.get("args") or {}
            if len(_json(args)) <= _STATE_LIMIT:  # else kept as it is
                label, hint = f"{call['name']} arguments (JSON)", "What the tool will run with."
                inputs.append(_input(f"{CALL}{index}", label, args, hint))
        rest = {k: v for k, v in values.items() if k != MESSAGES} if calls else values
        if rest or not inputs:
            kept, left = _editable(rest)
            hint = "Change the values you want. Keys you leave out keep their value."
            if left:
                shown = ", ".join(left)
                hint = f"{hint} Too long to edit here, kept as they are: {shown}."
            inputs.append(_input(BLOCK, "State (JSON)", kept, hint))
        return Form(title="Edit state", blocks=inputs, submit="Save")

    def read_form(self, review: Review, control: int, values: dict[str, Any]) -> FormAnswer:
        before = review.request.get("values") or {}
        errors: dict[str, str] = {}
        changed: dict[str, Any] = {}
        calls = pending_calls(before)
        edited_calls = []
        for index, call in enumerate(calls):
            raw = _raw(values, f"{CALL}{index}")
            if raw is None:  # not offered (too long): kept
                edited_calls.append(call)
                continue
            args = _parse(raw, f"{CALL}{index}", errors, "The arguments must be a JSON object.")
            edited_calls.append(call | {"args": args} if isinstance(args, dict) else call)
        if edited_calls != calls:
            last = before[MESSAGES][-1]
            changed[MESSAGES] = [last | {"tool_calls": edited_calls}]  # replaced by its id
        raw = _raw(values, BLOCK)
        if raw is not None:
            state = _parse(raw, BLOCK, errors, 'The state must be a JSON object: {"key": value}.')
            if isinstance(state, dict):
                changed |= {k: v for k, v in state.items() if k not in before or before[k] != v}
        if errors:
            return FormAnswer(errors=errors)
        if not changed:
            block = f"{CALL}0" if calls and _raw(values, f"{CALL}0") is not None else BLOCK
            return FormAnswer(
                errors={block: "Nothing changed: edit a value, or close and Continue."}
            )
        return FormAnswer(answer={"action": "edit", "values": changed})

    def describe(self, review: Review) -> str:
        answer = review.answer or {}
        if answer.get("action") == "edit":
            keys = ", ".join(f"`{neutralize(k)}`" for k in answer.get("values", {}))
            return clip(f"Edit state ({keys})", 1_500)
        return "Continue"


def _input(block_id: str, label: str, value: Any, hint: str) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": True,
        "max_length": _STATE_LIMIT,
        "initial_value": _json(value),
    }
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": clip(label, 2_000)},
        "element": element,
        "hint": {"type": "plain_text", "text": clip(hint, 2_000)},
    }


def _raw(values: dict[str, Any], block_id: str) -> str | None:
    if block_id not in values:
        return None
    return ((values.get(block_id) or {}).get("value") or {}).get("value") or ""


def _parse(raw: str, block_id: str, errors: dict[str, str], not_object: str) -> Any:
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as error:
        errors[block_id] = f"This is not valid JSON: {error.msg}."
        return None
    if not isinstance(parsed, dict):
        errors[block_id] = not_object
        return None
    return parsed
