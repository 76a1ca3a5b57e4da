"""The engine interface: what the orchestrator needs from whatever runs a graph.

One LangGraph thread per run (thread id = run id). The orchestrator never touches a graph
directly: it reads a `GraphState` and asks the engine to start, resume, continue or edit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from slackbot.engine.events import Event, Step


@dataclass(frozen=True)
class Interrupt:
    """An `interrupt()` waiting for an answer."""

    id: str
    value: Any
    response_schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class Pause:
    """A static breakpoint (`interrupt_before` / `interrupt_after`) the graph stopped at."""

    key: str  # the paused checkpoint's id: a new pause (or an edit) gets a new key
    position: str  # "before" or "after"
    nodes: tuple[str, ...]  # the nodes it stopped before, or the ones that just ran
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GraphState:
    started: bool  # a checkpoint exists for the thread
    values: dict[str, Any]
    interrupts: list[Interrupt]  # still waiting for answers
    pause: Pause | None  # stopped at a breakpoint
    next: tuple[str, ...]  # nodes due to run (a crash stopped it mid-step when no pause)

    @property
    def done(self) -> bool:
        return self.started and not self.interrupts and self.pause is None and not self.next


class Engine(Protocol):
    """start, resume and proceed run the graph until it stops; each returns the state it
    stopped in when that is known without reading it back, else None."""

    async def state(self, thread_id: str) -> GraphState: ...
    async def start(self, thread_id: str, graph_input: Any) -> GraphState | None: ...
    async def resume(self, thread_id: str, answers: dict[str, Any]) -> GraphState | None: ...
    async def proceed(self, thread_id: str) -> GraphState | None:
        """Run on from the last checkpoint: past a breakpoint, or after a crash."""
        ...

    def events(self, thread_id: str, step: Step) -> AsyncIterator[Event]:
        """Run the step (start, resume or proceed), yielding what happens as it happens and
        `Done` (the state, as start/resume/proceed return it) last."""
        ...

    async def update(self, thread_id: str, values: dict[str, Any]) -> None:
        """Edit the state at a breakpoint (as `update_state` does)."""
        ...

    def lost(self, thread_id: str) -> Exception:
        """What stops a run that had reached a step but has no state any more (its thread was
        deleted): starting it over from its input would ask everything again."""
        ...
