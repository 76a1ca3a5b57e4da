"""The two processes the figures `floor` and `burst` measure, driven through the same steps.

The app (AppSubject): `python -m slackbot` under `python -m bench.sqlcount` (CountedApp), against
a Slack emulator that approves every review the moment it is posted (`stamps.FloorSlack`). The
floor (BareSubject): `bench/bare_loop.py` under the same `bench.sqlcount`, driving the same
built-in graph with bare LangGraph, ordered over its stdin. Each has a fresh database and a fresh
stand-in LLM (`stamps.TimedLLM`).

Both answer the same steps: `run_one` (start one and wait until it is done), `sequential`
(that many one at a time: the latencies, unloaded), `batch` (that many at once: how many
completed, the time, the latencies under load). A latency is the summary request's arrival at
the stand-in LLM minus, in the app, when the emulator began sending the step's last approval
click, in the floor, the moment before its resume `ainvoke`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench import sqlcount
from bench.harness import (
    CHANNEL,
    PEOPLE,
    TimedApp,
    app_env,
    fresh_database,
    gather_limited,
    log,
)
from bench.stamps import FloorSlack, TimedLLM
from slackbot.demo.slack_emulator import SlackEmulator

SEND_AT_ONCE = 50  # /orchestrate commands in flight to the app

REPO = Path(__file__).resolve().parent.parent
BARE_LOOP = Path(__file__).with_name("bare_loop.py")


def _topics(prefix: str, count: int) -> list[str]:
    return [f"{prefix} {i:05d}" for i in range(count)]


def _latencies(ends: dict[str, float], starts: dict[str, float | None]) -> list[float]:
    out = []
    for topic, start in starts.items():
        end = ends.get(topic)
        if start is not None and end is not None and end >= start:
            out.append(end - start)
    return out


@dataclass
class Batch:
    completed: int
    took: float
    latencies: list[float]


@dataclass
class Subject:
    """One process under measurement, with its database and stand-in LLM."""

    kind: str  # "app" | "bare"
    workdir: Path
    database_url: str
    llm: TimedLLM
    counts_file: Path
    pid: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, slack: SlackEmulator | None = None) -> dict[str, str]:
        return {
            **app_env(self.database_url, self.llm, slack),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            sqlcount.ENV: str(self.counts_file),
            **self.extra_env,
        }

    def sql(self) -> dict[str, int]:
        return sqlcount.read_counts(self.counts_file)

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def run_one(self, topic: str) -> None: ...
    async def sequential(self, count: int) -> list[float]: ...
    async def batch(self, prefix: str, count: int, timeout: float) -> Batch: ...


class CountedApp(TimedApp):
    """`python -m bench.sqlcount slackbot`: the app, its SQL counted."""

    argv = ("-m", "bench.sqlcount", "slackbot")
    poll = 0.05


class AppSubject(Subject):
    slack: FloorSlack
    app: CountedApp
    refused = 0
    stopped = False

    async def start(self) -> None:
        self.slack = FloorSlack()
        await self.slack.start()
        self.slack.add_channel(CHANNEL, *PEOPLE)
        name = f"app-{self.counts_file.stem}"
        self.app = await CountedApp(self.env(self.slack), self.workdir, name).start()
        self.slack.app_url = self.app.url
        assert self.app.process is not None
        self.pid = self.app.process.pid

    async def stop(self) -> None:
        try:
            await self.app.stop()
        finally:
            if not self.stopped:
                self.stopped = True
                await self.slack.close()

    async def _send(self, topic: str) -> None:
        try:
            status, body = await self.slack.slash_command(PEOPLE[0], CHANNEL, topic)
        except aiohttp.ClientError as error:
            status, body = 0, f"{type(error).__name__}: {error}"
        if status != 200 or body.strip():  # a start is acked with an empty body
            self.refused += 1
            if self.refused <= 3:
                log("app", f"/orchestrate {topic!r} answered {status} {body[:200]!r}")

    async def run_one(self, topic: str) -> None:
        await self._send(topic)
        await self.slack.wait_for(lambda: topic in self.slack.done, 60)

    async def sequential(self, count: int) -> list[float]:
        topics = _topics("seq", count)
        for topic in topics:
            await self.run_one(topic)
        starts = {t: self.slack.last_click.get(t) for t in topics}
        return _latencies(self.llm.summary_at, starts)

    async def batch(self, prefix: str, count: int, timeout: float) -> Batch:
        topics = _topics(prefix, count)
        wanted = set(topics)
        slack = self.slack
        began = time.monotonic()
        sent = asyncio.ensure_future(gather_limited(SEND_AT_ONCE, *(self._send(t) for t in topics)))
        try:
            await slack.wait_for(lambda: wanted <= slack.summary_posted.keys(), timeout)
            await slack.wait_for(lambda: wanted <= slack.done, 30)
        except TimeoutError:
            log("app", f"timed out with {len(wanted & slack.summary_posted.keys())}/{count} done")
        await sent
        if slack.click_failures:
            log("app", f"{slack.click_failures} approval clicks failed so far")
        posted = [slack.summary_posted[t] for t in topics if t in slack.summary_posted]
        took = (max(posted) if posted else time.monotonic()) - began
        await self._quiet()
        starts = {t: slack.last_click.get(t) for t in topics}
        return Batch(len(posted), took, _latencies(self.llm.summary_at, starts))

    async def _quiet(self, seconds: float = 0.5, most: float = 10.0) -> None:
        """Until the app has made no Slack call for `seconds`: its tail work (the last root
        updates, App Home publishes) belongs to the workload."""
        deadline = time.monotonic() + most
        seen = len(self.slack.calls)
        while time.monotonic() < deadline:
            await asyncio.sleep(seconds)
            if len(self.slack.calls) == seen:
                return
            seen = len(self.slack.calls)


class BareSubject(Subject):
    process: asyncio.subprocess.Process

    async def start(self) -> None:
        env = {**os.environ, **self.env()}
        log = (self.workdir / f"bare-{self.counts_file.stem}.log").open("ab")
        with log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.sqlcount", str(BARE_LOOP), cwd=self.workdir,
                env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=log, limit=2**26,
            )  # fmt: skip
        ready = await self._answer(60)
        assert ready.get("ready"), ready
        self.pid = self.process.pid

    async def _answer(self, timeout: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        while True:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
            if not line:
                raise RuntimeError(f"the bare loop exited ({self.workdir})")
            if line.startswith(b"{"):
                return json.loads(line)

    async def _order(self, order: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(order) + "\n").encode())
        await self.process.stdin.drain()
        answer = await self._answer(timeout)
        if answer.get("error_count"):
            log("bare", f"{answer['error_count']} failed, e.g. {answer['errors'][:2]}")
        return answer

    async def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                assert self.process.stdin is not None
                self.process.stdin.write(b'{"exit": true}\n')
                await self.process.stdin.drain()
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    async def run_one(self, topic: str) -> None:
        prefix = topic.split()[0]
        await self._order({"run": 1, "concurrency": 1, "prefix": prefix}, 60)

    async def sequential(self, count: int) -> list[float]:
        answer = await self._order({"run": count, "concurrency": 1, "prefix": "seq"}, 60 + count)
        return _latencies(self.llm.summary_at, answer["resumed"])

    async def batch(self, prefix: str, count: int, timeout: float) -> Batch:
        order = {"run": count, "concurrency": count, "prefix": prefix}
        answer = await self._order(order, timeout)
        return Batch(
            answer["completed"], answer["took"], _latencies(self.llm.summary_at, answer["resumed"])
        )


@contextlib.asynccontextmanager
async def subject(kind: str, tmp: Path, tag: str, **extra_env: str) -> AsyncIterator[Subject]:
    llm = TimedLLM()
    await llm.start()
    try:
        with fresh_database() as url:
            cls = AppSubject if kind == "app" else BareSubject
            made = cls(kind, tmp, url, llm, tmp / f"{kind}-{tag}.sqlcount", extra_env=extra_env)
            await made.start()
            try:
                yield made
            finally:
                await made.stop()
    finally:
        await llm.close()
