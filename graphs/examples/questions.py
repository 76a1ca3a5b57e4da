"""Onboard a new hire: give their name, then answer three questions in turn (team, start date,
laptop).

Several `interrupt()` calls in one node, answered one after the other: the node runs again from
the top on each resume and the calls already answered return their saved answers. In
langgraph 1.2.22 each call has its own interrupt id. The questions show three kinds: options,
free text, and a typed yes/no (`response_schema=bool`). A host must resume only ids that are
pending: an answer sent again under the first question's id answers the current question
(langgraph's fallback for ids saved by older versions).

Exported uncompiled (a `StateGraph` builder): the host compiles it with its checkpointer.
"""

from typing import Required

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from typing_extensions import TypedDict

TEAMS = ["engineering", "design", "sales", "support"]


class State(TypedDict, total=False):
    new_hire: Required[str]  # the slash command's text: the person's name
    team: str
    start_date: str
    laptop: bool
    checklist: list[str]


def interview(state: State) -> dict:
    name = state["new_hire"].strip()
    team = interrupt({"question": f"Which team does {name} join?", "options": TEAMS})
    start_date = interrupt({"question": f"When does {name} start? (for example 2025-03-03)"})
    laptop = interrupt({"question": f"Does {name} need a laptop?"}, response_schema=bool)
    return {"team": team, "start_date": str(start_date).strip(), "laptop": laptop}


def checklist(state: State) -> dict:
    name = state["new_hire"].strip()
    items = [
        f"Add {name} to #{state['team']}",
        f"Book a welcome call on {state['start_date']}",
    ]
    if state["laptop"]:
        items.append(f"Order a laptop for {name}, to arrive before {state['start_date']}")
    return {"checklist": items}


graph = StateGraph(State)
graph.add_node("interview", interview)
graph.add_node("checklist", checklist)
graph.add_edge(START, "interview")
graph.add_edge("interview", "checklist")
graph.add_edge("checklist", END)
