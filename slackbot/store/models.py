"""What the store keeps: runs (one per orchestration) and reviews (one per interrupt or pause)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

BUILTIN_GRAPH = "orchestrate"  # the built-in orchestration graph's name (rows before 0002)


class RunStatus(StrEnum):
    RUNNING = "running"  # a process holds the lease and drives the graph
    WAITING = "waiting"  # paused on the reviews of `step`
    FAILED = "failed"  # stopped by an error at its last checkpoint; Retry picks it up
    DONE = "done"
    CANCELLED = "cancelled"  # ended by a person: never resumed
    EXPIRED = "expired"  # a step waited past ORCHESTRATE_EXPIRE_AFTER: never resumed (fail closed)


class ReviewStatus(StrEnum):
    PENDING = "pending"
    AWAITING_NOTES = "awaiting_notes"  # Revise clicked; the person's next thread reply is the notes
    DECIDED = "decided"
    CANCELLED = "cancelled"  # its run was cancelled before anyone answered
    EXPIRED = "expired"  # nobody answered in time; never counts as an answer


@dataclass(frozen=True)
class Run:
    run_id: str  # also the LangGraph thread id
    team_id: str
    channel_id: str
    started_by: str
    topic: str
    root_ts: str | None
    status: RunStatus
    phase: str  # what the root message shows: planning, waiting, resuming, done, failed
    step: int
    error: str | None
    summary_ts: str | None  # the result message (the summary, for the built-in graph)
    graph: str = BUILTIN_GRAPH  # the hosted graph's name
    input: Any = None  # the graph input built from the command text (JSON-plain)
    result: Any = None  # the graph's output values once done (JSON-plain)
    ended_by: str | None = None  # who cancelled it
    waiting_since: float | None = None  # when its current step began to wait for people
    reminders_sent: int = 0
    escalated: bool = False  # a rule's escalate_to may answer too (after the last reminder)

    def elsewhere(self, team_id: str, channel_id: str, own: str | None = None) -> bool:
        """An action from another team or channel than the run's own, or `own` (the channel a
        rule posted its review in): a button copied or a payload made up. An id Slack did not
        send is no mismatch."""
        return bool(channel_id and channel_id != (own or self.channel_id)) or bool(
            team_id and self.team_id and team_id != self.team_id
        )

    # A conversation's thread root, a person's message (None: root_ts, the app's own message),
    # and the message whose turn runs now (conversations.py).
    thread_ts: str | None = None
    turn_ts: str | None = None

    @property
    def thread(self) -> str | None:
        """The ts of the Slack thread the run posts in."""
        return self.thread_ts or self.root_ts

    @property
    def result_key(self) -> str:
        """What marks the message showing a result: one per turn of a conversation."""
        return f"{self.run_id}:{self.turn_ts}" if self.turn_ts else self.run_id

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Run:
        return cls(
            run_id=row["run_id"],
            team_id=row["team_id"],
            channel_id=row["channel_id"],
            started_by=row["started_by"],
            topic=row["topic"],
            root_ts=row["root_ts"],
            status=RunStatus(row["status"]),
            phase=row["phase"],
            step=row["step"],
            error=row["error"],
            summary_ts=row["summary_ts"],
            graph=row["graph"],
            input=_loads(row["input"]),
            result=_loads(row["result"]),
            ended_by=row.get("ended_by"),
            waiting_since=row.get("waiting_since"),
            reminders_sent=row.get("reminders_sent") or 0,
            escalated=row.get("escalated_at") is not None,
            thread_ts=row.get("thread_ts"),
            turn_ts=row.get("turn_ts"),
        )


@dataclass(frozen=True)
class Review:
    review_id: str  # the short value carried by buttons
    run_id: str
    step: int
    interrupt_id: str
    position: int
    request: Any  # the interrupt's value (or the paused state, for a breakpoint), JSON-plain
    message_ts: str | None
    status: ReviewStatus
    notes_requested_by: str | None
    answer: Any  # the resume value once decided (None until then)
    decided_by: str | None
    decided_at: float | None
    kind: str = "worker"  # which review kind shows and answers it (slackbot/reviews)
    response_schema: dict[str, Any] | None = None  # the interrupt's JSON Schema, if typed
    # Answers the graph refused on resume, oldest first: {answer, by, at, error} each. The
    # review is open again (pending) after a refusal; they are kept for the record.
    refusals: tuple[dict[str, Any], ...] = ()
    rule: str | None = None  # the ORCHESTRATE_RULES rule that says who answers it
    quorum: int = 1  # distinct approving answers it needs
    approvals: tuple[str, ...] = ()  # who approved so far, in order (while short of quorum)
    channel_id: str | None = None  # where it is posted, when a rule routes it out of the thread

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Review:
        return cls(
            review_id=row["review_id"],
            run_id=row["run_id"],
            step=row["step"],
            interrupt_id=row["interrupt_id"],
            position=row["position"],
            request=json.loads(row["request"]),
            message_ts=row["message_ts"],
            status=ReviewStatus(row["status"]),
            notes_requested_by=row["notes_requested_by"],
            answer=_loads(row["answer"]),
            decided_by=row["decided_by"],
            decided_at=row["decided_at"],
            kind=row["kind"],
            response_schema=_loads(row["response_schema"]),
            refusals=tuple(_loads(row.get("refusals")) or ()),
            rule=row.get("rule"),
            quorum=row.get("quorum") or 1,
            approvals=tuple(_loads(row.get("approvals")) or ()),
            channel_id=row.get("channel_id"),
        )


def _loads(text: str | None) -> Any:
    return json.loads(text) if text is not None else None


class Outcome(StrEnum):
    """How a click or reply was taken."""

    RECORDED = "recorded"
    ALREADY_DECIDED = "already_decided"
    NOT_PENDING = "not_pending"  # finished step, finished run
    UNKNOWN = "unknown"  # no such review (forged or expired value)
    TAKEN = "taken"  # someone else is already writing notes for it
    DUPLICATE = "duplicate"  # the same thread reply delivered again
    NO_MATCH = "no_match"  # a thread reply that answers no open revision
    CANCELLED = "cancelled"  # the run was cancelled
    BUSY = "busy"  # the run is resuming right now: it cannot be cancelled at this moment
    EXPIRED = "expired"  # the run timed out waiting
    REFUSED = "refused"  # the review's rule does not let this person answer it
    SELF_APPROVAL = "self_approval"  # four-eyes: the run's starter may not approve it
    ALREADY_APPROVED = "already_approved"  # this person's approval is already counted


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    review: Review | None = None
    run: Run | None = None
    decided: int = 0  # reviews of the step answered so far
    total: int = 0
    resume: bool = False  # this decision completed the step and claimed its resume
    step: tuple[Review, ...] = ()  # when it claimed the resume: the step's answered reviews
    # Recorded: the Slack updates it owes (its review, the root), stored with it (outbox.py)
    owed: tuple[Any, ...] = ()
