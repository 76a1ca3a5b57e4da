"""Conversations as runs: a `messages` graph's run started by `/orchestrate` is a conversation
too; a graph without `messages` starts a new run for a mention in a finished run's thread; a
conversation that waits for people is listed by `/orchestrate status` and the App Home; a DM
conversation over Socket Mode. The app over signed HTTP (or Socket Mode) against the emulator,
a real `create_agent` against the test LLM server, on PostgreSQL and SQLite."""

from __future__ import annotations

from slackbot.demo.talk import dm_channel
from tests.slackbot import test_conversations
from tests.slackbot.conftest import ANA, BEN, CHANNEL, EVE, block_text
from tests.slackbot.test_conversations import (
    EMAIL,
    answers,
    bot_replies,
    open_review,
    user_texts,
    wait_answers,
)
from tests.slackbot.test_home import home_shows, link, status_for
from tests.slackbot.test_own_graph import result, start

talk_app = test_conversations.talk_app  # the fixture: the app hosting a graph, as there
PAYMENT = "graphs.examples.approval:graph"  # takes text, no `messages`: a one-shot run


async def test_a_run_started_by_orchestrate_goes_on_with_a_mention_in_its_thread(
    slack, llm_server, talk_app
):
    llm_server.script.extend(["Berlin has 3.7 million people.", "You asked about Berlin."])
    async with talk_app() as running:
        root = await start(slack, "how many people live in Berlin?")
        await wait_answers(slack, CHANNEL, root.ts, 1)
        await slack.mention(BEN, CHANNEL, "what did Ana ask?", thread_ts=root.ts)
        both = await wait_answers(slack, CHANNEL, root.ts, 2)
        await running.services.orchestrator.wait_idle()

    assert "You asked about Berlin." in both[1]
    assert len(slack.roots(CHANNEL)) == 1  # the same run, in the same thread
    assert user_texts(llm_server.requests[1]) == [
        "how many people live in Berlin?",
        "what did Ana ask?",
    ]
    assert "Done" in block_text(slack.messages[(CHANNEL, root.ts)])


async def test_a_mention_in_a_finished_one_shot_runs_thread_starts_a_new_run_there(
    slack, llm_server, talk_app
):
    async with talk_app(PAYMENT) as running:
        root = await start(slack, "pay 100 EUR to ACME")
        first = await result(slack, root)
        await slack.mention(ANA, CHANNEL, "pay 50 EUR to Initech", thread_ts=root.ts)

        def second():
            found = [
                m for m in bot_replies(slack, CHANNEL, root.ts) if "🏁 Result" in block_text(m)
            ]
            return len(found) == 2 and found

        shown = await slack.wait_for(second)
        await running.services.orchestrator.wait_idle()

    assert "ACME" in first and "Initech" in block_text(shown[1])
    replies = [m for m in bot_replies(slack, CHANNEL, root.ts) if m.ts != root.ts]
    (progress,) = [m for m in replies if "Started by" in block_text(m)]  # a new run's
    assert "pay 50 EUR to Initech" in block_text(progress) and "Done" in block_text(progress)
    assert len(slack.roots(CHANNEL)) == 1


async def test_a_conversation_waiting_for_a_review_is_in_status_and_the_app_home(
    slack, llm_server, talk_app
):
    llm_server.script_tool_calls([("send_email", EMAIL)])
    async with talk_app():
        asked = await slack.mention(ANA, CHANNEL, "email Ana about the launch")
        review = await open_review(slack, asked.ts)
        progress = bot_replies(slack, CHANNEL, asked.ts)[0]
        await slack.wait_for(lambda: "Waiting" in block_text(progress))
        text = await status_for(slack, EVE)
        await slack.open_home(ANA)
        home = await home_shows(slack, ANA, "Waiting for you: 1 review")

    assert "Waiting for people in this channel: 1 run" in text
    assert "email Ana about the launch" in text and "0 of 1 answers in" in text
    assert f"<{link(CHANNEL, progress.ts, asked.ts)}|open the thread>" in text
    assert "email Ana about the launch" in home
    assert link(CHANNEL, review.ts, asked.ts) in home  # into the conversation's thread


async def test_a_dm_conversation_over_socket_mode(slack, llm_server, talk_app):
    llm_server.script.extend(["Hello Ana.", "Your name is Ana."])
    async with talk_app(slack_app_token=slack.app_token, slack_signing_secret=None) as running:
        await slack.sockets.wait_connected()
        assert await slack.open_home(ANA, tab="messages") == 200
        await slack.wait_for(lambda: slack.prompts.get(dm_channel(ANA)))
        first = await slack.dm(ANA, "hi, I am Ana")
        await wait_answers(slack, first.channel, first.ts, 1)
        await slack.dm(ANA, "what is my name?", thread_ts=first.ts)
        both = await wait_answers(slack, first.channel, first.ts, 2)
        await running.services.orchestrator.wait_idle()

    assert slack.sockets.urls_issued > 0
    assert "Your name is Ana." in both[1]
    assert user_texts(llm_server.requests[1]) == ["hi, I am Ana", "what is my name?"]
    assert len(answers(slack, first.channel, first.ts)) == 2
