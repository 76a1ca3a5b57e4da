"""Post a status update, reviewed the Agent Inbox way: type e.g. "#releases v2.3 ships on
Friday"; accept posts it, edit changes the channel or the text first, respond sends a note back
instead, ignore drops it.

The Agent Inbox shape (`HumanInterrupt` in `langgraph.prebuilt.interrupt`, deprecated there
for `langchain.agents.interrupt`, which langchain 1.4.7 does not have yet): `review` calls
`interrupt([request])[0]` with one request `{"action_request": {"action", "args"}, "config":
{"allow_accept", "allow_edit", "allow_respond", "allow_ignore"}, "description"}`, and is
resumed with a list of one `HumanResponse` `{"type", "args"}`: `accept` and `ignore` with args
null, `edit` with args `{"action", "args"}` (the edited call), `response` with args the
reviewer's text. No model is called: the proposed post is the command's text, and `#channel` at
its start picks the channel.
"""

import re
from typing import Literal, Required

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

DEFAULT_CHANNEL = "#general"
CHANNEL = re.compile(r"^\s*(#[\w-]+)\s*")


class State(TypedDict, total=False):
    update: Required[str]  # the slash command's text: the update, optionally "#channel ..."
    channel: str
    text: str
    status: str  # "posted" | "answered" | "ignored"
    posted: str  # what went out, as "#channel: text"
    reply: str  # the reviewer's note, when they responded instead


def draft(state: State) -> dict:
    found = CHANNEL.match(state["update"])
    text = state["update"][found.end() :] if found else state["update"]
    return {"channel": found[1] if found else DEFAULT_CHANNEL, "text": text.strip()}


def review(state: State) -> Command[Literal["post", "review", "__end__"]]:
    request = {
        "action_request": {
            "action": "post_update",
            "args": {"channel": state["channel"], "text": state["text"]},
        },
        "config": {
            "allow_accept": True,
            "allow_edit": True,
            "allow_respond": True,
            "allow_ignore": True,
        },
        "description": f"Post this update to {state['channel']}?",
    }
    response = interrupt([request])[0]
    kind, args = response.get("type"), response.get("args")
    if kind == "accept":
        return Command(goto="post")
    if kind == "edit" and isinstance(args, dict):
        edited = args.get("args") or {}  # args is the edited action: {"action", "args"}
        channel = str(edited.get("channel") or state["channel"]).strip()
        text = str(edited.get("text") or state["text"]).strip()
        return Command(update={"channel": channel, "text": text}, goto="post")
    if kind == "response":
        return Command(update={"status": "answered", "reply": str(args or "")}, goto=END)
    if kind == "ignore":
        return Command(update={"status": "ignored"}, goto=END)
    return Command(goto="review")  # not one of the four: ask again rather than guess


def post(state: State) -> dict:
    # Posting belongs here, after the review, never before an interrupt.
    return {"status": "posted", "posted": f"{state['channel']}: {state['text']}"}


builder = StateGraph(State)
builder.add_node("draft", draft)
builder.add_node("review", review)
builder.add_node("post", post)
builder.add_edge(START, "draft")
builder.add_edge("draft", "review")
builder.add_edge("post", END)
graph = builder.compile()
