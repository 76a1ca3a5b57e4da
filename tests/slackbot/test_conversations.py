"""Agents people talk to: a mention or a DM starts a conversation, follow-ups continue it. A real
`create_agent` (graphs/examples/agent.py) whose ChatOpenAI talks to the local LLM server, the app
over signed HTTP against the emulator, on PostgreSQL and SQLite."""

from __future__ import annotations

import pytest
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.types import interrupt

from graphs.examples import agent
from slackbot.demo.talk import dm_channel
from tests.slackbot.conftest import (
    ANA,
    BEN,
    CHANNEL,
    EVE,
    app_settings,
    block_text,
    is_answer,
    shown_text,
    started,
)
from tests.slackbot.test_own_graph import buttons, press

EMAIL = {"to": "ana@example.com", "subject": "Launch", "body": "It ships on Friday."}
QUESTION_GRAPH = "tests.slackbot.test_conversations:question_graph"


def question_graph():
    """A conversation that asks a free-text question before it answers."""

    def ask(state: MessagesState) -> dict:
        region = interrupt("Which region?")
        return {"messages": [{"role": "assistant", "content": f"Deploying to {region}."}]}

    return StateGraph(MessagesState).add_node(ask).add_edge(START, "ask")


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
    """The answers shown in the thread, in order (each turn's streamed answer, finished)."""
    found = [m for m in bot_replies(slack, channel, thread_ts) if is_answer(m)]
    return [shown_text(slack, m) for m in found]


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


async def test_a_mention_inside_a_thread_carries_the_thread(slack, llm_server, talk_app):
    llm_server.script.append("Ana wants Friday, Ben Monday.")
    root = slack.post_as_person(ANA, CHANNEL, "When do we ship?", None)
    slack.post_as_person(BEN, CHANNEL, "Monday works for me", root.ts)
    async with talk_app():
        asked = await slack.mention(ANA, CHANNEL, "summarise this thread", thread_ts=root.ts)
        await wait_answers(slack, CHANNEL, root.ts, 1)
        progress = bot_replies(slack, CHANNEL, root.ts)[0]
        assert float(progress.ts) > float(asked.ts)

    (request,) = llm_server.requests
    assert user_texts(request) == [
        "Ana: When do we ship?",
        "Ben: Monday works for me",
        "summarise this thread",
    ]


async def test_a_dm_with_two_turns_and_the_messages_tab_prompts(slack, llm_server, talk_app):
    llm_server.script.extend(["Hello Ana.", "Your name is Ana."])
    async with talk_app("graphs.examples.agent:make_per_call_graph") as running:
        await slack.open_home(ANA, tab="messages")
        prompts = await slack.wait_for(lambda: slack.prompts.get(dm_channel(ANA)))
        first = await slack.dm(ANA, "hi, I am Ana")
        await wait_answers(slack, first.channel, first.ts, 1)
        await slack.dm(ANA, "what is my name?", thread_ts=first.ts)
        both = await wait_answers(slack, first.channel, first.ts, 2)
        await running.services.orchestrator.wait_idle()

    assert [p["message"] for p in prompts["prompts"]] == [
        "email ana@example.com about the launch and open a ticket for the flaky login test"
    ]
    call = slack.calls_to("assistant.threads.setSuggestedPrompts")[0]
    assert "thread_ts" not in call.args
    assert "Your name is Ana." in both[1]
    assert user_texts(llm_server.requests[1]) == ["hi, I am Ana", "what is my name?"]


async def test_a_tool_approved_inside_a_conversation_then_a_follow_up(slack, llm_server, talk_app):
    agent.CALLS.clear()
    llm_server.script_tool_calls([("send_email", EMAIL)])
    llm_server.script.extend(["Sent.", "I emailed Ana about the launch."])
    async with talk_app():
        asked = await slack.mention(ANA, CHANNEL, "email Ana about the launch")

        def review():
            found = [m for m in bot_replies(slack, CHANNEL, asked.ts) if "Approve" in buttons(m)]
            return found and found[0]

        await press(slack, await slack.wait_for(review), "Approve")
        await wait_answers(slack, CHANNEL, asked.ts, 1)
        await slack.mention(ANA, CHANNEL, "what did you do?", thread_ts=asked.ts)
        both = await wait_answers(slack, CHANNEL, asked.ts, 2)

    assert agent.CALLS == [{"tool": "send_email", "args": EMAIL}]
    assert "I emailed Ana" in both[1]
    last = llm_server.requests[-1]
    assert [m["role"] for m in last["messages"]] == [
        "system", "user", "assistant", "tool", "assistant", "user"
    ]  # fmt: skip


async def test_a_free_text_question_answered_by_a_thread_reply(slack, llm_server, talk_app):
    async with talk_app(QUESTION_GRAPH):
        asked = await slack.mention(ANA, CHANNEL, "deploy the site")
        await slack.wait_for(
            lambda: any(
                "Which region?" in block_text(m) for m in bot_replies(slack, CHANNEL, asked.ts)
            )
        )
        reply, status = await slack.reply(BEN, CHANNEL, asked.ts, "eu-west-1")
        assert status == 200
        (answer,) = await wait_answers(slack, CHANNEL, asked.ts, 1)

    assert "Deploying to eu-west-1." in answer
    assert "memo" in slack.messages[(CHANNEL, reply.ts)].reactions


@pytest.mark.parametrize("follow_ups", ["mention", "all"])
async def test_an_unmentioned_channel_reply(slack, llm_server, talk_app, follow_ups):
    llm_server.script.extend(["First.", "Second."])
    async with talk_app(follow_ups=follow_ups) as running:
        asked = await slack.mention(ANA, CHANNEL, "hello")
        await wait_answers(slack, CHANNEL, asked.ts, 1)
        _, status = await slack.reply(EVE, CHANNEL, asked.ts, "and another thing")
        assert status == 200
        if follow_ups == "all":
            await wait_answers(slack, CHANNEL, asked.ts, 2)
        await running.services.orchestrator.wait_idle()

    expected = 2 if follow_ups == "all" else 1
    assert len(llm_server.requests) == expected
    assert len(answers(slack, CHANNEL, asked.ts)) == expected


# -- double texting ----------------------------------------------------------------------------


async def test_two_messages_sent_while_a_turn_runs_are_answered_in_order_each_once(
    slack, llm_server, talk_app
):
    llm_server.delay = 0.5  # the first turn is still running when the next two arrive
    llm_server.script.extend(["One.", "Two.", "Three."])
    async with talk_app() as running:
        asked = await slack.mention(ANA, CHANNEL, "first")
        await slack.wait_for(lambda: llm_server.requests)  # the first turn is running
        await slack.mention(ANA, CHANNEL, "second", thread_ts=asked.ts)
        third = await slack.mention(BEN, CHANNEL, "third", thread_ts=asked.ts)
        await slack.deliver_event(slack.event_callback(third))  # Slack delivers it again
        shown = await wait_answers(slack, CHANNEL, asked.ts, 3)
        await running.services.orchestrator.wait_idle()

    assert [user_texts(r)[-1] for r in llm_server.requests] == ["first", "second", "third"]
    assert user_texts(llm_server.requests[2]) == ["first", "second", "third"]
    assert assistant_texts(llm_server.requests[2]) == ["One.", "Two."]
    assert ["One." in shown[0], "Two." in shown[1], "Three." in shown[2]] == [True] * 3
    assert len(answers(slack, CHANNEL, asked.ts)) == 3


def ephemeral_lines(slack, user) -> list[str]:
    return [c.args["text"] for c in slack.calls_to("chat.postEphemeral") if c.args["user"] == user]


async def open_review(slack, thread_ts):
    def find():
        found = [m for m in bot_replies(slack, CHANNEL, thread_ts) if "Approve" in buttons(m)]
        return found and found[0]

    return await slack.wait_for(find)


async def test_a_message_while_a_review_waits_runs_after_it_is_answered(
    slack, llm_server, talk_app
):
    llm_server.script_tool_calls([("send_email", EMAIL)])
    llm_server.script.extend(["Sent.", "Ben is copied next time."])
    async with talk_app() as running:
        asked = await slack.mention(ANA, CHANNEL, "email Ana about the launch")
        review = await open_review(slack, asked.ts)
        await slack.mention(BEN, CHANNEL, "copy me next time", thread_ts=asked.ts)
        await slack.wait_for(lambda: ephemeral_lines(slack, BEN))
        assert len(llm_server.requests) == 1  # nothing handed to the graph at its interrupt
        await press(slack, review, "Approve")
        shown = await wait_answers(slack, CHANNEL, asked.ts, 2)
        await running.services.orchestrator.wait_idle()

    assert ephemeral_lines(slack, BEN) == ["I'll read this once the open review is answered"]
    assert "Ben is copied next time." in shown[1]
    assert [m["role"] for m in llm_server.requests[-1]["messages"]] == [
        "system", "user", "assistant", "tool", "assistant", "user"
    ]  # fmt: skip


async def test_double_text_reject_refuses_and_drops_the_message(slack, llm_server, talk_app):
    llm_server.script_tool_calls([("send_email", EMAIL)])
    llm_server.script.extend(["Sent."])
    async with talk_app(double_text="reject") as running:
        asked = await slack.mention(ANA, CHANNEL, "email Ana about the launch")
        review = await open_review(slack, asked.ts)
        await slack.mention(BEN, CHANNEL, "copy me next time", thread_ts=asked.ts)
        await slack.wait_for(lambda: ephemeral_lines(slack, BEN))
        await press(slack, review, "Approve")
        await wait_answers(slack, CHANNEL, asked.ts, 1)
        await running.services.orchestrator.wait_idle()

    (line,) = ephemeral_lines(slack, BEN)
    assert line.startswith("I'll read this once the open review is answered")
    assert len(llm_server.requests) == 2  # the tool call, then its report: no third turn
    assert len(answers(slack, CHANNEL, asked.ts)) == 1


async def test_a_conversation_over_socket_mode(slack, llm_server, talk_app):
    llm_server.script.extend(["Hello.", "Still here."])
    async with talk_app(slack_app_token=slack.app_token, slack_signing_secret=None) as running:
        await slack.sockets.wait_connected()
        asked = await slack.mention(ANA, CHANNEL, "hello")
        await wait_answers(slack, CHANNEL, asked.ts, 1)
        await slack.mention(ANA, CHANNEL, "still there?", thread_ts=asked.ts)
        await wait_answers(slack, CHANNEL, asked.ts, 2)
        await running.services.orchestrator.wait_idle()

    assert slack.sockets.urls_issued > 0
    assert user_texts(llm_server.requests[1]) == ["hello", "still there?"]


async def test_the_demo_chat_agent_saves_an_approved_note_and_remembers(
    slack, llm_server, talk_app
):
    from graphs.examples import chat

    chat.NOTES.clear()
    llm_server.script_tool_calls([("save_note", {"text": "Tokyo call at 9"})])
    llm_server.script.extend(["Noted.", "You asked me to note the Tokyo call."])
    async with talk_app("graphs.examples.chat:make_graph"):
        await slack.open_home(ANA, tab="messages")
        prompts = await slack.wait_for(lambda: slack.prompts.get(dm_channel(ANA)))
        first = await slack.dm(ANA, "note that the Tokyo call is at 9")
        await press(slack, await open_review_in(slack, first.channel, first.ts), "Approve")
        await wait_answers(slack, first.channel, first.ts, 1)
        await slack.dm(ANA, "what did I ask you to note?", thread_ts=first.ts)
        both = await wait_answers(slack, first.channel, first.ts, 2)

    assert [p["message"] for p in prompts["prompts"]] == [
        "what time is it in Tokyo?",
        "note that the Tokyo call is at 9",
    ]
    assert chat.NOTES == ["Tokyo call at 9"]
    assert "Tokyo call" in both[1]


async def open_review_in(slack, channel, thread_ts):
    def find():
        found = [m for m in bot_replies(slack, channel, thread_ts) if "Approve" in buttons(m)]
        return found and found[0]

    return await slack.wait_for(find)
