"""Start-up and shutdown: the one owner of the database, checkpointer, Slack client and LLM."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from graphs.context import Context
from graphs.llm import LLMConfig, build_chat_model
from slackbot.catalog import load_catalog
from slackbot.orchestrator import Orchestrator
from slackbot.persistence import open_persistence
from slackbot.settings import Settings
from slackbot.slack_client import build_slack_client
from slackbot.store import Store
from slackbot.thread import SlackThread


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    slack: AsyncWebClient
    orchestrator: Orchestrator


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    async with open_persistence(settings) as (checkpointer, store), aiohttp.ClientSession() as http:
        slack = build_slack_client(settings, http)
        chat_model = build_chat_model(
            LLMConfig(
                model=settings.openai_model,
                api_key=settings.openai_api_key,
                base_url=settings.openai_base_url,
                timeout=settings.llm_timeout,
                max_retries=settings.llm_max_retries,
            )
        )
        context = Context(
            chat_model=chat_model,
            max_workers=settings.max_workers,
            max_revisions=settings.max_revisions,
        )
        catalog = await load_catalog(settings.graph_spec, checkpointer, context)
        orchestrator = Orchestrator(
            store=store,
            catalog=catalog,
            thread=SlackThread(slack),
            approvers=settings.approvers,
            max_concurrent_runs=settings.max_concurrent_runs,
        )
        try:
            yield Services(settings, store, slack, orchestrator)
        finally:
            await orchestrator.close()
