"""The offline stand-in model: plausible, varied, repeatable text that never mentions itself."""

import json
import re

import aiohttp
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_openai import ChatOpenAI

from graphs import prompts
from slackbot.demo.openai_server import (
    STAND_IN_MODEL,
    OpenAIServer,
    ToolCall,
    ToolCalls,
    shorten,
    stand_in_answer,
    stand_in_content,
    stand_in_tool_calls,
)

TOPIC = "a launch plan for our Berlin office"


def body(messages, structured=False):
    out = {"model": "m", "messages": [{"role": r, "content": c} for r, c in messages]}
    if structured:
        out["response_format"] = {"type": "json_schema", "json_schema": {"name": "Plan"}}
    return out


def plan(topic, max_workers=3):
    content = stand_in_content(body(prompts.plan_messages(topic, max_workers), structured=True))
    return json.loads(content)["assignments"]


def draft(topic, assignment, **state):
    return stand_in_content(body(prompts.draft_messages({"topic": topic, **assignment, **state})))


def sentences(text):
    prose = " ".join(line for line in text.splitlines() if line and not line.startswith("- "))
    return [s for s in re.split(r"(?<=[.!?…])\s+", prose) if s]


def test_plan_tasks_are_whole_sentences_about_the_topic():
    assignments = plan(TOPIC)
    assert [a["worker_id"] for a in assignments] == ["researcher", "critic", "editor"]
    assert [a["role"] for a in assignments] == ["Researcher", "Critic", "Editor"]
    for assignment in assignments:
        assert f"“{TOPIC}”" in assignment["task"]
        assert assignment["task"][0].isupper() and assignment["task"].endswith(".")
    assert [a["worker_id"] for a in plan(TOPIC, max_workers=2)] == ["researcher", "critic"]


def test_a_long_topic_is_shortened_at_a_word_with_an_ellipsis():
    topic = "How should we price the enterprise plan across Europe, the US and Asia this year?"
    for assignment in plan(topic):
        quoted = re.search(r"“(.*?)”", assignment["task"]).group(1)
        assert quoted.endswith("…") and len(quoted) <= 60
        kept = quoted.removesuffix("…")
        assert topic.startswith(kept) and topic[len(kept)] in " ,"  # cut between words
    assert shorten("short topic") == "short topic"
    assert shorten("  spaced\n  out  ") == "spaced out"


def test_drafts_mention_topic_and_role_vary_and_repeat_exactly():
    assignments = plan(TOPIC)
    drafts = {a["worker_id"]: draft(TOPIC, a) for a in assignments}
    for assignment in assignments:
        text = drafts[assignment["worker_id"]]
        assert text.startswith(f"First draft by the {assignment['role']}.")
        assert f"“{TOPIC}”" in text
        assert 3 <= len(sentences(text)) <= 5
        assert len([line for line in text.splitlines() if line.startswith("- **")]) == 3
        assert text == draft(TOPIC, assignment)  # deterministic
    assert len(set(drafts.values())) == 3
    others = [draft(f"topic number {n}", assignments[0]) for n in range(6)]
    assert len({re.sub(r"“.*?”", "", text) for text in others}) > 1  # not one fixed text


def test_a_revision_answers_the_notes_and_keeps_the_first_draft():
    editor = plan(TOPIC)[2]
    first = draft(TOPIC, editor)
    notes = "Please make it shorter and cite the lease terms."
    second = draft(TOPIC, editor, draft=first, notes=notes)
    assert second.startswith(f"Revised draft by the Editor, addressing: {notes}")
    assert "shorter" in second and "(source: to confirm)" in second
    assert len([line for line in second.splitlines() if line.startswith("- ")]) == 2
    opening = first.splitlines()[0].split(". ", 1)[1]
    assert opening in second
    third = draft(TOPIC, editor, draft=second, notes="more risks")
    assert "addressing: more risks" in third and opening in third
    assert third.count("(source: to confirm)") == second.count("(source: to confirm)")


def test_the_summary_keeps_every_approved_draft_whole():
    approved = [{**a, "draft": draft(TOPIC, a)} for a in plan(TOPIC)]
    summary = stand_in_content(body(prompts.summary_messages(TOPIC, approved)))
    for item in approved:
        assert item["draft"] in summary
    assert f"“{TOPIC}”" in summary.splitlines()[0]


def test_nothing_it_writes_is_about_itself():
    assignments = plan(TOPIC)
    texts = [json.dumps(assignments)]
    texts += [draft(TOPIC, a) for a in assignments]
    texts.append(draft(TOPIC, assignments[0], draft=texts[1], notes="tighter"))
    for text in texts:
        assert "stand-in" not in text.lower() and "offline" not in text.lower()


async def test_answers_carry_the_model_name_and_tests_keep_their_controls():
    server = OpenAIServer()
    url = await server.start()
    request = body(prompts.draft_messages({"topic": TOPIC, **plan(TOPIC)[0]}))
    try:
        async with aiohttp.ClientSession() as session:

            async def ask():
                async with session.post(url + "/chat/completions", json=request) as response:
                    return response.status, await response.json()

            status, answer = await ask()
            assert status == 200 and answer["model"] == STAND_IN_MODEL
            assert answer["choices"][0]["message"]["content"].startswith("First draft by the")
            server.script.append("canned")
            assert (await ask())[1]["choices"][0]["message"]["content"] == "canned"
            server.fail_next(1, status=503)
            assert (await ask())[0] == 503
            async with session.get(url + "/models") as response:
                assert (await response.json())["data"][0]["id"] == STAND_IN_MODEL
        assert len(server.requests) == 3 and len(server.spans) == 3
        assert len(server.requests_where("Your task: ")) == 3
    finally:
        await server.close()


# --- tool calling ------------------------------------------------------------------------------


def offered(*names, **parameters):
    """A request's `tools`, in OpenAI's format; `parameters` gives a tool its JSON Schema."""
    return [
        {"type": "function", "function": {"name": n, "parameters": parameters.get(n, {})}}
        for n in names
    ]


def calls_for(text, tools=("send_email", "create_ticket", "lookup_contact"), **parameters):
    request = {
        "messages": [{"role": "user", "content": text}],
        "tools": offered(*tools, **parameters),
    }
    return [(call.name, call.args) for call in stand_in_tool_calls(request)]


def test_the_stand_in_proposes_one_call_per_action_asked_for_in_order():
    text = (
        "Email ana@example.com about the Q3 budget and launch,"
        " then open a ticket for the flaky login test"
    )
    assert calls_for(text) == [
        (
            "send_email",
            {
                "to": "ana@example.com",
                "subject": "The Q3 budget and launch",
                "body": "Hello,\n\nA quick note about the Q3 budget and launch.\n\nBest regards",
            },
        ),
        (
            "create_ticket",
            {
                "title": "The flaky login test",
                "priority": "normal",
                "description": f"Requested in chat: {text}",
            },
        ),
    ]
    assert calls_for(text) == calls_for(text)  # deterministic


def test_the_stand_in_reads_names_messages_urgency_and_lookups():
    (email,) = calls_for("write to Ben saying the demo moved to 3pm")
    assert email == (
        "send_email",
        {
            "to": "ben@example.com",
            "subject": "The demo moved to 3pm",
            "body": "Hello,\n\nThe demo moved to 3pm.\n\nBest regards",
        },
    )
    (ticket,) = calls_for("file a bug: checkout is down, urgent")
    assert ticket[1]["title"] == "Checkout is down, urgent" and ticket[1]["priority"] == "high"
    lookup, email = calls_for("look up Dana Li's email and message her about the offsite")
    assert lookup == ("lookup_contact", {"name": "Dana Li"})
    assert email[1]["to"] == "team@example.com"  # "her" is nobody's address
    assert email[1]["subject"] == "The offsite"


def test_the_stand_in_calls_only_tools_it_is_offered_with_the_arguments_they_declare():
    text = "email ana@example.com about the launch and open a ticket for the login test"
    assert [name for name, _ in calls_for(text, tools=["create_ticket"])] == ["create_ticket"]
    schema = {
        "properties": {
            "title": {"type": "string"},
            "priority": {"type": "string", "enum": ["P1", "P2", "P3"], "default": "P3"},
            "team": {"type": "string"},
        },
        "required": ["title", "team"],
    }
    ((_, args),) = calls_for(
        "open a ticket for the login test", ["create_ticket"], create_ticket=schema
    )
    assert args == {
        "title": "The login test",
        "priority": "P3",
        "team": "open a ticket for the login test",
    }
    assert calls_for(text, tools=["search_web"]) == []


def test_any_offered_tool_is_called_when_asked_for_with_arguments_from_its_schema():
    """A newcomer's `book_flight` agent: the words of the tool's name ask for it."""

    @tool
    def book_flight(
        origin: str, destination: str, departure_date: str, passengers: int, seat: str = "aisle"
    ) -> str:
        """Book a flight."""
        return "booked"

    [function] = [convert_to_openai_tool(book_flight)]
    request = {
        "messages": [{"role": "user", "content": "Book flights from Berlin to Lisbon on Friday "
                                                 "for 2 people"}],
        "tools": [function, *offered("send_email")],
    }  # fmt: skip
    [call] = stand_in_tool_calls(request)
    assert (call.name, call.args) == (
        "book_flight",
        {
            "origin": "Berlin",
            "destination": "Lisbon",
            "departure_date": "Friday",
            "passengers": 2,
            "seat": "aisle",
        },
    )
    wanted = calls_for("please cancelReservation 7 now", ["cancelReservation"])
    assert wanted == [("cancelReservation", {})]  # no parameters declared, none sent
    assert calls_for("hello there", ["book_flight"]) == []


def test_without_a_known_action_the_stand_in_says_what_it_can_do():
    request = {
        "messages": [{"role": "user", "content": "hello"}],
        "tools": offered("send_email", "search"),
    }
    assert stand_in_answer(request) == "Tell me what to do: I can use send_email, search."


def test_after_tool_results_the_stand_in_quotes_each_whole():
    rejected = "User rejected the tool call for `send_email` with reason: Ana is on leave."
    request = {
        "messages": [
            {"role": "user", "content": "email Ana and open a ticket"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "send_email", "arguments": "{}"},
                    },
                    {
                        "id": "c2",
                        "type": "function",
                        "function": {"name": "create_ticket", "arguments": "{}"},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": rejected},
            {
                "role": "tool",
                "tool_call_id": "c2",
                "content": [{"type": "text", "text": "Ticket opened: Y."}],
            },
        ],
        "tools": offered("send_email", "create_ticket"),
    }
    assert stand_in_answer(request) == (
        "Here is what each step reported:\n"
        f"- send_email: “{rejected}”\n"
        "- create_ticket: “Ticket opened: Y.”"
    )


def test_without_tools_the_answer_is_the_text_it_always_was():
    request = body(prompts.draft_messages({"topic": TOPIC, **plan(TOPIC)[0]}))
    assert stand_in_answer(request) == stand_in_content(request)


async def test_scripted_tool_calls_go_out_in_openais_wire_format(llm_server):
    scripted = llm_server.script_tool_calls(
        [
            ("send_email", {"to": "a@example.com"}),
            ToolCall("create_ticket", {"title": "T"}, id="mine"),
        ]
    )
    assert scripted == ToolCalls(
        (
            ToolCall("send_email", {"to": "a@example.com"}),
            ToolCall("create_ticket", {"title": "T"}, "mine"),
        )
    )
    llm_server.script.append(
        ToolCalls((ToolCall("lookup_contact", {"name": "Ben"}),), content="One moment.")
    )
    llm_server.script.append("plain text still works")
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    async with aiohttp.ClientSession() as session:
        answers = []
        for _ in range(3):
            async with session.post(
                llm_server.base_url + "/chat/completions", json=request
            ) as response:
                answers.append((await response.json())["choices"][0])
    first, second, third = answers
    assert first["finish_reason"] == "tool_calls"
    assert first["message"]["content"] is None
    assert first["message"]["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "send_email", "arguments": '{"to": "a@example.com"}'},
        },
        {
            "id": "mine",
            "type": "function",
            "function": {"name": "create_ticket", "arguments": '{"title": "T"}'},
        },
    ]
    assert second["message"]["content"] == "One moment."
    assert second["message"]["tool_calls"][0]["id"] == "call_2"
    assert (
        third["finish_reason"] == "stop" and third["message"]["content"] == "plain text still works"
    )
    assert "tool_calls" not in third["message"]


@tool
def send_email(to: str, subject: str, body: str) -> str:
    """Send an email."""
    return f"sent to {to}"


@pytest.mark.parametrize("streaming", [False, True])
async def test_chat_openai_reads_the_stand_ins_tool_calls(llm_server, streaming):
    model = ChatOpenAI(
        model="m", api_key="x", base_url=llm_server.base_url, streaming=streaming, max_retries=0
    ).bind_tools([send_email])
    ask = HumanMessage("email ana@example.com about the launch")
    proposed = await model.ainvoke([ask])
    assert (
        isinstance(proposed, AIMessage)
        and proposed.response_metadata["finish_reason"] == "tool_calls"
    )
    (call,) = proposed.tool_calls
    assert call["name"] == "send_email" and call["args"]["to"] == "ana@example.com"
    result = ToolMessage("sent to ana@example.com", tool_call_id=call["id"])
    report = await model.ainvoke([ask, proposed, result])
    assert (
        report.text == "Here is what each step reported:\n- send_email: “sent to ana@example.com”"
    )
    assert llm_server.requests[-1]["stream"] is streaming
    assert len(llm_server.requests_where("sent to ana@example.com")) == 1
