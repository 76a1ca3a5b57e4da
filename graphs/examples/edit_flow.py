"""Review a draft announcement: accept publishes it, edit lets you rewrite it, reject drops it.

`review` answers with `Command(goto=...)`: its interrupt offers `options` ["accept", "edit",
"reject"]; "edit" goes to `revise`, whose free-text interrupt (no options) takes the new draft
and comes back to `review`.
"""

from typing import Literal, Required

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

OPTIONS = ["accept", "edit", "reject"]


class State(TypedDict, total=False):
    draft: Required[str]  # the slash command's text: the announcement to publish
    revisions: int
    status: str  # "published" | "rejected"
    final: str


def review(state: State) -> Command[Literal["publish", "revise", "review", "__end__"]]:
    decision = interrupt(
        {
            "question": "Publish this announcement?",
            "draft": state["draft"],
            "revisions": state.get("revisions", 0),
            "options": OPTIONS,
        }
    )
    if decision == "accept":
        return Command(goto="publish")
    if decision == "edit":
        return Command(goto="revise")
    if decision == "reject":
        return Command(update={"status": "rejected", "final": ""}, goto=END)
    return Command(goto="review")  # none of the options: ask again rather than guess


def revise(state: State) -> dict:
    text = interrupt({"question": "Write the revised announcement:", "draft": state["draft"]})
    return {
        "draft": str(text).strip() or state["draft"],
        "revisions": state.get("revisions", 0) + 1,
    }


def publish(state: State) -> dict:
    # Publishing (posting, mailing) belongs here, after the review, never before an interrupt.
    return {"status": "published", "final": f"[PUBLISHED] {state['draft']}"}


builder = StateGraph(State)
builder.add_node("review", review)
builder.add_node("revise", revise)
builder.add_node("publish", publish)
builder.add_edge(START, "review")
builder.add_edge("revise", "review")
builder.add_edge("publish", END)
graph = builder.compile()
