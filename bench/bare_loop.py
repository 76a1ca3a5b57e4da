"""The floor of figure `floor`: the built-in graph driven by bare LangGraph, and nothing else.

The same graph as the app's (`graphs.graph.build_graph`), bound to the same saver (the app's
`slackbot.persistence.pooled_saver`: `AsyncPostgresSaver` without its instance lock) on a pool
opened by the same `slackbot.postgres.open_pool`, with the same run context
(`graphs.context.Context`) and chat model, built as the app builds it
(`slackbot.services.run_context` with the knobs `Settings.from_env` reads from this environment:
the same variables the app process gets, OPENAI_BASE_URL at the bench's stand-in LLM). Each
step is resumed with ONE `Command(resume={interrupt id: the app's approve answer, ...})` for
every interrupt the step's `ainvoke` returned (`{"action": "approve", "by": user}`, as
`Orchestrator.approve` stores it). No Slack, no store, no leases: what any LangGraph program
driving this graph at least does.

Run it as `python [-m bench.sqlcount] bench/bare_loop.py` with the app's environment. It talks
JSON lines: once set up it prints `{"ready": true, "pid": …}`, then for each line on stdin

    {"run": K, "concurrency": C, "prefix": "load"}

runs K orchestrations, at most C at once (all K at once without C), with the topics
"<prefix> 00000", "<prefix> 00001", …, and prints one line: how many completed, the time
from the first start to the last end, and per orchestration its topic and the
`time.monotonic()` just before its last resume `ainvoke` (CLOCK_MONOTONIC is one clock for every
process on the machine: the bench compares it with the stand-in LLM's arrival times).
`{"exit": true}` or the end of stdin closes the pool and exits.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from typing import Any

os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")  # as `python -m slackbot` sets it

from langgraph.types import Command

from graphs.context import Context
from graphs.graph import build_graph
from graphs.review import APPROVE
from slackbot.persistence import pooled_saver
from slackbot.postgres import open_pool
from slackbot.services import run_context
from slackbot.settings import Settings

APPROVER = "UBEN"  # who approves, as the bench's emulated person does in the app


def say(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


async def orchestrate(graph: Any, context: Context, topic: str) -> dict[str, Any]:
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    started = time.monotonic()
    resumed = None
    steps = 0
    try:
        result = await graph.ainvoke({"topic": topic}, config, context=context)
        while interrupts := result.get("__interrupt__"):
            answers = {i.id: {"action": APPROVE, "by": APPROVER} for i in interrupts}
            resumed = time.monotonic()
            result = await graph.ainvoke(Command(resume=answers), config, context=context)
            steps += 1
    except Exception as error:  # reported, never hidden: the figure counts what completed
        return {"topic": topic, "ok": False, "error": f"{type(error).__name__}: {error}"[:300]}
    ok = bool(result.get("summary")) and steps >= 1
    return {
        "topic": topic,
        "ok": ok,
        "started": started,
        "resumed": resumed,
        "ended": time.monotonic(),
        "steps": steps,
    }


async def run_batch(graph: Any, context: Context, order: dict[str, Any]) -> dict[str, Any]:
    count = int(order["run"])
    prefix = str(order.get("prefix", "bare"))
    limit = asyncio.Semaphore(int(order.get("concurrency") or count) or 1)

    async def one(i: int) -> dict[str, Any]:
        async with limit:
            return await orchestrate(graph, context, f"{prefix} {i:05d}")

    began = time.monotonic()
    runs = await asyncio.gather(*(one(i) for i in range(count)))
    took = time.monotonic() - began
    errors = [r["error"] for r in runs if not r["ok"] and "error" in r]
    return {
        "done": count,
        "completed": sum(r["ok"] for r in runs),
        "took": took,
        "began": began,
        "resumed": {r["topic"]: r["resumed"] for r in runs if r["ok"]},
        "errors": errors[:5],
        "error_count": len(errors),
    }


async def main() -> None:
    settings = Settings.from_env(os.environ)
    assert settings.database_url, "DATABASE_URL: the floor runs on PostgreSQL"
    context = run_context(settings)  # the app's: the same chat model and knobs
    loop = asyncio.get_running_loop()
    async with open_pool(settings.database_url) as pool:
        saver = pooled_saver(pool)  # the app's: AsyncPostgresSaver without its instance lock
        await saver.setup()
        graph = build_graph(saver)
        say({"ready": True, "pid": os.getpid()})
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line.strip():
                if not line:
                    break  # end of stdin
                continue
            order = json.loads(line)
            if order.get("exit"):
                break
            say(await run_batch(graph, context, order))


if __name__ == "__main__":
    asyncio.run(main())
