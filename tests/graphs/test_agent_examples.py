"""The agent examples, driven with LangGraph alone against the stand-in model.

`agent` (batched, and per call) is a LangChain `create_agent` graph with `HumanInTheLoopMiddleware`
(batched and per-call); `agent_inbox` is a plain graph in the Agent Inbox shape. Each run gets
its own checkpointer and is resumed by interrupt id, as the app does. What a tool did is read
from the tool's own record (`CALLS`), what reached the model from the stand-in's requests.
"""

import json
import re
import uuid

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command, Interrupt
from pydantic import ValidationError

from graphs.examples import agent, agent_inbox

ASK = "email ana@example.com about the launch and open a ticket for the flaky login test"
EMAIL = {
    "to": "ana@example.com",
    "subject": "The launch",
    "body": "Hello,\n\nA quick note about the launch.\n\nBest regards",
}
TICKET = {
    "title": "The flaky login test",
    "priority": "normal",
    "description": f"Requested in chat: {ASK}",
}
DEFAULT_DESCRIPTION = f"Tool execution requires approval\n\nTool: send_email\nArgs: {EMAIL}"


@pytest.fixture
def model_env(llm_server, monkeypatch):
    """The environment the agents' factories read, pointing at the stand-in; empty records."""
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    monkeypatch.setenv("OPENAI_MODEL", "test-model")
    monkeypatch.setattr(agent, "CALLS", [])
    return llm_server


def is_json_plain(value) -> bool:
    return json.loads(json.dumps(value)) == value


class Run:
    """One thread of one graph, with its own checkpointer."""

    def __init__(self, graph):
        self.graph = graph.copy(update={"checkpointer": InMemorySaver()})
        self.config = {"configurable": {"thread_id": uuid.uuid4().hex}}

    async def start(self, value) -> dict:
        return await self.graph.ainvoke(value, self.config)

    async def say(self, text: str) -> dict:
        return await self.start({"messages": [{"role": "user", "content": text}]})

    async def pending(self) -> list[Interrupt]:
        asked = list((await self.graph.aget_state(self.config)).interrupts)
        for one in asked:
            assert is_json_plain(one.value), one.value
            assert one.response_schema is None or is_json_plain(one.response_schema)
        return asked

    async def ask(self) -> Interrupt:
        (asked,) = await self.pending()
        return asked

    async def resume(self, answers: dict) -> dict:
        return await self.graph.ainvoke(Command(resume=answers), self.config)

    async def answer(self, value) -> dict:
        return await self.resume({(await self.ask()).id: value})

    async def finished(self) -> dict:
        snapshot = await self.graph.aget_state(self.config)
        assert snapshot.next == () and await self.pending() == []
        return snapshot.values


def tool_messages(request: dict) -> list[dict]:
    """The tool results a request to the model carried, as OpenAI messages."""
    return [message for message in request["messages"] if message["role"] == "tool"]


def last_reply(result: dict) -> str:
    message = result["messages"][-1]
    assert isinstance(message, AIMessage) and not message.tool_calls
    return message.text


# --- the factories -----------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [agent.make_graph, agent.make_per_call_graph])
def test_the_factory_says_which_variables_it_needs(factory, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(RuntimeError, match=r"OPENAI_API_KEY.*OPENAI_BASE_URL"):
        factory()


@pytest.mark.parametrize("factory", [agent.make_graph, agent.make_per_call_graph])
def test_the_agents_take_messages_and_come_without_a_checkpointer(factory, model_env):
    graph = factory()
    assert graph.checkpointer is None
    schema = graph.get_input_jsonschema()
    assert schema["required"] == ["messages"]


# --- agent: batched, one interrupt per model turn ----------------------------------------------


async def test_batched_asks_once_for_both_calls_of_one_turn(model_env):
    run = Run(agent.make_graph())
    await run.say(ASK)
    asked = await run.ask()
    assert asked.value == {
        "action_requests": [
            {"name": "send_email", "args": EMAIL, "description": DEFAULT_DESCRIPTION},
            {
                "name": "create_ticket",
                "args": TICKET,
                "description": "Open this ticket in the tracker?",
            },
        ],
        "review_configs": [
            {
                "action_name": "send_email",
                "allowed_decisions": ["approve", "edit", "reject", "respond"],
            },
            {"action_name": "create_ticket", "allowed_decisions": ["approve", "edit", "reject"]},
        ],
    }
    assert asked.response_schema is None  # batched mode checks decisions itself, on resume
    assert agent.CALLS == []  # nothing runs before the review
    assert len(model_env.requests) == 1
    offered = [tool["function"]["name"] for tool in model_env.requests[0]["tools"]]
    assert offered == ["send_email", "create_ticket", "lookup_contact"]


async def test_batched_approve_and_edit_run_the_edited_args(model_env):
    run = Run(agent.make_graph())
    await run.say(ASK)
    edited = {"title": "Login test fails one run in ten", "priority": "high"}
    result = await run.answer(
        {
            "decisions": [
                {"type": "approve"},
                {"type": "edit", "edited_action": {"name": "create_ticket", "args": edited}},
            ]
        }
    )
    assert [
        {"tool": "send_email", "args": EMAIL},
        {"tool": "create_ticket", "args": {**edited, "description": ""}},
    ] == agent.CALLS
    email, ticket = tool_messages(model_env.requests[-1])
    assert email["content"] == "Email sent to ana@example.com with the subject 'The launch'."
    assert "a human reviewer replaced this tool call" in ticket["content"]
    assert ticket["content"].endswith(
        "Ticket opened: Login test fails one run in ten (high priority)."
    )
    reply = last_reply(result)
    assert "Login test fails one run in ten" in reply and "Email sent to ana" in reply
    assert len(model_env.requests) == 2
    await run.finished()


async def test_batched_reject_reaches_the_model_as_the_tools_error(model_env):
    run = Run(agent.make_graph())
    await run.say(ASK)
    reason = "Ana is on leave; write to the launch team instead."
    result = await run.answer(
        {"decisions": [{"type": "reject", "message": reason}, {"type": "approve"}]}
    )
    assert [call["tool"] for call in agent.CALLS] == ["create_ticket"]  # no email went out
    rejected = f"User rejected the tool call for `send_email` with reason: {reason}"
    email, ticket = tool_messages(model_env.requests[-1])
    assert email["content"] == rejected
    assert ticket["content"] == "Ticket opened: The flaky login test (normal priority)."
    (as_saved,) = [
        m for m in result["messages"] if isinstance(m, ToolMessage) and m.name == "send_email"
    ]
    assert as_saved.status == "error"
    assert reason in last_reply(result)


async def test_batched_respond_reaches_the_model_as_the_tools_result(model_env):
    run = Run(agent.make_graph())
    await run.say(ASK)
    answer = "I told Ana myself over lunch: no email needed."
    result = await run.answer(
        {"decisions": [{"type": "respond", "message": answer}, {"type": "approve"}]}
    )
    assert [call["tool"] for call in agent.CALLS] == ["create_ticket"]
    email, _ = tool_messages(model_env.requests[-1])
    assert email["content"] == answer
    (as_saved,) = [
        m for m in result["messages"] if isinstance(m, ToolMessage) and m.name == "send_email"
    ]
    assert as_saved.status == "success"
    assert answer in last_reply(result)


async def test_batched_asks_only_about_gated_calls(model_env):
    model_env.script_tool_calls(
        [("lookup_contact", {"name": "Ben Ng"}), ("send_email", EMAIL | {"to": "ben@example.com"})]
    )
    run = Run(agent.make_graph())
    await run.say("find Ben and email him")
    asked = await run.ask()
    assert [request["name"] for request in asked.value["action_requests"]] == ["send_email"]
    await run.answer({"decisions": [{"type": "approve"}]})
    assert agent.CALLS == [
        {"tool": "lookup_contact", "args": {"name": "Ben Ng"}},
        {"tool": "send_email", "args": EMAIL | {"to": "ben@example.com"}},
    ]
    tools = [message["content"] for message in tool_messages(model_env.requests[-1])]
    assert tools[0] == "Ben Ng: ben.ng@example.com"


@pytest.mark.parametrize(
    ("decisions", "error"),
    [
        ([{"type": "approve"}], "Number of human decisions (1) does not match"),
        (
            [{"type": "approve"}, {"type": "respond", "message": "done"}],
            "Decision type 'respond' is not allowed for tool 'create_ticket'",
        ),
    ],
)
async def test_batched_wrong_decisions_stick_until_the_step_is_asked_again(
    model_env, decisions, error
):
    # Batched mode has no response_schema: LangGraph saves any answer, then the middleware
    # raises. The saved answer stays, so answering again fails the same way; a host must check
    # the decisions first (one per action request, each allowed by its review config).
    run = Run(agent.make_graph())
    await run.say(ASK)
    asked = await run.ask()
    with pytest.raises(ValueError, match=re.escape(error)):
        await run.resume({asked.id: {"decisions": decisions}})
    both = {"decisions": [{"type": "approve"}, {"type": "approve"}]}
    with pytest.raises(ValueError, match=re.escape(error)):
        await run.resume({asked.id: both})
    # The way out: a new checkpoint without the saved answer, and the step runs again.
    await run.graph.aupdate_state(run.config, None)
    await run.graph.ainvoke(None, run.config)
    again = await run.ask()
    assert again.id != asked.id and again.value == asked.value
    assert len(model_env.requests) == 1  # the model was not asked again
    await run.answer(both)
    assert [call["tool"] for call in agent.CALLS] == ["send_email", "create_ticket"]


# --- agent_per_call: one interrupt per gated call, each with a response_schema -----------------


def decision_types(schema: dict) -> list[str]:
    return list(schema["discriminator"]["mapping"])


async def test_per_call_asks_about_each_call_with_its_own_schema(model_env):
    run = Run(agent.make_per_call_graph())
    await run.say(ASK)
    email, ticket = await run.pending()
    assert email.id != ticket.id
    assert email.value == {
        "type": "tool_approval",
        "tool_call_id": "call_1",
        "name": "send_email",
        "args": EMAIL,
        "description": DEFAULT_DESCRIPTION,
    }
    assert ticket.value == {
        "type": "tool_approval",
        "tool_call_id": "call_2",
        "name": "create_ticket",
        "args": TICKET,
        "description": "Open this ticket in the tracker?",
    }
    assert decision_types(email.response_schema) == ["approve", "edit", "reject", "respond"]
    assert decision_types(ticket.response_schema) == ["approve", "edit", "reject"]
    schema = ticket.response_schema
    assert schema["oneOf"] == [
        {"$ref": f"#/$defs/{name}"}
        for name in ("ApproveDecision", "EditDecision", "RejectDecision")
    ]
    assert schema["discriminator"]["propertyName"] == "type"
    defs = schema["$defs"]
    assert defs["EditedAction"]["properties"]["name"]["const"] == "create_ticket"
    assert defs["EditedAction"]["properties"]["args"] == {"$ref": "#/$defs/create_ticket"}
    assert defs["create_ticket"]["required"] == ["title"]
    assert defs["create_ticket"]["properties"]["priority"]["enum"] == ["low", "normal", "high"]
    assert defs["RejectDecision"]["required"] == ["type"]  # the message is optional
    assert "RespondDecision" not in defs
    assert email.response_schema["$defs"]["RespondDecision"]["required"] == ["type", "message"]
    assert agent.CALLS == []


async def test_per_call_answers_sent_together_run_the_edited_args(model_env):
    run = Run(agent.make_per_call_graph())
    await run.say(ASK)
    email, ticket = await run.pending()
    edited = EMAIL | {"to": "launch-team@example.com"}
    result = await run.resume(
        {
            email.id: {"type": "edit", "edited_action": {"name": "send_email", "args": edited}},
            ticket.id: {"type": "approve"},
        }
    )
    assert [
        {"tool": "send_email", "args": edited},
        {"tool": "create_ticket", "args": TICKET},
    ] == agent.CALLS
    assert "launch-team@example.com" in last_reply(result)
    await run.finished()


async def test_per_call_answers_one_at_a_time(model_env):
    run = Run(agent.make_per_call_graph())
    await run.say(ASK)
    email, ticket = await run.pending()
    reason = "Not before the launch date is fixed."
    await run.resume({email.id: {"type": "reject", "message": reason}})
    assert [one.id for one in await run.pending()] == [ticket.id]
    assert agent.CALLS == []
    assert len(model_env.requests) == 1  # the model waits for both results
    result = await run.resume({ticket.id: {"type": "approve"}})
    assert [call["tool"] for call in agent.CALLS] == ["create_ticket"]
    sent = tool_messages(model_env.requests[-1])
    assert (
        sent[0]["content"] == f"User rejected the tool call for `send_email` with reason: {reason}"
    )
    assert reason in last_reply(result)


async def test_per_call_respond_reaches_the_model_as_the_tools_result(model_env):
    run = Run(agent.make_per_call_graph())
    await run.say(ASK)
    email, ticket = await run.pending()
    answer = "Already announced in the all-hands."
    await run.resume(
        {email.id: {"type": "respond", "message": answer}, ticket.id: {"type": "approve"}}
    )
    assert tool_messages(model_env.requests[-1])[0]["content"] == answer
    assert [call["tool"] for call in agent.CALLS] == ["create_ticket"]


@pytest.mark.parametrize(
    "decision",
    [
        {"type": "respond", "message": "create_ticket does not allow respond"},
        {"type": "edit", "edited_action": {"name": "send_email", "args": EMAIL}},  # other tool
        {"type": "edit", "edited_action": {"name": "create_ticket", "args": {"priority": "high"}}},
        {
            "type": "edit",
            "edited_action": {"name": "create_ticket", "args": {"title": "x", "priority": "asap"}},
        },
        {"type": "maybe"},
    ],
)
async def test_per_call_answer_outside_the_schema_raises_and_saves_nothing(model_env, decision):
    run = Run(agent.make_per_call_graph())
    await run.say(ASK)
    email, ticket = await run.pending()
    with pytest.raises(ValidationError):
        await run.resume({ticket.id: decision})
    assert {one.id for one in await run.pending()} == {email.id, ticket.id}
    assert agent.CALLS == []


# --- agent_inbox: HumanInterrupt in, a list of one HumanResponse back --------------------------


async def test_agent_inbox_asks_with_one_human_interrupt_in_a_list():
    run = Run(agent_inbox.graph)
    await run.start({"update": "#releases v2.3 ships on Friday"})
    asked = await run.ask()
    assert asked.value == [
        {
            "action_request": {
                "action": "post_update",
                "args": {"channel": "#releases", "text": "v2.3 ships on Friday"},
            },
            "config": {
                "allow_accept": True,
                "allow_edit": True,
                "allow_respond": True,
                "allow_ignore": True,
            },
            "description": "Post this update to #releases?",
        }
    ]
    assert asked.response_schema is None


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            {"type": "accept", "args": None},
            {"status": "posted", "posted": "#releases: v2.3 ships on Friday"},
        ),
        (
            {
                "type": "edit",
                "args": {
                    "action": "post_update",
                    "args": {"channel": "#general", "text": "v2.3 ships on Monday"},
                },
            },
            {"status": "posted", "posted": "#general: v2.3 ships on Monday"},
        ),
        (
            {"type": "response", "args": "Wait until QA signs off."},
            {"status": "answered", "reply": "Wait until QA signs off."},
        ),
        ({"type": "ignore", "args": None}, {"status": "ignored"}),
    ],
)
async def test_agent_inbox_handles_each_response_type(response, expected):
    run = Run(agent_inbox.graph)
    await run.start({"update": "#releases v2.3 ships on Friday"})
    result = await run.answer([response])
    assert {key: result[key] for key in expected} == expected
    if expected["status"] != "posted":
        assert "posted" not in result
    assert is_json_plain(await run.finished())


async def test_agent_inbox_without_a_channel_posts_to_general_and_asks_again_on_nonsense():
    run = Run(agent_inbox.graph)
    await run.start({"update": "  Lunch is at noon.  "})
    first = await run.ask()
    assert first.value[0]["action_request"]["args"] == {
        "channel": "#general",
        "text": "Lunch is at noon.",
    }
    await run.answer([{"type": "maybe", "args": None}])
    again = await run.ask()
    assert again.id != first.id and again.value == first.value
    result = await run.answer([{"type": "accept", "args": None}])
    assert result["posted"] == "#general: Lunch is at noon."
