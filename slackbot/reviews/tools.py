"""Tool calls waiting for a person: LangChain's HumanInTheLoopMiddleware and Agent Inbox.

- Batched `HITLRequest` (`{"action_requests", "review_configs"}`): one review per action
  request (`expand`), the interrupt answered with `{"decisions": [...]}` in their order once
  each has one (`combine`).
- Per-call `ToolApprovalRequest` (`{"type": "tool_approval", ...}` + a `response_schema`): one
  review, answered with one decision validated against that schema.
Agent Inbox requests are in inbox.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from slackbot.reviews import forms
from slackbot.reviews.base import Control, Form, FormAnswer
from slackbot.reviews.readable import (
    code,
    context,
    fields_blocks,
    header,
    inline,
    one_line,
    section,
)
from slackbot.reviews.schema import branches, const_of, resolve
from slackbot.safe_text import clip, neutralize
from slackbot.store import Review

DECISIONS = {"approve": "Approve", "edit": "Edit", "reject": "Reject", "respond": "Respond"}
_REASON = {"type": "string", "title": "Reason (optional)", "description": "Sent to the agent"}
MESSAGE_SCHEMA = {"type": "string", "title": "Message", "description": "Sent as the tool's result"}


# -- recognising the shapes -------------------------------------------------------------------


def is_hitl_request(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("action_requests"), list)
        and isinstance(value.get("review_configs"), list)
        and all(isinstance(a, dict) and "name" in a for a in value["action_requests"])
    )


def is_tool_approval(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "tool_approval" and "name" in value


def expand(key: str, value: Any) -> list[tuple[str, dict[str, Any]]]:
    """A batched request's reviews: (key of each, its request), one per action request."""
    configs = {c.get("action_name"): c for c in value["review_configs"] if isinstance(c, dict)}
    requests = value["action_requests"]
    found = []
    for index, action in enumerate(requests):
        config = configs.get(action.get("name"), {})
        allowed = [d for d in config.get("allowed_decisions") or DECISIONS if d in DECISIONS]
        request = {
            "action": action,
            "allowed": allowed,
            "args_schema": config.get("args_schema"),
            "index": index,
            "of": len(requests),
        }
        found.append((f"{key}.{index}", request))
    return found


def combine(key: str, value: Any, answers: dict[str, Any]) -> dict[str, Any] | None:
    """The resume value of a batched request once every action has a decision, else None."""
    keys = [f"{key}.{index}" for index in range(len(value["action_requests"]))]
    if not all(k in answers for k in keys):
        return None
    return {"decisions": [answers[k] for k in keys]}


def batch_of(review: Review) -> tuple[str, int] | None:
    """(the batched request's key, this action's index) for a review `expand` made, else None."""
    request = review.request
    if not (isinstance(request, dict) and "of" in request and "index" in request):
        return None
    key, _, index = review.interrupt_id.rpartition(".")
    return (key, request["index"]) if index == str(request["index"]) else None


# -- rendering a call -------------------------------------------------------------------------


def call_blocks(name: str, args: Any, description: str, note: str = "") -> list[dict[str, Any]]:
    """The tool, why, and its arguments once: short ones as fields, long text as a quote with
    its lines, anything else as code."""
    blocks = [header(f"🛠️ {name}")]
    description = _without_listed_args(description, name)
    if description:
        blocks.append(section(clip(neutralize(description), 2_900)))
    if isinstance(args, dict):
        blocks += fields_blocks(args, max_blocks=30)
    elif args is not None:
        blocks.append(section(code(args)))
    if note:
        blocks.append(context(note))
    return blocks


def _without_listed_args(description: str, name: str) -> str:
    """The middleware's default description lists the call (`…\n\nTool: name\nArgs: {…}`),
    which the review shows already: keep only what it says besides."""
    listed = description.find(f"Tool: {name}\nArgs:")
    return description[:listed].strip() if listed >= 0 else description.strip()


def args_schema(args: Any, given: dict[str, Any] | None) -> dict[str, Any]:
    """The edit form's schema: the tool's own when known, else one field per argument."""
    if isinstance(given, dict) and given.get("properties"):
        return given
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string"}
    properties = {
        name: ({"type": kinds[type(v)]} if type(v) in kinds else {}) | {"title": name}
        for name, v in (args or {}).items()
    }
    return {"type": "object", "properties": properties, "required": list(properties)}


def text_form(
    title: str, schema: dict[str, Any], *, optional: bool = False
) -> tuple[Form, list[forms.Field]]:
    """One text input; `optional` ones say so, or Slack's client refuses to submit them empty."""
    fields = [replace(f, required=not optional) for f in forms.fields_for(schema, schema)]
    return Form(title=title, blocks=forms.input_blocks(fields, {})), fields


# -- LangChain's middleware: batched and per-call ---------------------------------------------


class ToolCallKind:
    name = "tool_call"

    @staticmethod
    def _call(review: Review) -> tuple[str, dict[str, Any], str]:
        request = review.request
        action = request.get("action", request)  # batched sub-request, or per-call value
        return str(action.get("name", "?")), action.get("args") or {}, action.get("description", "")

    def _allowed(self, review: Review) -> list[str]:
        if "allowed" in review.request:
            return list(review.request["allowed"])
        schema = review.response_schema or {}
        union = branches(schema)
        if union:
            return [str(const) for const, _ in union[1] if str(const) in DECISIONS]
        single = const_of(resolve(schema, schema).get("properties", {}).get("type"), schema)
        return [single] if single in DECISIONS else list(DECISIONS)

    def _branch(self, review: Review, decision: str) -> dict[str, Any] | None:
        """The per-call schema's branch for a decision, with the root's definitions."""
        schema = review.response_schema or {}
        union = branches(schema)
        found = dict(union[1]).get(decision) if union else resolve(schema, schema)
        if not found:
            return None
        return {k: schema[k] for k in ("$defs", "definitions") if k in schema} | found

    def _edit_schema(self, review: Review) -> dict[str, Any] | None:
        branch = self._branch(review, "edit") if review.response_schema else None
        if branch is None:
            return review.request.get("args_schema")
        action = resolve(branch.get("properties", {}).get("edited_action", {}), branch)
        args = resolve(action.get("properties", {}).get("args", {}), branch)
        return {k: branch[k] for k in ("$defs", "definitions") if k in branch} | args

    def title(self, review: Review) -> str:
        return f"Run {self._call(review)[0]}?"

    def body(self, review: Review) -> list[dict[str, Any]]:
        name, args, description = self._call(review)
        of = review.request.get("of", 1)
        note = f"Tool call {review.request.get('index', 0) + 1} of {of}" if of > 1 else ""
        return call_blocks(name, args, description, note)

    def controls(self, review: Review) -> list[Control]:
        styles = {"approve": "primary", "reject": "danger"}
        return [
            Control(DECISIONS[d], answer={"type": "approve"}, style=styles.get(d))
            if d == "approve"
            else Control(DECISIONS[d], form=True, style=styles.get(d))
            for d in self._allowed(review)
        ]

    def _decision(self, review: Review, control: int) -> str:
        return self._allowed(review)[control]

    def _fields(self, review: Review, control: int) -> tuple[Form, list[forms.Field]]:
        decision = self._decision(review, control)
        if decision == "reject":
            return text_form("Reject", _REASON, optional=True)
        if decision == "respond":
            return text_form("Respond", MESSAGE_SCHEMA)
        name, args, _ = self._call(review)
        schema = args_schema(args, self._edit_schema(review))
        fields = forms.fields_for(schema, schema)
        blocks = forms.input_blocks(fields, dict(args))
        return Form(title=clip(f"Edit {name}", 24), blocks=blocks), fields

    def form(self, review: Review, control: int) -> Form:
        return self._fields(review, control)[0]

    def read_form(self, review: Review, control: int, values: dict[str, Any]) -> FormAnswer:
        decision = self._decision(review, control)
        _, fields = self._fields(review, control)
        read, errors = forms.read_answer(fields, values)
        if errors:
            return FormAnswer(errors=errors)
        if decision == "edit":
            name, args, _ = self._call(review)
            schema = args_schema(args, self._edit_schema(review))
            errors = forms.validate(read, schema, fields)
            answer: dict[str, Any] = {"type": "edit", "edited_action": {"name": name, "args": read}}
        elif decision == "respond":
            message = (read or "").strip()
            errors = {} if message else {fields[0].block_id: "Write the message for the agent."}
            answer = {"type": "respond", "message": message}
        else:
            answer = {"type": "reject"} | (
                {"message": read.strip()} if read and read.strip() else {}
            )
        branch = self._branch(review, decision) if review.response_schema else None
        if not errors and branch:
            errors = forms.validate(answer, branch, fields)
        return FormAnswer(answer=None if errors else answer, errors=errors)

    def describe(self, review: Review) -> str:
        return describe_decision(review.answer)


def describe_decision(answer: Any) -> str:
    """A decision in a few words: `Approve`, `Edit: to=ana@…`, `Reject: not now`."""
    if isinstance(answer, list) and answer:  # an Agent Inbox response
        answer = answer[0]
    if not isinstance(answer, dict):
        return inline(answer)
    kind = str(answer.get("type", "?"))
    label = DECISIONS.get(kind) or kind.capitalize()
    detail = answer.get("message") or answer.get("args")
    if kind == "edit":
        detail = (answer.get("edited_action") or answer.get("args") or {}).get("args")
    if detail in (None, "", {}):
        return label
    if isinstance(detail, dict):
        shown = ", ".join(f"{neutralize(str(k))}={inline(v)}" for k, v in detail.items())
    else:
        shown = inline(detail)
    return clip(one_line(f"{label}: {shown}"), 1_500)
