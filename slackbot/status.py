"""The status line under a thread while a step runs (`assistant.threads.setStatus`): "is
thinking…", "is running <tool or node>…"; refreshed before Slack's 2-minute expiry, cleared
when the step ends, pauses for a review, or fails. It is cosmetic: a failure is logged."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

THINKING = "is thinking…"
REFRESH = 90.0  # seconds: Slack clears a status after 2 minutes without a message


def running(name: str) -> str:
    return f"is running {name}…"


class Status:
    def __init__(
        self, client: AsyncWebClient, channel: str, thread_ts: str, refresh: float = REFRESH
    ) -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.refresh = refresh
        self.text = ""
        self._shown: str | None = None
        self._timer: asyncio.Task | None = None

    async def show(self, text: str) -> None:
        self.text = text
        if self._timer is None:
            self._timer = asyncio.create_task(self._keep())
        if text != self._shown:
            await self._send(text)

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.refresh)
            await self._send(self.text)

    async def clear(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        if self._shown:
            await self._send("")

    async def _send(self, text: str) -> None:
        try:
            await self.client.api_call(
                "assistant.threads.setStatus",
                json={"channel_id": self.channel, "thread_ts": self.thread_ts, "status": text},
            )
            self._shown = text
        except SlackApiError as error:
            log.warning("could not set the status of %s: %s", self.thread_ts, error)
