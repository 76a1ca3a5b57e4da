"""One writer per streamed message: the only code calling `chat.startStream` / `appendStream` /
`stopStream`. It owns the message's buffer, its timer and its fallback.

Chunks are buffered and flushed on size and on time: the first within `first_flush` of the
first content (with `startStream`), then appends paced by one `Budget` shared by every stream
of the process (`appendStream` is Tier 4). A 429 puts the chunks back (merged with what came
since), never drops them. Where streaming is unavailable (Slack refuses `startStream`, or
streaming is off) the same view is written with `chat.postMessage` + `chat.update` at most once
per `update_every`; a stream that ended early (`message_not_in_streaming_state`) is finished
with `chat.update` on the same message. The final text is the same either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slackbot.safe_stream import SafeStream
from slackbot.safe_text import clip, neutralize

log = logging.getLogger(__name__)

FIRST_FLUSH = 0.2  # seconds from a stream's first content to Slack: within 250 ms, HTTP included
FLUSH_CHARS = 256  # buffered text that is flushed without waiting
UPDATE_EVERY = 1.0  # the fallback's chat.update pace, per message
MAX_MARKDOWN = 12_000  # characters of markdown_text in one call
REFUSED = {"unknown_method", "method_not_supported_for_channel_type", "ratelimited",
           "rate_limited", "not_allowed_token_type", "invalid_chunks"}  # fmt: skip
ENDED = "message_not_in_streaming_state"
STOPPED = "stopped_by_user"


class Budget:
    """`appendStream`'s tier, one token bucket for every stream of this process."""

    def __init__(self, per_minute: float = 100.0, burst: int = 10) -> None:
        self.rate = per_minute / 60
        self.burst = burst
        self._tokens = float(burst)
        self._at = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
                self._at = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


@dataclass
class View:
    """What the message shows: its text so far and its tasks (for the fallback and restarts)."""

    text: str = ""
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    title: str = ""

    def add(self, chunk: dict[str, Any]) -> None:
        if chunk["type"] == "markdown_text":
            self.text += chunk["text"]
        elif chunk["type"] == "task_update":
            self.tasks[chunk["id"]] = self.tasks.get(chunk["id"], {}) | chunk
        elif chunk["type"] == "plan_update":
            self.title = chunk["title"]

    def blocks(self) -> list[dict[str, Any]]:
        lines = [f"{_MARK.get(t['status'], '•')} *{t['title']}*" for t in self.tasks.values()]
        shown: list[dict[str, Any]] = []
        if self.title:
            shown.append({"type": "context", "elements": [{"type": "mrkdwn", "text": self.title}]})
        if lines:
            shown.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
        if self.text:
            shown.append({"type": "markdown", "text": self.text[:MAX_MARKDOWN]})
        return shown

    def fallback_text(self) -> str:
        return self.text or self.title or "…"


_MARK = {"pending": "◻️", "in_progress": "⏳", "complete": "✅", "error": "⚠️"}


def merge(pending: list[dict[str, Any]], chunk: dict[str, Any]) -> None:
    """Add a chunk to those not yet sent: text joins the text before it, a task's update
    joins its earlier one of the same status (so a late flush sends less, and loses nothing)."""
    last = pending[-1] if pending else None
    if (
        last
        and chunk["type"] == last["type"] == "markdown_text"
        and len(last["text"]) + len(chunk["text"]) <= MAX_MARKDOWN
    ):
        last["text"] += chunk["text"]
        return
    if chunk["type"] == "task_update":  # each status a task goes through is sent, in order
        same = [c for c in pending if c["type"] == "task_update" and c["id"] == chunk["id"]]
        if same and same[-1]["status"] == chunk["status"]:
            same[-1].update(chunk)
            return
    pending.append(dict(chunk))


@dataclass(frozen=True)
class Place:
    """Where a message goes: a thread, and who it is for (required by Slack in channels)."""

    channel: str
    thread_ts: str
    user: str
    team: str


class StreamWriter:
    def __init__(
        self,
        client: AsyncWebClient,
        budget: Budget,
        place: Place,
        *,
        streaming: bool = True,
        plan: bool = False,
        ts: str | None = None,
        on_ts: Callable[[str], Awaitable[None]] | None = None,
        first_flush: float = FIRST_FLUSH,
        update_every: float = UPDATE_EVERY,
    ) -> None:
        self.client = client
        self.budget = budget
        self.place = place
        self.plan = plan
        self.ts = ts  # a message of an earlier attempt (a restart) is finished with updates
        self.mode = "update" if ts else ("stream" if streaming else "post")
        self.on_ts = on_ts
        self.first_flush = first_flush
        self.update_every = update_every
        self.view = View()
        self.stopped_by_user = False
        self._safe = SafeStream()  # text held back until it cannot turn into a ping or a link
        self._pending: list[dict[str, Any]] = []
        self._more = asyncio.Event()
        self._closing = False
        self._first_at: float | None = None
        self._last_write = 0.0
        self._pump: asyncio.Task | None = None
        self._pacing = False  # the pump waits for the appends' budget
        self.abandoned = False
        self._ended_old = ts is None  # a message left streaming by a crash is stopped first

    # -- what the message shows ---------------------------------------------------------------

    def text(self, delta: str) -> None:
        """LLM text: shown as it comes, never able to ping anyone or disguise a link."""
        if safe := self._safe.feed(delta):
            self._add({"type": "markdown_text", "text": safe})

    def task(self, task_id: str, title: str, status: str, **more: str) -> None:
        self._flush_text()  # what was said before the tool call shows before its card
        chunk = {"type": "task_update", "id": task_id, "title": neutralize(title), "status": status}
        self._add(chunk | {k: neutralize(v) for k, v in more.items() if v})

    def plan_title(self, title: str) -> None:
        self._add({"type": "plan_update", "title": clip(neutralize(title), 150)})

    def _flush_text(self) -> None:
        if safe := self._safe.finish():
            self._add({"type": "markdown_text", "text": safe})

    def _add(self, chunk: dict[str, Any]) -> None:
        if self._closing or self.stopped_by_user:
            return
        self.view.add(chunk)
        merge(self._pending, chunk)
        if self._first_at is None:
            self._first_at = time.monotonic()
        self._more.set()
        if self._pump is None:
            self._pump = asyncio.create_task(self._run())

    # -- writing it ---------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            while not self._closing:
                if not self._pending:
                    self._more.clear()
                    await self._more.wait()
                    continue
                if self.mode == "stream" and self.ts is None:
                    if await self._wait(self._first_at or 0.0, self.first_flush):
                        await self._start()
                elif self.mode == "stream":
                    self._pacing = True  # nothing in flight: close() need not wait for it
                    await self.budget.take()
                    self._pacing = False
                    if not self._closing:
                        await self._append()
                elif self.mode in ("post", "update"):
                    if await self._wait(self._last_write, self.update_every, size=False):
                        await self._write_whole()
                else:
                    return
        except Exception:
            log.exception("streaming a message failed; the end writes it whole")
            if self.mode == "stream" and self.ts:
                self.mode = "update"
            elif self.mode == "stream":
                self.mode = "post"

    async def _wait(self, since: float, delay: float, size: bool = True) -> bool:
        """Until `delay` after `since`, or until enough text is buffered; False if closing."""
        while not self._closing:
            left = since + delay - time.monotonic()
            if left <= 0 or (size and _chars(self._pending) >= FLUSH_CHARS):
                return True
            self._more.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._more.wait(), left)
        return False

    async def _call(self, method: str, **args: Any) -> dict[str, Any]:
        response = await self.client.api_call(method, json=args)
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def _start(self, chunks: list[dict[str, Any]] | None = None) -> None:
        sent, self._pending = (chunks, self._pending) if chunks is not None else (self._pending, [])
        place = self.place
        try:
            answer = await self._call(
                "chat.startStream",
                channel=place.channel,
                thread_ts=place.thread_ts,
                recipient_user_id=place.user,
                recipient_team_id=place.team,
                task_display_mode="plan" if self.plan else "timeline",
                chunks=sent,
            )
        except SlackApiError as error:
            log.info("streaming refused (%s): posting and updating instead", _code(error))
            self.mode = "post"
            await self._write_whole()
            return
        self.ts = str(answer["ts"])
        self._last_write = time.monotonic()
        if self.on_ts:
            await self.on_ts(self.ts)

    async def _append(self) -> None:
        sent, self._pending = self._pending, []
        try:
            await self._call(
                "chat.appendStream", channel=self.place.channel, ts=self.ts, chunks=sent
            )
            self._last_write = time.monotonic()
        except SlackApiError as error:
            self._pending = _merged(sent, self._pending)
            await self._refused(error)

    async def _refused(self, error: SlackApiError) -> None:
        code = _code(error)
        if code in ("ratelimited", "rate_limited") or error.response.status_code == 429:
            await asyncio.sleep(_retry_after(error))
        elif code == STOPPED:
            self.stopped_by_user = True
            self.mode = "done"
            self._pending = []
        else:  # ended early (message_not_in_streaming_state) or refused: finish it by updates
            log.info("stream %s ended (%s): updating it instead", self.ts, code)
            self.mode = "update"

    def abandon(self) -> None:
        """Stop writing (the process is going away): the message is finished on recovery."""
        self.abandoned = self._closing = True
        if self._pump is not None:
            self._pump.cancel()

    async def _write_whole(
        self, extra: list[dict[str, Any]] | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        self._pending = []
        if not self._ended_old and self.ts is not None:
            self._ended_old = True
            with contextlib.suppress(SlackApiError):  # it may have ended on its own
                await self._call("chat.stopStream", channel=self.place.channel, ts=self.ts)
        shown = self.view.blocks() + (extra or [])
        args: dict[str, Any] = {"text": self.view.fallback_text(), "blocks": shown}
        if metadata:
            args["metadata"] = metadata
        if self.ts is None:
            response = await self.client.chat_postMessage(
                channel=self.place.channel, thread_ts=self.place.thread_ts, **args
            )
            self.ts = str(response["ts"])
            if self.on_ts:
                await self.on_ts(self.ts)
        else:
            await self.client.chat_update(channel=self.place.channel, ts=self.ts, **args)
        self._last_write = time.monotonic()

    async def close(
        self,
        blocks: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> str | None:
        """Send what is left and end the message, `blocks` shown after its content and
        `metadata` on it (both for an answer); its ts (None: nothing was ever shown)."""
        self._flush_text()
        self._closing = True
        self._more.set()
        if self._pump is not None:
            if self._pacing:  # the stop carries what waits: it is not paced by the appends'
                self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)  # its own cancel only
        if self.mode == "stream":
            if self.ts is None and self._pending:
                await self._start()
            if self.mode == "stream" and self.ts is not None:
                await self._stop(blocks, metadata)
        if self.mode in ("post", "update") and (
            self._pending or self.ts is None or blocks or metadata
        ):
            await self._finish_whole(blocks, metadata)
        return self.ts

    async def _stop(
        self, blocks: list[dict[str, Any]] | None, metadata: dict[str, Any] | None
    ) -> None:
        for _attempt in range(5):
            args: dict[str, Any] = {"channel": self.place.channel, "ts": self.ts}
            if self._pending:
                args["chunks"] = self._pending
            if blocks:
                args["blocks"] = blocks
            if metadata:
                args["metadata"] = metadata
            try:
                await self._call("chat.stopStream", **args)
                self._pending = []
                return
            except SlackApiError as error:
                await self._refused(error)
                if self.mode != "stream":
                    return

    async def _finish_whole(
        self, blocks: list[dict[str, Any]] | None, metadata: dict[str, Any] | None
    ) -> None:
        if self.ts is not None:
            wait = self._last_write + self.update_every - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        if self.view.text or self.view.tasks:
            await self._write_whole(blocks, metadata)


def _merged(first: list[dict[str, Any]], then: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for chunk in [*first, *then]:
        merge(out, chunk)
    return out


def _chars(chunks: list[dict[str, Any]]) -> int:
    return sum(len(c.get("text", "")) for c in chunks)


def _code(error: SlackApiError) -> str:
    data = error.response.data if isinstance(error.response.data, dict) else {}
    return str(data.get("error") or f"http_{error.response.status_code}")


def _retry_after(error: SlackApiError) -> float:
    try:
        return max(0.0, float(error.response.headers.get("Retry-After", "1")))
    except (TypeError, ValueError):
        return 1.0
