"""Worker subgraph: draft → review (one interrupt) → approved, or redraft with the notes."""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from graphs import prompts
from graphs.context import Context
from graphs.llm import chat_model
from graphs.review import APPROVE, check_answer, review_request
from graphs.state import WorkerOutput, WorkerState


async def draft(state: WorkerState, runtime: Runtime[Context]) -> dict:
    reply = await chat_model(runtime.context).ainvoke(prompts.draft_messages(dict(state)))
    return {"draft": reply.text, "round": state.get("round", 0) + 1, "notice": ""}


def review(state: WorkerState, runtime: Runtime[Context]) -> dict:
    # Runs again from the top on resume: nothing with side effects before interrupt().
    request = review_request(dict(state), runtime.context.max_revisions)
    answer = interrupt(request)
    problem = check_answer(answer, request["answers"])
    if problem:
        return {"decision": "invalid", "notice": problem}
    if answer["action"] == APPROVE:
        approved = {key: state[key] for key in ("worker_id", "role", "task", "draft", "round")} | {
            "approved_by": str(answer.get("by") or "")
        }
        return {"decision": "approve", "approved": [approved], "notice": ""}
    return {"decision": "revise", "notes": str(answer["notes"]).strip(), "notice": ""}


def after_review(state: WorkerState) -> Literal["draft", "review", "__end__"]:
    return {"approve": END, "revise": "draft"}.get(state["decision"], "review")


def build_worker_graph() -> CompiledStateGraph:
    builder = StateGraph(WorkerState, context_schema=Context, output_schema=WorkerOutput)
    builder.add_node("draft", draft)
    builder.add_node("review", review)
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "review")
    builder.add_conditional_edges("review", after_review)
    # No checkpointer argument: the subgraph inherits the parent's, one namespace per Send.
    return builder.compile()
