"""The demo workspace: the Slack emulator plus a web page where a person plays the Slack user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from slackbot.demo.slack_emulator import BOT_USER_ID, SlackEmulator

CHANNEL = "CDEMO"
PEOPLE = {"UANA": "ana", "UBEN": "ben"}
NAMES = {**PEOPLE, BOT_USER_ID: "orchestrator"}
STATIC = Path(__file__).parent / "static"
LONG_POLL_SECONDS = 25.0


class DemoWorkspace(SlackEmulator):
    """One channel, #demo, with Ana, Ben and the bot in it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_channel(CHANNEL, *PEOPLE)
        self.notices: list[dict[str, str]] = []  # ephemeral answers to slash commands

    def extend(self, app: web.Application) -> None:
        app.router.add_get("/", self._page)
        app.router.add_get("/ui/state", self._state)
        app.router.add_post("/ui/command", self._command)
        app.router.add_post("/ui/click", self._click)
        app.router.add_post("/ui/reply", self._reply)

    @property
    def page_url(self) -> str:
        return self.base_url + "/"

    async def _page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _state(self, request: web.Request) -> web.Response:
        await self.wait_version(int(request.query.get("since", "-1")), LONG_POLL_SECONDS)
        messages = sorted(
            (m for m in self.messages.values() if m.channel == CHANNEL), key=lambda m: float(m.ts)
        )
        notices = [
            {"user": r["user"], "text": r.get("text", "")} for r in self.responses
        ] + self.notices
        return web.json_response(
            {
                "version": self.version,
                "channel": {"id": CHANNEL, "name": "demo"},
                "names": NAMES,
                "people": PEOPLE,
                "messages": [m.as_slack() | {"edited": m.edited} for m in messages],
                "notices": notices,
            }
        )

    async def _command(self, request: web.Request) -> web.Response:
        body = await request.json()
        status, text = await self.slash_command(body["user"], CHANNEL, body["text"])
        if status == 200 and text.strip():
            self.notices.append({"user": body["user"], "text": text})
            self._touch()
        return web.json_response({"status": status})

    async def _click(self, request: web.Request) -> web.Response:
        body = await request.json()
        message = self.messages[(CHANNEL, body["ts"])]
        status, _ = await self.click(body["user"], message, body["action_id"])
        return web.json_response({"status": status})

    async def _reply(self, request: web.Request) -> web.Response:
        body = await request.json()
        _, status = await self.reply(body["user"], CHANNEL, body["thread_ts"], body["text"])
        return web.json_response({"status": status})
