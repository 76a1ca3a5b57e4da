"""Agent tool approvals from Slack: real `create_agent` agents (LangChain's
HumanInTheLoopMiddleware, batched and per call) and an Agent Inbox graph, with ChatOpenAI talking
to the local OpenAI-compatible server, over signed HTTP, on PostgreSQL and SQLite."""

from __future__ import annotations

import json

import pytest

from graphs.examples import agent
from tests.slackbot.conftest import ANA, BEN, app_settings, block_text, started
from tests.slackbot.test_own_graph import buttons, fill, form, next_open, press, result, start

EMAIL = {"to": "ana@example.com", "subject": "Launch", "body": "It ships on Friday."}
TICKET = {"title": "Flaky login test", "priority": "normal", "description": "Seen twice"}


@pytest.fixture
def agent_app(slack, llm_server, database, monkeypatch):
    """Start the app hosting one graph (a spec); the agents' model is the local server."""
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    database_url, data_dir = database

    def make(spec: str):
        settings = app_settings(
            slack, llm_server, database_url=database_url, data_dir=data_dir, graph_spec=spec
        )
        return started(settings, slack)

    return make


def tool_messages(llm_server) -> list[dict]:
    """The tool results the model was sent in its last request."""
    return [m for m in llm_server.requests[-1]["messages"] if m.get("role") == "tool"]


async def test_batched_two_calls_one_approved_one_edited(slack, llm_server, agent_app):
    agent.CALLS.clear()
    llm_server.script_tool_calls([("send_email", EMAIL), ("create_ticket", TICKET)])
    async with agent_app("graphs.examples.agent:make_graph"):
        root = await start(slack, "email Ana about the launch and open a ticket")
        email = await next_open(slack, root)
        ticket = await next_open(slack, root, after=email)
        assert list(buttons(email)) == ["Approve", "Edit", "Reject", "Respond"]
        assert list(buttons(ticket)) == ["Approve", "Edit", "Reject"]
        assert "send_email" in block_text(email) and "ana@example.com" in block_text(email)
        # the middleware's default description lists the arguments too: shown once
        assert block_text(email).count("ana@example.com") == 1, block_text(email)
        assert "Tool call 2 of 2" in block_text(ticket)

        await press(slack, email, "Approve")
        await slack.wait_for(lambda: "answered *Approve*" in block_text(email))
        view = await form(slack, ticket, "Edit", user=BEN)
        labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
        assert labels == ["title", "priority", "description"]
        status, reply = await slack.submit_view(BEN, fill(view, title="Fix the login test"))
        assert status == 200 and not reply
        text = await result(slack, root)

    assert agent.CALLS == [  # the tools' own record: the edited args reached the tool
        {"tool": "send_email", "args": EMAIL},
        {"tool": "create_ticket", "args": TICKET | {"title": "Fix the login test"}},
    ]
    assert "Fix the login test" in text
    assert "Edit: title=Fix the login test" in block_text(ticket)


async def test_batched_reject_and_respond_reach_the_model(slack, llm_server, agent_app):
    agent.CALLS.clear()
    llm_server.script_tool_calls([("send_email", EMAIL), ("create_ticket", TICKET)])
    async with agent_app("graphs.examples.agent:make_graph"):
        root = await start(slack, "email Ana and open a ticket")
        email = await next_open(slack, root)
        ticket = await next_open(slack, root, after=email)
        view = await form(slack, email, "Respond")
        await slack.submit_view(ANA, fill(view, Message="Already told her in person"))
        view = await form(slack, ticket, "Reject")
        await slack.submit_view(ANA, fill(view, **{"Reason (optional)": "we have one already"}))
        await result(slack, root)

    assert agent.CALLS == []  # neither tool ran
    results = {m["content"]: m for m in tool_messages(llm_server)}
    assert "Already told her in person" in results  # respond: the tool's result
    assert any("with reason: we have one already" in c for c in results)  # reject: its error


async def test_per_call_edit_is_validated_against_the_tools_schema(slack, llm_server, agent_app):
    agent.CALLS.clear()
    llm_server.script_tool_calls([("create_ticket", TICKET), ("send_email", EMAIL)])
    async with agent_app("graphs.examples.agent:make_per_call_graph"):
        root = await start(slack, "open a ticket and email Ana")
        first = await next_open(slack, root)
        second = await next_open(slack, root, after=first)
        by_tool = {("create_ticket" in block_text(m)): m for m in (first, second)}
        ticket, email = by_tool[True], by_tool[False]
        assert list(buttons(ticket)) == ["Approve", "Edit", "Reject"]
        assert list(buttons(email)) == ["Approve", "Edit", "Reject", "Respond"]
        view = await form(slack, ticket, "Edit")
        inputs = {b["label"]["text"]: b for b in view["blocks"] if b["type"] == "input"}
        assert inputs["Priority"]["element"]["type"] == "static_select"  # the tool's enum
        status, reply = await slack.submit_view(ANA, fill(view, Priority="high"))
        assert status == 200 and not reply
        await press(slack, email, "Approve")
        await result(slack, root)

    assert {"tool": "create_ticket", "args": TICKET | {"priority": "high"}} in agent.CALLS
    assert {"tool": "send_email", "args": EMAIL} in agent.CALLS


@pytest.mark.parametrize(
    ("button", "fields", "says"),
    [
        ("Accept", None, "#releases: v2.3 ships on Friday"),
        ("Edit", {"text": "v2.3 ships on Monday"}, "#releases: v2.3 ships on Monday"),
        ("Respond", {"Message": "Hold it until QA signs off"}, "Hold it until QA signs off"),
        ("Ignore", None, "ignored"),
    ],
)
async def test_agent_inbox_each_response_type(slack, agent_app, button, fields, says):
    async with agent_app("graphs.examples.agent_inbox:graph"):
        root = await start(slack, "#releases v2.3 ships on Friday")
        review = await next_open(slack, root)
        assert list(buttons(review)) == ["Accept", "Edit", "Respond", "Ignore"]
        if fields is None:
            await press(slack, review, button)
        else:
            view = await form(slack, review, button)
            status, reply = await slack.submit_view(ANA, fill(view, **fields))
            assert status == 200 and not reply, reply
        assert says in await result(slack, root)


INVALID_EDIT_AGENT = '''
import os
from pydantic import Field
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

CALLS = []

@tool
def schedule(title: str, minutes: int = Field(ge=5, le=60)) -> str:
    """Book a meeting."""
    CALLS.append({"title": title, "minutes": minutes})
    return f"booked {title} for {minutes} minutes"

def make_graph():
    model = ChatOpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="x", model="m")
    hitl = HumanInTheLoopMiddleware(interrupt_on={"schedule": True}, interrupt_mode="per_call")
    return create_agent(model, tools=[schedule], middleware=[hitl])
'''


async def test_an_invalid_edit_is_refused_on_the_form_and_fixed(
    slack, llm_server, agent_app, tmp_path
):
    (tmp_path / "meetings.py").write_text(INVALID_EDIT_AGENT)
    llm_server.script_tool_calls([("schedule", {"title": "Retro", "minutes": 30})])
    async with agent_app(f"{tmp_path / 'meetings.py'}:make_graph"):
        root = await start(slack, "book the retro")
        review = await next_open(slack, root)
        view = await form(slack, review, "Edit")
        status, reply = await slack.submit_view(ANA, fill(view, Minutes="90"))
        assert reply["response_action"] == "errors"
        assert "60" in json.dumps(reply["errors"])  # the tool's own limit, shown on the field
        (shown,) = slack.open_views(ANA)
        status, reply = await slack.submit_view(ANA, fill(shown, Minutes="45"))
        assert status == 200 and not reply
        assert "booked Retro for 45 minutes" in await result(slack, root)


REACT_AGENT = '''
import os

from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.prebuilt import create_react_agent

SENT = []


@tool
def look_up_policy(topic: str) -> str:
    """Read the travel policy on a topic."""
    return "Policy. " + "Economy class for flights under six hours. " * 48


@tool
def send_email(to: str, subject: str, body: str) -> str:
    """Send an email."""
    SENT.append({"to": to, "subject": subject, "body": body})
    return f"sent to {to}"


def make_graph():
    model = ChatOpenAI(model="stand-in", base_url=os.environ["OPENAI_BASE_URL"], api_key="test",
                       use_responses_api=False)
    return create_react_agent(model, [look_up_policy, send_email], interrupt_before=["tools"])
'''


async def test_a_breakpoint_after_a_big_tool_result_shows_and_edits_the_pending_call(
    slack, llm_server, agent_app, tmp_path
):
    (tmp_path / "react_agent.py").write_text(REACT_AGENT)
    mail = {"to": "ana@example.com", "subject": "Policy", "body": "Economy under six hours."}
    llm_server.script_tool_calls([("look_up_policy", {"topic": "flights"})])
    llm_server.script_tool_calls([("send_email", mail)])
    async with agent_app(f"{tmp_path / 'react_agent.py'}:make_graph"):
        root = await start(slack, "tell Ana the flight policy")
        first = await next_open(slack, root)
        await press(slack, first, "Continue")
        paused = await next_open(slack, root, after=first)  # after the ~2 KB policy text
        text = block_text(paused)
        assert "It will run these tool calls" in text and "send_email" in text
        assert "ana@example.com" in text  # what the node will act on, not cut away
        view = await form(slack, paused, "Edit state")
        (call,) = [b for b in view["blocks"] if b["type"] == "input"]
        assert call["label"]["text"] == "send_email arguments (JSON)"
        assert json.loads(call["element"]["initial_value"]) == mail  # never an empty editor
        edited = json.dumps(mail | {"to": "ben@example.com"})
        status, reply = await slack.submit_view(ANA, {call["block_id"]: edited})
        assert status == 200 and not reply
        again = await next_open(slack, root, after=paused)
        assert "ben@example.com" in block_text(again) and "ana@" not in block_text(again)
        await press(slack, again, "Continue")
        await result(slack, root)
    sent = [m for m in tool_messages(llm_server) if "sent to" in m["content"]]
    assert [m["content"] for m in sent] == ["sent to ben@example.com"]
