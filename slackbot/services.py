"""Start-up and shutdown: the one owner of the Slack client (more resources join here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from slackbot.settings import Settings
from slackbot.slack_client import build_slack_client


class _NoStore:
    async def ping(self) -> bool:
        return True


class _NoOrchestrator:
    async def start_background_work(self) -> None:
        return None


@dataclass
class Services:
    settings: Settings
    slack: AsyncWebClient
    store: _NoStore
    orchestrator: _NoOrchestrator


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    async with aiohttp.ClientSession() as session:
        yield Services(
            settings, build_slack_client(settings, session), _NoStore(), _NoOrchestrator()
        )
