"""Conversations on real app processes over one PostgreSQL: two replicas receiving messages of
one conversation run each turn once, and a turn whose process is killed finishes after restart
with one answer and its message given to the agent once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import graphs.examples
from slackbot.demo.process import AppProcess
from tests.slackbot.conftest import ANA, BEN, CHANNEL
from tests.slackbot.test_conversations import answers, user_texts, wait_answers
from tests.slackbot.test_processes import LEASE_SECONDS, stop_all

AGENT = str(Path(graphs.examples.__file__).parent / "agent.py") + ":make_graph"


@pytest.fixture
async def spawn(slack, llm_server, pg_url, tmp_path):
    """Start an app process hosting the agent; all are stopped at the end."""
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_API_URL": slack.base_url + "/api/",
        "DATABASE_URL": pg_url,
        "OPENAI_API_KEY": "test",
        "OPENAI_BASE_URL": llm_server.base_url,
        "ORCHESTRATE_LEASE_SECONDS": str(LEASE_SECONDS),
        "ORCHESTRATE_GRAPH": AGENT,
    }
    processes: list[AppProcess] = []

    async def start(name: str) -> AppProcess:
        process = AppProcess(env, tmp_path, name)
        processes.append(process)
        return await process.start()

    yield start
    await stop_all(*processes)


async def both_events(slack, message, first_url, second_url):
    """The post's `app_mention` to one replica and its `message` event to the other, at once."""
    await asyncio.gather(
        slack.deliver_event(slack._event(message, "app_mention"), url=first_url),
        slack.deliver_event(slack._event(message, "message", "channel"), url=second_url),
    )


def said(slack, user, text, thread_ts=None):
    return slack.post_as_person(user, CHANNEL, f"<@UORCHBOT> {text}", thread_ts)


async def test_two_replicas_run_each_turn_of_one_conversation_once(slack, llm_server, spawn):
    llm_server.delay = 0.5
    llm_server.script.extend(["One.", "Two.", "Three."])
    a, b = await asyncio.gather(spawn("a"), spawn("b"))
    first = said(slack, ANA, "first")
    await both_events(slack, first, a.url, b.url)
    await slack.wait_for(lambda: llm_server.requests)
    second = said(slack, BEN, "second", first.ts)
    await both_events(slack, second, b.url, a.url)
    third = said(slack, ANA, "third", first.ts)
    await both_events(slack, third, a.url, b.url)
    await wait_answers(slack, CHANNEL, first.ts, 3, timeout=30)
    await asyncio.sleep(LEASE_SECONDS)  # room for a duplicate turn to show itself

    assert len(answers(slack, CHANNEL, first.ts)) == 3
    assert [user_texts(r)[-1] for r in llm_server.requests] == ["first", "second", "third"]
    assert user_texts(llm_server.requests[-1]) == ["first", "second", "third"]


async def test_a_turn_killed_midway_completes_after_restart_with_one_answer(
    slack, llm_server, spawn
):
    # The killed call's handler still takes a scripted answer when it wakes: two of them.
    llm_server.script.extend(["Hello.", *["Berlin has 3.7 million people."] * 2])
    a = await spawn("a")
    first = said(slack, ANA, "hello")
    await both_events(slack, first, a.url, a.url)
    await wait_answers(slack, CHANNEL, first.ts, 1, timeout=30)
    llm_server.delay = 5  # the second turn's model call outlives the process
    follow_up = said(slack, ANA, "how many people live in Berlin?", first.ts)
    await both_events(slack, follow_up, a.url, a.url)
    await slack.wait_for(lambda: len(llm_server.requests) == 2)
    await a.kill()
    llm_server.delay = 0
    await spawn("b")  # takes the turn over once its lease runs out
    shown = await wait_answers(slack, CHANNEL, first.ts, 2, timeout=30)
    await asyncio.sleep(LEASE_SECONDS + 5)  # the killed call's answer, too, goes nowhere

    assert "3.7 million" in shown[1] and len(answers(slack, CHANNEL, first.ts)) == 2
    last = llm_server.requests[-1]
    assert user_texts(last) == ["hello", "how many people live in Berlin?"]  # given once
