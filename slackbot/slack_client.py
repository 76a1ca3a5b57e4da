"""The Slack Web API client, with retries for 429 (after Retry-After), 5xx and connection errors."""

from __future__ import annotations

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from slackbot.settings import Settings

SLACK_API_URL = "https://slack.com/api/"


def build_slack_client(settings: Settings, session: aiohttp.ClientSession) -> AsyncWebClient:
    base_url = settings.slack_api_url or SLACK_API_URL
    return AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        session=session,
        timeout=30,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=3),
            AsyncRateLimitErrorRetryHandler(max_retry_count=10),
            AsyncServerErrorRetryHandler(max_retry_count=3),
        ],
    )
