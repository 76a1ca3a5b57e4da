"""The local engine: the graph runs in this process, with the app's own checkpointer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot

from graphs.review import pending_interrupts as waiting_interrupts
from slackbot.engine.base import GraphState, Interrupt, Pause
from slackbot.engine.events import Done, Event, Step, Translator, final_state

INTERRUPT = "__interrupt__"  # the key of ainvoke's output that lists the interrupts raised


class LocalEngine:
    def __init__(self, graph: CompiledStateGraph, context: Any = None) -> None:
        self.graph = graph  # already bound to the app's checkpointer
        self.context = context

    @staticmethod
    def _config(thread_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": thread_id}}

    async def state(self, thread_id: str) -> GraphState:
        snapshot = await self.graph.aget_state(self._config(thread_id))
        interrupts = pending_interrupts(snapshot)
        started = snapshot.created_at is not None
        pause = None
        if started and snapshot.next and not interrupts:
            pause = await self._pause(snapshot)
        return GraphState(
            started=started,
            values=dict(snapshot.values or {}),
            interrupts=interrupts,
            pause=pause,
            next=tuple(snapshot.next),
        )

    async def _pause(self, snapshot: StateSnapshot) -> Pause | None:
        """The breakpoint this checkpoint stopped at, or None (a crash stopped it mid-step).

        Our own edits at a breakpoint write `update` checkpoints: the pause they belong to is
        the one below them."""
        key = snapshot.config["configurable"]["checkpoint_id"]
        origin = snapshot
        while (origin.metadata or {}).get("source") == "update" and origin.parent_config:
            origin = await self.graph.aget_state(origin.parent_config)
        before = self.graph.interrupt_before_nodes
        if before == "*" or any(node in before for node in origin.next):
            return Pause(key, "before", tuple(origin.next), dict(snapshot.values))
        after = self.graph.interrupt_after_nodes
        if after and origin.parent_config:
            ran = tuple(t.name for t in (await self.graph.aget_state(origin.parent_config)).tasks)
            if after == "*" or any(node in after for node in ran):
                return Pause(key, "after", ran, dict(snapshot.values))
        return None

    async def start(self, thread_id: str, graph_input: Any) -> GraphState | None:
        return await final_state(self.events(thread_id, Step.start(graph_input)))

    async def resume(self, thread_id: str, answers: dict[str, Any]) -> GraphState | None:
        return await final_state(self.events(thread_id, Step.resume(answers)))

    async def proceed(self, thread_id: str) -> GraphState | None:
        return await final_state(self.events(thread_id, Step.proceed()))

    async def events(self, thread_id: str, step: Step) -> AsyncIterator[Event]:
        """Run the step, telling what happens as it happens; `Done` last. The final state is
        the one `ainvoke` would return: root `values` and root `__interrupt__` updates (the
        same modes `ainvoke` streams), with tokens and subgraphs on top."""
        graph_input = {"start": step.value, "resume": Command(resume=step.value)}.get(step.kind)
        translator = Translator()
        latest: Any = None
        async for namespace, mode, data in self.graph.astream(
            graph_input,
            self._config(thread_id),
            context=self.context,
            stream_mode=["messages", "updates", "values", "tasks"],
            subgraphs=True,
        ):
            if mode == "values":
                if not namespace:
                    latest = data
            elif mode == "messages":
                for event in translator.message(namespace, *data):
                    yield event
            elif mode == "tasks":
                for event in translator.task(namespace, data):
                    yield event
            else:
                for event in translator.update(namespace, data):
                    yield event
        for event in translator.interrupted():
            yield event
        raised = translator.interrupts
        if len(raised) > 1:  # parallel tasks raise as they finish: read their order back
            yield Done(None)  # (the checkpoint lists them in task order, as reviews go)
            return
        if raised:  # as `ainvoke` returns it
            latest = {**(latest if isinstance(latest, dict) else {}), INTERRUPT: raised}
        yield Done(stopped_on_interrupts(latest))

    async def update(self, thread_id: str, values: dict[str, Any]) -> None:
        await self.graph.aupdate_state(self._config(thread_id), values)

    def lost(self, thread_id: str) -> Exception:
        return RuntimeError(
            "its checkpoints are gone from the app's checkpointer, and its progress with them,"
            " so it is not started over; start a new run with /orchestrate"
        )


def stopped_on_interrupts(output: Any) -> GraphState | None:
    """The state a run stopped in, from what `ainvoke` returned, when it stopped on
    interrupts: those are all it waits for (the run just raised them), so the checkpoint need
    not be read back. None when it finished or reached a breakpoint: read the checkpoint."""
    found = output.get(INTERRUPT) if isinstance(output, dict) else None
    if not found:
        return None
    return GraphState(
        started=True,
        values={k: v for k, v in output.items() if k != INTERRUPT},  # the output channels
        interrupts=[Interrupt(i.id, i.value, getattr(i, "response_schema", None)) for i in found],
        pause=None,
        next=(),  # not in the output; only read when nothing is waited for
    )


def pending_interrupts(snapshot: StateSnapshot) -> list[Interrupt]:
    return [
        Interrupt(i.id, i.value, getattr(i, "response_schema", None))
        for i in waiting_interrupts(snapshot)
    ]
