"""A real LangGraph Agent Server for tests: `langgraph dev` serving the repository's
`langgraph.json` (the built-in orchestration and the example graphs that need no LLM at build
time) and a few graphs of the tests' own, offline, as a subprocess on a free port. The built-in
graph's LLM is an OpenAI stand-in running in a thread of its own (a server started once per
module outlives each test's event loop)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from slackbot.demo.langgraph_dev import LangGraphServer, repository_graphs, serve
from slackbot.demo.openai_server import OpenAIServer

__all__ = ["LangGraphServer", "openai_in_a_thread", "start_server"]

# Graphs only these tests need: a run that fails once on the server, one that takes a while,
# and a typed interrupt whose model refuses some answers.
TEST_GRAPHS = '''
"""Graphs for the remote engine's tests."""

import asyncio
from typing import Literal, Required

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel, model_validator
from typing_extensions import TypedDict

ATTEMPTS: dict[str, int] = {}


class Entry(TypedDict, total=False):
    entry: Required[str]
    posted: str


def post(state: Entry) -> dict:
    attempt = ATTEMPTS[state["entry"]] = ATTEMPTS.get(state["entry"], 0) + 1
    if attempt == 1:
        raise RuntimeError("the ledger is locked")
    return {"posted": f"Posted {state['entry']} on attempt {attempt}"}


flaky_builder = StateGraph(Entry)
flaky_builder.add_node("post", post)
flaky_builder.add_edge(START, "post")
flaky_builder.add_edge("post", END)
flaky = flaky_builder.compile()


class Nap(TypedDict, total=False):
    seconds: Required[float]
    slept: bool


async def nap(state: Nap) -> dict:
    await asyncio.sleep(state["seconds"])
    return {"slept": True}


slow_builder = StateGraph(Nap)
slow_builder.add_node("nap", nap)
slow_builder.add_edge(START, "nap")
slow_builder.add_edge("nap", END)
slow = slow_builder.compile()


class Signoff(BaseModel):
    decision: Literal["approve", "reject"]
    comment: str | None = None

    @model_validator(mode="after")
    def a_rejection_says_why(self):
        if self.decision == "reject" and not self.comment:
            raise ValueError("a comment is required when rejecting")
        return self


class Plan(TypedDict, total=False):
    plan: Required[str]
    outcome: str


def sign(state: Plan) -> dict:
    answer = interrupt({"question": f"Sign off {state['plan']}?"}, response_schema=Signoff)
    return {"outcome": f"{answer.decision}: {answer.comment or 'no comment'}"}


signoff_builder = StateGraph(Plan)
signoff_builder.add_node("sign", sign)
signoff_builder.add_edge(START, "sign")
signoff_builder.add_edge("sign", END)
signoff = signoff_builder.compile()
'''


def start_server(folder: Path, llm_base_url: str | None = None) -> LangGraphServer:
    """`langgraph dev` in `folder` (its in-memory state is kept there), up within a minute;
    the built-in graph's LLM at `llm_base_url`."""
    served = {
        name: entry
        for name, entry in repository_graphs().items()
        if not name.startswith("agent")  # they build a chat model from OPENAI_* when loaded
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test_graphs.py").write_text(TEST_GRAPHS)
    served["flaky"] = {
        "path": "./test_graphs.py:flaky",
        "description": "Post an entry to a ledger that is locked the first time.",
    }
    served["slow"] = "./test_graphs.py:slow"
    served["signoff"] = "./test_graphs.py:signoff"  # a typed interrupt with a validator
    env = {"OPENAI_API_KEY": "test", "OPENAI_BASE_URL": llm_base_url} if llm_base_url else {}
    return serve(folder, served, env)


@contextmanager
def openai_in_a_thread() -> Iterator[OpenAIServer]:
    """The OpenAI stand-in on an event loop of its own, for as long as the block lasts.

    Tests set `delay`, queue `script` and read `requests` from their own loop: plain
    attributes, read by the server per request."""
    loop = asyncio.new_event_loop()
    server = OpenAIServer()
    thread = threading.Thread(target=loop.run_forever, name="openai-stand-in", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
