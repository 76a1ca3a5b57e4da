"""Remote mode (LANGGRAPH_URL): what the app adds to a resume on a LangGraph server.

A real `langgraph dev` serves the built-in graph, its LLM the bench's stand-in. Steps are
measured in turn on the same server: over the app (the last click of a step → the app's
`runs.create` with the Command, and → that run joined) and straight from the SDK (the server's
own resume: `runs.create` with a Command + `runs.join`). The app's overhead is its part before
the server's call: the server's queue (langgraph dev polls it every 0.5 s) is in both.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

from langgraph_sdk import get_client

from bench.harness import CHANNEL, PEOPLE, Environment, environment, is_review, median, percentile
from bench.rows import Row
from slackbot.blocks import ACTION_APPROVE
from slackbot.demo.langgraph_dev import repository_graphs, serve
from slackbot.demo.slack_emulator import Message, SlackEmulator
from slackbot.server import running_app

BUILTIN = "orchestrate"
KNOBS = {"model": "bench-model", "max_workers": 3, "max_revisions": 3}
OVERHEAD_TARGET = 0.05  # seconds the app may add to the server's own resume, at p50


async def remote_resume(tmp: Path, runs: int = 20) -> list[Row]:
    handoff, resumed, direct = [], [], []
    async with environment(tmp, in_process=False) as env:
        server = await asyncio.to_thread(
            serve,
            tmp / "langgraph-dev",
            {BUILTIN: repository_graphs()[BUILTIN]},
            {"OPENAI_API_KEY": "bench", "OPENAI_BASE_URL": env.llm.base_url},
        )
        client = get_client(url=server.url, api_key=None)
        settings = env.settings(
            tmp, langgraph_url=server.url, langgraph_assistant_id=BUILTIN,
            openai_model=KNOBS["model"],
        )  # fmt: skip
        try:
            async with running_app(settings, host="127.0.0.1") as app:
                env.slack.app_url = app.url
                calls = _Timed(app.services.orchestrator.catalog.default.engine.client)
                for i in range(runs):  # in turn, so both see the same server and machine
                    to_call, to_joined = await _over_the_app(env, calls, f"remote resume {i}")
                    handoff.append(to_call)
                    resumed.append(to_joined)
                    await app.services.orchestrator.wait_idle()
                    direct.append(await _straight_to_the_server(client))
        finally:
            await client.aclose()
            await asyncio.to_thread(server.stop)
    overhead, floor = median(handoff), median(direct)
    return [
        {
            "figure": f"remote: last click → the app's resume call to the server"
            f" (p50 / p99, {runs} steps)",
            "measured": f"{overhead * 1000:.1f} / {percentile(handoff, 99) * 1000:.1f} ms;"
            f" click → resumed run joined {median(resumed) * 1000:.0f} ms",
            "floor": f"server's own resume (runs.create + join with a Command)"
            f" {floor * 1000:.0f} / {percentile(direct, 99) * 1000:.0f} ms",
            "ratio": f"+{overhead / floor:.1%} at p50",
            "target": f"the app adds < {OVERHEAD_TARGET * 1000:.0f} ms at p50",
            "met": overhead < OVERHEAD_TARGET,
        }
    ]


class _Timed:
    """When the app's SDK client calls `runs.create` and when each `runs.join` returns."""

    def __init__(self, client: Any) -> None:
        self.created: list[tuple[float, dict[str, Any]]] = []  # (called at, keyword arguments)
        self.joined: dict[str, float] = {}  # run id → returned at
        create, join = client.runs.create, client.runs.join

        async def timed_create(*args: Any, **kwargs: Any) -> Any:
            called = time.monotonic()
            run = await create(*args, **kwargs)
            self.created.append((called, kwargs | {"run_id": run["run_id"]}))
            return run

        async def timed_join(thread_id: str, run_id: str, *args: Any, **kwargs: Any) -> Any:
            outcome = await join(thread_id, run_id, *args, **kwargs)
            self.joined[run_id] = time.monotonic()
            return outcome

        client.runs.create, client.runs.join = timed_create, timed_join

    def resume_after(self, started: float) -> tuple[float, str] | None:
        for called, kwargs in self.created:
            if called >= started and kwargs.get("command"):
                return called, kwargs["run_id"]
        return None


async def _over_the_app(env: Environment, calls: _Timed, topic: str) -> tuple[float, float]:
    """A run started from Slack, two of its three reviews approved: the third click → the app
    calls runs.create with the answers, and → that run is joined."""
    slack = env.slack
    before = len(slack.roots(CHANNEL))
    await slack.slash_command(PEOPLE[0], CHANNEL, topic)
    root = await slack.wait_for(lambda: len(r := slack.roots(CHANNEL)) > before and r[before], 30)
    reviews = await slack.wait_for(lambda: len(t := _reviews(slack, root)) == 3 and t, 30)
    await slack.wait_for(lambda: "Waiting" in json.dumps(root.blocks), 30)
    for message in reviews[:2]:
        await slack.click(PEOPLE[0], message, ACTION_APPROVE)
    await slack.wait_for(lambda: "2 of 3 in" in json.dumps(root.blocks), 30)
    started = time.monotonic()
    await slack.click(PEOPLE[0], reviews[2], ACTION_APPROVE)
    called, run_id = await slack.wait_for(lambda: calls.resume_after(started), 30)
    joined = await slack.wait_for(lambda: calls.joined.get(run_id), 30)
    return called - started, joined - started


async def _straight_to_the_server(client: Any) -> float:
    """The same step driven with the SDK alone: the resume's runs.create + join."""
    thread = str(uuid.uuid4())
    await client.threads.create(thread_id=thread)
    first = await client.runs.create(
        thread, BUILTIN, input={"topic": f"direct {thread[:8]}"}, context=KNOBS
    )
    await client.runs.join(thread, first["run_id"])
    state = await client.threads.get_state(thread, subgraphs=True)
    pending = [i["id"] for t in state["tasks"] for i in t.get("interrupts") or ()]
    answers = {i: {"action": "approve", "by": PEOPLE[0]} for i in pending}
    started = time.monotonic()
    resumed = await client.runs.create(
        thread, BUILTIN, command={"resume": answers}, context=KNOBS, multitask_strategy="reject"
    )
    await client.runs.join(thread, resumed["run_id"])
    return time.monotonic() - started


def _reviews(slack: SlackEmulator, root: Message) -> list[Message]:
    return [m for m in slack.thread(CHANNEL, root.ts)[1:] if is_review(slack, m)]
