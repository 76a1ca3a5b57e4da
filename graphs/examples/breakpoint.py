"""Gate a risky operation, e.g. "delete the staging database": the run pauses before the
policy check (edit the request) and after it (overrule its verdict).

Static breakpoints, no `interrupt()` call: compiled with `interrupt_before=["approval"]` and
`interrupt_after=["approval"]`. At each pause a person continues, or edits the state first
(`update_state`): `request` before the check, `approved` and `reason` after it.
"""

import re
from typing import Literal, Required

from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

# A request naming one of these is refused by the policy check (a person may still overrule).
PROTECTED = ("production", "prod", "customers", "backups")


class State(TypedDict, total=False):
    request: Required[str]  # the slash command's text: what to do
    approved: bool
    reason: str
    response: str


def approval(state: State) -> dict:
    named = [word for word in PROTECTED if re.search(rf"\b{word}\b", state["request"], re.I)]
    if named:
        return {"approved": False, "reason": f"it names {named[0]!r}, which policy protects"}
    return {"approved": True, "reason": "it names nothing that policy protects"}


def after_approval(state: State) -> Literal["process", "deny"]:
    return "process" if state["approved"] else "deny"


def process(state: State) -> dict:
    # The real operation would run here, once a person has let both breakpoints pass.
    return {"response": f"Processed: {state['request']} ({state['reason']})"}


def deny(state: State) -> dict:
    return {"response": f"Denied: {state['request']} ({state['reason']})"}


builder = StateGraph(State)
builder.add_node("approval", approval)
builder.add_node("process", process)
builder.add_node("deny", deny)
builder.add_edge(START, "approval")
builder.add_conditional_edges("approval", after_approval)
builder.add_edge("process", END)
builder.add_edge("deny", END)
graph = builder.compile(interrupt_before=["approval"], interrupt_after=["approval"])
