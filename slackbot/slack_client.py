"""The Slack Web API client, with retries for 429 (after Retry-After), 5xx and connection errors."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from slackbot.settings import Settings, StartupError

log = logging.getLogger(__name__)

SLACK_API_URL = "https://slack.com/api/"
RATE_LIMIT_JITTER = 0.1  # seconds, at most, added to Retry-After
PROBE_TIMEOUT = 10  # seconds for one start-up call to Slack
FIRST_RETRY, LAST_RETRY = 1.0, 30.0  # back-off while Slack cannot be reached at start-up
# Answers that say Slack is there but having trouble: try again. Any other `ok: false` answer
# to a start-up call means the token itself is wrong, and waiting will not fix it.
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                    "request_timeout"}  # fmt: skip
WHERE_TOKEN = {
    "SLACK_BOT_TOKEN": "Slack app settings → OAuth & Permissions → Bot User OAuth Token (xoxb-…)",
    "SLACK_APP_TOKEN": "Slack app settings → Basic Information → App-Level Tokens "
    "(xapp-…, scope connections:write)",
}


class RetryAfterHandler(AsyncRateLimitErrorRetryHandler):
    """Honour 429 `Retry-After` with a small jitter.

    slack_sdk's handler adds up to a whole second of jitter to every wait; our posts to one
    thread go one after another, so that second is pure delay (measured by bench/backoff:
    20 posts under 1/s took 31 s instead of 20 s).
    """

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or RuntimeError("rate limited without a response")
        state.next_attempt_requested = True
        headers = {k.lower(): v for k, v in response.headers.items()}
        try:
            seconds = float(headers.get("retry-after", ["1"])[0])
        except ValueError:
            seconds = 1.0
        await asyncio.sleep(max(0.0, seconds) + random.random() * RATE_LIMIT_JITTER)
        state.increment_current_attempt()


class ObservedWebClient(AsyncWebClient):
    """Tells `on_error(method, error code)` about each call that failed after its retries
    (the /metrics counter of Slack API errors)."""

    def __init__(self, *, on_error: Callable[[str, str], None] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.on_error = on_error

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:  # type: ignore[override]
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as error:
            error = _with_error_code(self, api_method, error)
            if self.on_error:
                self.on_error(api_method, str(error.response.get("error")))
            raise error from None
        except (aiohttp.ClientError, TimeoutError):
            if self.on_error:
                self.on_error(api_method, "connection_error")
            raise


def _with_error_code(client: AsyncWebClient, method: str, error: SlackApiError) -> SlackApiError:
    """The error as a JSON answer of Slack's: `error.response.get("error")` is always a code.

    A proxy's 5xx with a text or HTML body reaches slack_sdk as a str (or as the raw HTTP
    response): it is described as `http_<status>` instead of failing on `.get`."""
    response = error.response
    data = getattr(response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return error
    status = getattr(response, "status_code", None) or getattr(response, "status", 0)
    answer = AsyncSlackResponse(
        client=client,
        http_verb="POST",
        api_url=client.base_url + method,
        req_args={},
        data={"ok": False, "error": f"http_{status}"},
        headers=dict(getattr(response, "headers", None) or {}),
        status_code=int(status),
    )
    return SlackApiError(str(error), answer)


def api_url(settings: Settings) -> str:
    base_url = settings.slack_api_url or SLACK_API_URL
    return base_url if base_url.endswith("/") else base_url + "/"


def build_slack_client(
    settings: Settings,
    session: aiohttp.ClientSession,
    on_error: Callable[[str, str], None] | None = None,
    retry_rate_limits: bool = True,
) -> AsyncWebClient:
    handlers = [
        AsyncConnectionErrorRetryHandler(max_retry_count=3),
        RetryAfterHandler(max_retry_count=10),
        AsyncServerErrorRetryHandler(max_retry_count=3),
    ]
    return ObservedWebClient(
        on_error=on_error,
        token=settings.slack_bot_token,
        base_url=api_url(settings),
        session=session,
        timeout=30,
        retry_handlers=[
            h for h in handlers if retry_rate_limits or not isinstance(h, RetryAfterHandler)
        ],
    )


def build_probe_client(settings: Settings, session: aiohttp.ClientSession) -> AsyncWebClient:
    """For start-up calls: no hidden retries and a short timeout, so every attempt is one line."""
    return AsyncWebClient(
        base_url=api_url(settings), session=session, timeout=PROBE_TIMEOUT, retry_handlers=[]
    )


async def until_slack_answers(
    call: Callable[[], Awaitable[AsyncSlackResponse]], *, method: str, token_name: str, url: str
) -> AsyncSlackResponse:
    """Call Slack until it answers, one log line per failed attempt with back-off between them.

    A token Slack rejects raises StartupError (exit code 2): retrying cannot help.
    """
    delay = FIRST_RETRY
    while True:
        try:
            return await call()
        except SlackApiError as error:
            status, code = error.response.status_code, error.response.get("error")
            if status == 200 and code and code not in TRANSIENT_ERRORS:
                raise StartupError(
                    f"Slack rejected {token_name} ({method}: {code}): "
                    f"check it in {WHERE_TOKEN[token_name]}",
                    exit_code=2,
                ) from None
            reason = f"{code or 'unexpected answer'} (HTTP {status})"
            retry_after = error.response.headers.get("Retry-After", "")
            wait = max(delay, float(retry_after)) if retry_after.isdigit() else delay
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            reason = " ".join(str(error).split()) or type(error).__name__
            wait = delay
        log.warning(
            "cannot reach Slack at %s (%s: %s); retrying in %g s", url, method, reason, wait
        )
        await asyncio.sleep(wait)
        delay = min(delay * 2, LAST_RETRY)


async def check_bot_token(settings: Settings, session: aiohttp.ClientSession) -> None:
    """auth.test at start-up: a token Slack rejects stops the app with one clear line."""
    client = build_probe_client(settings, session)
    await until_slack_answers(
        lambda: client.auth_test(token=settings.slack_bot_token),
        method="auth.test",
        token_name="SLACK_BOT_TOKEN",
        url=api_url(settings),
    )


async def open_socket_url(settings: Settings, session: aiohttp.ClientSession) -> str:
    """A Socket Mode WebSocket URL from apps.connections.open (single use)."""
    client = build_probe_client(settings, session)
    response = await until_slack_answers(
        lambda: client.apps_connections_open(app_token=settings.slack_app_token or ""),
        method="apps.connections.open",
        token_name="SLACK_APP_TOKEN",
        url=api_url(settings),
    )
    return str(response["url"])
