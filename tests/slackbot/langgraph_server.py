"""A real LangGraph Agent Server for tests: `langgraph dev` serving the example graphs (those
that need no LLM) and a few of the tests' own, offline, as a subprocess on a free port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import graphs.examples
from slackbot.demo.process import free_port

EXAMPLES = Path(graphs.examples.__file__).parent
START_SECONDS = 90.0

# Graphs only these tests need: a run that fails once on the server, and one that takes a while.
TEST_GRAPHS = '''
"""Graphs for the remote engine's tests."""

import asyncio
from typing import Required

from langgraph.graph import END, START, StateGraph
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
'''


@dataclass
class LangGraphServer:
    url: str
    log: Path
    process: subprocess.Popen
    started_in: float  # seconds from launch to a 200 on /ok

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def write_config(folder: Path) -> Path:
    """A langgraph.json listing the examples that build without an LLM, and ours."""
    examples = json.loads((EXAMPLES / "langgraph.json").read_text())["graphs"]
    served = {
        name: entry | {"path": str(EXAMPLES / entry["path"])}
        for name, entry in examples.items()
        if not name.startswith("agent")  # they build a chat model from OPENAI_* at import
    }
    (folder / "test_graphs.py").write_text(TEST_GRAPHS)
    served["flaky"] = {
        "path": "./test_graphs.py:flaky",
        "description": "Post an entry to a ledger that is locked the first time.",
    }
    served["slow"] = "./test_graphs.py:slow"
    config = folder / "langgraph.json"
    config.write_text(json.dumps({"dependencies": ["."], "graphs": served}, indent=2))
    return config


def start_server(folder: Path) -> LangGraphServer:
    """`langgraph dev` in `folder` (its in-memory state is kept there), up within a minute."""
    config = write_config(folder)
    port = free_port()
    log = folder / "langgraph-dev.log"
    langgraph = Path(sys.executable).parent / "langgraph"
    env = {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGSMITH_TRACING": "false"}
    began = time.monotonic()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(langgraph), "dev", "--no-browser", "--no-reload", "--port", str(port),
             "--config", str(config)],
            cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = LangGraphServer(f"http://127.0.0.1:{port}", log, process, 0.0)
    while time.monotonic() - began < START_SECONDS:
        if process.poll() is not None:
            raise RuntimeError(
                f"langgraph dev exited with {process.returncode}:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(server.url + "/ok", timeout=1) as response:
                if response.status == 200:
                    server.started_in = time.monotonic() - began
                    return server
        except OSError:
            pass
        time.sleep(0.1)
    server.stop()
    raise TimeoutError(
        f"langgraph dev did not answer /ok in {START_SECONDS:g} s:\n{server.log_tail()}"
    )
