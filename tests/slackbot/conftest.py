"""The app over real HTTP against the Slack emulator, the local LLM server and real databases."""

from __future__ import annotations

from contextlib import asynccontextmanager

import psycopg
import pytest

from slackbot.demo import script
from slackbot.demo.slack_emulator import SlackEmulator
from slackbot.rules import load_rules
from slackbot.server import running_app
from slackbot.settings import Settings

CHANNEL = "CGENERAL"
ANA, BEN, EVE = "UANA", "UBEN", "UEVE"


@pytest.fixture
async def slack():
    emulator = SlackEmulator()
    await emulator.start()
    emulator.add_channel(CHANNEL, ANA, BEN, EVE)
    yield emulator
    await emulator.close()


def app_settings(slack, llm_server, *, database_url=None, data_dir=None, **overrides) -> Settings:
    values = {
        "slack_bot_token": slack.bot_token,
        "slack_signing_secret": slack.signing_secret,
        "slack_api_url": slack.base_url + "/api/",
        "port": 0,
        "database_url": database_url,
        "openai_api_key": "test",
        "openai_base_url": llm_server.base_url,
        "llm_max_retries": 0,
        "lease_seconds": 3.0,
    }
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**(values | overrides))


@asynccontextmanager
async def started(settings, slack):
    async with running_app(settings, host="127.0.0.1") as running:
        slack.app_url = running.url
        yield running


@pytest.fixture(params=["postgres", "sqlite"])
def database(request, tmp_path):
    """(database_url, data_dir) for each store backend."""
    if request.param == "postgres":
        return request.getfixturevalue("pg_url"), tmp_path
    return None, tmp_path


@pytest.fixture
async def app(slack, llm_server, database):
    database_url, data_dir = database
    settings = app_settings(slack, llm_server, database_url=database_url, data_dir=data_dir)
    async with started(settings, slack) as running:
        yield running


@pytest.fixture
def ruled_app(slack, llm_server, database, monkeypatch, tmp_path):
    """Start the app hosting `spec` under the rules file `toml`."""
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    database_url, data_dir = database

    def make(toml: str, spec: str = "graphs.examples.agent:make_graph", **overrides):
        path = tmp_path / "rules.toml"
        path.write_text(toml)
        settings = app_settings(
            slack,
            llm_server,
            database_url=database_url,
            data_dir=data_dir,
            graph_spec=spec,
            rules=load_rules(path),
            **overrides,
        )
        return started(settings, slack)

    return make


@pytest.fixture
async def pg_app(slack, llm_server, pg_url, tmp_path):
    settings = app_settings(slack, llm_server, database_url=pg_url, data_dir=tmp_path)
    async with started(settings, slack) as running:
        yield running


# -- reading the thread as a person would -----------------------------------------------------


def block_text(message) -> str:
    """Everything a person can read in a message: its blocks' text, flattened."""
    parts = []
    for block in message.blocks:
        value = block.get("text")
        parts.append(value if isinstance(value, str) else (value or {}).get("text", ""))
        parts.extend(field.get("text", "") for field in block.get("fields", []))
        for element in block.get("elements", []):
            parts.append(element.get("text", "") if isinstance(element.get("text"), str)
                         else (element.get("text") or {}).get("text", ""))  # fmt: skip
    return "\n".join(p for p in parts if p)


def has_feedback(message) -> bool:
    """The message carries Slack's feedback buttons (an agent's answer)."""
    return any(b.get("type") == "context_actions" for b in message.blocks)


def shown_text(slack, message) -> str:
    """What a person reads in a message: a streamed one's text, then its blocks' text."""
    streamed = (message.channel, message.ts) in slack.streams
    return "\n".join(p for p in (message.text if streamed else "", block_text(message)) if p)


def is_answer(message) -> bool:
    """The message showing a run's (or a turn's) result: the "🏁 Result" message, or an
    agent's answer (streamed, or posted where streaming is off), which carries feedback."""
    return "🏁 Result" in block_text(message) or has_feedback(message)


def open_reviews(slack, root_ts) -> dict[str, object]:
    """Review messages in the thread that still show an Approve button, by worker id."""
    return script.open_reviews(slack, CHANNEL, root_ts)


def summaries(slack, root_ts):
    return [m for m in slack.thread(CHANNEL, root_ts) if "🧾 Summary" in block_text(m)]


async def start_run(slack, topic="Open an office in Berlin", user=ANA, url=None):
    before = len(slack.roots(CHANNEL))
    status, body = await slack.slash_command(user, CHANNEL, topic, url=url)
    assert status == 200, body
    return await slack.wait_for(
        lambda: len(roots := slack.roots(CHANNEL)) > before and roots[before]
    )


async def wait_reviews(slack, root_ts, workers: set[str], timeout=15.0):
    return await slack.wait_for(
        lambda: (reviews := open_reviews(slack, root_ts)) and set(reviews) == workers and reviews,
        timeout,
    )


def db_rows(pg_url, sql, *params):
    with psycopg.connect(pg_url) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
def agent_app(slack, llm_server, database, monkeypatch):
    """Start the app hosting a graph (default: the example email/ticket agent) with
    `overrides`, its ChatOpenAI talking to the local server."""
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    database_url, data_dir = database

    def make(spec: str = "graphs.examples.agent:make_graph", **overrides):
        settings = app_settings(
            slack, llm_server, database_url=database_url, data_dir=data_dir, graph_spec=spec,
            **overrides,
        )  # fmt: skip
        return started(settings, slack)

    return make
