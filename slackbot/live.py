"""Live work: a running step shown as it happens, in its thread. Each step writes one streamed
message (`StreamWriter`): a `messages` graph its AI text and a task card per tool call, any
other graph a plan with a task per node; and the status line says what runs.

`Live` holds what every stream of the process shares: the Web API client for stream calls
(429s come back to the writer, which merges instead of waiting), the appends' budget, and
ORCHESTRATE_STREAMING.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from slackbot.engine.base import GraphState
from slackbot.engine.events import (
    Done,
    Event,
    Interrupted,
    NodeFinished,
    NodeStarted,
    TextDelta,
    ToolFinished,
    ToolStarted,
)
from slackbot.status import THINKING, Status, running
from slackbot.store import Run
from slackbot.streaming import FIRST_FLUSH, UPDATE_EVERY, Budget, Place, StreamWriter, View

SHORT = 200  # characters of a task card's details and output

# An answer's end: the blocks shown below its content (feedback) and its metadata.
Answer = tuple[list[dict[str, Any]], dict[str, Any]]
# Once a step ended well: the answer's end when its message is the turn's answer, else None.
Ending = Callable[[GraphState | None, View], Awaitable[Answer | None]]


@dataclass
class Live:
    client: AsyncWebClient  # without 429 retries: the writer merges chunks meanwhile
    streaming: bool = True  # ORCHESTRATE_STREAMING=off: post and update instead
    budget: Budget = field(default_factory=Budget)
    first_flush: float = FIRST_FLUSH
    update_every: float = UPDATE_EVERY
    status_refresh: float = 90.0

    async def run_step(
        self,
        run: Run,
        events: AsyncIterator[Event],
        *,
        messages: bool,
        ts: str | None = None,
        on_ts: Callable[[str], Awaitable[None]] | None = None,
        ending: Ending | None = None,
    ) -> tuple[GraphState | None, StreamWriter, bool]:
        """Run a step, showing it; (the state `Done` carries, the step's writer, whether its
        message ended as the answer: `ending` said so once the step ended well)."""
        writer = self.writer(run, messages=messages, ts=ts, on_ts=on_ts)
        thread = run.thread
        assert thread
        status = Status(self.client, run.channel_id, thread, self.status_refresh)
        shown = Shown(writer, status, messages, run.topic)
        state, ended, answer = None, False, None
        await status.show(THINKING)
        try:
            async for event in events:
                if isinstance(event, Done):
                    state = event.state
                else:
                    await shown.event(event)
                if writer.stopped_by_user:
                    await _closed(events)  # the graph stops here: the turn is cancelled
                    break
            ended = not writer.stopped_by_user
        except asyncio.CancelledError:  # shutting down: the recovered step finishes the message
            writer.abandon()
            raise
        finally:
            if not writer.abandoned:
                await status.clear()
                shown.pause_open_tasks()
                if ended and ending is not None:
                    answer = await ending(state, writer.view)
                await writer.close(*(answer or (None, None)))
        return state, writer, answer is not None and writer.ts is not None

    def writer(
        self,
        run: Run,
        *,
        messages: bool,
        ts: str | None = None,
        on_ts: Callable[[str], Awaitable[None]] | None = None,
    ) -> StreamWriter:
        """The writer of one message in the run's thread (`ts`: finish that one by updates)."""
        assert run.thread
        place = Place(run.channel_id, run.thread, run.started_by, run.team_id)
        return StreamWriter(
            self.client,
            self.budget,
            place,
            streaming=self.streaming,
            plan=not messages,
            ts=ts,
            on_ts=on_ts,
            first_flush=self.first_flush,
            update_every=self.update_every,
        )

    async def finish(self, run: Run, ts: str, text: str, answer: Answer) -> None:
        """A step's message left unfinished (the app stopped after its graph had ended) becomes
        the answer: stopped if it still streams, then updated to the answer's text."""
        writer = self.writer(run, messages=True, ts=ts)
        writer.view.text = text  # written whole, at once
        await writer.close(*answer)


async def _closed(events: AsyncIterator[Event]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()


class Shown:
    """Events → what the writer and the status show."""

    def __init__(self, writer: StreamWriter, status: Status, messages: bool, topic: str) -> None:
        self.writer = writer
        self.status = status
        self.messages = messages
        self.topic = topic
        self._open: dict[str, str] = {}  # task id → title, still in progress
        self._nodes = 0
        self._said: str | None = None  # the AI message whose text was written last

    async def event(self, event: Event) -> None:
        writer = self.writer
        if self.messages:
            if isinstance(event, TextDelta):
                if self._said is not None and event.message_id != self._said:
                    writer.text("\n\n")  # a new AI message ("Let me check." … "It is sunny.")
                self._said = event.message_id
                writer.text(event.text)
            elif isinstance(event, ToolStarted):
                self._open[event.call_id] = event.name
                writer.task(event.call_id, event.name, "in_progress", details=short(event.args))
                await self.status.show(running(event.name))
            elif isinstance(event, ToolFinished):
                self._open.pop(event.call_id, None)
                status = "complete" if event.ok else "error"
                writer.task(event.call_id, event.name, status, output=short(event.result))
                await self.status.show(THINKING)
        elif isinstance(event, NodeStarted):
            if not self._nodes:
                writer.plan_title(self.topic or "Working")
            self._nodes += 1
            task_id = f"{event.name}-{self._nodes}"
            self._open[task_id] = event.name
            writer.task(task_id, event.name, "in_progress")
            await self.status.show(running(event.name))
        elif isinstance(event, NodeFinished):
            for task_id, name in list(self._open.items()):
                if name == event.name:
                    del self._open[task_id]
                    writer.task(task_id, name, "complete")
            await self.status.show(THINKING)
        elif isinstance(event, Interrupted):
            pass

    def pause_open_tasks(self) -> None:
        """A step that stops (an interrupt, a failure) leaves its open tasks pending."""
        for task_id, name in self._open.items():
            self.writer.task(task_id, name, "pending")
        self._open.clear()


def short(value: Any) -> str:
    if isinstance(value, dict):
        text = ", ".join(f"{k}={_plain(v)}" for k, v in value.items())
    else:
        text = _plain(value)
    text = " ".join(text.split())
    return text if len(text) <= SHORT else text[: SHORT - 1] + "…"


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)
