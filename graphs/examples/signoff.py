"""Two-stage sign-off: a manager approves the request, then compliance signs it off;
a manager's no ends it without asking compliance.

One stage per node, one interrupt each. The manager answers a typed yes/no
(`response_schema=bool`, resumed with true or false); compliance picks one of two
`options` ("approve", "reject"), resumed with that string.
"""

from typing import Annotated, Literal, Required

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import interrupt
from typing_extensions import TypedDict


def merge_approvals(current: dict[str, bool], new: dict[str, bool]) -> dict[str, bool]:
    return {**current, **new}


class State(TypedDict, total=False):
    request: Required[str]  # the slash command's text, e.g. "sign the Globex contract"
    approvals: Annotated[dict[str, bool], merge_approvals]  # stage → approved
    outcome: str


def manager(state: State) -> dict:
    approved = interrupt(
        {
            "stage": "manager",
            "question": f"Approve as manager: {state['request']}?",
            "request": state["request"],
        },
        response_schema=bool,
    )
    return {"approvals": {"manager": approved}}


def after_manager(state: State) -> Literal["compliance", "decide"]:
    return "compliance" if state["approvals"]["manager"] else "decide"


def compliance(state: State) -> dict:
    answer = interrupt(
        {
            "stage": "compliance",
            "question": f"Compliance sign-off for: {state['request']}? The manager approved it.",
            "options": ["approve", "reject"],
            "request": state["request"],
        }
    )
    return {"approvals": {"compliance": answer == "approve"}}


def decide(state: State) -> dict:
    approvals = state["approvals"]
    refused = [stage for stage in ("manager", "compliance") if approvals.get(stage) is False]
    if refused:
        return {"outcome": f"Rejected by {refused[0]}: {state['request']}"}
    return {"outcome": f"Signed off by manager and compliance: {state['request']}"}


def make_graph(config: RunnableConfig) -> CompiledStateGraph:
    """A graph factory: LangGraph servers call it with the run's config; this one needs none."""
    builder = StateGraph(State)
    builder.add_node("manager", manager)
    builder.add_node("compliance", compliance)
    builder.add_node("decide", decide)
    builder.add_edge(START, "manager")
    builder.add_conditional_edges("manager", after_manager)
    builder.add_edge("compliance", "decide")
    builder.add_edge("decide", END)
    return builder.compile()
