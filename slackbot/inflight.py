"""Slack requests this process took and is still handling: a shutdown lets them finish.

Bolt acknowledges a click, a command or an event before the listener has stored it: the
listener goes on in a task of its own that nobody awaits. On SIGTERM (a deploy, `docker stop`)
the process must not exit under those tasks. Every listener task is tracked from its first
step (Bolt's listener start handler runs inside it); on shutdown new requests are refused
(Slack sends an unanswered Socket Mode envelope again, elsewhere or after the restart), the
tracked ones get a bounded grace period, and any still unfinished is stopped, logged, and its
person is told to look and try again: acknowledged work never vanishes silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.listener.async_listener_start_handler import AsyncListenerStartHandler
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

NOT_FINISHED = (
    "The app restarted while it was saving what you just did. Please look at the message:"
    " if it does not show your answer, do it again."
)
TELL_SECONDS = 2.0  # for telling the people whose requests could not finish


class InFlight:
    def __init__(self) -> None:
        self.closing = False
        self._work: dict[asyncio.Task, AsyncBoltContext] = {}

    def install(self, bolt_app: AsyncApp) -> None:
        inflight = self

        async def refuse_when_closing(next_: Any) -> BoltResponse | None:
            if inflight.closing:  # not acknowledged: Slack shows an error or sends it again
                return BoltResponse(status=503, body="shutting down")
            await next_()
            return None

        class Track(AsyncListenerStartHandler):
            async def handle(self, request: AsyncBoltRequest, response: Any) -> None:
                inflight._track(request.context)

        bolt_app.middleware(refuse_when_closing)
        bolt_app.listener_runner.listener_start_handler = Track()

    def _track(self, context: AsyncBoltContext) -> None:
        task = asyncio.current_task()
        if task is None:
            return
        self._work[task] = context
        task.add_done_callback(lambda done: self._work.pop(done, None))

    @property
    def count(self) -> int:
        return len(self._work)

    async def finish(self, grace: float) -> None:
        """Take no more requests; wait up to `grace` seconds for those in hand; stop the rest,
        log each, and tell its person."""
        self.closing = True
        pending = set(self._work)
        if pending:
            log.info("waiting for %d Slack request(s) still being handled", len(pending))
            _, pending = await asyncio.wait(pending, timeout=grace)
        left = [(task, self._work.get(task)) for task in pending]
        for task, _ in left:
            task.cancel()
        await asyncio.gather(*(task for task, _ in left), return_exceptions=True)
        if left:
            await asyncio.wait(
                [asyncio.ensure_future(_tell(context)) for _, context in left if context],
                timeout=TELL_SECONDS,
            )


async def _tell(context: AsyncBoltContext) -> None:
    user, channel = context.user_id, context.channel_id
    log.error(
        "shutting down before a Slack request was handled to the end (user %s, channel %s):"
        " telling them to check and try again",
        user,
        channel,
    )
    with contextlib.suppress(Exception):
        if context.respond is not None:
            await context.respond(
                text=NOT_FINISHED, response_type="ephemeral", replace_original=False
            )
        elif user and channel:
            await context.client.chat_postEphemeral(channel=channel, user=user, text=NOT_FINISHED)
