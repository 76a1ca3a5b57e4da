"""Socket Mode start-up: connected at start-up with one line per failed attempt, and kept
connected by slack_sdk with a fresh single-use URL for each reconnection."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp

from slackbot.settings import Settings
from slackbot.slack_client import open_socket_url

log = logging.getLogger(__name__)

SOCKET_CONNECT_SECONDS = 30.0  # for the WebSocket after apps.connections.open gave its URL
# slack_sdk pings and checks its Socket Mode connection this often: a connection that dropped is
# replaced within it (Bolt's handler defaults to 10 s; slack_sdk's own client to 5 s).
SOCKET_PING_SECONDS = 5.0


class _OneLineLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """slack_sdk's Socket Mode client logs a whole traceback for each failed (re)connection."""

    @property
    def level(self) -> int:
        """slack_bolt reads `logger.level` after every ack (adapter/socket_mode)."""
        return self.logger.getEffectiveLevel()

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        kwargs.pop("exc_info", None)
        kwargs.pop("stack_info", None)
        return " ".join(str(msg).split()), kwargs


class _FreshUrlSession:
    """The aiohttp session slack_sdk's Socket Mode client connects with, except that a failed
    connection forgets its URL: the URL is single use, and slack_sdk's retry loop would try
    the same one forever (its `connect` asks for a new URL only when it has none)."""

    def __init__(self, client: Any, session: aiohttp.ClientSession) -> None:
        self._client = client
        self._session = session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    async def ws_connect(self, *args: Any, **kwargs: Any) -> aiohttp.ClientWebSocketResponse:
        try:
            return await self._session.ws_connect(*args, **kwargs)
        except BaseException:
            self._client.wss_uri = None  # the next attempt calls apps.connections.open first
            raise


async def connect_socket_mode(settings: Settings, bolt_app: AsyncApp) -> Any:
    """Socket Mode, connected: a rejected app token is a StartupError; while Slack cannot be
    reached, one line per attempt with back-off (slack_sdk alone would retry a rejected token
    forever, a traceback every 10 s, and reuse a single-use URL).

    Once connected, slack_sdk keeps the connection: after Slack's `disconnect` or a dropped
    connection it asks for a new URL through `bolt_app.client` (so at SLACK_API_URL) and
    connects again by itself, with a new URL for each attempt (_FreshUrlSession).
    """
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    socket_log = _OneLineLog(log, {})
    while True:
        async with aiohttp.ClientSession() as http:
            url = await open_socket_url(settings, http)
        handler = AsyncSocketModeHandler(
            bolt_app,
            settings.slack_app_token,
            logger=socket_log,  # type: ignore[arg-type]
            ping_interval=SOCKET_PING_SECONDS,
        )
        client = handler.client
        client.aiohttp_client_session = _FreshUrlSession(client, client.aiohttp_client_session)
        client.wss_uri = url
        try:
            await asyncio.wait_for(handler.client.connect(), SOCKET_CONNECT_SECONDS)
            return handler
        except TimeoutError:
            log.warning("no Socket Mode connection within %g s; retrying", SOCKET_CONNECT_SECONDS)
            await handler.close_async()
        except BaseException:
            await handler.close_async()
            raise
