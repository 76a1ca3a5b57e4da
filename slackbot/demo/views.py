"""Modals as Slack keeps them: trigger_ids, each person's stack of open views, the checks Slack
makes on a view, and the state a submission carries.

The emulator wires this to its Web API (`views.open`, `views.update`, `views.push`) and to a
person's `submit_view`; nothing here speaks HTTP, so every rule is in one place.
"""

from __future__ import annotations

import copy
import itertools
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

MAX_STACK = 3  # views one person can have open at once
MAX_BLOCKS = 100
TITLE_LIMIT = 24  # title, submit and close texts
DEFAULT_CLOSE = {"type": "plain_text", "text": "Cancel", "emoji": True}
TEXT_INPUTS = {"plain_text_input", "number_input", "email_text_input", "url_text_input"}
SINGLE_SELECTS = {"static_select", "radio_buttons"}
MULTI_SELECTS = {"multi_static_select", "checkboxes"}
OPTION_LIMITS = {"static_select": 100, "multi_static_select": 100}
OPTION_LIMITS |= {"radio_buttons": 10, "checkboxes": 10}
REQUIRED = "Please complete this required field."


class SlackError(Exception):
    """An error Slack reports as `{"ok": false, "error": "<code>", **extra}`."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


# -- trigger_ids ----------------------------------------------------------------------------------


@dataclass
class Trigger:
    user: str
    issued: float  # time.monotonic()
    used: bool = False


class Triggers:
    """The trigger_id handed out with each interaction: single use, valid for `ttl` seconds."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._issued: dict[str, Trigger] = {}
        self._count = itertools.count(1)

    def issue(self, user: str) -> str:
        trigger_id = f"{int(time.time())}.{next(self._count)}.{uuid.uuid4().hex}"
        self._issued[trigger_id] = Trigger(user, time.monotonic())
        return trigger_id

    def redeem(self, trigger_id: str) -> str:
        """Use the trigger up and return whose it is, or fail with Slack's error."""
        trigger = self._issued.get(trigger_id)
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if time.monotonic() - trigger.issued > self.ttl:
            raise SlackError("expired_trigger_id")
        trigger.used = True
        return trigger.user


# -- what Slack refuses ---------------------------------------------------------------------------


def _error(message: str, pointer: str) -> str:
    """Slack's wording for one problem in `response_metadata.messages`."""
    return f"[ERROR] {message} [json-pointer:{pointer}]"


def _too_long(text: Any, limit: int, pointer: str) -> list[str]:
    if len(str(text or "")) <= limit:
        return []
    return [_error(f"must be less than {limit + 1} characters", pointer)]


def _plain_text(obj: Any, limit: int, pointer: str, required: bool = False) -> list[str]:
    if obj is None:
        return [_error("missing required field", pointer)] if required else []
    if not isinstance(obj, dict) or obj.get("type") != "plain_text":
        return [_error("must be a plain_text text object", pointer)]
    return _too_long(obj.get("text"), limit, pointer + "/text")


def view_problems(view: Any) -> list[str]:
    """Why `views.open|update|push` would answer `invalid_arguments`; empty when Slack accepts."""
    if not isinstance(view, dict):
        return [_error("must be an object", "/view")]
    problems = []
    if view.get("type") != "modal":
        problems.append(_error("must be a valid enum value: modal", "/view/type"))
    problems += _plain_text(view.get("title"), TITLE_LIMIT, "/view/title", required=True)
    for key in ("submit", "close"):
        problems += _plain_text(view.get(key), TITLE_LIMIT, f"/view/{key}")
    for key, limit in (("private_metadata", 3000), ("callback_id", 255), ("external_id", 255)):
        problems += _too_long(view.get(key), limit, f"/view/{key}")
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return [*problems, _error("missing required field", "/view/blocks")]
    if len(blocks) > MAX_BLOCKS:
        problems.append(_error(f"no more than {MAX_BLOCKS} items allowed", "/view/blocks"))
    problems += _blocks_problems(blocks)
    if any(b.get("type") == "input" for b in blocks) and not view.get("submit"):
        problems.append(_error("must provide submit when using input blocks", "/view/submit"))
    return problems


def _blocks_problems(blocks: list[dict[str, Any]]) -> list[str]:
    problems, seen = [], set()
    for index, block in enumerate(blocks):
        at = f"/view/blocks/{index}"
        block_id = block.get("block_id")
        if block_id is not None and block_id in seen:
            problems.append(_error(f"duplicate block_id {block_id!r}", at + "/block_id"))
        seen.add(block_id)
        problems += _too_long(block_id, 255, at + "/block_id")
        if block.get("type") == "input":
            problems += _input_problems(block, at)
        for where, element in elements(block):
            problems += _element_problems(element, f"{at}/{where}")
    return problems


def _input_problems(block: dict[str, Any], at: str) -> list[str]:
    problems = _plain_text(block.get("label"), 2000, at + "/label", required=True)
    problems += _plain_text(block.get("hint"), 2000, at + "/hint")
    if not isinstance(block.get("element"), dict):
        problems.append(_error("missing required field", at + "/element"))
    return problems


def elements(block: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The interactive elements of a block, with where each sits (for json-pointers)."""
    if isinstance(block.get("element"), dict):
        yield "element", block["element"]
    if isinstance(block.get("accessory"), dict):
        yield "accessory", block["accessory"]
    if block.get("type") == "actions":
        for index, element in enumerate(block.get("elements", [])):
            yield f"elements/{index}", element


def _element_problems(element: dict[str, Any], at: str) -> list[str]:
    kind = element.get("type")
    problems = _too_long(element.get("action_id"), 255, at + "/action_id")
    if kind == "button":
        problems += _too_long(element.get("value"), 2000, at + "/value")
        problems += _plain_text(element.get("text"), 75, at + "/text", required=True)
    if kind == "plain_text_input":
        problems += _too_long(element.get("initial_value"), 3000, at + "/initial_value")
    if kind in OPTION_LIMITS:
        options = list(all_options(element))
        if len(options) > OPTION_LIMITS[kind]:
            limit = OPTION_LIMITS[kind]
            problems.append(_error(f"no more than {limit} items allowed", at + "/options"))
        for index, option in enumerate(options):
            problems += _option_problems(option, f"{at}/options/{index}")
    return problems


def _option_problems(option: dict[str, Any], at: str) -> list[str]:
    text = option.get("text") or {}
    return _too_long(text.get("text"), 75, at + "/text/text") + _too_long(
        option.get("value"), 150, at + "/value"
    )


def all_options(element: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from element.get("options", [])
    for group in element.get("option_groups", []):
        yield from group.get("options", [])


# -- the state a submission carries ---------------------------------------------------------------

UNSET: Any = object()  # a field the person left as it was


def element_state(element: dict[str, Any], value: Any, current: dict[str, Any] | None) -> dict:
    """Slack's `state.values[block_id][action_id]` for `element` after the person entered
    `value` (a plain Python value), or left it as it was (`UNSET`: `current` or the initial)."""
    kind = element["type"]
    if value is UNSET and current is not None:
        return current
    if kind in TEXT_INPUTS:
        value = element.get("initial_value") if value is UNSET else value
        return {"type": kind, "value": None if value in (None, "") else str(value)}
    if kind in SINGLE_SELECTS:
        if value is UNSET:
            return {"type": kind, "selected_option": element.get("initial_option")}
        return {"type": kind, "selected_option": None if value is None else option(element, value)}
    if kind in MULTI_SELECTS:
        if value is UNSET:
            return {"type": kind, "selected_options": element.get("initial_options", [])}
        chosen = [value] if isinstance(value, str) else list(value or [])
        return {"type": kind, "selected_options": [option(element, v) for v in chosen]}
    if value is UNSET:
        return {"type": kind}
    raise ValueError(f"the emulator cannot fill a {kind} element")


def option(element: dict[str, Any], value: str) -> dict[str, Any]:
    for candidate in all_options(element):
        if candidate.get("value") == value:
            return candidate
    raise LookupError(f"no option with value {value!r} in {element.get('action_id')}")


def _is_empty(state: dict[str, Any]) -> bool:
    return not (state.get("value") or state.get("selected_option") or state.get("selected_options"))


def client_errors(view: dict[str, Any]) -> dict[str, str]:
    """What Slack's own client refuses before sending anything to the app: an empty required
    field, text outside min/max length, a number that is not one or is out of range."""
    errors = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        element = block["element"]
        state = view["state"]["values"][block["block_id"]][element["action_id"]]
        if _is_empty(state):
            if not block.get("optional"):
                errors[block["block_id"]] = REQUIRED
        elif problem := _value_problem(element, str(state.get("value") or "")):
            errors[block["block_id"]] = problem
    return errors


def _value_problem(element: dict[str, Any], value: str) -> str:
    if element["type"] == "plain_text_input":
        low, high = element.get("min_length", 0), element.get("max_length", 3000)
        if not low <= len(value) <= high:
            return f"Please enter between {low} and {high} characters."
    if element["type"] == "number_input":
        return _number_problem(element, value)
    return ""


def _number_problem(element: dict[str, Any], value: str) -> str:
    decimal = bool(element.get("is_decimal_allowed"))
    try:
        number = float(value) if decimal else int(value)
    except ValueError:
        return "Please enter a number." if decimal else "Please enter a whole number."
    low, high = element.get("min_value"), element.get("max_value")
    if low is not None and number < float(low):
        return f"Please enter a number of at least {low}."
    if high is not None and number > float(high):
        return f"Please enter a number of at most {high}."
    return ""


# -- the stacks -----------------------------------------------------------------------------------


@dataclass
class OpenView:
    """A view on someone's screen: Slack's view object plus what the person sees around it."""

    view: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)  # under the fields, by block_id
    trouble: str = ""  # why Slack would show "We had some trouble connecting"

    def shown(self) -> dict[str, Any]:
        return copy.deepcopy(self.view) | {"errors": dict(self.errors), "trouble": self.trouble}


class Modals:
    """Every person's stack of open views, changed by the app's `views.*` calls and by people."""

    def __init__(self, *, trigger_ttl: float, owner: dict[str, str]) -> None:
        self.triggers = Triggers(trigger_ttl)
        self.stacks: dict[str, list[OpenView]] = defaultdict(list)
        self._owner = owner  # team_id, app_id, bot_id: copied into every view

    # the Web API: each takes the call's arguments and returns the answer's fields

    def open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._checked(args)
        user = self.triggers.redeem(_trigger(args))
        self.stacks[user] = [self._new(view, below=None)]
        return {"view": copy.deepcopy(self.stacks[user][-1].view)}

    def push(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._checked(args)
        stack = self.stacks[self.triggers.redeem(_trigger(args))]
        if len(stack) >= MAX_STACK:
            raise SlackError("push_limit_reached")
        stack.append(self._new(view, below=stack[-1] if stack else None))
        return {"view": copy.deepcopy(stack[-1].view)}

    def update(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._checked(args, updating=True)
        opened = self._by_id(args.get("view_id"), args.get("external_id"))
        if args.get("hash") and args["hash"] != opened.view["hash"]:
            raise SlackError("hash_conflict")
        self._replace(opened, view)
        return {"view": copy.deepcopy(opened.view)}

    # a person's side

    def find(self, user: str, view: dict[str, Any] | None = None) -> OpenView:
        """The view `user` would submit: the top one, or `view` if it is still open."""
        stack = self.stacks.get(user) or []
        for opened in reversed(stack):
            if view is None or opened.view["id"] == view.get("id"):
                return opened
        raise LookupError(f"{user} has no such view open")

    def with_state(self, opened: OpenView, values: dict[str, Any]) -> dict[str, Any]:
        """The view as a submission carries it, `values` (block_id → plain value) filled in."""
        inputs = {b["block_id"]: b for b in opened.view["blocks"] if b.get("type") == "input"}
        if unknown := set(values) - set(inputs):
            raise LookupError(f"no input blocks {sorted(unknown)} in view {opened.view['id']}")
        current = opened.view["state"]["values"]
        state = {}
        for block_id, block in inputs.items():
            action_id = block["element"]["action_id"]
            before = current.get(block_id, {}).get(action_id)
            value = values.get(block_id, UNSET)
            state[block_id] = {action_id: element_state(block["element"], value, before)}
        opened.view["state"] = {"values": state}
        return copy.deepcopy(opened.view)

    def settle(self, user: str, opened: OpenView, status: int, answer: dict | None) -> None:
        """Change the stack as Slack does once the app answered a submission of `opened`."""
        stack = self.stacks[user]
        if opened not in stack:
            return
        opened.errors, opened.trouble = {}, ""
        if status != 200:
            opened.trouble = f"the app answered HTTP {status}"
            return
        answer = answer or {}
        action = answer.get("response_action")
        if action is None:
            del stack[stack.index(opened) :]
        elif action == "clear":
            stack.clear()
        elif action == "errors":
            self._show_errors(opened, answer.get("errors"))
        elif action in ("update", "push"):
            self._answer_view(stack, opened, action, answer.get("view"))
        else:
            opened.trouble = f"unknown response_action {action!r}"

    def close(self, user: str) -> None:
        """The person closes the top view (all of them if it says `clear_on_close`)."""
        stack = self.stacks.get(user) or []
        if not stack:
            raise LookupError(f"{user} has no view open")
        if stack.pop().view.get("clear_on_close"):
            stack.clear()

    # helpers

    def _checked(self, args: dict[str, Any], updating: bool = False) -> dict[str, Any]:
        view = args.get("view")
        if problems := view_problems(view):
            raise SlackError("invalid_arguments", response_metadata={"messages": problems})
        external_id = view.get("external_id")
        taken = external_id and any(
            o.view["external_id"] == external_id for s in self.stacks.values() for o in s
        )
        if taken and not updating:
            raise SlackError("duplicate_external_id")
        return view

    def _by_id(self, view_id: str | None, external_id: str | None) -> OpenView:
        for stack in self.stacks.values():
            for opened in stack:
                if (view_id and opened.view["id"] == view_id) or (
                    external_id and opened.view["external_id"] == external_id
                ):
                    return opened
        raise SlackError("not_found")

    def _new(self, view: dict[str, Any], below: OpenView | None) -> OpenView:
        view_id = "V" + uuid.uuid4().hex[:10].upper()
        opened = OpenView({"id": view_id, **self._owner, "state": {"values": {}}})
        opened.view["root_view_id"] = below.view["root_view_id"] if below else view_id
        opened.view["previous_view_id"] = below.view["id"] if below else None
        self._replace(opened, view)
        return opened

    @staticmethod
    def _replace(opened: OpenView, view: dict[str, Any]) -> None:
        """Put `view` in place of `opened`'s content; like Slack, keep what the person entered
        in inputs whose block_id and action_id stay the same."""
        blocks = _with_ids(copy.deepcopy(view["blocks"]))
        kept = {
            b["block_id"]: {action_id: state}
            for b in blocks
            if b.get("type") == "input"
            for action_id, state in opened.view["state"]["values"].get(b["block_id"], {}).items()
            if action_id == b["element"]["action_id"]
        }
        opened.view |= {
            "type": "modal",
            "title": view["title"],
            "submit": view.get("submit"),
            "close": view.get("close") or DEFAULT_CLOSE,
            "blocks": blocks,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "clear_on_close": bool(view.get("clear_on_close")),
            "notify_on_close": bool(view.get("notify_on_close")),
            "state": {"values": kept},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        }
        opened.errors, opened.trouble = {}, ""

    @staticmethod
    def _show_errors(opened: OpenView, errors: Any) -> None:
        inputs = {b["block_id"] for b in opened.view["blocks"] if b.get("type") == "input"}
        if not isinstance(errors, dict) or not errors or not set(errors) <= inputs:
            opened.trouble = f"errors must name input blocks of the view, got {errors!r}"
        else:
            opened.errors = {key: str(text) for key, text in errors.items()}

    def _answer_view(self, stack: list[OpenView], opened: OpenView, action: str, view: Any) -> None:
        if problems := view_problems(view):
            opened.trouble = f"response_action {action}: " + "; ".join(problems)
        elif action == "update":
            self._replace(opened, view)
        elif len(stack) >= MAX_STACK:
            opened.trouble = "response_action push: push_limit_reached"
        else:
            stack.append(self._new(view, below=stack[-1]))


def _trigger(args: dict[str, Any]) -> str:
    return str(args.get("trigger_id") or args.get("interactivity_pointer") or "")


def _with_ids(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Slack gives every block a block_id and every input element an action_id."""
    for block in blocks:
        block.setdefault("block_id", uuid.uuid4().hex[:5])
        if block.get("type") == "input":
            block["element"].setdefault("action_id", uuid.uuid4().hex[:6])
    return blocks
