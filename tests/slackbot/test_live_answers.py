"""The streamed message is the answer: one answer message per turn (streamed, or posted and
updated where streaming fails), carrying Slack's feedback buttons; a click is stored and
counted; Stop cancels the turn; the status line goes when a step fails. A real `create_agent`
(ChatOpenAI streaming from the local server), on PostgreSQL and SQLite."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.slackbot.conftest import ANA, BEN, CHANNEL, block_text, has_feedback, is_answer
from tests.slackbot.test_conversations import bot_replies
from tests.slackbot.test_live_streams import ANSWER, markdown, streams
from tests.slackbot.test_own_graph import result, start


def answer_messages(slack, thread_ts):
    return [m for m in slack.thread(CHANNEL, thread_ts) if is_answer(m)]


async def the_answer(slack, root):
    """The run's one answer, once the run is done: (its message, what a person reads)."""
    await result(slack, root, timeout=30)
    (answer,) = answer_messages(slack, root.ts)
    return answer


async def test_the_streamed_message_is_the_answer_with_feedback_buttons(
    slack, llm_server, agent_app
):
    llm_server.token_delay = 0.02
    llm_server.script.append(ANSWER)
    async with agent_app() as running:
        root = await start(slack, "tell me about the launch")
        answer = await the_answer(slack, root)
        async with running.services.store.db.transaction() as tx:
            (row,) = await tx.fetchall("SELECT summary_ts FROM orchestrate_runs")
    ((streamed, stream),) = streams(slack, root.ts)
    assert answer is streamed and answer.text == ANSWER == markdown(stream)  # once, streamed
    assert not [m for m in slack.thread(CHANNEL, root.ts) if "🏁 Result" in block_text(m)]
    assert has_feedback(answer) and not stream.streaming
    (stop,) = [c for c in slack.calls_to("chat.stopStream") if c.args["ts"] == answer.ts]
    assert stop.args["blocks"][0]["type"] == "context_actions"  # carried by the stop
    assert answer.metadata["event_type"] == "orchestrate_summary"  # found after a restart
    assert row["summary_ts"] == answer.ts


async def test_a_429_on_start_stream_falls_back_with_the_same_text(slack, llm_server, agent_app):
    llm_server.token_delay = 0.02
    llm_server.script.append(ANSWER)
    slack.fail_next("chat.startStream", 429, retry_after=1)
    async with agent_app():
        root = await start(slack, "tell me about the launch")
        answer = await the_answer(slack, root)
    assert [c.status for c in slack.calls_to("chat.startStream", ok_only=False)] == [429]
    assert not slack.streams and not slack.calls_to("chat.appendStream")
    assert block_text(answer).startswith(ANSWER) and has_feedback(answer)  # posted, updated


async def test_a_stream_that_ends_early_is_finished_by_update_with_the_same_text(
    slack, llm_server, agent_app
):
    llm_server.token_delay = 0.05
    llm_server.script.append(ANSWER)
    async with agent_app():
        root = await start(slack, "tell me about the launch")
        ((started, _),) = await slack.wait_for(lambda: streams(slack, root.ts), 30)
        slack.end_stream(CHANNEL, started.ts)  # Slack ends it (it lives minutes)
        answer = await the_answer(slack, root)
    refused = [c for c in slack.calls if c.error and "Stream" in c.method]
    assert refused and refused[0].error == "message_not_in_streaming_state"
    assert answer.ts == started.ts  # the same message, finished by chat.update
    assert answer.edited >= 1 and has_feedback(answer)
    assert block_text(answer).startswith(ANSWER)


async def test_the_status_goes_when_the_step_fails(slack, llm_server, agent_app):
    llm_server.fail_next(10, status=500)  # every attempt of the model call fails
    async with agent_app():
        root = await start(slack, "tell me about the launch")
        await slack.wait_for(
            lambda: "Retry" in str(slack.thread(CHANNEL, root.ts)[-1].blocks), timeout=30
        )
    statuses = [s for c, t, s in slack.status_log if t == root.ts]
    assert statuses[0] == "is thinking…" and slack.statuses[(CHANNEL, root.ts)] == ""
    assert not answer_messages(slack, root.ts)


async def test_stop_in_slack_cancels_the_turn(slack, llm_server, agent_app):
    llm_server.token_delay = 0.2  # slow enough to press Stop halfway
    llm_server.script.append(ANSWER)
    async with agent_app() as running:
        root = await start(slack, "tell me about the launch")
        ((started, _),) = await slack.wait_for(lambda: streams(slack, root.ts), 30)
        slack.stop_by_user(CHANNEL, started.ts)
        await slack.wait_for(
            lambda: "Cancelled by <@UANA>" in block_text(slack.messages[(CHANNEL, root.ts)]),
            timeout=30,
        )
        await running.services.orchestrator.wait_idle()
        async with running.services.store.db.transaction() as tx:
            (row,) = await tx.fetchall("SELECT status, ended_by FROM orchestrate_runs")
    assert (row["status"], row["ended_by"]) == ("cancelled", ANA)
    assert not answer_messages(slack, root.ts)  # no answer: the turn ended where Stop was
    assert len(llm_server.requests) == 1
    assert started.text != ANSWER and ANSWER.startswith(started.text)


async def opinions(running) -> dict[str, float]:
    async with aiohttp.ClientSession() as http, http.get(running.url + "/metrics") as response:
        text = await response.text()
    return {
        s.labels["opinion"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "orchestrate_answer_opinions"
    }


async def test_feedback_is_stored_replaced_and_counted(slack, llm_server, agent_app):
    llm_server.script.append(ANSWER)
    async with agent_app() as running:
        root = await start(slack, "tell me about the launch")
        answer = await the_answer(slack, root)
        assert await opinions(running) == {"good": 0, "bad": 0}
        store = running.services.store

        status, _ = await slack.click_feedback(ANA, answer, "good")
        assert status == 200
        assert await store.opinion(CHANNEL, answer.ts, ANA) == "good"
        await slack.click_feedback(BEN, answer, "good")
        assert await opinions(running) == {"good": 2, "bad": 0}

        await slack.click_feedback(ANA, answer, "bad")  # Ana changes her mind
        assert await store.opinion(CHANNEL, answer.ts, ANA) == "bad"
        assert await opinions(running) == {"good": 1, "bad": 1}
    assert not slack.responses  # nothing to tell: each click was taken


async def test_a_conversation_streams_each_turn_as_a_new_answer(slack, llm_server, agent_app):
    llm_server.token_delay = 0.02
    llm_server.script.extend([ANSWER, "You asked about the launch."])
    async with agent_app() as running:
        asked = await slack.mention(ANA, CHANNEL, "tell me about the launch")
        await slack.wait_for(lambda: len(answer_messages(slack, asked.ts)) == 1, 30)
        await slack.mention(ANA, CHANNEL, "what did I ask?", thread_ts=asked.ts)
        await slack.wait_for(lambda: len(answer_messages(slack, asked.ts)) == 2, 30)
        await running.services.orchestrator.wait_idle()
    first, second = answer_messages(slack, asked.ts)
    assert [(CHANNEL, m.ts) in slack.streams for m in (first, second)] == [True, True]
    assert first.text == ANSWER and second.text == "You asked about the launch."
    assert first.thread_ts == second.thread_ts == asked.ts  # in the person's thread
    assert has_feedback(first) and has_feedback(second)
    assert len(bot_replies(slack, CHANNEL, asked.ts)) == 3  # the progress message, 2 answers
