"""What a paused graph waits for, as the reviews of one step, and the answers that resume it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slackbot.engine.base import GraphState
from slackbot.engine.plain import to_plain
from slackbot.reviews import KINDS, Control, kind_for
from slackbot.reviews.breakpoint import BreakpointKind
from slackbot.reviews.tools import ToolCallKind, batch_of, combine, expand, is_hitl_request
from slackbot.store import Review, StepRequest


def step_requests(state: GraphState) -> list[StepRequest]:
    """What the graph waits for, as the reviews of a step: its interrupts, or its breakpoint."""
    if state.pause is not None:
        pause = state.pause
        value = {
            "position": pause.position,
            "nodes": list(pause.nodes),
            "values": to_plain(pause.values),
        }
        return [StepRequest(pause.key, BreakpointKind.name, value)]
    requests = []
    for i in state.interrupts:
        value = to_plain(i.value)
        if is_hitl_request(value) and not i.response_schema:
            requests += [StepRequest(k, ToolCallKind.name, sub) for k, sub in expand(i.id, value)]
        else:
            kind = kind_for(value, i.response_schema)
            requests.append(StepRequest(i.id, kind, value, i.response_schema))
    return requests


def resume_map(state: GraphState, answers: dict[str, Any]) -> dict[str, Any]:
    """The step's answers by interrupt id; a batched tool request's decisions gathered in the
    order of its action requests."""
    resume = {}
    for i in state.interrupts:
        value = to_plain(i.value)
        if is_hitl_request(value) and not i.response_schema:
            combined = combine(i.id, value, answers)
            if combined is not None:
                resume[i.id] = combined
        elif i.id in answers:
            resume[i.id] = answers[i.id]
    return resume


@dataclass(frozen=True)
class Resumption:
    """How an answered step resumes: `Command(resume=answers)`; or, at a breakpoint, go on
    (neither set) or edit the state first (`edit`: the values, as `update_state` takes)."""

    answers: dict[str, Any] | None = None
    edit: dict[str, Any] | None = None


def resumption(state: GraphState, answers: dict[str, Any]) -> Resumption:
    """The resumption of the step the graph waits at, from the run's stored answers."""
    if state.pause is None:
        return Resumption(answers=resume_map(state, answers))
    return _at_breakpoint(answers[state.pause.key])


def resumption_of(step: Sequence[Review]) -> Resumption:
    """The same from the answered reviews of the step alone (the transaction that completed
    it has them): they were written from the very pause the graph waits at."""
    if len(step) == 1 and step[0].kind == BreakpointKind.name:
        return _at_breakpoint(step[0].answer)
    answers: dict[str, Any] = {}
    batches: dict[str, dict[int, Any]] = {}
    for review in step:
        batch = batch_of(review) if review.kind == ToolCallKind.name else None
        if batch is None:
            answers[review.interrupt_id] = review.answer
        else:
            batches.setdefault(batch[0], {})[batch[1]] = review.answer
    for key, decisions in batches.items():  # as `combine` gathers them, in action order
        answers[key] = {"decisions": [decisions[i] for i in sorted(decisions)]}
    return Resumption(answers=answers)


def _at_breakpoint(answer: dict[str, Any]) -> Resumption:
    return Resumption(edit=answer["values"]) if answer.get("action") == "edit" else Resumption()


def control_at(review: Review | None, index: int) -> Control | None:
    """The review's control at `index`, or None (a forged or stale button)."""
    if review is None or review.kind not in KINDS:
        return None
    controls = KINDS[review.kind].controls(review)
    return controls[index] if 0 <= index < len(controls) else None
