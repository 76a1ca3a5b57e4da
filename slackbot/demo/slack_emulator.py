"""A local stand-in for Slack: its Web API for the app, and a person's actions sent to the app.

Web API side (`POST|GET /api/<method>`): the methods this app uses, answering in Slack's response
shapes, keeping channels, threads and messages, recording every call in `calls`. It refuses what
Slack refuses (a channel the bot is not in, blocks over Block Kit limits, a bad token) and can
rate-limit `chat.postMessage` per channel or fail chosen calls with 429/500 (`fail_next`).

People side: `slash_command`, `click` and `reply` deliver signed requests to the app's
`/slack/events`, exactly as Slack signs them; `response_url` posts from the app are recorded
in `responses`. Each command and click carries a fresh trigger_id for `views.open`.

Socket Mode (`socket_mode.py`, reached as `sockets`): once an app has called
`apps.connections.open` with the app-level token, a person's actions go to it as envelopes over
its WebSocket connections instead, answering the same; `socket_mode=True|False` forces a way.

Modals (`views.open|update|push`, and a person's `submit_view` and `close_view`) follow Slack's
rules, kept in `views.py`. The App Home: `views.publish` keeps each person's Home view in `homes`;
`open_home` delivers the `app_home_opened` event a person's visit to the Home tab sends.
`chat.getPermalink` answers links of this workspace's shape (`PERMALINK_BASE`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from slackbot.demo.directory import Directory
from slackbot.demo.socket_mode import SocketModeServer
from slackbot.demo.streams import StreamMethods, context_actions_problem, feedback_action
from slackbot.demo.talk import TalkMixin
from slackbot.demo.views import Modals, SlackError, client_errors

BOT_USER_ID = "UORCHBOT"
BOT_ID = "BORCHBOT"
TEAM_ID = "TEMULATOR"
APP_ID = "AEMULATOR"
VERIFICATION_TOKEN = "legacy-verification-token"
PERMALINK_BASE = "https://emulator.slack.local/archives/"
MAX_MESSAGE_BLOCKS = 50
MAX_HOME_BLOCKS = 100
FORM = "application/x-www-form-urlencoded"


@dataclass
class Message:
    channel: str
    ts: str
    user: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    reactions: list[str] = field(default_factory=list)
    edited: int = 0

    def as_slack(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "user": self.user}
        out |= {"text": self.text, "blocks": self.blocks}
        if self.user == BOT_USER_ID:
            out["bot_id"] = BOT_ID
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.metadata:
            out["metadata"] = self.metadata
        if self.reactions:
            out["reactions"] = [
                {"name": n, "count": 1, "users": [BOT_USER_ID]} for n in self.reactions
            ]
        return out


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    status: int
    error: str | None = None  # Slack's error code when it answered ok: false


class BlockKitError(ValueError):
    pass


def check_blocks(blocks: list[dict[str, Any]], max_blocks: int = MAX_MESSAGE_BLOCKS) -> None:
    """The Block Kit limits Slack enforces with `invalid_blocks` (`max_blocks`: 50 in a
    message, 100 in a Home tab)."""
    if len(blocks) > max_blocks:
        raise BlockKitError(f"more than {max_blocks} blocks")
    markdown = 0
    for block in blocks:
        kind = block.get("type")
        if kind == "markdown":
            markdown += len(block.get("text", ""))
        if kind == "header" and len(block["text"]["text"]) > 150:
            raise BlockKitError("header text over 150 characters")
        if kind == "section" and len(block.get("text", {}).get("text", "")) > 3000:
            raise BlockKitError("section text over 3000 characters")
        if kind == "context_actions" and (problem := context_actions_problem(block)):
            raise BlockKitError(problem)
        for element in block.get("elements", []):
            if element.get("type") == "button" and len(element.get("value", "")) > 2000:
                raise BlockKitError("button value over 2000 characters")
    if markdown > 12_000:
        raise BlockKitError("markdown over 12,000 characters in one message")


class SlackEmulator(StreamMethods, Directory, TalkMixin):  # streams.py: chat.*Stream, status;
    _bot_user = BOT_USER_ID  # directory.py: people, groups, channels; talk.py: mentions, DMs,
    _message_class = Message  # the Messages tab's prompts

    def __init__(
        self,
        *,
        signing_secret: str = "emulator-signing-secret",
        bot_token: str = "xoxb-emulator",
        app_token: str = "xapp-emulator",
        post_rate_per_channel: float | None = None,
        trigger_ttl: float = 3.0,
        socket_mode: bool | None = None,
    ) -> None:
        self.signing_secret = signing_secret
        self.bot_token = bot_token
        self.app_token = app_token
        self.socket_mode = socket_mode  # None: Socket Mode once an app opened a connection URL
        self.post_rate_per_channel = post_rate_per_channel
        self.app_url = ""  # where person actions go: the app's base URL
        self.base_url = ""
        self.calls: list[Call] = []
        self.responses: list[dict[str, Any]] = []  # posts to response_url
        self.messages: dict[tuple[str, str], Message] = {}
        self.channels: dict[str, set[str]] = defaultdict(set)  # channel → members
        self.homes: dict[str, dict[str, Any]] = {}  # user → their published Home tab view
        self.streams = {}  # streamed messages (streams.py); statuses: each thread's status line
        self.statuses, self.status_log, self.refuse_streams = {}, [], None
        self.changed = asyncio.Event()
        self.version = 0  # bumped on every change; the demo page long-polls on it
        self._version_waiters: list[asyncio.Future[None]] = []
        self._failures: dict[str, deque[tuple[int, int]]] = defaultdict(deque)
        self._last_post: dict[str, float] = {}
        self._last_ts = 0.0
        owner = {"team_id": TEAM_ID, "app_id": APP_ID, "bot_id": BOT_ID}
        self.modals = Modals(trigger_ttl=trigger_ttl, owner=owner)
        self.sockets = SocketModeServer(app_id=APP_ID, on_change=self._touch)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._talk_init()

    def _touch(self) -> None:
        self.version += 1
        self.changed.set()
        self._wake_pollers()

    def _wake_pollers(self) -> None:
        for waiter in self._version_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._version_waiters.clear()

    async def wait_version(self, since: int, timeout: float) -> int:
        """Wait until something changed after version `since` (a long poll), or the timeout.
        A `since` from before a restart (not our version) answers at once."""
        if self.version == since:
            waiter = asyncio.get_running_loop().create_future()
            self._version_waiters.append(waiter)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, timeout)
        return self.version

    # -- set-up -------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{channel}/{user}", self._response_url)
        self.sockets.add_routes(app)
        self.extend(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.base_url = f"http://{host}:{self._runner.addresses[0][1]}"
        self._session = aiohttp.ClientSession()
        return self.base_url + "/api/"

    def extend(self, app: web.Application) -> None:
        """A hook for a subclass (the demo's web page) to add routes."""

    async def close(self) -> None:
        self._wake_pollers()  # a long poll must not hold the server's shutdown
        await self.sockets.close()
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    def add_channel(self, channel: str, *members: str, bot: bool = True) -> None:
        self.channels[channel].update(members)
        if bot:
            self.channels[channel].add(BOT_USER_ID)

    def fail_next(self, method: str, status: int = 429, count: int = 1, retry_after: int = 1):
        self._failures[method].extend([(status, retry_after)] * count)

    # -- reading what happened ----------------------------------------------------------------

    def calls_to(self, method: str, ok_only: bool = True) -> list[Call]:
        return [c for c in self.calls if c.method == method and (c.status == 200 or not ok_only)]

    def thread(self, channel: str, root_ts: str) -> list[Message]:
        found = [m for m in self.messages.values() if m.channel == channel]
        found = [m for m in found if m.ts == root_ts or m.thread_ts == root_ts]
        return sorted(found, key=lambda m: float(m.ts))

    def roots(self, channel: str) -> list[Message]:
        found = [m for m in self.messages.values() if m.channel == channel and not m.thread_ts]
        return sorted(found, key=lambda m: float(m.ts))

    async def wait_for(self, predicate: Any, timeout: float = 15.0) -> Any:
        """Wait until predicate() returns something truthy, re-checking on every change."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError("the emulator did not see the expected change in time")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.2))

    # -- a person's actions, delivered to the app ---------------------------------------------

    def signed_headers(self, body: str, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(self.signing_secret).generate_signature(
            timestamp=stamp, body=body
        )
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}

    async def deliver(
        self,
        body: str,
        content_type: str,
        *,
        url: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        assert self._session is not None
        all_headers = {"Content-Type": content_type, **self.signed_headers(body), **(headers or {})}
        async with self._session.post(
            (url or self.app_url) + "/slack/events", data=body.encode(), headers=all_headers
        ) as response:
            return response.status, await response.text()

    async def _to_app(
        self, kind: str, payload: dict[str, Any], body: str, content_type: str, url: str | None
    ) -> tuple[int, str]:
        """Over Socket Mode an envelope of `kind` with `payload` (`url` does not apply there),
        else `body` over HTTP; either way (status, body) as the HTTP answer would be."""
        over_sockets = self.socket_mode
        if over_sockets is None:
            over_sockets = self.sockets.urls_issued > 0
        if over_sockets:
            return await self.sockets.request(kind, payload)
        return await self.deliver(body, content_type, url=url)

    def issue_trigger(self, user: str) -> str:
        """A fresh trigger_id for `user`, as Slack attaches to every command, click and
        submission; `views.open` and `views.push` accept it once, within `trigger_ttl`."""
        return self.modals.triggers.issue(user)

    @staticmethod
    def person(user: str) -> dict[str, str]:
        """The `user` object of an interaction payload."""
        return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID}

    async def _interact(
        self, user: str, payload: dict[str, Any], url: str | None
    ) -> tuple[int, str]:
        """Deliver an interaction by `user` as Slack does: a form body with the JSON in
        `payload`."""
        common = {
            "user": self.person(user),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "team": {"id": TEAM_ID, "domain": "emulator"},
        }
        interaction = common | payload
        body = urlencode({"payload": json.dumps(interaction)})
        return await self._to_app("interactive", interaction, body, FORM, url)

    async def slash_command(
        self, user: str, channel: str, text: str, *, url: str | None = None
    ) -> tuple[int, str]:
        command = {
            "token": VERIFICATION_TOKEN,
            "team_id": TEAM_ID,
            "team_domain": "emulator",
            "channel_id": channel,
            "channel_name": channel.lower(),
            "user_id": user,
            "user_name": user.lower(),
            "command": "/orchestrate",
            # As Slack sends it (manifest: should_escape false): `& < >` escaped, nothing else.
            "text": text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
            "api_app_id": APP_ID,
            "response_url": f"{self.base_url}/response/{channel}/{user}",
            "trigger_id": self.issue_trigger(user),
        }
        return await self._to_app("slash_commands", command, urlencode(command), FORM, url)

    async def click(
        self,
        user: str,
        message: Message,
        action_id: str,
        *,
        value: str | None = None,
        url: str | None = None,
    ) -> tuple[int, str]:
        """Click the button `action_id` on `message` as `user` (the one with `value`, when
        several buttons share the action_id)."""
        button, block_id = self.find_button(message, action_id, value)
        return await self.click_button(user, message, button, block_id, url=url)

    async def click_feedback(
        self, user: str, message: Message, value: str, *, url: str | None = None
    ) -> tuple[int, str]:
        """Click the feedback button (thumbs up or down) whose value is `value` on `message`."""
        action, block_id = feedback_action(message, value)
        return await self.click_button(user, message, action, block_id, url=url)

    async def click_button(
        self,
        user: str,
        message: Message,
        button: dict[str, Any],
        block_id: str = "",
        *,
        url: str | None = None,
    ) -> tuple[int, str]:
        """Deliver a click on `button` as it was shown in `message`: Slack delivers clicks on
        the copy a person still sees, even when the message has changed since."""
        action = {
            "type": button.get("type", "button"),
            "action_id": button["action_id"],
            "block_id": block_id,
            "text": button["text"],
            "value": button.get("value", ""),
            "action_ts": f"{time.time():.6f}",
        }
        payload = {
            "type": "block_actions",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": False,
                "thread_ts": message.thread_ts,
            },
            "trigger_id": self.issue_trigger(user),
            "channel": {"id": message.channel, "name": message.channel.lower()},
            "message": message.as_slack(),
            "response_url": f"{self.base_url}/response/{message.channel}/{user}",
            "actions": [action],
        }
        return await self._interact(user, payload, url)

    @staticmethod
    def find_button(
        message: Message, action_id: str, value: str | None = None
    ) -> tuple[dict[str, Any], str]:
        """(the element, its block_id): the first with `action_id` (and `value`, if given)."""
        for block in message.blocks:
            for element in [*block.get("elements", []), block.get("accessory") or {}]:
                if element.get("action_id") == action_id and value in (None, element.get("value")):
                    return element, block.get("block_id", "")
        raise LookupError(f"no {action_id} button (value {value}) on message {message.ts}")

    def post_as_person(self, user: str, channel: str, text: str, thread_ts: str | None) -> Message:
        message = Message(channel, self._next_ts(), user, text, thread_ts=thread_ts)
        self.messages[(channel, message.ts)] = message
        self._touch()
        return message

    def message_event(self, message: Message) -> str:
        return json.dumps(self.event_callback(message))

    def event_callback(self, message: Message) -> dict[str, Any]:
        """The Events API body of `message`'s `message` event."""
        event = {
            "type": "message",
            "channel": message.channel,
            "user": message.user,
            "text": message.text,
            "ts": message.ts,
            "event_ts": message.ts,
            "channel_type": "channel",
        }
        if message.thread_ts:
            event["thread_ts"] = message.thread_ts
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{message.ts.replace('.', '')}",
            "event_time": int(float(message.ts)),
        }

    async def reply(
        self, user: str, channel: str, thread_ts: str, text: str, *, url: str | None = None
    ) -> tuple[Message, int]:
        """Post a reply in a thread as `user` and deliver its `message` event to the app."""
        message = self.post_as_person(user, channel, text, thread_ts)
        event = self.event_callback(message)
        body = json.dumps(event)
        status, _ = await self._to_app("events_api", event, body, "application/json", url)
        return message, status

    async def open_home(self, user: str, *, tab: str = "home", url: str | None = None) -> int:
        """`user` opens the app's Home tab (or `tab="messages"`): the `app_home_opened` event
        Slack sends, with the view published for them before, if any."""
        event_ts = self._next_ts()
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": "D" + user.removeprefix("U"),  # the app's DM with them
            "tab": tab,
            "event_ts": event_ts,
        }
        if user in self.homes:
            event["view"] = self.homes[user]
        callback = {
            "token": VERIFICATION_TOKEN,
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{event_ts.replace('.', '')}",
            "event_time": int(float(event_ts)),
        }
        body = json.dumps(callback)
        status, _ = await self._to_app("events_api", callback, body, "application/json", url)
        return status

    # -- a person's modals --------------------------------------------------------------------

    def open_views(self, user: str) -> list[dict[str, Any]]:
        """The views open on `user`'s screen, top last, each with the `errors` shown under its
        fields and `trouble` (why Slack would say "We had some trouble connecting")."""
        return [opened.shown() for opened in self.modals.stacks.get(user, [])]

    async def submit_view(
        self,
        user: str,
        values: dict[str, Any],
        *,
        view: dict[str, Any] | None = None,
        url: str | None = None,
    ) -> tuple[int, dict[str, Any] | None]:
        """Press Submit on `user`'s top view (or `view`, matched by id) after entering `values`
        (block_id → text, number, option value or list of them; blocks not named keep what they
        hold). Slack's client refuses an empty required field or an out-of-range value without
        asking the app: then the answer is (0, None) and the view shows the errors. Otherwise
        the app's answer (HTTP status, its JSON or None) changes the stack as in Slack."""
        opened = self.modals.find(user, view)
        submitted = self.modals.with_state(opened, values)
        if refused := client_errors(submitted):
            opened.errors, opened.trouble = refused, ""
            self._touch()
            return 0, None
        payload = {
            "type": "view_submission",
            "trigger_id": self.issue_trigger(user),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        status, text = await self._interact(user, payload, url)
        answer = _json_object(text) if status == 200 else None
        self.modals.settle(user, opened, status, answer)
        self._touch()
        return status, answer

    def close_view(self, user: str) -> None:
        """Press Close (×) on `user`'s top view."""
        self.modals.close(user)
        self._touch()

    # -- the Web API --------------------------------------------------------------------------

    def _next_ts(self) -> str:
        """Like Slack's: seconds.microseconds, unique and increasing."""
        self._last_ts = max(time.time(), self._last_ts + 1e-6)
        return f"{self._last_ts:.6f}"

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        for key in ("blocks", "metadata", "view"):  # JSON text in form bodies
            if isinstance(args.get(key), str):
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(args[key])
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        status, headers, body = self._answer(method, args, request.headers.get("Authorization"))
        self.calls.append(Call(method, args, status, None if body.get("ok") else body.get("error")))
        self._touch()
        return web.json_response(body, status=status, headers=headers)

    def _answer(self, method: str, args: dict[str, Any], auth: str | None):
        token = self.app_token if method == "apps.connections.open" else self.bot_token
        if auth != f"Bearer {token}":
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        if self._failures[method]:
            status, retry_after = self._failures[method].popleft()
            return status, {"Retry-After": str(retry_after)}, {"ok": False, "error": "ratelimited"}
        if method == "chat.postMessage" and self.post_rate_per_channel:
            channel, now = args.get("channel", ""), time.monotonic()
            wait = self._last_post.get(channel, -1e9) + 1 / self.post_rate_per_channel - now
            if wait > 0:
                retry_after = str(max(1, round(wait + 0.499)))
                return 429, {"Retry-After": retry_after}, {"ok": False, "error": "ratelimited"}
            self._last_post[channel] = now
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        try:
            return 200, {}, {"ok": True, **handler(args)}
        except SlackError as error:
            return 200, {}, {"ok": False, "error": error.code, **error.extra}

    def _member_channel(self, args: dict[str, Any]) -> str:
        channel = args.get("channel", "")
        if channel not in self.channels:
            raise SlackError("channel_not_found")
        if BOT_USER_ID not in self.channels[channel]:
            raise SlackError("not_in_channel")
        return channel

    def _message(self, channel: str, ts: str) -> Message:
        try:
            return self.messages[(channel, ts)]
        except KeyError:
            raise SlackError("message_not_found") from None

    def _valid_blocks(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        blocks = args.get("blocks") or []
        try:
            check_blocks(blocks)
        except BlockKitError as error:
            raise SlackError("invalid_blocks", errors=[str(error)]) from None
        return blocks

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.sockets.open_url(self.base_url)}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://emulator.slack.local/",
            "team": "Emulator",
            "user": "orchestrator",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._member_channel(args)
        blocks = self._valid_blocks(args)
        thread_ts = args.get("thread_ts") or None
        if thread_ts:
            self._message(channel, thread_ts)
        message = Message(
            channel,
            self._next_ts(),
            BOT_USER_ID,
            args.get("text", ""),
            blocks,
            thread_ts,
            args.get("metadata"),
        )
        self.messages[(channel, message.ts)] = message
        return {"channel": channel, "ts": message.ts, "message": message.as_slack()}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._member_channel(args)
        message = self._message(channel, args.get("ts", ""))
        if message.user != BOT_USER_ID:
            raise SlackError("cant_update_message")
        self.check_not_streaming(channel, message.ts)
        message.blocks = self._valid_blocks(args)
        message.text = args.get("text", message.text)
        if args.get("metadata"):
            message.metadata = args["metadata"]
        message.edited += 1
        return {"channel": channel, "ts": message.ts, "text": message.text,
                "message": message.as_slack()}  # fmt: skip

    def _chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        """Slack's link shape: `p` + the ts without its dot; a reply names its thread."""
        channel = args.get("channel", "")
        if channel not in self.channels:
            raise SlackError("channel_not_found")
        message = self._message(channel, args.get("message_ts", ""))
        link = f"{PERMALINK_BASE}{channel}/p{message.ts.replace('.', '')}"
        if message.thread_ts and message.thread_ts != message.ts:
            link += "?" + urlencode({"thread_ts": message.thread_ts, "cid": channel})
        return {"channel": channel, "permalink": link}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        self._member_channel(args)
        return {"message_ts": self._next_ts()}

    def _reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._member_channel(args)
        message = self._message(channel, args.get("timestamp", ""))
        if args.get("name") in message.reactions:
            raise SlackError("already_reacted")
        message.reactions.append(args["name"])
        return {}

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._member_channel(args)
        self._message(channel, args.get("ts", ""))
        include_metadata = str(args.get("include_all_metadata", "")).lower() in {"1", "true"}
        messages = []
        for message in self.thread(channel, args["ts"]):
            shaped = message.as_slack()
            if not include_metadata:
                shaped.pop("metadata", None)
            messages.append(shaped)
        return {"messages": messages, "has_more": False, "response_metadata": {"next_cursor": ""}}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """A channel's messages (not thread replies), newest first, in one page."""
        channel = self._member_channel(args)
        include_metadata = str(args.get("include_all_metadata", "")).lower() in {"1", "true"}
        messages = []
        for message in reversed(self.roots(channel)):
            shaped = message.as_slack()
            if not include_metadata:
                shaped.pop("metadata", None)
            messages.append(shaped)
        return {"messages": messages, "has_more": False, "response_metadata": {"next_cursor": ""}}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.modals.open(args)

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.modals.update(args)

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.modals.push(args)

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        """Set a person's Home tab: a `home` view of at most 100 blocks."""
        user, view = args.get("user_id"), args.get("view")
        if not user or not isinstance(view, dict) or view.get("type") != "home":
            raise SlackError("invalid_arguments")
        blocks = view.get("blocks")
        if not isinstance(blocks, list):
            raise SlackError("invalid_arguments")
        try:
            check_blocks(blocks, MAX_HOME_BLOCKS)
        except BlockKitError as error:
            raise SlackError("invalid_arguments", errors=[str(error)]) from None
        published = {
            **view,
            "id": "V" + uuid.uuid4().hex[:10].upper(),
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        }
        self.homes[user] = published
        return {"view": published}

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.responses.append(
            {"channel": request.match_info["channel"], "user": request.match_info["user"], **body}
        )
        self._touch()
        return web.Response(text="ok")


def _json_object(text: str) -> dict[str, Any] | None:
    """An app's answer to an interaction: a JSON object, or None (an empty or plain ack)."""
    try:
        answer = json.loads(text)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None
