"""Streaming figures: an agent's answer (a real `create_agent`, ChatOpenAI streaming from the
stand-in at 40 tokens/s) written into Slack by the app's streaming layer (`Live.run_step`).

The stand-in model and the Slack emulator run on an event loop of their own, in another thread:
the main thread's CPU time is the app's alone. Both stamp what they see on the same monotonic
clock: the model when it writes a stream's first token, the emulator when a stream call with
that token arrives. The floor, in the same run: the same token read by a bare `astream` loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from langchain.agents import create_agent
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver
from slack_sdk.web.async_client import AsyncWebClient

from bench.harness import CHANNEL, PEOPLE, percentile
from bench.rows import Row, ratio, row
from slackbot.demo.openai_server import OpenAIServer
from slackbot.demo.slack_emulator import SlackEmulator
from slackbot.engine.events import Step, final_state
from slackbot.engine.local import LocalEngine
from slackbot.live import Live
from slackbot.store import Run, RunStatus

TOKEN_DELAY = 1 / 40  # the model writes 40 tokens a second
WORDS = 20  # tokens per answer: half a second of writing
APPEND_TIER = 100  # chat.appendStream, Tier 4: 100+ a minute per workspace
START_TIER = 20  # chat.startStream / stopStream, Tier 2: 20+ a minute per workspace


class StampedSlack(SlackEmulator):
    """Stamps the arrival of each stream call's first text (and counts the stream calls)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}  # first word of a stream → when Slack had it
        self.stream_calls: list[tuple[str, float]] = []

    def _api_call_seen(self, method: str, args: dict[str, Any]) -> None:
        now = time.monotonic()
        self.stream_calls.append((method, now))
        for chunk in args.get("chunks") or ():
            text = chunk.get("text", "") if chunk.get("type") == "markdown_text" else ""
            if text:
                self.arrived.setdefault(text.split()[0], now)

    def _chat_startStream(self, args: dict[str, Any]) -> dict[str, Any]:
        self._api_call_seen("chat.startStream", args)
        return super()._chat_startStream(args)

    def _chat_appendStream(self, args: dict[str, Any]) -> dict[str, Any]:
        self._api_call_seen("chat.appendStream", args)
        return super()._chat_appendStream(args)

    def _chat_stopStream(self, args: dict[str, Any]) -> dict[str, Any]:
        self._api_call_seen("chat.stopStream", args)
        return super()._chat_stopStream(args)


def answer(i: int) -> str:
    """An answer whose first token names it (so both stamps can be matched)."""
    return f"A{i}x " + " ".join(f"word{n}" for n in range(WORDS - 1)) + "."


@asynccontextmanager
async def elsewhere() -> AsyncIterator[tuple[StampedSlack, OpenAIServer, Callable]]:
    """The model and Slack on a loop of their own; `call(coro)` runs a coroutine there."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="bench-slack-llm", daemon=True)
    thread.start()

    def call(coroutine: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(60)  # type: ignore[arg-type]

    slack, llm = StampedSlack(), OpenAIServer(token_delay=TOKEN_DELAY)

    async def start() -> None:
        await slack.start()
        await llm.start()
        slack.add_channel(CHANNEL, *PEOPLE)

    call(start())
    try:
        yield slack, llm, call
    finally:

        async def stop() -> None:
            await slack.close()
            await llm.close()

        call(stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def agent(llm: OpenAIServer) -> Any:
    model = ChatOpenAI(model="stand-in", api_key="bench", base_url=llm.base_url, max_retries=0)  # type: ignore[arg-type]
    return create_agent(model, [], checkpointer=InMemorySaver())


def a_run(root_ts: str) -> Run:
    return Run(
        run_id=uuid.uuid4().hex, team_id="T1", channel_id=CHANNEL, started_by=PEOPLE[0],
        topic="bench", root_ts=root_ts, status=RunStatus.RUNNING, phase="running", step=0,
        error=None, summary_ts=None, graph="agent",
    )  # fmt: skip


def ask(i: int) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": f"answer {i}"}]}


async def streamed(live: Live, engine: LocalEngine, client: AsyncWebClient, i: int) -> None:
    root = await client.chat_postMessage(channel=CHANNEL, text=f"question {i}")
    run = a_run(root["ts"])
    await live.run_step(run, engine.events(run.run_id, Step.start(ask(i))), messages=True)


async def unstreamed(engine: LocalEngine, client: AsyncWebClient, i: int) -> None:
    """The same answer without streaming: the step run, then its text posted once."""
    root = await client.chat_postMessage(channel=CHANNEL, text=f"question {i}")
    thread = uuid.uuid4().hex
    await final_state(engine.events(thread, Step.start(ask(i))))
    state = await engine.state(thread)
    text = state.values["messages"][-1].content
    await client.chat_postMessage(channel=CHANNEL, thread_ts=root["ts"], text=text)


async def bare(graph: Any, i: int, seen: dict[str, float]) -> None:
    """The floor: a bare `astream` loop reading the answer's tokens."""
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    async for chunk, _meta in graph.astream(ask(i), config, stream_mode="messages"):
        text = chunk.content if isinstance(chunk.content, str) else ""
        if text.strip():
            seen.setdefault(text.split()[0], time.monotonic())


def latencies(written: list[tuple[str, float]], seen: dict[str, float], ids: range) -> list[float]:
    at = {token.split()[0]: t for token, t in written}
    return [seen[f"A{i}x"] - at[f"A{i}x"] for i in ids if f"A{i}x" in seen and f"A{i}x" in at]


async def stream_figure(tmp: Any) -> list[Row]:
    rows: list[Row] = []
    async with elsewhere() as (slack, llm, _call), aiohttp.ClientSession() as http:
        client = AsyncWebClient(  # as the app's: one session, its connections kept
            token=slack.bot_token, base_url=slack.base_url + "/api/", session=http
        )
        live = Live(client)
        graph = agent(llm)
        engine = LocalEngine(graph)
        for llm_script_i in range(1000):  # every answer the model gives, by its number
            llm.script.append(answer(llm_script_i))
        n = 0

        async def batch(kind: str, count: int, concurrent: int) -> tuple[range, float, float]:
            nonlocal n
            ids = range(n, n + count)
            n += count
            cpu, started = time.thread_time(), time.monotonic()
            for first in range(ids.start, ids.stop, concurrent):
                group = range(first, min(first + concurrent, ids.stop))
                if kind == "stream":
                    work = [streamed(live, engine, client, i) for i in group]
                elif kind == "post":
                    work = [unstreamed(engine, client, i) for i in group]
                else:
                    work = [bare(graph, i, floor_seen) for i in group]
                await asyncio.gather(*work)
            return ids, time.thread_time() - cpu, time.monotonic() - started

        floor_seen: dict[str, float] = {}
        for concurrent, count in ((1, 20), (50, 50)):
            calls_before = len(slack.stream_calls)
            ids, _, took = await batch("stream", count, concurrent)
            app = latencies(llm.first_tokens, slack.arrived, ids)
            floor_ids, _, _ = await batch("bare", count, concurrent)
            floor = latencies(llm.first_tokens, floor_seen, floor_ids)
            p50, p99 = percentile(app, 50), percentile(app, 99)
            f50, f99 = percentile(floor, 50), percentile(floor, 99)
            rows.append(row(
                f"streaming: LLM first token → its text in a Slack stream call (p50 / p99),"
                f" {concurrent} stream{'s' * (concurrent > 1)} at a time ({count} answers)",
                f"{p50 * 1000:.0f} / {p99 * 1000:.0f} ms ({len(app)}/{count} timed)",
                f"bare astream {f50 * 1000:.1f} / {f99 * 1000:.1f} ms",
                f"+{(p50 - f50) * 1000:.0f} ms at p50",
                "p99 ≤ 250 ms (the first flush waits ≤ 200 ms for more text)",
                p99 <= 0.25 and len(app) == count,
            ))  # fmt: skip
            calls = slack.stream_calls[calls_before:]
            kinds = {m: sum(1 for c, _ in calls if c == m) for m in
                     ("chat.startStream", "chat.appendStream", "chat.stopStream")}  # fmt: skip
            appends = [t for m, t in calls if m == "chat.appendStream"]
            per_minute = _busiest_minute(appends)
            rows.append(row(
                f"streaming: Slack stream calls per answer ({WORDS} tokens at 40/s),"
                f" {concurrent} at a time ({count} answers)",
                f"{kinds['chat.startStream'] / count:.1f} start + "
                f"{kinds['chat.appendStream'] / count:.1f} append + "
                f"{kinds['chat.stopStream'] / count:.1f} stop; appends at most "
                f"{per_minute:.0f} in any 60 s ({took:.1f} s in all)",
                f"Slack's tiers: append {APPEND_TIER}/min, start and stop {START_TIER}/min",
                ratio(per_minute, APPEND_TIER),
                f"appends ≤ {APPEND_TIER} in any minute; one start and one stop per answer",
                per_minute <= APPEND_TIER and kinds["chat.startStream"] == count
                and kinds["chat.stopStream"] == count,
            ))  # fmt: skip

        _, cpu_streamed, _ = await batch("stream", 20, 1)
        _, cpu_posted, _ = await batch("post", 20, 1)
        rows.append(row(
            "streaming: app CPU per answer (main thread, 20 answers one at a time)",
            f"streamed {cpu_streamed / 20 * 1000:.1f} ms",
            f"posted whole once {cpu_posted / 20 * 1000:.1f} ms",
            ratio(cpu_streamed, cpu_posted),
            "reported; ≤ 1.5× the unstreamed answer",
            cpu_streamed <= 1.5 * cpu_posted,
        ))  # fmt: skip
    return rows


def _busiest_minute(times: list[float]) -> float:
    """The most calls in any 60 s window (all of them when the run was shorter)."""
    times = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] > 60:
            start += 1
        best = max(best, end - start + 1)
    return float(best)
