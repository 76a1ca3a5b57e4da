"""What every benchmark needs: a fresh database, the Slack emulator, the LLM server, the app."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import aiohttp
import psycopg

from slackbot.blocks import ACTION_APPROVE
from slackbot.demo.openai_server import OpenAIServer
from slackbot.demo.process import AppProcess
from slackbot.demo.slack_emulator import Message, SlackEmulator
from slackbot.server import RunningApp, running_app
from slackbot.settings import Settings

ADMIN_URL = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
    "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CHANNEL = "CBENCH"
PEOPLE = ["UANA", "UBEN"]
# One person in one channel starts every figure's runs: the per-person and per-channel limits on
# runs in flight (ORCHESTRATE_MAX_RUNS_PER_USER / _PER_CHANNEL) are lifted for every app.
NO_LIMIT = 1_000_000
UNLIMITED_RUNS = {
    "ORCHESTRATE_MAX_RUNS_PER_USER": str(NO_LIMIT),
    "ORCHESTRATE_MAX_RUNS_PER_CHANNEL": str(NO_LIMIT),
}


def log(source: str, text: str) -> None:
    """A progress line on stderr, beside the table on stdout."""
    print(f"  {source}: {text}", file=sys.stderr, flush=True)


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new database for one figure (clean statistics), as a postgresql:// URL; dropped after."""
    name = f"orchestrate_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        info = admin.info
        auth = quote(info.user) + (f":{quote(info.password)}" if info.password else "")
        host = "127.0.0.1" if info.host.startswith("/") else info.host
        url = f"postgresql://{auth}@{host}:{info.port}/{name}"
    try:
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Environment:
    slack: SlackEmulator
    llm: OpenAIServer
    database_url: str
    app: RunningApp | None = None

    def settings(self, data_dir: Path, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "slack_bot_token": self.slack.bot_token,
            "slack_signing_secret": self.slack.signing_secret,
            "slack_api_url": self.slack.base_url + "/api/",
            "port": 0,
            "database_url": self.database_url,
            "data_dir": data_dir,
            "openai_api_key": "bench",
            "openai_base_url": self.llm.base_url,
            "llm_max_retries": 0,
            "max_runs_per_user": NO_LIMIT,
            "max_runs_per_channel": NO_LIMIT,
        }
        return Settings(**(values | overrides))  # type: ignore[arg-type]

    def env(self) -> dict[str, str]:
        """The same settings as environment variables, for an app process."""
        return app_env(self.database_url, self.llm, self.slack)


def app_env(
    database_url: str, llm: OpenAIServer, slack: SlackEmulator | None = None
) -> dict[str, str]:
    """An app process's environment: this database, this stand-in LLM, this Slack (without one,
    placeholder credentials: a process that talks to no Slack), the run limits lifted."""
    slack_env = {"SLACK_BOT_TOKEN": "xoxb-unused", "SLACK_SIGNING_SECRET": "unused"}
    if slack is not None:
        slack_env = {
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": slack.signing_secret,
            "SLACK_API_URL": slack.base_url + "/api/",
        }
    return {
        **slack_env,
        "DATABASE_URL": database_url,
        "OPENAI_API_KEY": "bench",
        "OPENAI_BASE_URL": llm.base_url,
        "LOG_LEVEL": "WARNING",
        **UNLIMITED_RUNS,
    }


class TimedApp(AppProcess):
    """AppProcess run as `python <argv>`, its start timed from spawn to the first /healthz 200
    (`started_in`), polled every `poll` seconds."""

    argv: tuple[str, ...] = ("-m", "slackbot")
    poll = 0.01
    started_in: float = float("nan")

    async def start(self, timeout: float = 60.0) -> TimedApp:
        env = {**os.environ, **self.env, "PORT": str(self.port)}
        began = time.perf_counter()
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, *self.argv, cwd=self.workdir, env=env, stdout=out, stderr=out
            )
        async with aiohttp.ClientSession() as session:
            while time.perf_counter() - began < timeout:
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
                with suppress(aiohttp.ClientError):
                    async with session.get(self.url + "/healthz") as response:
                        if response.status == 200:
                            self.started_in = time.perf_counter() - began
                            return self
                await asyncio.sleep(self.poll)
        raise TimeoutError(f"{self.name} did not become healthy: {self.log.read_text()[-2000:]}")


@asynccontextmanager
async def environment(
    tmp: Path,
    *,
    in_process: bool = True,
    post_rate: float | None = None,
    slack_class: type[SlackEmulator] = SlackEmulator,
    **overrides: object,
) -> AsyncIterator[Environment]:
    slack = slack_class(post_rate_per_channel=post_rate)
    llm = OpenAIServer()
    await slack.start()
    await llm.start()
    slack.add_channel(CHANNEL, *PEOPLE)
    try:
        with fresh_database() as database_url:
            env = Environment(slack, llm, database_url)
            if not in_process:
                yield env
                return
            async with running_app(env.settings(tmp, **overrides), host="127.0.0.1") as app:
                env.app = app
                slack.app_url = app.url
                yield env
    finally:
        await slack.close()
        await llm.close()


def is_review(slack: SlackEmulator, message: Message) -> bool:
    """The message asks for a review: it has an Approve button."""
    try:
        slack.find_button(message, ACTION_APPROVE)
    except LookupError:
        return False
    return True


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


async def gather_limited(limit: int, *coroutines):  # type: ignore[no-untyped-def]
    semaphore = asyncio.Semaphore(limit)

    async def one(coroutine):  # type: ignore[no-untyped-def]
        async with semaphore:
            return await coroutine

    return await asyncio.gather(*(one(c) for c in coroutines))
