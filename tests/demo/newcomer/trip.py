"""Plan a business trip, written as a newcomer writes graphs from LangGraph's docs: a free-text
question, then an approval typed with a pydantic model whose validator needs a comment when
rejecting."""

from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel, model_validator
from typing_extensions import TypedDict


class TripApproval(BaseModel):
    decision: Literal["approve", "reject"]
    comment: str = ""

    @model_validator(mode="after")
    def comment_when_rejecting(self) -> "TripApproval":
        if self.decision == "reject" and not self.comment.strip():
            raise ValueError("a comment is required when rejecting")
        return self


class State(TypedDict, total=False):
    request: str
    traveller: str
    approval: dict


def ask_traveller(state: State) -> dict:
    return {"traveller": interrupt("Who is travelling?")}


def approve(state: State) -> dict:
    answer = interrupt(
        {"trip": state["request"], "traveller": state["traveller"], "estimated_cost_eur": 840},
        response_schema=TripApproval,
    )
    return {"approval": answer.model_dump()}


builder = StateGraph(State)
builder.add_node("ask_traveller", ask_traveller)
builder.add_node("approve", approve)
builder.add_edge(START, "ask_traveller")
builder.add_edge("ask_traveller", "approve")
builder.add_edge("approve", END)
graph = builder.compile()
