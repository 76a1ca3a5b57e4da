"""The demo workspace: the Slack emulator plus a web page where a person plays the Slack user."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from slackbot.demo.slack_emulator import BOT_USER_ID, Message, SlackEmulator
from slackbot.demo.streams import feedback_action
from slackbot.demo.talk import BOT_MENTION, dm_channel

CHANNEL = "CDEMO"
PEOPLE = {"UANA": "ana", "UBEN": "ben"}
NAMES = {**PEOPLE, BOT_USER_ID: "orchestrator"}
STATIC = Path(__file__).parent / "static"
LONG_POLL_SECONDS = 25.0
SAVE_DELAY = 0.2  # seconds: changes are saved at most this often
NOTICES_SENT = 50  # the page shows a few of the newest; older ones have expired anyway
_AT_APP = re.compile(r"(?<![\w<])@orchestrator\b", re.I)  # how a person types a mention


class DemoWorkspace(SlackEmulator):
    """One channel, #demo, with Ana, Ben and the bot in it, and each person's App Home tab.

    With `state_file`, the channel outlives a restart of the demo, as the paused runs in the
    app's database do: messages are loaded at start and saved shortly after every change.
    """

    def __init__(self, *, state_file: Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_channel(CHANNEL, *PEOPLE)
        for user in PEOPLE:  # each person's DM with the app: its Messages tab
            self.add_channel(dm_channel(user), user)
        self.notices: list[dict[str, Any]] = []  # ephemeral answers, as the page shows them
        self.example = "/orchestrate a launch plan for the Berlin office"  # the page's hint
        self.talk_example: str | None = None  # a mention that starts a conversation, if any
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
        app.router.add_post("/ui/messages", self._open_messages)
        app.router.add_post("/ui/say", self._say)
        app.router.add_post("/ui/dm", self._dm)

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
        messages = self._shown(CHANNEL)
        return web.json_response(
            {
                "version": self.version,
                "now": time.time(),  # notices expire on this clock, not the browser's
                "channel": {"id": CHANNEL, "name": "demo"},
                "names": NAMES,
                "people": PEOPLE,
                "messages": messages,
                "notices": self.notices[-NOTICES_SENT:],
                "example": self.example,
                "talk_example": self.talk_example,
                "views": {user: self.open_views(user) for user in PEOPLE},
                "homes": {user: self.homes.get(user) for user in PEOPLE},
                "dms": {user: self._shown(dm_channel(user)) for user in PEOPLE},
                "prompts": {user: self.prompts.get(dm_channel(user)) for user in PEOPLE},
                # Streams and status lines by ts: the channel's threads and the DM threads.
                "streams": {ts: s.as_page() for (_, ts), s in self.streams.items()},
                "statuses": {ts: s for (_, ts), s in self.statuses.items() if s},
            }
        )

    def _shown(self, channel: str) -> list[dict[str, Any]]:
        found = sorted(
            (m for m in self.messages.values() if m.channel == channel), key=lambda m: float(m.ts)
        )
        return [m.as_slack() | {"edited": m.edited} for m in found]

    async def _command(self, request: web.Request) -> web.Response:
        body = await request.json()
        status, text = await self.slash_command(body["user"], CHANNEL, body["text"])
        if status == 200 and text.strip():
            self._notice(body["user"], text)
        return web.json_response({"status": status})

    async def _click(self, request: web.Request) -> web.Response:
        body = await request.json()
        message = self.messages.get((_where(body), body["ts"]))
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
        """A reply in a thread of #demo (a mention of the app comes as `app_mention` too) or of
        the person's DM with the app (`message.im`)."""
        body = await request.json()
        user, thread_ts, text = body["user"], body["thread_ts"], body["text"]
        if _where(body) != CHANNEL:
            await self.dm(user, text, thread_ts=thread_ts)
        else:
            await self.say(user, CHANNEL, _AT_APP.sub(BOT_MENTION, text), thread_ts=thread_ts)
        return web.json_response({"status": 200})

    async def _say(self, request: web.Request) -> web.Response:
        """A post in #demo that mentions the app (`@Orchestrator …`)."""
        body = await request.json()
        await self.say(body["user"], CHANNEL, _AT_APP.sub(BOT_MENTION, body["text"]))
        return web.json_response({"status": 200})

    async def _dm(self, request: web.Request) -> web.Response:
        """A new message in the app's Messages tab (typed, or a suggested prompt clicked)."""
        body = await request.json()
        await self.dm(body["user"], body["text"])
        return web.json_response({"status": 200})

    async def _open_messages(self, request: web.Request) -> web.Response:
        """The person opens the app's Messages tab: `app_home_opened` with tab `messages`."""
        body = await request.json()
        return web.json_response({"status": await self.open_home(body["user"], tab="messages")})

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


def _where(body: dict[str, Any]) -> str:
    """The channel the page acted in: #demo, or the person's own DM with the app."""
    asked = body.get("channel") or CHANNEL
    return asked if asked == dm_channel(body["user"]) else CHANNEL


def _button_as_shown(body: dict[str, Any]) -> dict[str, Any]:
    """The button the page drew, from what it sent with the click."""
    text = {"type": "plain_text", "text": body.get("text", "")}
    button = {"type": "button", "action_id": body["action_id"], "text": text}
    if body.get("value") is not None:
        button["value"] = body["value"]
    return button
