"""The aiohttp server: Slack requests at POST /slack/events, health at GET /healthz, metrics
at GET /metrics. Requests are checked in slack_requests.py, Socket Mode connects in
socket_mode.py, and listeners that raise are guarded in listener_guards.py."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp

from slackbot.health import DatabaseHealth, langgraph_health
from slackbot.inflight import InFlight
from slackbot.listener_guards import guard_listeners
from slackbot.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from slackbot.services import Services, open_services
from slackbot.settings import Settings, StartupError
from slackbot.slack_app import create_bolt_app
from slackbot.slack_client import check_bot_token
from slackbot.slack_requests import (
    MalformedRequest,
    bolt_request,
    parse_slack_body,
    signed_by_slack,
)
from slackbot.socket_mode import connect_socket_mode

log = logging.getLogger(__name__)

BOLT_APP = web.AppKey("bolt_app", AsyncApp)
SERVICES = web.AppKey("services", Services)
HEALTH = web.AppKey("health", DatabaseHealth)

MAX_BODY_BYTES = 256 * 1024  # Slack's own requests are a few KB; a message's blocks stay far below
SHUTDOWN_SECONDS = 10.0  # after SIGTERM/SIGINT, then whatever is left is cancelled
# Of those, what requests already taken (answered HTTP requests, acked clicks still being
# stored) get to finish; then the unfinished are stopped and their people told.
GRACE_SECONDS = 7.0


# -- Slack's requests (HTTP mode) ----------------------------------------------------------------


def _refuse(status: int, error: str, reason: str) -> web.Response:
    log.warning("refused a request to /slack/events (%s): %s", status, reason)
    return web.json_response({"error": error}, status=status)


async def slack_events(request: web.Request) -> web.Response:
    """Verify the signature on the raw bytes first, then parse; anything malformed is a 4xx."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _refuse(413, "request too large", f"{request.content_length} bytes")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _refuse(413, "request too large", f"over {MAX_BODY_BYTES} bytes")
    except (aiohttp.ClientError, ConnectionError, asyncio.IncompleteReadError) as error:
        return _refuse(400, "invalid request", f"body not received: {type(error).__name__}")
    secret = request.app[SERVICES].settings.slack_signing_secret or ""
    if not secret or not signed_by_slack(secret, request.headers, raw, time.time()):
        return _refuse(401, "invalid request", "no valid Slack signature")
    try:
        text = raw.decode("utf-8")
        body = parse_slack_body(text, request.headers.get("Content-Type", ""))
    except UnicodeDecodeError:
        return _refuse(400, "invalid request", "body is not UTF-8")
    except MalformedRequest as error:
        return _refuse(400, "invalid request", str(error))
    try:
        bolt_response = await request.app[BOLT_APP].async_dispatch(
            bolt_request(request, text, body)
        )
    except Exception as error:
        # Bolt choked on a payload shape the checks above do not know (listeners' own errors
        # never get here): the request is what is wrong, say so in one line.
        return _refuse(400, "invalid request", f"Bolt could not read it: {error!r}")
    return await to_aiohttp_response(bolt_response)


# -- the web app ---------------------------------------------------------------------------------


async def healthz(request: web.Request) -> web.Response:
    status, body = await request.app[HEALTH].answer()  # with LANGGRAPH_URL, its server too
    return web.json_response(body, status=status)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus' text format; counters are this process's, runs waiting are counted now."""
    body = await request.app[SERVICES].metrics.render()
    return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})


def create_web_app(services: Services, bolt_app: AsyncApp) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[SERVICES] = services
    app[BOLT_APP] = bolt_app
    app[HEALTH] = health = DatabaseHealth(
        services.store.db, langgraph=langgraph_health(services.orchestrator.catalog)
    )
    if not services.settings.socket_mode:
        app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)

    async def close_health(_: web.Application) -> None:
        await health.close()

    app.on_cleanup.append(close_health)
    return app


# -- start-up and shutdown -----------------------------------------------------------------------


@dataclass(frozen=True)
class RunningApp:
    services: Services
    url: str  # http://host:port of this process's HTTP server


@asynccontextmanager
async def running_app(settings: Settings, host: str = "0.0.0.0") -> AsyncIterator[RunningApp]:
    """The whole app, started: HTTP (health; Slack in HTTP mode), Socket Mode if set, recovery.

    Start-up problems a person must fix raise StartupError with one line saying which.
    """
    async with aiohttp.ClientSession() as http:
        await check_bot_token(settings, http)
    async with open_services(settings) as services:
        bolt_app = create_bolt_app(settings, services)
        guard_listeners(bolt_app)
        inflight = InFlight()
        inflight.install(bolt_app)
        runner = web.AppRunner(
            create_web_app(services, bolt_app), access_log=None, shutdown_timeout=GRACE_SECONDS
        )
        await runner.setup()
        socket_handler = None
        started = False
        try:
            try:
                await web.TCPSite(runner, host, settings.port).start()
            except OSError as error:
                reason = error.strerror or str(error)
                raise StartupError(f"cannot listen on port {settings.port}: {reason}") from None
            port = runner.addresses[0][1]
            if settings.socket_mode:
                socket_handler = await connect_socket_mode(settings, bolt_app)
            mode = "Socket Mode" if socket_handler else "HTTP mode (POST /slack/events)"
            log.info("slack-orchestrate listening on port %s in %s", port, mode)
            await services.orchestrator.start_background_work()
            started = True
            yield RunningApp(services, f"http://127.0.0.1:{port}")
        finally:
            if started:
                log.info("shutting down")
            # A deploy: stop taking requests (new ones are refused, the port is closed), let
            # those already taken be stored, then close (services close with this block).
            deadline = asyncio.get_running_loop().time() + GRACE_SECONDS
            inflight.closing = True
            await runner.cleanup()  # waits for HTTP requests in flight (each acks within 3 s)
            await inflight.finish(max(0.0, deadline - asyncio.get_running_loop().time()))
            if socket_handler:
                await socket_handler.close_async()


async def serve(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT; a signal during start-up stops it at once.

    A second signal, or SHUTDOWN_SECONDS after the first, cancels whatever shutdown is left.
    """
    loop = asyncio.get_running_loop()
    stop, started = asyncio.Event(), asyncio.Event()

    async def run() -> None:
        async with running_app(settings):
            started.set()
            await stop.wait()

    app = asyncio.create_task(run(), name="slack-orchestrate")

    def on_signal() -> None:
        if stop.is_set() or not started.is_set():
            app.cancel()
        else:
            loop.call_later(SHUTDOWN_SECONDS, app.cancel)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    try:
        await app
    except asyncio.CancelledError:
        if not app.cancelled():
            raise
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
