"""The remote engine: the graph runs on a LangGraph Agent Server, driven through langgraph-sdk.

One server thread per run (thread id = our run id). Every run on it is created with
`multitask_strategy="reject"`, so the server refuses a second concurrent run on the thread
(our leases already resume each step once; this is the server's own guard). Runs are created
in the background and then joined: a run survives this process dying, and whoever drives the
orchestration next waits for it before reading the thread's state. Each run carries the app's
run knobs as its `context` (those the graph's context schema declares).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import APIConnectionError, NotFoundError

from slackbot.engine.base import GraphState, Interrupt, Pause
from slackbot.engine.events import Done, Event, Step, Translator, final_state

ThreadMetadata = Callable[[str], Awaitable[dict[str, Any]]]  # run id → the thread's metadata

NOT_STARTED = GraphState(started=False, values={}, interrupts=[], pause=None, next=())
ACTIVE_RUNS = ("pending", "running")
_DETAIL_CHARS = 160


class LangGraphServerError(RuntimeError):
    """The LangGraph server failed us; the message is one line for the Slack thread."""


class RefusedAnswer(LangGraphServerError):
    """A resume failed on the server with `ValidationError`: a typed interrupt's model may
    have refused an answer (the server keeps no `is_invalid_resume` mark; the driver matches
    the model named in `detail`, pydantic's whole text, against the step's schemas)."""

    def __init__(self, line: str, detail: str) -> None:
        super().__init__(line)
        self.detail = detail


@dataclass(frozen=True)
class RemoteSource:
    """A LangGraph server to drive graphs on (`LANGGRAPH_URL`), and which of its graphs."""

    client: LangGraphClient
    url: str
    assistant_id: str | None = None  # LANGGRAPH_ASSISTANT_ID: an assistant id or a graph id
    thread_metadata: ThreadMetadata | None = None  # what to tag each new server thread with
    # Run knobs (model name, max workers, max revisions): each run's `context` gets those the
    # graph's context schema declares.
    context: dict[str, Any] | None = None


@dataclass(frozen=True)
class Breakpoints:
    """The graph's `interrupt_before` / `interrupt_after` nodes, as the server draws them."""

    before: frozenset[str] = field(default_factory=frozenset)
    after: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def drawn(cls, graph: dict[str, Any]) -> Breakpoints:
        """From `assistants.get_graph`: each breakpoint node carries `__interrupt` metadata."""
        before: set[str] = set()
        after: set[str] = set()
        for node in graph.get("nodes") or []:
            marks = str((node.get("metadata") or {}).get("__interrupt") or "").split(",")
            if "before" in marks:
                before.add(node["id"])
            if "after" in marks:
                after.add(node["id"])
        return cls(frozenset(before), frozenset(after))


class RemoteEngine:
    def __init__(
        self,
        client: LangGraphClient,
        assistant_id: str,
        *,
        url: str,
        breakpoints: Breakpoints | None = None,
        thread_metadata: ThreadMetadata | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        self.client = client
        self.assistant_id = assistant_id
        self.url = url
        self.breakpoints = breakpoints or Breakpoints()
        self.thread_metadata = thread_metadata
        self.context = context or None  # sent with every run: the server keeps none per thread

    async def state(self, thread_id: str) -> GraphState:
        tid = server_thread_id(thread_id)
        with server_calls(self.url):
            try:
                thread = await self.client.threads.get(tid)
            except NotFoundError:
                return NOT_STARTED
            if thread.get("status") == "busy":  # a run that an earlier driver started
                await self._join_active(tid)
                thread = await self.client.threads.get(tid)
            snapshot = await self.client.threads.get_state(tid, subgraphs=True)
            started = snapshot.get("checkpoint") is not None
            interrupts = pending_interrupts(snapshot)
            pause = None
            if started and snapshot.get("next") and not interrupts:
                pause = await self._pause(tid, snapshot, thread.get("status"))
        return GraphState(
            started=started,
            values=dict(snapshot.get("values") or {}),
            interrupts=interrupts,
            pause=pause,
            next=tuple(snapshot.get("next") or ()),
        )

    async def _pause(self, tid: str, snapshot: dict[str, Any], status: Any) -> Pause | None:
        """The breakpoint this checkpoint stopped at, or None (a run stopped it mid-step).

        As in the local engine, our edits write `update` checkpoints: the pause they belong to
        is the one below them. A thread the server calls interrupted, at no breakpoint we know
        (`"*"`, or breakpoints passed to a run), is paused before its next nodes."""
        key = snapshot["checkpoint"]["checkpoint_id"]
        values = dict(snapshot.get("values") or {})
        origin = snapshot
        while (origin.get("metadata") or {}).get("source") == "update" and origin.get(
            "parent_checkpoint_id"
        ):
            origin = await self._state_at(tid, origin["parent_checkpoint_id"])
        upcoming = tuple(origin.get("next") or ())
        if self.breakpoints.before.intersection(upcoming):
            return Pause(key, "before", upcoming, values)
        if self.breakpoints.after and origin.get("parent_checkpoint_id"):
            parent = await self._state_at(tid, origin["parent_checkpoint_id"])
            ran = tuple(task["name"] for task in parent.get("tasks") or ())
            if self.breakpoints.after.intersection(ran):
                return Pause(key, "after", ran, values)
        if status == "interrupted":
            return Pause(key, "before", upcoming, values)
        return None

    async def _state_at(self, tid: str, checkpoint_id: str) -> dict[str, Any]:
        return await self.client.threads.get_state(tid, checkpoint_id=checkpoint_id)

    async def start(
        self, thread_id: str, graph_input: Any, metadata: dict[str, Any] | None = None
    ) -> None:
        await final_state(self.events(thread_id, Step.start(graph_input), metadata))

    async def resume(self, thread_id: str, answers: dict[str, Any]) -> None:
        await final_state(self.events(thread_id, Step.resume(answers)))

    async def proceed(self, thread_id: str) -> None:
        await final_state(self.events(thread_id, Step.proceed()))

    async def events(
        self, thread_id: str, step: Step, metadata: dict[str, Any] | None = None
    ) -> AsyncIterator[Event]:
        """Run the step on the server, telling what happens as it happens (`runs.stream`,
        `messages-tuple` and `updates`); `Done(None)` last: the state is read back."""
        tid = server_thread_id(thread_id)
        if step.kind == "start":
            if metadata is None and self.thread_metadata is not None:
                metadata = await self.thread_metadata(thread_id)
            with server_calls(self.url):
                # A driver that died after this call finds the thread there and carries on.
                await self.client.threads.create(
                    thread_id=tid, if_exists="do_nothing", metadata=metadata or None
                )
        if step.kind == "resume":
            run: dict[str, Any] = {"command": {"resume": step.value}}
        else:
            run = {"input": step.value}
        async for event in self._run(tid, resuming=step.kind == "resume", **run):
            yield event
        yield Done(None)

    async def update(self, thread_id: str, values: dict[str, Any]) -> None:
        with server_calls(self.url):
            await self.client.threads.update_state(server_thread_id(thread_id), values)

    def lost(self, thread_id: str) -> Exception:
        """A run that had reached a step finds no thread on the server (404)."""
        return LangGraphServerError(
            f"its thread is gone from the LangGraph server at {self.url} (deleted?), and its"
            " progress with it, so it is not started over; start a new run with /orchestrate"
        )

    async def _run(self, tid: str, resuming: bool = False, **run: Any) -> AsyncIterator[Event]:
        """Create the run and read its stream; then join it, which raises when it did not end
        well. A stream cut short (this process's connection) is only a view lost: the run goes
        on on the server (`on_disconnect` defaults to continue) and is joined."""
        if self.context:
            run["context"] = self.context
        translator = Translator()
        run_id = None
        with server_calls(self.url):
            try:
                async for part in self.client.runs.stream(
                    tid,
                    self.assistant_id,
                    multitask_strategy="reject",
                    stream_mode=["messages-tuple", "updates", "tasks"],
                    stream_subgraphs=True,
                    **run,
                ):
                    mode, _, below = part.event.partition("|")
                    namespace = tuple(below.split("|")) if below else ()
                    if mode == "metadata" and isinstance(part.data, dict):
                        run_id = part.data.get("run_id") or run_id
                    elif mode == "messages" and isinstance(part.data, list | tuple):
                        message, meta = part.data
                        for event in translator.message(namespace, message, meta):
                            yield event
                    elif mode == "updates":
                        for event in translator.update(namespace, part.data):
                            yield event
                    elif mode == "tasks":
                        for event in translator.task(namespace, part.data):
                            yield event
                    elif mode == "error":
                        break  # joining the run tells what failed
            except NotFoundError:  # the thread, or the assistant, is not there
                if await self._thread_gone(tid):
                    raise self.lost(tid) from None
                raise
            except (httpx.ReadTimeout, httpx.RemoteProtocolError):
                if run_id is None:
                    raise
            if run_id is None:
                raise LangGraphServerError("the LangGraph server streamed a run without its id")
            await self._join(tid, run_id, resuming=resuming)
        for event in translator.interrupted():
            yield event

    async def _thread_gone(self, tid: str) -> bool:
        try:
            await self.client.threads.get(tid)
        except NotFoundError:
            return True
        return False

    async def _join_active(self, tid: str) -> None:
        for status in ACTIVE_RUNS:
            for active in await self.client.runs.list(tid, status=status, limit=100):
                await self._join(tid, active["run_id"], raise_error=False)

    async def _join(
        self, tid: str, run_id: str, raise_error: bool = True, resuming: bool = False
    ) -> None:
        """Wait for the run to end; raise when it did not end well (`RefusedAnswer` when a
        resume failed on a `ValidationError`)."""
        while True:
            try:
                outcome = await self.client.runs.join(tid, run_id)
                break
            except httpx.ReadTimeout:  # a long run outlasts one read: join it again
                continue
        if not raise_error:
            return
        failure = outcome.get("__error__") if isinstance(outcome, dict) else None
        if isinstance(failure, dict):
            what = " ".join(f"{failure.get('error')}: {failure.get('message')}".split())
            line = f"the graph failed on the LangGraph server: {what[:_DETAIL_CHARS]}"
            if resuming and failure.get("error") == "ValidationError":
                raise RefusedAnswer(line, str(failure.get("message") or ""))
            raise LangGraphServerError(line)
        status = (await self.client.runs.get(tid, run_id)).get("status")
        if status != "success":
            raise LangGraphServerError(f"the run on the LangGraph server ended as {status!r}")


def server_thread_id(run_id: str) -> str:
    """Our run ids are UUIDs written as 32 hex digits; the server keeps a thread under the
    dashed form, and reads the state of an undashed id as empty (seen with langgraph-api 0.16)."""
    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        return run_id


def pending_interrupts(snapshot: dict[str, Any]) -> list[Interrupt]:
    """Interrupts still waiting for an answer: those of tasks without a result (the thread's
    `interrupts` may still list those of tasks that finished after a partial resume). A task
    whose interrupts are reported only in its subgraph's state gets them from there."""
    found: dict[str, Interrupt] = {}
    for task in snapshot.get("tasks") or ():
        if task.get("result") is not None:
            continue
        listed = [
            Interrupt(i["id"], i.get("value"), i.get("response_schema"))
            for i in task.get("interrupts") or ()
        ]
        if not listed and isinstance(task.get("state"), dict):
            listed = pending_interrupts(task["state"])
        for interrupt in listed:
            found.setdefault(interrupt.id, interrupt)
    return list(found.values())


@contextmanager
def server_calls(url: str) -> Iterator[None]:
    """Turn the SDK's and httpx's errors into one readable line."""
    try:
        yield
    except APIConnectionError as error:  # an HTTPStatusError without a response
        raise LangGraphServerError(unreachable(url, error)) from error
    except httpx.HTTPStatusError as error:
        raise LangGraphServerError(answered(error)) from error
    except httpx.TransportError as error:
        raise LangGraphServerError(unreachable(url, error)) from error


async def server_problem(http: httpx.AsyncClient, url: str) -> str | None:
    """None when the server answers its health check (`GET /ok`) now, else one line. Any
    answer below 500 counts (a proxy or an auth layer may refuse /ok: loading tells more).
    `http` should not retry: the SDK's client retries a refused connection for seconds."""
    try:
        response = await http.get(url + "/ok")
    except httpx.TransportError as error:
        return unreachable(url, error)
    if response.status_code >= 500:
        return f"the LangGraph server at {url} answered {response.status_code} to its health check"
    return None


def unreachable(url: str, error: Exception) -> str:
    return f"cannot reach the LangGraph server at {url} ({type(error).__name__})"


def answered(error: httpx.HTTPStatusError) -> str:
    response = error.response
    detail = ""
    try:
        body = response.json()
        if isinstance(body, dict):
            detail = str(body.get("detail") or body.get("message") or body.get("error") or "")
    except Exception:  # not JSON, or not read: the status line says enough
        pass
    detail = " ".join((detail or response.reason_phrase or "").split())[:_DETAIL_CHARS]
    return f"the LangGraph server answered {response.status_code}" + (
        f" ({detail})" if detail else ""
    )
