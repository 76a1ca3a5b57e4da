"""Live work in the thread: a real `create_agent` (ChatOpenAI streaming from the local server)
and the built-in graph stream into Slack (the emulator validates the stream calls), with the
status line; on PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from graphs.examples import agent
from slackbot.streaming import Budget, Place, StreamWriter
from tests.slackbot.conftest import CHANNEL, is_answer, start_run
from tests.slackbot.test_own_graph import next_open, press, result, start

EMAIL = {"to": "ana@example.com", "subject": "Launch", "body": "It ships on Friday."}
PREAMBLE = "Let me write to Ana about the launch first."
ANSWER = (
    "Done: the email to Ana went out. It tells her the launch ships on Friday, that the"
    " release notes follow on Thursday, and that support knows what changes for customers."
)


def streams(slack, root_ts):
    """The thread's streamed messages, oldest first: (message, its stream)."""
    return [
        (m, slack.streams[(CHANNEL, m.ts)])
        for m in slack.thread(CHANNEL, root_ts)
        if (CHANNEL, m.ts) in slack.streams
    ]


def calls_for(slack, method, ts):
    return [c for c in slack.calls_to(method) if c.args.get("ts") == ts]


def task_statuses(stream, task_id) -> list[str]:
    return [c["status"] for c in stream.chunks if c["type"] == "task_update" and c["id"] == task_id]


def markdown(stream) -> str:
    return "".join(c["text"] for c in stream.chunks if c["type"] == "markdown_text")


async def test_an_agent_turn_streams_its_text_and_tool_card_around_the_review(
    slack, llm_server, agent_app
):
    agent.CALLS.clear()
    llm_server.token_delay = 0.02  # a model writing at 50 tokens/s
    llm_server.script_tool_calls([("send_email", EMAIL)], content=PREAMBLE)
    llm_server.script.append(ANSWER)
    async with agent_app():
        root = await start(slack, "email Ana about the launch")
        review = await next_open(slack, root)
        (first, first_stream), *_ = streams(slack, root.ts)
        # the preamble streamed, and the stream stopped before the review was posted
        assert first.text == PREAMBLE == markdown(first_stream)
        assert not first_stream.streaming and float(first.ts) < float(review.ts)
        call_id = next(iter(first_stream.tasks))
        assert first_stream.tasks[call_id]["title"] == "send_email"
        assert first_stream.tasks[call_id]["status"] == "pending"  # waits for the review
        assert "to=ana@example.com" in first_stream.tasks[call_id]["details"]

        await press(slack, review, "Approve")
        await result(slack, root)
        second, stream = await slack.wait_for(
            lambda: len(s := streams(slack, root.ts)) == 2 and not s[1][1].streaming and s[1]
        )
    assert float(second.ts) > float(review.ts)  # the resumed turn opened a new stream
    assert task_statuses(stream, call_id) == ["in_progress", "complete"]
    assert "Email sent to ana@example.com" in stream.tasks[call_id]["output"]
    assert second.text == ANSWER == markdown(stream)
    assert [m for m in slack.thread(CHANNEL, root.ts) if is_answer(m)] == [second]  # once
    assert len(calls_for(slack, "chat.appendStream", second.ts)) >= 2  # written as it came
    statuses = [s for c, t, s in slack.status_log if t == root.ts]
    assert "is thinking…" in statuses and "is running send_email…" in statuses
    assert slack.statuses[(CHANNEL, root.ts)] == ""  # cleared at the end
    assert statuses.count("") >= 2  # ...and when the turn paused for the review


async def test_the_built_in_run_shows_its_steps_as_a_plan(slack, app):
    root = await start_run(slack)
    _, stream = await slack.wait_for(
        lambda: (s := streams(slack, root.ts)) and not s[0][1].streaming and s[0]
    )
    assert stream.display == "plan" and stream.plan_title
    shown = {t["title"]: t["status"] for t in stream.tasks.values()}
    assert next(iter(shown)) == "plan" and shown["plan"] == "complete"
    # then each worker: its draft written, its review waiting for people
    for worker in ("researcher", "critic", "editor"):
        assert shown[f"{worker}: draft"] == "complete"
        assert shown[f"{worker}: review"] == "pending"


def answers(slack, root_ts):
    """The bot's messages in the thread carrying the answer's text (streamed or posted)."""
    return [m for m in slack.thread(CHANNEL, root_ts) if m.text.startswith(ANSWER[:40])]


async def test_a_slow_model_shows_its_first_token_before_its_second(slack, llm_server, agent_app):
    llm_server.token_delay = 1.0  # one token a second: the buffer is far from full
    llm_server.script.append("Checking the launch date now.")
    async with agent_app():
        root = await start(slack, "when does it ship?")
        first = await slack.wait_for(lambda: slack.calls_to("chat.startStream"), timeout=30)
        # the first token went out on time, alone, while the model was still writing
        assert markdown_of(first[0].args) == "Checking "
        await result(slack, root, timeout=30)
    ((message, _stream),) = streams(slack, root.ts)
    assert message.text == "Checking the launch date now."


def markdown_of(args) -> str:
    return "".join(
        c.get("text", "") for c in args.get("chunks", []) if c["type"] == "markdown_text"
    )


async def test_a_429_on_append_loses_no_text(slack, llm_server, agent_app):
    llm_server.token_delay = 0.02
    llm_server.script.append(ANSWER)
    slack.fail_next("chat.appendStream", 429, retry_after=1)
    async with agent_app():
        root = await start(slack, "tell me about the launch")
        await result(slack, root)
        ((message, stream),) = await slack.wait_for(
            lambda: (s := streams(slack, root.ts)) and not s[0][1].streaming and s
        )
    calls = [c for c in slack.calls if c.method in ("chat.appendStream", "chat.stopStream")]
    (refused,) = [c for c in calls if c.status == 429]
    after = calls[calls.index(refused) + 1]
    # what was refused went again, merged with what came during the Retry-After
    assert markdown_of(after.args).startswith(markdown_of(refused.args))
    assert len(markdown_of(after.args)) > len(markdown_of(refused.args))
    assert message.text == ANSWER == markdown(stream)


@pytest.mark.parametrize("how", ["unknown_method", "method_not_supported_for_channel_type", "off"])
async def test_streaming_refused_falls_back_to_post_and_update_with_the_same_text(
    slack, llm_server, agent_app, how
):
    llm_server.token_delay = 0.02
    llm_server.script.append(ANSWER)
    settings = {"streaming": False} if how == "off" else {}
    slack.refuse_streams = None if how == "off" else how
    async with agent_app(**settings):
        root = await start(slack, "tell me about the launch")
        await result(slack, root)
        (answer,) = await slack.wait_for(lambda: answers(slack, root.ts) or None)
    assert not slack.streams
    assert answer.text == ANSWER
    assert not slack.calls_to("chat.appendStream")
    # the posted and updated message is the answer, once: no result message after it
    assert [m for m in slack.thread(CHANNEL, root.ts) if is_answer(m)] == [answer]


async def test_the_app_stopped_mid_stream_finishes_that_same_message_after_restart(
    slack, llm_server, agent_app
):
    llm_server.token_delay = 0.1
    llm_server.script.append(ANSWER)
    async with agent_app():
        root = await start(slack, "tell me about the launch")
        await slack.wait_for(lambda: slack.calls_to("chat.appendStream"), timeout=30)
    ((cut, stream),) = streams(slack, root.ts)
    assert cut.text != ANSWER and stream.streaming  # the app went away mid-answer
    llm_server.token_delay = 0.0
    llm_server.script.append(ANSWER)  # the recovered step asks the model again
    async with agent_app():
        await result(slack, root, timeout=30)
        await slack.wait_for(lambda: slack.messages[(CHANNEL, cut.ts)].text == ANSWER)
    assert [m.ts for m in answers(slack, root.ts)] == [cut.ts]  # one answer message, finished
    assert [m for m in slack.thread(CHANNEL, root.ts) if is_answer(m)] == [cut]
    assert len(slack.streams) == 1 and not stream.streaming


async def test_an_answer_ends_without_waiting_for_the_appends_budget(slack):
    """Appends are paced by one budget for all streams; the stop is not an append: an answer
    whose stream waits for the budget ends at once, the rest of its text in the stop."""
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url + "/api/")
    root = await client.chat_postMessage(channel=CHANNEL, text="question")
    budget = Budget(per_minute=1, burst=1)  # one append, then one a minute
    writer = StreamWriter(client, budget, Place(CHANNEL, root["ts"], "UANA", "T1"))
    writer.text("First words.")
    await slack.wait_for(lambda: slack.calls_to("chat.startStream"))
    writer.text(" Then more.")
    await slack.wait_for(lambda: slack.calls_to("chat.appendStream"))
    writer.text(" And the end.")
    await asyncio.sleep(0.3)  # the writer now waits for the budget's next append
    ts = await asyncio.wait_for(writer.close(), timeout=10)  # not the minute the budget wants
    assert slack.messages[(CHANNEL, ts)].text == "First words. Then more. And the end."
    assert not slack.streams[(CHANNEL, ts)].streaming
