"""Review a document in parallel: give its title, and three reviewers approve or reject one
section each (goals, budget, risks) at the same time.

`Send` fans out one `review_section` task per section; each asks one typed question
(`response_schema=Literal["approve", "reject"]`), so the run pauses with three interrupts in one
step, each with its own id, resumed together with `Command(resume={id: answer, ...})`.
"""

import operator
from typing import Annotated, Literal, Required

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send, interrupt
from typing_extensions import TypedDict

Verdict = Literal["approve", "reject"]

# What each section would say; a real graph would draft them in an earlier node.
SECTIONS = {
    "Goals": "What {title} sets out to achieve this quarter, and how we will measure it.",
    "Budget": "What {title} costs: people, tools and travel, with a 10% reserve.",
    "Risks": "What could stop {title}, and what we do if it happens.",
}


class State(TypedDict, total=False):
    title: Required[str]  # the slash command's text: the document's title
    reviews: Annotated[list[dict], operator.add]  # one {"section", "verdict"} per reviewer
    verdict: str


class SectionTask(TypedDict):
    title: str
    section: str
    text: str


def fan_out(state: State) -> list[Send]:
    title = state["title"].strip()
    return [
        Send("review_section", {"title": title, "section": name, "text": text.format(title=title)})
        for name, text in SECTIONS.items()
    ]


def review_section(task: SectionTask) -> dict:
    verdict = interrupt(
        {
            "question": f"Approve the {task['section']} section of {task['title']!r}?",
            "section": task["section"],
            "text": task["text"],
        },
        response_schema=Verdict,
    )
    return {"reviews": [{"section": task["section"], "verdict": verdict}]}


def assemble(state: State) -> dict:
    order = list(SECTIONS)
    reviews = sorted(state["reviews"], key=lambda review: order.index(review["section"]))
    rejected = [review["section"] for review in reviews if review["verdict"] == "reject"]
    if rejected:
        return {"verdict": "Back to the author: " + ", ".join(rejected)}
    return {"verdict": f"All {len(reviews)} sections approved: ready to publish."}


builder = StateGraph(State)
builder.add_node("review_section", review_section)
builder.add_node("assemble", assemble)
builder.add_conditional_edges(START, fan_out, ["review_section"])
builder.add_edge("review_section", "assemble")
builder.add_edge("assemble", END)
graph = builder.compile()
