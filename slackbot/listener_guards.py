"""Listeners that raise: the ack a listener already gave is kept, and the failure is logged
with a 200 for Slack (a 500 would show the person an error and make Slack retry an event)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)


class _FirstAck(AsyncAck):
    """An ack that keeps its first answer.

    When a listener raises after `await ack()`, slack_bolt 1.30 sets `ack.response = None`
    (listener/asyncio_runner.py); the request then waits out the 3 s ack timeout and Slack
    gets a 404 "unhandled request" instead of the answer the listener already gave.
    """

    @property  # type: ignore[override]
    def response(self) -> BoltResponse | None:
        return self._response

    @response.setter
    def response(self, value: BoltResponse | None) -> None:
        if value is not None or getattr(self, "_response", None) is None:
            self._response = value


async def _keep_first_ack(context: AsyncBoltContext, next_: Callable[[], Awaitable[Any]]) -> None:
    context["ack"] = _FirstAck()
    await next_()


async def _listener_failed(error: Exception, response: BoltResponse | None) -> BoltResponse | None:
    """Bolt's error handler, for listeners and middleware: log the failure, and Slack gets a 200
    at once (an empty one if nothing was acked yet); a 500 would show the person an error and
    make Slack retry an event."""
    log.error(
        "handling a Slack request failed: %s: %s", type(error).__name__, error, exc_info=error
    )
    return None if response is None else BoltResponse(status=200, body="")


def guard_listeners(bolt_app: AsyncApp) -> None:
    bolt_app.middleware(_keep_first_ack)
    bolt_app.error(_listener_failed)
