"""Your own graph across processes: a pydantic object the graph's file defines, in the state of a
run that waits, answered on another replica and again after a restart (real app processes over
one PostgreSQL, LANGGRAPH_STRICT_MSGPACK=true as `python -m slackbot` runs)."""

from __future__ import annotations

import asyncio

import pytest

from slackbot.demo.process import AppProcess
from tests.slackbot.test_own_graph import next_open, press, result, start

QUOTES = '''
"""Quote a price: the quote is a pydantic object in the state."""
from __future__ import annotations

from pydantic import BaseModel
from typing_extensions import NotRequired, TypedDict
from langgraph.graph import StateGraph, START, END
from langgraph.types import interrupt


class Quote(BaseModel):
    reference: str
    amount: float


class State(TypedDict):
    customer: str
    quote: NotRequired[Quote]
    outcome: NotRequired[str]


def draft(state: State) -> dict:
    return {"quote": Quote(reference=f"Q-{state['customer']}", amount=120.0)}


def send(state: State) -> dict:
    quote = state["quote"]
    interrupt({"question": f"Send {quote.reference}?", "options": ["send", "hold"]})
    return {}


def confirm(state: State) -> dict:
    quote = state["quote"]
    answer = interrupt({"question": f"Confirm {quote.reference}?", "options": ["yes", "no"]})
    return {"outcome": f"{answer}: {quote.reference} for {quote.amount:.2f}"}


builder = StateGraph(State)
builder.add_node("draft", draft)
builder.add_node("send", send)
builder.add_node("confirm", confirm)
builder.add_edge(START, "draft")
builder.add_edge("draft", "send")
builder.add_edge("send", "confirm")
builder.add_edge("confirm", END)
graph = builder.compile()
'''


@pytest.fixture
async def spawn(slack, llm_server, pg_url, tmp_path):
    (tmp_path / "quotes.py").write_text(QUOTES)
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_API_URL": slack.base_url + "/api/",
        "DATABASE_URL": pg_url,
        "OPENAI_API_KEY": "test",
        "OPENAI_BASE_URL": llm_server.base_url,
        "ORCHESTRATE_GRAPH": "./quotes.py:graph",  # relative to the process's directory
        "LOG_LEVEL": "INFO",
    }
    processes: list[AppProcess] = []

    async def start_process(name: str) -> AppProcess:
        process = AppProcess(env, tmp_path, name)
        processes.append(process)
        return await process.start()

    yield start_process
    await asyncio.gather(*(p.stop() for p in processes))


async def test_a_pydantic_object_in_the_state_survives_another_replica_and_a_restart(slack, spawn):
    a, b = await asyncio.gather(spawn("a"), spawn("b"))
    slack.app_url = a.url
    root = await start(slack, "ana")
    first = await next_open(slack, root)
    slack.app_url = b.url  # the other replica loads the checkpoint a wrote
    await press(slack, first, "send")
    second = await next_open(slack, root, after=first, timeout=20)
    assert "Confirm Q-ana?" in str(second.blocks)
    await asyncio.gather(a.stop(), b.stop())

    c = await spawn("c")  # a restart: a new process, a new hash seed
    slack.app_url = c.url
    await press(slack, second, "yes")
    assert "yes: Q-ana for 120.00" in await result(slack, root, timeout=20)
