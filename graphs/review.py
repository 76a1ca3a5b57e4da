"""The review protocol: what a worker's interrupt carries, and the answers that resume it.

Interrupt payload (JSON-plain), one per worker and step::

    {
      "worker_id": "editor", "role": "...", "task": "...", "topic": "...",
      "draft": "<markdown>",
      "round": 2, "max_rounds": 4,       # round 1 is the first draft; each revision adds one
      "answers": ["approve", "revise"],  # only ["approve"] on the last round
      "notes": "<the notes this draft answers, or ''>",
      "notice": "<why this review asks again, or what the last round means, or ''>"
    }

Answers (the resume value for that interrupt's id)::

    {"action": "approve", "by": "<user id>"}
    {"action": "revise", "notes": "<text>", "by": "<user id>"}

A malformed answer does not crash the run: the review asks again with a `notice` saying why.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import Interrupt, StateSnapshot

APPROVE = "approve"
REVISE = "revise"
LAST_ROUND_NOTICE = (
    "This is the last round: revisions are used up, so this draft can only be approved."
)


def review_request(state: dict, max_revisions: int) -> dict[str, Any]:
    max_rounds = max_revisions + 1
    last_round = state["round"] >= max_rounds
    notice = state.get("notice") or ""
    if last_round:
        notice = f"{notice} {LAST_ROUND_NOTICE}".strip()
    return {
        "worker_id": state["worker_id"],
        "role": state["role"],
        "task": state["task"],
        "topic": state["topic"],
        "draft": state["draft"],
        "round": state["round"],
        "max_rounds": max_rounds,
        "answers": [APPROVE] if last_round else [APPROVE, REVISE],
        "notes": state.get("notes") or "",
        "notice": notice,
    }


def check_answer(answer: Any, allowed: list[str]) -> str | None:
    """Return what is wrong with an answer, or None when it is valid."""
    if not isinstance(answer, dict):
        return f"The answer must be an object with an action, got {type(answer).__name__}."
    action = answer.get("action")
    if action not in allowed:
        return f"Unknown action {action!r}: answer with one of {', '.join(allowed)}."
    if action == REVISE and not str(answer.get("notes") or "").strip():
        return "A revision needs notes saying what to change."
    return None


def pending_interrupts(snapshot: StateSnapshot) -> list[Interrupt]:
    """Interrupts still waiting for an answer.

    `snapshot.interrupts` may still list interrupts of tasks that finished after a partial
    resume, so only tasks without a result count.
    """
    return [i for task in snapshot.tasks if task.result is None for i in task.interrupts]
