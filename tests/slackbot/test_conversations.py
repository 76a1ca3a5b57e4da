"""Agents people talk to: a mention or a DM starts a conversation, follow-ups continue it. A real
`create_agent` (graphs/examples/agent.py) whose ChatOpenAI talks to the local LLM server, the app
over signed HTTP against the emulator, on PostgreSQL and SQLite."""

from __future__ import annotations

import pytest

from graphs.examples import agent
from slackbot.demo.talk import dm_channel
from tests.slackbot.conftest import ANA, BEN, CHANNEL, app_settings, block_text, started

AGENT = "graphs.examples.agent:make_graph"


@pytest.fixture
def talk_app(slack, llm_server, database, monkeypatch):
    """Start the app hosting `spec` (default: the email/ticket agent) with `overrides`."""
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    database_url, data_dir = database

    def make(spec: str = AGENT, **overrides):
        settings = app_settings(
            slack,
            llm_server,
            database_url=database_url,
            data_dir=data_dir,
            graph_spec=spec,
            **overrides,
        )
        return started(settings, slack)

    return make


def bot_replies(slack, channel, thread_ts):
    return [m for m in slack.thread(channel, thread_ts) if m.user == "UORCHBOT"]


def answers(slack, channel, thread_ts) -> list[str]:
    """The answers shown in the thread, in order."""
    found = [block_text(m) for m in bot_replies(slack, channel, thread_ts)]
    return [text for text in found if "🏁 Result" in text]


async def wait_answers(slack, channel, thread_ts, count, timeout=20.0) -> list[str]:
    return await slack.wait_for(
        lambda: len(found := answers(slack, channel, thread_ts)) >= count and found, timeout
    )


def user_texts(request) -> list[str]:
    return [str(m.get("content")) for m in request["messages"] if m.get("role") == "user"]


def assistant_texts(request) -> list[str]:
    return [str(m.get("content")) for m in request["messages"] if m.get("role") == "assistant"]


async def test_a_mention_starts_a_conversation_and_a_follow_up_mention_continues_it(
    slack, llm_server, talk_app
):
    llm_server.script.extend(["Berlin has 3.7 million people.", "You asked about Berlin."])
    async with talk_app() as running:
        asked = await slack.mention(ANA, CHANNEL, "how many people live in Berlin?")
        first = await wait_answers(slack, CHANNEL, asked.ts, 1)
        assert "3.7 million" in first[0]
        progress = bot_replies(slack, CHANNEL, asked.ts)[0]  # the app's first reply
        assert progress.thread_ts == asked.ts and "Started by <@UANA>" in block_text(progress)
        assert slack.roots(CHANNEL) == [asked]  # nothing posted at the top level

        await slack.mention(BEN, CHANNEL, "what did Ana ask?", thread_ts=asked.ts)
        both = await wait_answers(slack, CHANNEL, asked.ts, 2)
        await running.services.orchestrator.wait_idle()

    assert "You asked about Berlin." in both[1]
    assert len(llm_server.requests) == 2  # each turn once: the message event made no third
    second = llm_server.requests[1]
    assert user_texts(second) == ["how many people live in Berlin?", "what did Ana ask?"]
    assert assistant_texts(second) == ["Berlin has 3.7 million people."]
    assert len(answers(slack, CHANNEL, asked.ts)) == 2
