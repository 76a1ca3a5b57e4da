"""The figures: each measures itself beside a floor taken in the same run."""

from __future__ import annotations

import asyncio
import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from bench.harness import (
    CHANNEL,
    PEOPLE,
    environment,
    gather_limited,
    is_review,
    median,
    percentile,
)
from bench.pgstat import committed_transactions
from bench.rows import Row
from slackbot.blocks import ACTION_APPROVE
from slackbot.demo.process import AppProcess, free_port
from slackbot.demo.slack_emulator import BOT_USER_ID, Message, SlackEmulator


def plan_of(count: int) -> str:
    workers = [
        {"worker_id": f"w{i}", "role": f"Worker {i}", "task": f"Task {i}"} for i in range(count)
    ]
    return json.dumps({"assignments": workers})


def reviews_in(slack: SlackEmulator) -> list[Message]:
    return [
        m
        for m in slack.messages.values()
        if m.thread_ts and m.user == BOT_USER_ID and is_review(slack, m)
    ]


# -- parallel drafting ----------------------------------------------------------------------------


async def parallel_drafting(tmp: Path) -> list[Row]:
    """One step with 10 workers, each draft taking 500 ms: the drafts must overlap."""
    async with environment(tmp, max_workers=10) as env:
        env.llm.delay = 0.5
        env.llm.script.append(plan_of(10))
        await env.slack.slash_command(PEOPLE[0], CHANNEL, "parallel drafting")
        await env.slack.wait_for(lambda: len(reviews_in(env.slack)) == 10, 60)
        drafts = env.llm.spans[1:11]  # after the plan
        step = max(end for _, end in drafts) - min(start for start, _ in drafts)
        single = sorted(end - start for start, end in drafts)[0]
    ratio = step / single
    return [
        {
            "figure": "parallel drafting, n = 10, LLM 500 ms",
            "measured": f"step {step * 1000:.0f} ms",
            "floor": f"one draft {single * 1000:.0f} ms",
            "ratio": f"{ratio:.2f}×",
            "target": "≤ 1.5× one draft",
            "met": ratio <= 1.5,
        }
    ]


# -- Slack back-off -------------------------------------------------------------------------------


async def slack_backoff(tmp: Path) -> list[Row]:
    """20 reviews posted under the emulator's 1 message / s / channel limit."""
    async with environment(tmp, post_rate=1.0, max_workers=20) as env:
        env.llm.script.append(plan_of(20))
        started = time.monotonic()
        await env.slack.slash_command(PEOPLE[0], CHANNEL, "back-off")
        await env.slack.wait_for(lambda: len(reviews_in(env.slack)) == 20, 180)
        took = time.monotonic() - started
        posts = env.slack.calls_to("chat.postMessage", ok_only=False)
        limited = sum(c.status == 429 for c in posts)
        errors = [c for c in posts if c.status not in (200, 429)]
    floor = 20.0  # root + 20 reviews at 1/s: the 21st post can come 20 s after the first
    return [
        {
            "figure": "Slack back-off, 20 reviews at 1 msg/s/channel",
            "measured": f"all 20 posted in {took:.1f} s, {limited} × 429, {len(errors)} errors",
            "floor": f"{floor:.0f} s (the limit itself)",
            "ratio": f"{took / floor:.2f}×",
            "target": "all posted, no error, close to the floor",
            "met": not errors and took <= floor * 1.5,
        }
    ]


# -- throughput -----------------------------------------------------------------------------------


class ApprovingSlack(SlackEmulator):
    """Approves every review as soon as it is posted; notes when each summary arrives."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clicks: list[asyncio.Task] = []
        self.summaries = 0

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        answer = super()._chat_postMessage(args)
        message = self.messages[(answer["channel"], answer["ts"])]
        if "Summary" in json.dumps(message.blocks):
            self.summaries += 1
        elif message.thread_ts and is_review(self, message):
            self.clicks.append(asyncio.create_task(self.click(PEOPLE[1], message, ACTION_APPROVE)))
        return answer


THREAD_CALLS = {"chat.postMessage", "chat.update", "chat.delete", "chat.postEphemeral"}


async def throughput(tmp: Path, count: int) -> list[Row]:
    async with environment(tmp, slack_class=ApprovingSlack) as env:
        slack: ApprovingSlack = env.slack  # type: ignore[assignment]
        before = committed_transactions(env.database_url)
        started = time.monotonic()
        await gather_limited(
            50, *(slack.slash_command(PEOPLE[0], CHANNEL, f"topic {i}") for i in range(count))
        )
        await slack.wait_for(lambda: slack.summaries >= count, 60 + count * 2)
        took = time.monotonic() - started
        await env.app.services.orchestrator.wait_idle()  # type: ignore[union-attr]
        transactions = committed_transactions(env.database_url) - before
        # The target counts the thread's own messages (posted and updated); App Home
        # refreshes (views.publish, batched per person, with the permalinks they link to,
        # chat.getPermalink once per message) are reported beside it.
        calls = len([c for c in slack.calls if c.method in THREAD_CALLS])
        homes = len([c for c in slack.calls if c.method == "views.publish"])
        links = len([c for c in slack.calls if c.method == "chat.getPermalink"])
        clicks = len(slack.clicks)
    per_run = calls / count
    return [
        {
            "figure": f"throughput, K = {count} concurrent × 3 workers, instant LLM",
            "measured": f"{count} done in {took:.1f} s = {count / took:.1f} orchestrations/s; "
            f"{transactions / clicks:.1f} DB transactions per click; "
            f"{per_run:.1f} Slack chat calls per orchestration"
            f" (+ {homes / count:.1f} App Home publishes, {links / count:.1f} permalinks)",
            "floor": "—",
            "ratio": "—",
            "target": "all complete; Slack calls ≤ 2n + 4 = 10",
            "met": per_run <= 10,
        }
    ]


# -- ack latency ----------------------------------------------------------------------------------


async def _load(slack: SlackEmulator, message: Message, url: str, rate: int, seconds: float):
    latencies: list[float] = []

    async def one() -> None:
        started = time.monotonic()
        status, _ = await slack.click(PEOPLE[0], message, ACTION_APPROVE, url=url)
        if status == 200:
            latencies.append(time.monotonic() - started)

    tasks = []
    begin = time.monotonic()
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, begin + i / rate - time.monotonic()))
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    return latencies, int(rate * seconds)


BARE_BOLT = Path(__file__).with_name("bare_bolt.py")


async def ack_latency(tmp: Path) -> list[Row]:
    rows = []
    async with environment(tmp, in_process=False) as env:
        app = await AppProcess(env.env(), tmp, "app").start()
        bare_port = free_port()
        bare = await asyncio.create_subprocess_exec(
            sys.executable, str(BARE_BOLT), str(bare_port), env.slack.signing_secret,
            env.slack.base_url + "/api/", env.slack.bot_token,
        )  # fmt: skip
        try:
            env.slack.app_url = app.url
            await env.slack.slash_command(PEOPLE[0], CHANNEL, "ack latency")
            review = copy.deepcopy((await env.slack.wait_for(lambda: reviews_in(env.slack), 30))[0])
            await env.slack.click(
                PEOPLE[0], review, ACTION_APPROVE
            )  # decided: later clicks are repeats
            await _wait_http(f"http://127.0.0.1:{bare_port}/healthz")
            for rate in (50, 100, 200):
                ours, sent = await _load(env.slack, review, app.url, rate, 3.0)
                floor, _ = await _load(
                    env.slack, review, f"http://127.0.0.1:{bare_port}", rate, 3.0
                )
                p99, f99 = percentile(ours, 99), percentile(floor, 99)
                rows.append(
                    {
                        "figure": f"ack latency of clicks at {rate}/s (p50 / p99)",
                        "measured": f"{median(ours) * 1000:.1f} / {p99 * 1000:.1f} ms"
                        f" ({len(ours)}/{sent} ok)",
                        "floor": f"bare Bolt {median(floor) * 1000:.1f} / {f99 * 1000:.1f} ms",
                        "ratio": f"{p99 / f99:.2f}× at p99",
                        "target": "p99 < 100 ms at 100/s; ≤ 2× floor",
                        "met": p99 <= 2 * f99 and (rate != 100 or p99 < 0.1),
                    }
                )
        finally:
            bare.terminate()
            await bare.wait()
            await app.stop()
    return rows


async def _wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(url)


# -- click → resume -------------------------------------------------------------------------------


async def click_to_resume(tmp: Path, runs: int = 20) -> list[Row]:
    delays, round_trips = [], []
    async with (
        environment(tmp) as env,
        await psycopg.AsyncConnection.connect(env.database_url, autocommit=True) as db,
    ):
        for i in range(runs):
            before = len(env.slack.roots(CHANNEL))
            await env.slack.slash_command(PEOPLE[0], CHANNEL, f"resume {i}")
            root = await env.slack.wait_for(
                lambda b=before: len(r := env.slack.roots(CHANNEL)) > b and r[b], 30
            )
            reviews = await env.slack.wait_for(
                lambda r=root: len(t := _thread_reviews(env.slack, r)) == 3 and t, 30
            )
            await env.slack.wait_for(lambda r=root: "Waiting" in json.dumps(r.blocks), 30)
            for message in reviews[:2]:
                await env.slack.click(PEOPLE[0], message, ACTION_APPROVE)
            await env.slack.wait_for(lambda r=root: "2 of 3 in" in json.dumps(r.blocks), 30)
            seen = len(env.llm.spans)
            started = time.monotonic()
            await env.slack.click(PEOPLE[0], reviews[2], ACTION_APPROVE)
            await env.slack.wait_for(lambda s=seen: len(env.llm.spans) > s, 30)
            delays.append(env.llm.spans[seen][0] - started)
            probe = time.monotonic()
            await db.execute("SELECT 1")
            round_trips.append(time.monotonic() - probe)
            await env.app.services.orchestrator.wait_idle()  # type: ignore[union-attr]
    p50 = median(delays)
    return [
        {
            "figure": f"last click → resumed graph's first LLM call (p50 / p99, {runs} steps)",
            "measured": f"{p50 * 1000:.1f} / {percentile(delays, 99) * 1000:.1f} ms",
            "floor": f"DB round trip {median(round_trips) * 1000:.2f} ms",
            "ratio": f"{p50 / median(round_trips):.0f}× at p50",
            "target": "p50 < 50 ms on PostgreSQL",
            "met": p50 < 0.05,
        }
    ]


def _thread_reviews(slack: SlackEmulator, root: Message) -> list[Message]:
    return [m for m in reviews_in(slack) if m.thread_ts == root.ts]


# -- memory ---------------------------------------------------------------------------------------


async def paused_memory(tmp: Path, count: int = 1000) -> list[Row]:
    async with environment(tmp, in_process=False) as env:
        app = await AppProcess(env.env(), tmp, "app").start()
        try:
            env.slack.app_url = app.url
            await env.slack.slash_command(PEOPLE[0], CHANNEL, "warm-up")
            await env.slack.wait_for(lambda: len(reviews_in(env.slack)) == 3, 30)
            await asyncio.sleep(1)
            idle = app.rss_bytes()
            await gather_limited(
                20, *(env.slack.slash_command(PEOPLE[0], CHANNEL, f"t{i}") for i in range(count))
            )
            await env.slack.wait_for(lambda: len(reviews_in(env.slack)) == 3 * (count + 1), 600)
            await asyncio.sleep(2)
            paused = app.rss_bytes()
        finally:
            await app.stop()
    grown = (paused - idle) / 2**20
    return [
        {
            "figure": f"memory with {count} orchestrations waiting for review",
            "measured": f"RSS {paused / 2**20:.0f} MB (+{grown:.1f} MB)",
            "floor": f"after one run {idle / 2**20:.0f} MB",
            "ratio": "—",
            "target": "< 50 MB more than idle",
            "met": grown < 50,
        }
    ]
