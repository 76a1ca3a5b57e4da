"""Cancel ends a conversation's wait; the conversation goes on with a new message, on the same
LangGraph thread, and the graph never gets new input while it waits at an interrupt: the
cancelled tool calls are rejected first ("Cancelled by <name>"), so the history the model sees
has a result for every call. A question only an answer can settle ends the conversation in
one line. A real `create_agent` against the test LLM server, on PostgreSQL and SQLite."""

from __future__ import annotations

from graphs.examples import agent
from slackbot.blocks import ACTION_CANCEL
from tests.slackbot import test_conversations
from tests.slackbot.conftest import ANA, BEN, CHANNEL, block_text
from tests.slackbot.test_conversations import (
    EMAIL,
    QUESTION_GRAPH,
    answers,
    bot_replies,
    ephemeral_lines,
    open_review,
    wait_answers,
)

talk_app = test_conversations.talk_app  # the fixture: the app hosting a graph, as there


def progress(slack, thread_ts):
    """The conversation's progress message (with Cancel): the app's first reply."""
    return bot_replies(slack, CHANNEL, thread_ts)[0]


async def cancel(slack, thread_ts, user=ANA):
    status, _ = await slack.click(user, progress(slack, thread_ts), ACTION_CANCEL)
    assert status == 200
    await slack.wait_for(lambda: "Cancelled by" in block_text(progress(slack, thread_ts)))


def tool_results(request) -> list[dict]:
    return [m for m in request["messages"] if m.get("role") == "tool"]


async def test_after_cancel_a_new_message_goes_on_with_the_tool_call_rejected_first(
    slack, llm_server, talk_app
):
    agent.CALLS.clear()
    llm_server.script_tool_calls([("send_email", EMAIL)])
    llm_server.script.extend(["Fine, I did not send it.", "You asked me to email Ana."])
    async with talk_app() as running:
        asked = await slack.mention(ANA, CHANNEL, "email Ana about the launch")
        review = await open_review(slack, asked.ts)
        await cancel(slack, asked.ts)
        await slack.wait_for(lambda: "Cancelled by <@UANA>" in block_text(review))
        assert len(llm_server.requests) == 1

        await slack.mention(BEN, CHANNEL, "what did Ana ask you?", thread_ts=asked.ts)
        shown = await wait_answers(slack, CHANNEL, asked.ts, 2)
        await running.services.orchestrator.wait_idle()

    assert agent.CALLS == []  # the cancelled call never ran
    # The model first hears that the call was cancelled, then the new message, on one thread.
    settle, turn = llm_server.requests[1], llm_server.requests[2]
    (rejected,) = tool_results(settle)
    assert rejected["content"].endswith("`send_email` with reason: Cancelled by Ana")
    call_id = settle["messages"][2]["tool_calls"][0]["id"]
    assert rejected["tool_call_id"] == call_id
    assert [m["role"] for m in turn["messages"]] == [
        "system", "user", "assistant", "tool", "assistant", "user"
    ]  # fmt: skip
    assert turn["messages"][-1]["content"] == "what did Ana ask you?"
    assert turn["messages"][1]["content"] == "email Ana about the launch"
    assert "Fine, I did not send it." in shown[0] and "You asked me to email Ana." in shown[1]
    assert len(answers(slack, CHANNEL, asked.ts)) == 2
    assert "Done" in block_text(progress(slack, asked.ts))


async def test_a_dm_after_cancel_goes_on_with_both_batched_calls_rejected(
    slack, llm_server, talk_app
):
    agent.CALLS.clear()
    ticket = {"title": "Flaky login test", "priority": "normal", "description": "CI"}
    llm_server.script_tool_calls([("send_email", EMAIL), ("create_ticket", ticket)])
    llm_server.script.extend(["Nothing was done.", "Hello again."])
    async with talk_app() as running:
        first = await slack.dm(ANA, "email Ana and open a ticket")

        def reviews():
            found = [m for m in bot_replies(slack, first.channel, first.ts) if "Reject" in str(m)]
            return len(found) == 2 and found

        await slack.wait_for(reviews)
        root = bot_replies(slack, first.channel, first.ts)[0]
        status, _ = await slack.click(ANA, root, ACTION_CANCEL)
        assert status == 200
        await slack.wait_for(lambda: "Cancelled by" in block_text(root))
        await slack.dm(ANA, "hello?", thread_ts=first.ts)
        await wait_answers(slack, first.channel, first.ts, 2)  # the rejection's, then hello's
        await running.services.orchestrator.wait_idle()

    assert agent.CALLS == []
    last = llm_server.requests[-1]
    rejected = [m["content"] for m in tool_results(last)]
    assert len(rejected) == 2 and all(r.endswith("reason: Cancelled by Ana") for r in rejected)
    assert last["messages"][-1]["content"] == "hello?"


async def test_a_question_cancelled_ends_the_conversation_in_one_line(slack, llm_server, talk_app):
    async with talk_app(QUESTION_GRAPH) as running:
        asked = await slack.mention(ANA, CHANNEL, "deploy the site")
        await slack.wait_for(
            lambda: any(
                "Which region?" in block_text(m) for m in bot_replies(slack, CHANNEL, asked.ts)
            )
        )
        await cancel(slack, asked.ts)
        await slack.mention(BEN, CHANNEL, "and now?", thread_ts=asked.ts)
        await slack.wait_for(lambda: ephemeral_lines(slack, BEN))
        await running.services.orchestrator.wait_idle()

    (line,) = ephemeral_lines(slack, BEN)
    assert "cannot go on" in line and "starts a new one" in line
    assert answers(slack, CHANNEL, asked.ts) == []
    assert "Cancelled by" in block_text(progress(slack, asked.ts))


async def test_a_message_that_waited_for_the_review_runs_once_it_is_cancelled(
    slack, llm_server, talk_app
):
    """Ben wrote while the review waited ("I'll read this once…"); Ana cancels: his message is
    the next turn at once, after the cancelled call's rejection, without a further message."""
    agent.CALLS.clear()
    llm_server.script_tool_calls([("send_email", EMAIL)])
    llm_server.script.extend(["Fine, I did not send it.", "Ben is copied next time."])
    async with talk_app() as running:
        asked = await slack.mention(ANA, CHANNEL, "email Ana about the launch")
        await open_review(slack, asked.ts)
        await slack.mention(BEN, CHANNEL, "copy me next time", thread_ts=asked.ts)
        await slack.wait_for(lambda: ephemeral_lines(slack, BEN))
        await cancel(slack, asked.ts)
        shown = await wait_answers(slack, CHANNEL, asked.ts, 2)
        await running.services.orchestrator.wait_idle()

    assert agent.CALLS == []  # the cancelled call never ran
    assert "Ben is copied next time." in shown[1]
    last = llm_server.requests[-1]
    assert [m["role"] for m in last["messages"]] == [
        "system", "user", "assistant", "tool", "assistant", "user"
    ]  # fmt: skip
    assert last["messages"][-1]["content"] == "copy me next time"
    assert tool_results(last)[0]["content"].endswith("with reason: Cancelled by Ana")
