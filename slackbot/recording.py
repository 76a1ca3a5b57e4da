"""Stored before acknowledged: a click, a command or a thread reply is stored first, then Slack
is told it succeeded, then it is shown (and its step resumed).

A process killed at any point then loses nothing it acknowledged: before the ack, Slack shows
the person an error (a click, a command) or sends the event again; after it, the database has
the work and what Slack still owes is in the outbox (slackbot/outbox.py) or recovered with the
run. Slack waits 3 s for the ack: store work gets RECORD_SECONDS, and the ack goes by
ACK_SECONDS whatever the database does, with a notice that it could not be saved in time
(should it store after all, it is shown as stored).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from slackbot.notices import NOT_RECORDED_IN_TIME, NOT_SAVED, describe
from slackbot.store.retry import deadline

log = logging.getLogger(__name__)

RECORD_SECONDS, ACK_SECONDS = 2.0, 2.5
Spawn = Callable[[Coroutine[Any, Any, None]], None]


@dataclass(frozen=True)
class Recorded:
    """What was stored: a notice for the person now (with the ack), and what follows the ack
    (show the answer, resume the step, post the root), which may return a notice too."""

    notice: str | None = None
    then: Callable[[], Awaitable[str | None]] | None = None

    async def show(self) -> str | None:
        """After the ack: stored already, so a failure here is logged, not told (the outbox and
        recovery finish it)."""
        if self.then is None:
            return None
        try:
            return await self.then()
        except Exception:
            log.exception("could not show or resume what was stored")
            return None


def stored_first(method: Callable[..., Coroutine[Any, Any, Recorded]]):
    """An orchestrator method whose store work Slack's ack waits for: within ACK_SECONDS, a
    failure told as "couldn't save" (nothing stored, the person may try again)."""

    @functools.wraps(method)
    async def in_time(self: Any, *args: Any, **kwargs: Any) -> Recorded:
        with deadline(RECORD_SECONDS):  # the task below runs in a copy of this context
            storing = asyncio.ensure_future(_told_on_failure(method(self, *args, **kwargs)))
        try:
            return await asyncio.wait_for(asyncio.shield(storing), ACK_SECONDS)
        except TimeoutError:
            log.warning("%s was not stored within %g s", method.__name__, ACK_SECONDS)
            self.driver.spawn(_show_when_stored(storing))
            return Recorded(NOT_RECORDED_IN_TIME)

    return in_time


async def _told_on_failure(recording: Awaitable[Recorded]) -> Recorded:
    try:
        return await recording
    except Exception as error:
        log.exception("could not store what a person did")
        return Recorded(NOT_SAVED.format(why=describe(error)))


async def _show_when_stored(storing: asyncio.Future[Recorded]) -> None:
    """Stored after the person was told it was not: shown as stored anyway."""
    await (await storing).show()
