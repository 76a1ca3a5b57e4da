"""Run a job that can fail, e.g. "sync invoices to the ledger": when it fails, choose retry,
skip or abort (abort asks why).

Error recovery with a discriminated union: `recover` calls `interrupt(value,
response_schema=Decision)`, whose JSON Schema is a `oneOf` of three objects told apart by a
`type` const; abort also requires a `reason`. The resume value comes back as a `Retry`, `Skip`
or `Abort` instance. The simulated job fails on its first attempt, every time.
"""

from typing import Annotated, Literal, Required

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, interrupt
from pydantic import BaseModel, Field
from typing_extensions import TypedDict


class Retry(BaseModel):
    """Run the job again."""

    type: Literal["retry"]


class Skip(BaseModel):
    """Leave the job out and finish."""

    type: Literal["skip"]


class Abort(BaseModel):
    """Stop here, and say why."""

    type: Literal["abort"]
    reason: str = Field(min_length=1, description="Why the job is aborted")


Decision = Annotated[Retry | Skip | Abort, Field(discriminator="type")]


class JobFailed(Exception):
    pass


class State(TypedDict, total=False):
    job: Required[str]  # the slash command's text: what to run
    attempts: int
    error: str  # the last attempt's error, "" once one succeeded
    status: str  # "done" | "skipped" | "aborted"
    result: str
    reason: str  # why it was aborted


def run_job(job: str, attempt: int) -> str:
    """Stand-in for a flaky operation: the first attempt fails, later ones succeed."""
    if attempt == 1:
        raise JobFailed(f"{job}: connection reset by the upstream service")
    return f"{job}: finished on attempt {attempt}"


def attempt(state: State) -> dict:
    # The operation runs in its own node and the question in the next: resuming `recover`
    # re-runs `recover` only, so answering never repeats the operation by accident.
    attempts = state.get("attempts", 0) + 1
    try:
        result = run_job(state["job"], attempts)
    except JobFailed as error:
        return {"attempts": attempts, "error": str(error)}
    return {"attempts": attempts, "error": "", "status": "done", "result": result}


def after_attempt(state: State) -> Literal["recover", "__end__"]:
    return "recover" if state["error"] else END


def recover(state: State) -> Command[Literal["attempt", "__end__"]]:
    decision = interrupt(
        {
            "question": f"The job failed: {state['error']}. Retry, skip or abort?",
            "job": state["job"],
            "error": state["error"],
            "attempts": state["attempts"],
        },
        response_schema=Decision,
    )
    match decision:
        case Retry():
            return Command(goto="attempt")
        case Skip():
            return Command(update={"status": "skipped", "result": ""}, goto=END)
        case Abort(reason=reason):
            return Command(update={"status": "aborted", "reason": reason}, goto=END)
    raise AssertionError(f"unexpected decision {decision!r}")  # the schema allows no other


def make_graph() -> CompiledStateGraph:
    """A graph factory without arguments; the host calls it once to get the graph."""
    builder = StateGraph(State)
    builder.add_node("attempt", attempt)
    builder.add_node("recover", recover)
    builder.add_edge(START, "attempt")
    builder.add_conditional_edges("attempt", after_attempt)
    return builder.compile()
