"""The demo page's hint suggests a command that fits the graph the demo hosts (`--graph`)."""

import asyncio
import json
import os
import sys
from pathlib import Path

import aiohttp

from slackbot.demo.process import free_port

EXPENSE = """
from typing_extensions import TypedDict
from langgraph.graph import StateGraph, START, END

class State(TypedDict):
    description: str
    amount: float

builder = StateGraph(State)
builder.add_node("book", lambda state: {})
builder.add_edge(START, "book")
builder.add_edge("book", END)
graph = builder.compile()
"""


async def page_example(tmp_path: Path, *graph_args: str) -> str:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SLACK_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "slackbot.demo", "--stand-in", "--port", str(port),
        "--data-dir", str(tmp_path / "data"), *graph_args,
        cwd=Path(__file__).parents[2], env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        ready = await asyncio.wait_for(process.stdout.readuntil(b"demo ready"), 60)
        assert b"demo ready" in ready
        url = f"http://127.0.0.1:{port}/ui/state"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return (await response.json())["example"]
    finally:
        process.terminate()
        await process.wait()


async def test_the_hint_is_an_example_for_the_hosted_graph(tmp_path):
    (tmp_path / "expense.py").write_text(EXPENSE)
    example = await page_example(tmp_path, "--graph", f"{tmp_path / 'expense.py'}:graph")
    assert example == "/orchestrate " + json.dumps(
        {"description": "…", "amount": 1.5}, ensure_ascii=False
    )
    assert await page_example(tmp_path) == "/orchestrate a launch plan for the Berlin office"
