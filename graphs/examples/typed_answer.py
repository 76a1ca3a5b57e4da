"""Triage an incident: describe what is broken and fill in one form (severity, status line,
responders, paging, teams to notify).

A typed answer: `triage` calls `interrupt(value, response_schema=Triage)`, so the interrupt
carries Triage's JSON Schema and the resume value (a dict) comes back as a validated `Triage`
instance; a value that does not fit raises `pydantic.ValidationError` and nothing is saved.
"""

from typing import Literal, Required

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

Team = Literal["backend", "frontend", "database", "network", "security"]

# Words that point at a team; only a hint shown with the question, the person decides.
TEAM_HINTS: dict[str, tuple[str, ...]] = {
    "backend": ("api", "500", "502", "checkout", "service", "error"),
    "frontend": ("page", "button", "browser", "ui", "css"),
    "database": ("database", "db", "postgres", "sql", "query", "replica"),
    "network": ("dns", "timeout", "latency", "network", "tls", "cdn"),
    "security": ("leak", "breach", "token", "password", "phishing"),
}


class Triage(BaseModel):
    """The on-call engineer's triage of one incident."""

    severity: Literal["sev1", "sev2", "sev3", "sev4"] = Field(
        description="sev1: customers cannot work at all; sev4: cosmetic"
    )
    summary: str = Field(min_length=1, max_length=150, description="One line for the status page")
    responders: int = Field(default=1, ge=1, le=10, description="Engineers to pull in")
    page_on_call: bool = Field(default=False, description="Page the on-call engineer now")
    teams: list[Team] = Field(default_factory=list, description="Teams to notify")


class State(TypedDict, total=False):
    incident: Required[str]  # the slash command's text: what is broken
    suspected_teams: list[str]
    triage: dict  # Triage.model_dump(mode="json"): state stays JSON-plain
    plan: str


def assess(state: State) -> dict:
    words = set(state["incident"].lower().replace(",", " ").replace(".", " ").split())
    suspects = [team for team, hints in TEAM_HINTS.items() if words & set(hints)]
    return {"suspected_teams": suspects}


def triage(state: State) -> dict:
    answer = interrupt(
        {
            "question": f"Triage this incident: {state['incident']}",
            "incident": state["incident"],
            "suspected_teams": state["suspected_teams"],
        },
        response_schema=Triage,
    )
    # `answer` is a Triage instance; keep plain values in state (checkpoints stay JSON-plain).
    return {"triage": answer.model_dump(mode="json")}


def plan(state: State) -> dict:
    triage = state["triage"]
    steps = [f"{triage['severity'].upper()} opened: {triage['summary']}"]
    steps.append(f"{triage['responders']} responder(s)")
    if triage["page_on_call"]:
        steps.append("paging on-call")
    if triage["teams"]:
        steps.append("notifying " + ", ".join(triage["teams"]))
    return {"plan": "; ".join(steps) + "."}


builder = StateGraph(State)
builder.add_node("assess", assess)
builder.add_node("triage", triage)
builder.add_node("plan", plan)
builder.add_edge(START, "assess")
builder.add_edge("assess", "triage")
builder.add_edge("triage", "plan")
builder.add_edge("plan", END)
graph = builder.compile()
