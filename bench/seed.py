"""Paused orchestrations for figure `scale`, made two ways: through the app, and seeded.

Through the app (`through_app`: `/orchestrate` from the Slack emulator, stand-in LLM) they come
at ~15-17 per second on a 2-core machine (the app's process is CPU-bound): 10,000 would take ~10
minutes. So most are seeded (`seed`) by SEED_PROCESSES processes (`python -m bench.seed FIRST
COUNT SLOT SLOTS`) running the app's own code: its services built from the app's environment
(`Settings.from_env`, `open_services`: the same pool, AsyncPostgresSaver, Store, compiled graph
and chat model at the same stand-in LLM), and `Orchestrator.start` for each (what the slash
command's listener calls after Bolt), which drives the graph to its interrupts and records the
step with the store's own methods. Only Slack is left out: the seeding processes' Slack client
answers every post with a made-up, Slack-shaped ts (OfflineSlack). Reusing the orchestrator, not
a copy of its calls, keeps the rows exactly the app's while the orchestrator changes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.harness import CHANNEL, PEOPLE, is_review
from slackbot.demo.slack_emulator import PERMALINK_BASE, TEAM_ID, SlackEmulator
from slackbot.services import open_services
from slackbot.settings import Settings
from slackbot.thread import REVIEW_EVENT

ROOT = Path(__file__).resolve().parents[1]
APP_WINDOW = 48  # runs started through the app and not yet waiting, at most (a steady feed)
SEED_PROCESSES = 2  # one per core
SEED_WINDOW = 24  # runs started and not yet waiting, in each seeding process


class CountingSlack(SlackEmulator):
    """Counts the review messages posted (instead of scanning every message on each change)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reviews = 0

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        answer = super()._chat_postMessage(args)
        message = self.messages[(answer["channel"], answer["ts"])]
        if message.thread_ts and is_review(self, message):
            self.reviews += 1
        return answer


async def through_app(slack: CountingSlack, first: int, count: int) -> float:
    """`count` slash commands, fed so that at most APP_WINDOW are in flight; until all wait."""
    base = slack.reviews
    began = time.monotonic()
    acks: list[asyncio.Task] = []
    for i in range(count):
        await slack.wait_for(lambda i=i: i - (slack.reviews - base) / 3 < APP_WINDOW, 120)
        topic = f"app {first + i}"
        acks.append(asyncio.create_task(slack.slash_command(PEOPLE[0], CHANNEL, topic)))
    statuses = [status for status, _ in await asyncio.gather(*acks)]
    assert all(s == 200 for s in statuses), statuses
    await slack.wait_for(lambda: slack.reviews >= base + 3 * count, 120 + count)
    return time.monotonic() - began


class SlackTs:
    """Made-up message ts, shaped and ordered like Slack's, and unique across the seeding
    processes (process `slot` of `slots` takes the microseconds ≡ slot mod slots), as the
    store's (channel, root ts) index needs."""

    def __init__(self, slot: int = 0, slots: int = 1) -> None:
        self.slot, self.slots = slot, slots
        self.last = 0

    def __call__(self) -> str:
        micros = max(time.time_ns() // 1000, self.last + 1)
        micros += (self.slot - micros) % self.slots
        self.last = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


class OfflineSlack:
    """The Web API client a seeding process gives the app's SlackThread: every post gets a
    fresh ts, every other call an ok, and nothing leaves the process."""

    def __init__(self, ts: SlackTs) -> None:
        self.ts = ts
        self.reviews = 0
        self.posted = asyncio.Event()

    async def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        if (kwargs.get("metadata") or {}).get("event_type") == REVIEW_EVENT:
            self.reviews += 1
            self.posted.set()
        return {"ok": True, "channel": kwargs.get("channel"), "ts": self.ts()}

    async def chat_getPermalink(self, *, channel: str, message_ts: str) -> dict[str, Any]:
        return {"ok": True, "permalink": f"{PERMALINK_BASE}{channel}/p{message_ts}"}

    def __getattr__(self, method: str) -> Any:
        async def ok(**kwargs: Any) -> dict[str, Any]:
            return {"ok": True}

        return ok


async def seed_here(first: int, count: int, slot: int, slots: int) -> None:
    """A seeding process: the app's services built from the app's environment as `python -m
    slackbot` builds them, and `/orchestrate seed <i>` for i in first … first + count - 1 given
    to its Orchestrator (Orchestrator.start: the same code as the slash command's, after
    Bolt), at most SEED_WINDOW runs in flight; Slack is OfflineSlack."""
    settings = Settings.from_env(os.environ)
    slack = OfflineSlack(SlackTs(slot, slots))
    async with open_services(settings) as services:
        orchestrator = services.orchestrator
        orchestrator.thread.client = slack  # type: ignore[assignment]
        # The starter's App Home is refreshed after each step: a read (two queries over every
        # open review, ~0.1 s of database time at 10,000) and a views.publish, no write. The
        # measured app still does it for the runs it drives; seeding skips it.
        orchestrator.inbox.refresh = lambda people: None  # type: ignore[method-assign]
        for started, i in enumerate(range(first, first + count)):
            while started - slack.reviews / 3 >= SEED_WINDOW:
                slack.posted.clear()
                await slack.posted.wait()
            notice = await orchestrator.start(
                team_id=TEAM_ID, channel_id=CHANNEL, user_id=PEOPLE[0], topic=f"seed {i}"
            )
            assert notice is None, notice
        await orchestrator.wait_idle()
    assert slack.reviews == 3 * count, f"{slack.reviews} reviews posted for {count} runs"


async def seed(app_env: dict[str, str], tmp: Path, count: int) -> float:
    """Seed `count` runs from SEED_PROCESSES processes (one Python process is CPU-bound at
    ~17 runs/s: the graph, the LLM client, the checkpointer); the wall time they took."""
    began = time.monotonic()
    processes, first = [], 0
    for slot in range(SEED_PROCESSES):
        share = count // SEED_PROCESSES + (slot < count % SEED_PROCESSES)
        if not share:
            continue
        log = tmp / f"seed{slot}.log"
        with log.open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.seed",
                str(first), str(share), str(slot), str(SEED_PROCESSES),
                cwd=ROOT, env={**os.environ, **app_env}, stdout=out, stderr=out,
            )  # fmt: skip
        processes.append((process, log))
        first += share
    for process, log in processes:
        if await process.wait() != 0:
            raise RuntimeError(f"seeding failed: {log.read_text()[-2000:]}")
    return time.monotonic() - began


if __name__ == "__main__":  # python -m bench.seed FIRST COUNT SLOT SLOTS (see `seed`)
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(seed_here(*(int(arg) for arg in sys.argv[1:5])))
