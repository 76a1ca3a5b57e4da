"""The aiohttp server: Slack requests at POST /slack/events, health at GET /healthz, metrics
at GET /metrics."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from slackbot.health import DatabaseHealth, langgraph_health
from slackbot.inflight import InFlight
from slackbot.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from slackbot.services import Services, open_services
from slackbot.settings import Settings, StartupError
from slackbot.slack_app import create_bolt_app
from slackbot.slack_client import check_bot_token, open_socket_url

log = logging.getLogger(__name__)

BOLT_APP = web.AppKey("bolt_app", AsyncApp)
SERVICES = web.AppKey("services", Services)
HEALTH = web.AppKey("health", DatabaseHealth)

MAX_BODY_BYTES = 256 * 1024  # Slack's own requests are a few KB; a message's blocks stay far below
SIGNATURE_MAX_AGE = 5 * 60  # seconds, as Slack documents: older signed requests may be replays
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
SOCKET_CONNECT_SECONDS = 30.0  # for the WebSocket after apps.connections.open gave its URL
# slack_sdk pings and checks its Socket Mode connection this often: a connection that dropped is
# replaced within it (Bolt's handler defaults to 10 s; slack_sdk's own client to 5 s).
SOCKET_PING_SECONDS = 5.0
SHUTDOWN_SECONDS = 10.0  # after SIGTERM/SIGINT, then whatever is left is cancelled
# Of those, what requests already taken (answered HTTP requests, acked clicks still being
# stored) get to finish; then the unfinished are stopped and their people told.
GRACE_SECONDS = 7.0


# -- Slack's requests (HTTP mode) ----------------------------------------------------------------


class MalformedRequest(ValueError):
    """A signed request Bolt could not handle; the message says why, in a few words."""


def signed_by_slack(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> bool:
    """Slack's `v0` signature over the raw bytes, fresh and compared in constant time.

    slack_sdk's SignatureVerifier does the same, but raises on a non-numeric timestamp and on
    a body that is not UTF-8: an unsigned request must not get that far.
    """
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not _TIMESTAMP.fullmatch(timestamp) or abs(now - int(timestamp)) > SIGNATURE_MAX_AGE:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedRequest(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedRequest(f"{what} is not a JSON object")
    return value


# What Bolt's request parsing and matchers, and our listeners, read from a payload, and the
# type they assume (slack_bolt.request.internals and payload_utils index into these blindly).
_STRINGS = ("type", "subtype", "callback_id", "command", "action_id", "block_id", "value",
            "user_id", "channel_id", "team_id", "message_ts", "bot_id", "id",
            "response_url", "trigger_id")  # fmt: skip
_IDS = ("user", "channel", "team", "enterprise")  # an id, or an object with an `id`
_OBJECTS = ("event", "view", "message", "previous_message", "container", "item",
            "assistant_thread", "function_data")  # fmt: skip
_NEVER_NULL = ("event", "view")  # Bolt tests `"view" in body`, then reads it as an object
_LISTS_OF_OBJECTS = ("actions", "authorizations", "response_urls")
_BY_A_PERSON = ("block_actions", "interactive_message", "view_submission", "view_closed")


def _check_shape(obj: dict[str, Any], where: str, depth: int = 0) -> None:
    def fail(key: str, expected: str) -> MalformedRequest:
        return MalformedRequest(f"{where}{key} is not {expected}")

    for key in _STRINGS:
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise fail(key, "a string")
    if depth > 3:
        return
    for key in _IDS:
        value = obj.get(key)
        if isinstance(value, dict):
            _check_shape(value, f"{where}{key}.", depth + 1)
        elif value is not None and not isinstance(value, str):
            raise fail(key, "an id")
    for key in _OBJECTS:
        value = obj.get(key)
        if isinstance(value, dict):
            _check_shape(value, f"{where}{key}.", depth + 1)
        elif key in obj and (value is not None or key in _NEVER_NULL):
            raise fail(key, "an object")
    for key in _LISTS_OF_OBJECTS:
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise fail(key, "a list of objects")
        for item in value:
            _check_shape(item, f"{where}{key}[].", depth + 1)


def _check_envelope(body: dict[str, Any]) -> None:
    _check_shape(body, "")
    kind = body.get("type")
    if kind == "event_callback" and not isinstance((body.get("event") or {}).get("type"), str):
        raise MalformedRequest("event_callback without an event type")
    if kind in ("block_actions", "interactive_message"):
        actions = body.get("actions")
        if not actions or not all(isinstance(a.get("action_id"), str) for a in actions):
            raise MalformedRequest(f"{kind} without actions that have an action_id")
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("type"), str):
            raise MalformedRequest(f"{kind} without a view and its type")
        if not isinstance(view.get("state") or {}, dict):
            raise MalformedRequest(f"{kind} with a view state that is not an object")
        if view["type"] == "workflow_step" and "workflow_step" not in body:
            raise MalformedRequest(f"{kind} of a workflow step without the step")
    if kind == "workflow_step_edit" and "workflow_step" not in body:
        raise MalformedRequest(f"{kind} without the step")
    user = body.get("user")
    if kind in _BY_A_PERSON and not (isinstance(user, dict) and isinstance(user.get("id"), str)):
        raise MalformedRequest(f"{kind} without a user id")


def parse_slack_body(text: str, content_type: str) -> dict[str, Any]:
    """The payload Bolt will be given: an Events API object, an interaction or a command.

    Bolt's own parser treats any form body that merely contains the word "payload" (in a
    slash command's text, say) as an interaction without one; this one does not.
    """
    if content_type.split(";")[0].strip().lower() == "application/json" or text.startswith("{"):
        body = _json_object(text, "body")
    else:
        form = dict(parse_qsl(text, keep_blank_values=True))
        if "payload" in form:
            body = _json_object(form["payload"], "payload")
        elif "command" in form:
            missing = [f for f in ("command", "user_id", "channel_id") if not form.get(f)]
            if missing:
                raise MalformedRequest(f"slash command without {', '.join(missing)}")
            body = dict(form)
        elif "ssl_check" in form:
            body = dict(form)
        else:
            raise MalformedRequest("neither an event, an interaction nor a slash command")
    _check_envelope(body)
    return body


def _bolt_request(request: web.Request, text: str, body: dict[str, Any]) -> AsyncBoltRequest:
    bolt_request = AsyncBoltRequest(
        body="",
        query=request.query_string,
        headers=request.headers,  # type: ignore[arg-type]
    )
    # The raw text, for Bolt's own signature check; the payload as parsed and checked above.
    bolt_request.raw_body = text
    bolt_request.body = body
    bolt_request.context = build_async_context(AsyncBoltContext(), body)
    return bolt_request


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
            _bolt_request(request, text, body)
        )
    except Exception as error:
        # Bolt choked on a payload shape the checks above do not know (listeners' own errors
        # never get here): the request is what is wrong, say so in one line.
        return _refuse(400, "invalid request", f"Bolt could not read it: {error!r}")
    return await to_aiohttp_response(bolt_response)


# -- listeners that raise ------------------------------------------------------------------------


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


async def _connect_socket_mode(settings: Settings, bolt_app: AsyncApp) -> Any:
    """Socket Mode, connected: a rejected app token is a StartupError; while Slack cannot be
    reached, one line per attempt with back-off (slack_sdk alone would retry a rejected token
    forever, a traceback every 10 s, and reuse a single-use URL).

    Once connected, slack_sdk keeps the connection: after Slack's `disconnect` or a dropped
    connection it asks for a new URL through `bolt_app.client` (so at SLACK_API_URL) and
    connects again by itself, with a new URL for each attempt (_FreshUrlSession).
    """
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    socket_log = _OneLineLog(logging.getLogger(f"{__name__}.socket_mode"), {})
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
                socket_handler = await _connect_socket_mode(settings, bolt_app)
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
