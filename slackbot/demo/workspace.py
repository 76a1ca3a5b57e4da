"""The demo workspace: the Slack emulator plus a web page where a person plays the Slack user."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from slackbot.demo.slack_emulator import BOT_USER_ID, Message, SlackEmulator
from slackbot.demo.streams import feedback_action

CHANNEL = "CDEMO"
PEOPLE = {"UANA": "ana", "UBEN": "ben"}
NAMES = {**PEOPLE, BOT_USER_ID: "orchestrator"}
STATIC = Path(__file__).parent / "static"
LONG_POLL_SECONDS = 25.0
SAVE_DELAY = 0.2  # seconds: changes are saved at most this often
NOTICES_SENT = 50  # the page shows a few of the newest; older ones have expired anyway


class DemoWorkspace(SlackEmulator):
    """One channel, #demo, with Ana, Ben and the bot in it, and each person's App Home tab.

    With `state_file`, the channel outlives a restart of the demo, as the paused runs in the
    app's database do: messages are loaded at start and saved shortly after every change.
    """

    def __init__(self, *, state_file: Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_channel(CHANNEL, *PEOPLE)
        self.notices: list[dict[str, Any]] = []  # ephemeral answers, as the page shows them
        self.example = "/orchestrate a launch plan for the Berlin office"  # the page's hint
        self.state_file = state_file
        self._save_timer: asyncio.TimerHandle | None = None
        if state_file and state_file.exists():
            self._load(state_file)

    # -- durability ---------------------------------------------------------------------------

    def _load(self, path: Path) -> None:
        saved = json.loads(path.read_text())
        self._last_ts = saved["last_ts"]
        for fields in saved["messages"]:
            message = Message(**fields)
            self.messages[(message.channel, message.ts)] = message

    def save(self) -> None:
        """Write the channel atomically: a crash mid-write leaves the previous file whole."""
        self._save_timer = None
        if self.state_file is None:
            return
        saved = {
            "last_ts": self._last_ts,
            "messages": [dataclasses.asdict(m) for m in self.messages.values()],
        }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.state_file.with_name(self.state_file.name + ".tmp")
        partial.write_text(json.dumps(saved))
        os.replace(partial, self.state_file)

    def wake_all(self) -> None:
        """Answer the page's open long polls now (at shutdown they would hold it for 25 s)."""
        self._touch()

    def _touch(self) -> None:
        super()._touch()
        if self.state_file and self._save_timer is None:
            self._save_timer = asyncio.get_running_loop().call_later(SAVE_DELAY, self.save)

    async def close(self) -> None:
        if self._save_timer is not None:
            self._save_timer.cancel()
            self.save()
        await super().close()

    # -- the page -----------------------------------------------------------------------------

    def extend(self, app: web.Application) -> None:
        app.router.add_get("/", self._page)
        app.router.add_get("/favicon.svg", self._favicon)
        app.router.add_static("/static/", STATIC)  # the page's scripts
        app.router.add_get("/ui/state", self._state)
        app.router.add_post("/ui/command", self._command)
        app.router.add_post("/ui/click", self._click)
        app.router.add_post("/ui/reply", self._reply)
        app.router.add_post("/ui/submit", self._submit)
        app.router.add_post("/ui/close", self._close_view)
        app.router.add_post("/ui/home", self._open_home)

    @property
    def page_url(self) -> str:
        return self.base_url + "/"

    async def _page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _favicon(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "favicon.svg")

    def _notice(self, user: str, text: str) -> None:
        notice = {"id": len(self.notices) + 1, "user": user, "text": text, "at": time.time()}
        self.notices.append(notice)
        self._touch()

    async def _response_url(self, request: web.Request) -> web.Response:
        answer = await super()._response_url(request)
        posted = self.responses[-1]
        if posted.get("text") and not (
            posted.get("replace_original") or posted.get("delete_original")
        ):
            self._notice(posted["user"], posted["text"])
        return answer

    async def _state(self, request: web.Request) -> web.Response:
        await self.wait_version(int(request.query.get("since", "-1")), LONG_POLL_SECONDS)
        messages = sorted(
            (m for m in self.messages.values() if m.channel == CHANNEL), key=lambda m: float(m.ts)
        )
        return web.json_response(
            {
                "version": self.version,
                "now": time.time(),  # notices expire on this clock, not the browser's
                "channel": {"id": CHANNEL, "name": "demo"},
                "names": NAMES,
                "people": PEOPLE,
                "messages": [m.as_slack() | {"edited": m.edited} for m in messages],
                "notices": self.notices[-NOTICES_SENT:],
                "example": self.example,
                "views": {user: self.open_views(user) for user in PEOPLE},
                "homes": {user: self.homes.get(user) for user in PEOPLE},
                "streams": {ts: s.as_page() for (c, ts), s in self.streams.items() if c == CHANNEL},
                "statuses": {ts: s for (c, ts), s in self.statuses.items() if c == CHANNEL and s},
            }
        )

    async def _command(self, request: web.Request) -> web.Response:
        body = await request.json()
        status, text = await self.slash_command(body["user"], CHANNEL, body["text"])
        if status == 200 and text.strip():
            self._notice(body["user"], text)
        return web.json_response({"status": status})

    async def _click(self, request: web.Request) -> web.Response:
        body = await request.json()
        message = self.messages.get((CHANNEL, body["ts"]))
        if message is None:
            return web.json_response({"error": "message_not_found"}, status=404)
        try:
            button, block_id = self.find_button(message, body["action_id"], body.get("value"))
        except LookupError:
            try:  # a thumb of the feedback buttons under an answer
                button, block_id = feedback_action(message, body.get("value") or "")
            except LookupError:  # gone since the page drew it (decided in another tab): Slack
                button, block_id = _button_as_shown(body), body.get("block_id", "")  # sends it
        status, _ = await self.click_button(body["user"], message, button, block_id)
        return web.json_response({"status": status})

    async def _reply(self, request: web.Request) -> web.Response:
        body = await request.json()
        _, status = await self.reply(body["user"], CHANNEL, body["thread_ts"], body["text"])
        return web.json_response({"status": status})

    async def _submit(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            status, answer = await self.submit_view(
                body["user"], body.get("values", {}), view={"id": body["view_id"]}
            )
        except LookupError as error:  # closed or changed by the app meanwhile
            return web.json_response({"error": str(error)}, status=409)
        return web.json_response({"status": status, "answer": answer})

    async def _open_home(self, request: web.Request) -> web.Response:
        """The person looks at the app's Home tab: Slack tells the app, which publishes it."""
        body = await request.json()
        return web.json_response({"status": await self.open_home(body["user"])})

    async def _close_view(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            self.close_view(body["user"])
        except LookupError as error:
            return web.json_response({"error": str(error)}, status=409)
        return web.json_response({"status": 200})


def _button_as_shown(body: dict[str, Any]) -> dict[str, Any]:
    """The button the page drew, from what it sent with the click."""
    text = {"type": "plain_text", "text": body.get("text", "")}
    button = {"type": "button", "action_id": body["action_id"], "text": text}
    if body.get("value") is not None:
        button["value"] = body["value"]
    return button
