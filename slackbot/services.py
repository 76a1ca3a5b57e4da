"""Start-up and shutdown: the one owner of the database, checkpointer, Slack client and LLM, or,
with LANGGRAPH_URL, of the client of the LangGraph server the graph runs on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph_sdk import get_client
from slack_sdk.web.async_client import AsyncWebClient

from graphs.context import Context
from graphs.llm import LLMConfig, build_chat_model
from slackbot.catalog import Catalog, load_catalog
from slackbot.conversations import Conversations
from slackbot.engine.remote import RemoteSource, ThreadMetadata
from slackbot.live import Live
from slackbot.metrics import Metrics
from slackbot.orchestrator import Orchestrator, RunLimits
from slackbot.people import People
from slackbot.persistence import open_persistence
from slackbot.routing import Routing
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
    metrics: Metrics  # GET /metrics: this app's own registry
    conversations: Conversations  # mentions, DMs and their follow-ups


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    async with (
        open_persistence(settings) as (checkpointer, store),
        aiohttp.ClientSession() as http,
        open_catalog(settings, checkpointer, store) as catalog,
    ):
        metrics = Metrics(store.db)
        store.graph_names = catalog.names_of  # a rule's `graph` may name an alias
        slack = build_slack_client(settings, http, on_error=metrics.slack_error)
        thread = SlackThread(slack, model=None if settings.remote else settings.openai_model)
        people = None
        if settings.rules:  # emails, groups and channels resolved now: a bad one stops start-up
            people = People(slack, settings.rules, settings.group_cache)
            await people.resolve()
            thread.routing = Routing(slack, people)
        orchestrator = Orchestrator(
            store=store,
            catalog=catalog,
            thread=thread,
            people=people,
            approvers=settings.approvers,
            max_concurrent_runs=settings.max_concurrent_runs,
            limits=RunLimits(settings.max_runs_per_user, settings.max_runs_per_channel),
            metrics=metrics,
        )
        orchestrator.driver.live = open_live(settings, http)
        conversations = Conversations(
            store=store,
            catalog=catalog,
            thread=orchestrator.thread,
            driver=orchestrator.driver,
            orchestrator=orchestrator,
            approvers=settings.approvers,
            limits=(settings.max_runs_per_user, settings.max_runs_per_channel),
            follow_ups=settings.follow_ups,
            double_text=settings.double_text,
        )
        try:
            yield Services(settings, store, slack, orchestrator, metrics, conversations)
        finally:
            await orchestrator.close()
            await metrics.close()


@asynccontextmanager
async def open_catalog(
    settings: Settings, checkpointer: BaseCheckpointSaver | None, store: Store
) -> AsyncIterator[Catalog]:
    """The graphs to host: run here with our checkpointer and LLM, or on a LangGraph server."""
    if not settings.remote:
        yield await load_catalog(
            settings.graph_spec,
            checkpointer,
            run_context(settings),
            with_builtin=settings.with_builtin,
        )
        return
    assert settings.langgraph_url
    # api_key=None (unset) keeps the SDK from reading a key from the environment on its own.
    client = get_client(url=settings.langgraph_url, api_key=settings.langgraph_api_key)
    try:
        remote = RemoteSource(
            client=client,
            url=settings.langgraph_url,
            assistant_id=settings.langgraph_assistant_id,
            thread_metadata=slack_metadata(store),
            context={  # run knobs: they cross the wire as each run's context
                "model": settings.openai_model,
                "max_workers": settings.max_workers,
                "max_revisions": settings.max_revisions,
            },
        )
        async with aclosing(await load_catalog(None, None, None, remote=remote)) as catalog:
            yield catalog  # a server that is down is waited for in the background
    finally:
        await client.aclose()


def open_live(settings: Settings, http: aiohttp.ClientSession) -> Live:
    """Stream calls go through a client of their own that does not wait out a 429: the
    writer merges what comes meanwhile, or falls back to posting."""
    client = build_slack_client(settings, http, retry_rate_limits=False)
    return Live(client, streaming=settings.streaming)


def run_context(settings: Settings) -> Context:
    """What local graph runs are given: the chat model and the knobs, from the settings."""
    return Context(
        chat_model=_chat_model(settings),
        max_workers=settings.max_workers,
        max_revisions=settings.max_revisions,
    )


def _chat_model(settings: Settings) -> BaseChatModel:
    return build_chat_model(
        LLMConfig(
            model=settings.openai_model,
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
        )
    )


def slack_metadata(store: Store) -> ThreadMetadata:
    """A server thread's metadata: where its run lives in Slack (as run metadata, never as
    graph state), so the server's own tools can find the conversation."""

    async def metadata(run_id: str) -> dict[str, Any]:
        run = await store.get_run(run_id)
        if run is None:
            return {}
        return {
            "slack_team": run.team_id,
            "slack_channel": run.channel_id,
            "slack_thread_ts": run.thread,
            "slack_started_by": run.started_by,
            "orchestrate_run_id": run.run_id,
        }

    return metadata
