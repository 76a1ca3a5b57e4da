"""The orchestration graph: plan → one worker per assignment (Send) → summary."""

from __future__ import annotations

import logging
import re

import openai
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from graphs import prompts
from graphs.context import Context
from graphs.llm import chat_model
from graphs.state import Assignment, OrchestrationState, Plan
from graphs.worker import build_worker_graph

log = logging.getLogger(__name__)

MIN_WORKERS = 2
DEFAULT_PLAN = [
    Assignment(worker_id="researcher", role="Researcher", task="Gather the key facts."),
    Assignment(worker_id="critic", role="Critic", task="Name the risks and weak points."),
    Assignment(worker_id="editor", role="Editor", task="Write a clear recommendation."),
]
FALLBACK_NOTE = "The planner's answer was unusable twice ({problem}); using the default plan."


def usable_assignments(plan: Plan, max_workers: int) -> list[dict]:
    """Clean ids, drop duplicates and blanks, keep at most max_workers; [] if too few remain."""
    seen: set[str] = set()
    result = []
    for item in plan.assignments:
        worker_id = re.sub(r"[^a-z0-9_-]+", "-", item.worker_id.lower()).strip("-")[:32]
        if not worker_id or worker_id in seen or not item.role.strip() or not item.task.strip():
            continue
        seen.add(worker_id)
        result.append(
            {"worker_id": worker_id, "role": item.role.strip(), "task": item.task.strip()}
        )
    return result[:max_workers] if len(result) >= MIN_WORKERS else []


async def plan(state: OrchestrationState, runtime: Runtime[Context]) -> dict:
    max_workers = max(MIN_WORKERS, runtime.context.max_workers)
    planner = chat_model(runtime.context).with_structured_output(Plan)
    problem = "no answer"
    for _attempt in range(2):
        try:
            # Not streamed (stream=False): a JSON plan is nobody's live reading, and streaming a
            # structured output makes pydantic warn about its `parsed` field on every call.
            messages = prompts.plan_messages(state["topic"], max_workers)
            answer = await planner.ainvoke(messages, stream=False)
        except openai.APIError:
            raise  # the service failed, not the answer: let the run stop and be retried
        except Exception as error:  # unparsable or invalid structured output
            problem = f"{type(error).__name__}"
            continue
        assignments = usable_assignments(answer, max_workers) if answer else []
        if assignments:
            return {"assignments": assignments, "plan_note": ""}
        problem = f"fewer than {MIN_WORKERS} usable workers"
    log.warning("planner unusable for topic %r: %s", state["topic"][:80], problem)
    fallback = [a.model_dump() for a in DEFAULT_PLAN[:max_workers]]
    return {"assignments": fallback, "plan_note": FALLBACK_NOTE.format(problem=problem)}


def fan_out(state: OrchestrationState) -> list[Send]:
    return [Send("worker", {"topic": state["topic"], **a}) for a in state["assignments"]]


async def summarize(state: OrchestrationState, runtime: Runtime[Context]) -> dict:
    order = [a["worker_id"] for a in state["assignments"]]
    approved = sorted(state["approved"], key=lambda item: order.index(item["worker_id"]))
    reply = await chat_model(runtime.context).ainvoke(
        prompts.summary_messages(state["topic"], approved)
    )
    return {"summary": reply.text}


def build_graph(checkpointer: BaseCheckpointSaver | None) -> CompiledStateGraph:
    builder = StateGraph(OrchestrationState, context_schema=Context)
    builder.add_node("plan", plan)
    builder.add_node("worker", build_worker_graph())
    builder.add_node("summarize", summarize)
    builder.add_edge(START, "plan")
    builder.add_conditional_edges("plan", fan_out, ["worker"])
    builder.add_edge("worker", "summarize")
    builder.add_edge("summarize", END)
    return builder.compile(checkpointer=checkpointer)
