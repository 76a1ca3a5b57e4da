"""Slack's requests in HTTP mode, before Bolt sees them: the signature checked on the raw bytes,
the body parsed, and the payload's shape checked where Bolt would index into it blindly."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.async_app import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest

SIGNATURE_MAX_AGE = 5 * 60  # seconds, as Slack documents: older signed requests may be replays
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class MalformedRequest(ValueError):
    """A signed request Bolt could not handle; the message says why, in a few words."""


def signed_by_slack(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> bool:
    """Slack's `v0` signature over the raw bytes, fresh and compared in constant time.

    slack_sdk's SignatureVerifier does the same, but raises on a non-numeric timestamp and on
    a body that is not UTF-8: an unsigned request must not get that far.
    """
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not _TIMESTAMP.fullmatch(timestamp) or abs(now - int(timestamp)) > SIGNATURE_MAX_AGE:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedRequest(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedRequest(f"{what} is not a JSON object")
    return value


# What Bolt's request parsing and matchers, and our listeners, read from a payload, and the
# type they assume (slack_bolt.request.internals and payload_utils index into these blindly).
_STRINGS = ("type", "subtype", "callback_id", "command", "action_id", "block_id", "value",
            "user_id", "channel_id", "team_id", "message_ts", "bot_id", "id",
            "response_url", "trigger_id")  # fmt: skip
_IDS = ("user", "channel", "team", "enterprise")  # an id, or an object with an `id`
_OBJECTS = ("event", "view", "message", "previous_message", "container", "item",
            "assistant_thread", "function_data")  # fmt: skip
_NEVER_NULL = ("event", "view")  # Bolt tests `"view" in body`, then reads it as an object
_LISTS_OF_OBJECTS = ("actions", "authorizations", "response_urls")
_BY_A_PERSON = ("block_actions", "interactive_message", "view_submission", "view_closed")


def _check_shape(obj: dict[str, Any], where: str, depth: int = 0) -> None:
    def fail(key: str, expected: str) -> MalformedRequest:
        return MalformedRequest(f"{where}{key} is not {expected}")

    for key in _STRINGS:
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise fail(key, "a string")
    if depth > 3:
        return
    for key in _IDS:
        value = obj.get(key)
        if isinstance(value, dict):
            _check_shape(value, f"{where}{key}.", depth + 1)
        elif value is not None and not isinstance(value, str):
            raise fail(key, "an id")
    for key in _OBJECTS:
        value = obj.get(key)
        if isinstance(value, dict):
            _check_shape(value, f"{where}{key}.", depth + 1)
        elif key in obj and (value is not None or key in _NEVER_NULL):
            raise fail(key, "an object")
    for key in _LISTS_OF_OBJECTS:
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise fail(key, "a list of objects")
        for item in value:
            _check_shape(item, f"{where}{key}[].", depth + 1)


def _check_envelope(body: dict[str, Any]) -> None:
    _check_shape(body, "")
    kind = body.get("type")
    if kind == "event_callback" and not isinstance((body.get("event") or {}).get("type"), str):
        raise MalformedRequest("event_callback without an event type")
    if kind in ("block_actions", "interactive_message"):
        actions = body.get("actions")
        if not actions or not all(isinstance(a.get("action_id"), str) for a in actions):
            raise MalformedRequest(f"{kind} without actions that have an action_id")
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("type"), str):
            raise MalformedRequest(f"{kind} without a view and its type")
        if not isinstance(view.get("state") or {}, dict):
            raise MalformedRequest(f"{kind} with a view state that is not an object")
        if view["type"] == "workflow_step" and "workflow_step" not in body:
            raise MalformedRequest(f"{kind} of a workflow step without the step")
    if kind == "workflow_step_edit" and "workflow_step" not in body:
        raise MalformedRequest(f"{kind} without the step")
    user = body.get("user")
    if kind in _BY_A_PERSON and not (isinstance(user, dict) and isinstance(user.get("id"), str)):
        raise MalformedRequest(f"{kind} without a user id")


def parse_slack_body(text: str, content_type: str) -> dict[str, Any]:
    """The payload Bolt will be given: an Events API object, an interaction or a command.

    Bolt's own parser treats any form body that merely contains the word "payload" (in a
    slash command's text, say) as an interaction without one; this one does not.
    """
    if content_type.split(";")[0].strip().lower() == "application/json" or text.startswith("{"):
        body = _json_object(text, "body")
    else:
        form = dict(parse_qsl(text, keep_blank_values=True))
        if "payload" in form:
            body = _json_object(form["payload"], "payload")
        elif "command" in form:
            missing = [f for f in ("command", "user_id", "channel_id") if not form.get(f)]
            if missing:
                raise MalformedRequest(f"slash command without {', '.join(missing)}")
            body = dict(form)
        elif "ssl_check" in form:
            body = dict(form)
        else:
            raise MalformedRequest("neither an event, an interaction nor a slash command")
    _check_envelope(body)
    return body


def bolt_request(request: web.Request, text: str, body: dict[str, Any]) -> AsyncBoltRequest:
    bolt_request = AsyncBoltRequest(
        body="",
        query=request.query_string,
        headers=request.headers,  # type: ignore[arg-type]
    )
    # The raw text, for Bolt's own signature check; the payload as parsed and checked above.
    bolt_request.raw_body = text
    bolt_request.body = body
    bolt_request.context = build_async_context(AsyncBoltContext(), body)
    return bolt_request
