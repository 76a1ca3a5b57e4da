"""What every benchmark needs: a fresh database, the Slack emulator, the LLM server, the app."""

from __future__ import annotations

import asyncio
import os
import statistics
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg

from slackbot.demo.openai_server import OpenAIServer
from slackbot.demo.slack_emulator import SlackEmulator
from slackbot.server import RunningApp, running_app
from slackbot.settings import Settings

ADMIN_URL = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
    "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CHANNEL = "CBENCH"
PEOPLE = ["UANA", "UBEN"]


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


def committed_transactions(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


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
        }
        return Settings(**(values | overrides))  # type: ignore[arg-type]

    def env(self) -> dict[str, str]:
        """The same settings as environment variables, for an app process."""
        return {
            "SLACK_BOT_TOKEN": self.slack.bot_token,
            "SLACK_SIGNING_SECRET": self.slack.signing_secret,
            "SLACK_API_URL": self.slack.base_url + "/api/",
            "DATABASE_URL": self.database_url,
            "OPENAI_API_KEY": "bench",
            "OPENAI_BASE_URL": self.llm.base_url,
            "LOG_LEVEL": "WARNING",
        }


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
