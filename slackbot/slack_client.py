"""The Slack Web API client, with retries for 429 (after Retry-After), 5xx and connection errors."""

from __future__ import annotations

import asyncio
import random

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from slackbot.settings import Settings

SLACK_API_URL = "https://slack.com/api/"
RATE_LIMIT_JITTER = 0.1  # seconds, at most, added to Retry-After


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


def build_slack_client(settings: Settings, session: aiohttp.ClientSession) -> AsyncWebClient:
    base_url = settings.slack_api_url or SLACK_API_URL
    return AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        session=session,
        timeout=30,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=3),
            RetryAfterHandler(max_retry_count=10),
            AsyncServerErrorRetryHandler(max_retry_count=3),
        ],
    )
