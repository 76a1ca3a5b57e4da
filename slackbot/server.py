"""The aiohttp server: Slack requests at POST /slack/events, health at GET /healthz."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from slackbot.services import Services, open_services
from slackbot.settings import Settings
from slackbot.slack_app import create_bolt_app

log = logging.getLogger(__name__)

BOLT_APP = web.AppKey("bolt_app", AsyncApp)
SERVICES = web.AppKey("services", Services)


async def slack_events(request: web.Request) -> web.Response:
    # slack_sdk's verifier raises (→ 500) on a non-numeric timestamp: refuse it as unsigned.
    if not request.headers.get("X-Slack-Request-Timestamp", "").isdigit():
        return web.json_response({"error": "invalid request"}, status=401)
    bolt_request = await to_bolt_request(request)
    bolt_response = await request.app[BOLT_APP].async_dispatch(bolt_request)
    return await to_aiohttp_response(bolt_response)


async def healthz(request: web.Request) -> web.Response:
    healthy = await request.app[SERVICES].store.ping()
    return web.json_response({"ok": healthy}, status=200 if healthy else 503)


def create_web_app(services: Services, bolt_app: AsyncApp) -> web.Application:
    app = web.Application()
    app[SERVICES] = services
    app[BOLT_APP] = bolt_app
    if not services.settings.socket_mode:
        app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    return app


@dataclass(frozen=True)
class RunningApp:
    services: Services
    url: str  # http://host:port of this process's HTTP server


@asynccontextmanager
async def running_app(settings: Settings, host: str = "0.0.0.0") -> AsyncIterator[RunningApp]:
    """The whole app, started: HTTP (health; Slack in HTTP mode), Socket Mode if set, recovery."""
    async with open_services(settings) as services:
        bolt_app = create_bolt_app(settings, services)
        runner = web.AppRunner(create_web_app(services, bolt_app), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, settings.port).start()
        port = runner.addresses[0][1]
        socket_handler = None
        try:
            if settings.socket_mode:
                from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

                socket_handler = AsyncSocketModeHandler(bolt_app, settings.slack_app_token)
                await socket_handler.connect_async()
            mode = "Socket Mode" if socket_handler else "HTTP mode (POST /slack/events)"
            log.info("slack-orchestrate listening on port %s in %s", port, mode)
            await services.orchestrator.start_background_work()
            yield RunningApp(services, f"http://127.0.0.1:{port}")
        finally:
            log.info("shutting down")
            if socket_handler:
                await socket_handler.close_async()
            await runner.cleanup()


async def serve(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with running_app(settings):
        await stop.wait()
