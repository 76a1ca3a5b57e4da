"""Stands in for the Slack app at `/slack/events`, for tests of the emulator and its page, and a
sample modal with one input of each kind."""

from __future__ import annotations

import json
from collections import deque
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

CHROMIUM = "/usr/bin/chromium"  # scripts/test installs Debian's chromium for the browser tests
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]


class StandInApp:
    """Stands in for the Slack app at `/slack/events`: checks Slack's signature, records what
    arrives and answers each request with the next queued answer (an empty ack when none)."""

    def __init__(self, signing_secret: str) -> None:
        self.verifier = SignatureVerifier(signing_secret)
        self.received: list[dict[str, Any]] = []
        self.answers: deque[dict[str, Any] | web.Response] = deque()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/slack/events", self._events)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _events(self, request: web.Request) -> web.Response:
        body = await request.text()
        assert self.verifier.is_valid_request(body, dict(request.headers))
        form = {key: values[0] for key, values in parse_qs(body).items()}
        self.received.append(json.loads(form["payload"]) if "payload" in form else form)
        answer = self.answers.popleft() if self.answers else web.Response()
        return answer if isinstance(answer, web.Response) else web.json_response(answer)


# -- a sample modal ---------------------------------------------------------------------------


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def option(value: str, text: str | None = None) -> dict[str, Any]:
    return {"text": plain(text or value.title()), "value": value}


def input_block(block_id: str, element: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(block_id.title()),
        "element": {"action_id": f"{block_id}_input", **element},
        **more,
    }


def notes_view(**changes: Any) -> dict[str, Any]:
    """A modal with one input of each kind the emulator fills in."""
    colours = [option("red"), option("green"), option("blue")]
    view = {
        "type": "modal",
        "callback_id": "review_notes",
        "private_metadata": "review-123",
        "title": plain("Revision notes"),
        "submit": plain("Send"),
        "close": plain("Cancel"),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Editor*: what to change?"}},
            input_block("notes", {"type": "plain_text_input", "multiline": True}),
            input_block(
                "rounds",
                {"type": "number_input", "is_decimal_allowed": False, "initial_value": "2"},
            ),
            input_block("tone", {"type": "static_select", "options": colours}, optional=True),
            input_block(
                "extras", {"type": "multi_static_select", "options": colours}, optional=True
            ),
            input_block(
                "urgency",
                {"type": "radio_buttons", "options": colours[:2], "initial_option": colours[0]},
            ),
            input_block("checks", {"type": "checkboxes", "options": colours}, optional=True),
        ],
    }
    return view | changes
