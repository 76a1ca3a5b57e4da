"""A graph on the LangGraph server at `LANGGRAPH_URL`: the assistant it names, read from the
server's schemas (remote_graph), and RemoteCatalog, which waits for a server that is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import httpx

from slackbot.catalog import BUILTIN, Catalog, HostedGraph
from slackbot.engine.inputs import InputSpec, json_keys
from slackbot.engine.loading import GraphLoadError
from slackbot.engine.remote import (
    Breakpoints,
    LangGraphServerError,
    RemoteEngine,
    RemoteSource,
    server_calls,
    server_problem,
)

log = logging.getLogger(__name__)


# -- a graph on a LangGraph server -----------------------------------------------------------

_MAX_ASSISTANTS = 1_000


async def remote_graph(remote: RemoteSource) -> HostedGraph:
    """The server's assistant that LANGGRAPH_ASSISTANT_ID names (or its only graph), with the
    input its schema asks for; one line (GraphLoadError) when there is none to pick: exit code
    1 when the server failed (unreachable, 5xx), 2 when it answered and a setting is wrong."""
    try:
        with server_calls(remote.url):
            assistant = pick_assistant(await _assistants(remote), remote)
            assistant_id = assistant["assistant_id"]
            schemas = await remote.client.assistants.get_schemas(assistant_id)
            drawn = await remote.client.assistants.get_graph(assistant_id)
    except LangGraphServerError as error:
        cause = error.__cause__
        failed = isinstance(cause, httpx.TransportError) or (
            isinstance(cause, httpx.HTTPStatusError) and cause.response.status_code >= 500
        )
        raise GraphLoadError(f"LANGGRAPH_URL: {error}", exit_code=1 if failed else 2) from None
    schema = schemas.get("input_schema")
    inputs = InputSpec(schema if isinstance(schema, dict) else None)
    return HostedGraph(
        name=str(assistant.get("name") or assistant["graph_id"]),
        description=" ".join(str(assistant.get("description") or "").split()),
        engine=RemoteEngine(
            remote.client,
            assistant_id,
            url=remote.url,
            breakpoints=Breakpoints.drawn(drawn or {}),
            thread_metadata=remote.thread_metadata,
            context=declared(remote.context, schemas.get("context_schema")),
        ),
        inputs=inputs,
        outputs=json_keys(schemas.get("output_schema")),
        # Our own orchestration graph, served (langgraph.json): shown as it is shown locally.
        builtin=assistant.get("graph_id") == BUILTIN and inputs.text_field == "topic",
        aliases=tuple({str(assistant["graph_id"])} - {str(assistant.get("name") or "")}),
    )


def declared(knobs: dict[str, Any] | None, schema: Any) -> dict[str, Any] | None:
    """The run knobs the graph's context schema declares: a graph without them gets none."""
    if not knobs or not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return None
    return {k: v for k, v in knobs.items() if k in schema["properties"]} or None


async def _assistants(remote: RemoteSource) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while len(found) < _MAX_ASSISTANTS:
        page = await remote.client.assistants.search(limit=100, offset=len(found))
        found += page
        if len(page) < 100:
            break
    return found


def pick_assistant(assistants: list[dict[str, Any]], remote: RemoteSource) -> dict[str, Any]:
    """LANGGRAPH_ASSISTANT_ID as an assistant id, a graph id or an assistant's name; unset,
    the server's only graph. A graph id picks the assistant the server made for it."""
    graphs = sorted({str(a["graph_id"]) for a in assistants})
    offered = ", ".join(graphs[:20]) + (", …" if len(graphs) > 20 else "")
    wanted = remote.assistant_id
    if wanted is None:
        if not graphs:
            raise GraphLoadError(
                f"LANGGRAPH_URL: the LangGraph server at {remote.url} has no graph"
            )
        if len(graphs) > 1:
            raise GraphLoadError(
                f"LANGGRAPH_URL: the LangGraph server at {remote.url} has several graphs"
                f" ({offered}): set LANGGRAPH_ASSISTANT_ID to one of them"
            )
        wanted = graphs[0]
    for key in ("assistant_id", "graph_id", "name"):
        matches = [a for a in assistants if a.get(key) == wanted]
        system = [a for a in matches if (a.get("metadata") or {}).get("created_by") == "system"]
        if matches:
            return (system or matches)[0]
    raise GraphLoadError(
        f"LANGGRAPH_ASSISTANT_ID={wanted!r} is no assistant or graph of the LangGraph server at"
        f" {remote.url}; it has {offered or 'no graph'}"
    )


# -- a LangGraph server that may be down ------------------------------------------------------

RETRY_SECONDS = 2.0  # how often a catalog still waiting for its server asks again
PROBE_SECONDS = 2.0  # a health check that takes longer counts as no answer
UNREACHABLE_NOW = (
    "The LangGraph server at {url} cannot be reached right now, so nothing was started;"
    " try again in a moment."
)
NOT_READY = "I can't start anything yet: {problem}. Whoever runs this app can fix it."


class RemoteCatalog(Catalog):
    """The graph of the LangGraph server at LANGGRAPH_URL, loaded as soon as the server answers.

    A server that is down at start-up does not stop the app: until its graph is loaded,
    `/orchestrate` gets `unavailable()`'s line, a run that needs the graph stops in one line
    with Retry, and a background task asks again every RETRY_SECONDS (at once when a command,
    a run or /healthz asks). Once loaded it stays loaded: later outages are the engine's to
    report, run by run. A server that answers and names no usable graph stops start-up.
    """

    def __init__(self, remote: RemoteSource) -> None:
        # Until the server answers: a stand-in nobody can run (`pick` and `[]` refuse).
        super().__init__([_waiting_for(remote)])
        self.remote = remote
        self.loaded = False
        self.reachable = False  # the last health check got an answer
        self.unreached: str | None = None  # why the last health check got none
        self.load_problem: str | None = None  # why the server's answers gave no graph
        headers = {k: v for k, v in remote.client.http.client.headers.items() if k == "x-api-key"}
        # Its own client, without the SDK's retries: a check answers within PROBE_SECONDS.
        self._http = httpx.AsyncClient(headers=headers, timeout=PROBE_SECONDS)
        self._attempt_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._retrying: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, remote: RemoteSource) -> RemoteCatalog:
        catalog = cls(remote)
        try:
            if await catalog.load():
                return catalog
        except GraphLoadError:
            await catalog.aclose()
            raise  # the server answered: a setting to fix, at start-up
        log.warning("starting without the graph (%s): trying again meanwhile", catalog.problem)
        catalog._retrying = asyncio.create_task(catalog._keep_trying(), name="langgraph-catalog")
        return catalog

    @property
    def problem(self) -> str | None:
        """Why no graph is loaded, in one line; None once it is."""
        if self.loaded:
            return None
        if not self.reachable:
            return self.unreached or f"cannot reach the LangGraph server at {self.remote.url}"
        return self.load_problem or "its graph is being loaded"

    async def load(self) -> bool:
        """One attempt: True once the graph is loaded. Raises GraphLoadError when the server
        answers but gives no graph to use (exit code 2); a server that failed is waited for."""
        async with self._attempt_lock:
            if self.loaded:
                return True
            if await self._check():
                return False
            try:
                graph = await remote_graph(self.remote)
            except GraphLoadError as error:
                self.load_problem = str(error).removeprefix("LANGGRAPH_URL: ")
                if error.exit_code == 1:
                    return False
                raise
            self.graphs, self.default = {graph.name: graph}, graph
            self.loaded, self.load_problem = True, None
            log.info("serving %r of the LangGraph server at %s", graph.name, self.remote.url)
            return True

    async def probe(self) -> str | None:
        """/healthz: None when the server answers its health check now and its graph is
        loaded, else one line. A server that answers again gets its graph loaded at once."""
        problem = await self._check()
        if problem is None and not self.loaded:
            self.kick()
            return self.problem
        return problem

    async def _check(self) -> str | None:
        self.unreached = await server_problem(self._http, self.remote.url)
        self.reachable = self.unreached is None
        return self.unreached

    def kick(self) -> None:
        """Ask again now, in the background (a command, a run or /healthz wants the graph)."""
        self._wake.set()

    async def _keep_trying(self) -> None:
        while not self.loaded:
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that
            # comes as the event is set, and the loop would outlive aclose().
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RETRY_SECONDS):
                    await self._wake.wait()
            self._wake.clear()
            told = self.problem
            try:
                await self.load()
            except GraphLoadError:  # it answered, but names no usable graph: keep telling
                pass
            except Exception as error:
                self.load_problem = f"loading its graph failed: {type(error).__name__}: {error}"
            if self.problem and self.problem != told:
                log.warning("still without the graph: %s", self.problem)

    def unavailable(self) -> str | None:
        if self.loaded:
            return None
        self.kick()
        if not self.reachable:
            return UNREACHABLE_NOW.format(url=self.remote.url)
        return NOT_READY.format(problem=str(self.problem).rstrip("."))

    def _not_loaded(self) -> LangGraphServerError:
        self.kick()
        return LangGraphServerError(str(self.problem))

    def __getitem__(self, name: str) -> HostedGraph:
        if not self.loaded:
            raise self._not_loaded()
        return super().__getitem__(name)

    def pick(self, text: str) -> tuple[HostedGraph, str]:
        if not self.loaded:
            raise self._not_loaded()
        return super().pick(text)

    def prepare(self, text: str) -> tuple[HostedGraph, str, Any]:
        if not self.loaded:
            raise self._not_loaded()
        return super().prepare(text)

    def help_text(self) -> str:
        return self.unavailable() or super().help_text()

    async def aclose(self) -> None:
        if self._retrying is not None:
            self._retrying.cancel()
            await asyncio.gather(self._retrying, return_exceptions=True)
        await self._http.aclose()


def _waiting_for(remote: RemoteSource) -> HostedGraph:
    return HostedGraph(
        name=remote.assistant_id or "langgraph",
        description=f"the graph of the LangGraph server at {remote.url}, once it answers",
        engine=RemoteEngine(remote.client, remote.assistant_id or "", url=remote.url),
        inputs=InputSpec(),
    )
