"""The graphs this app hosts: the built-in orchestration, those `ORCHESTRATE_GRAPH` names, or
one graph of the LangGraph server at `LANGGRAPH_URL`.

`/orchestrate <graph name> <text>` picks one when there are several (the first word names it);
otherwise the first (default) graph gets the whole text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from langgraph.checkpoint.base import BaseCheckpointSaver

from graphs.graph import build_graph
from slackbot.engine.base import Engine
from slackbot.engine.inputs import InputError, InputSpec, input_spec, json_keys, output_keys
from slackbot.engine.loading import (
    GraphLoadError,
    compile_graph,
    description_of,
    import_attr,
    sources,
)
from slackbot.engine.local import LocalEngine
from slackbot.engine.remote import (
    Breakpoints,
    LangGraphServerError,
    RemoteEngine,
    RemoteSource,
    server_calls,
    server_problem,
)
from slackbot.notices import NO_SUCH_GRAPH, topic_problem
from slackbot.safe_text import neutralize

log = logging.getLogger(__name__)

BUILTIN = "orchestrate"
BUILTIN_EXAMPLE = "a launch plan for the Berlin office"
_NAME = re.compile(r"[A-Za-z][\w-]{0,63}")  # a word that may be meant as a graph's name
BUILTIN_DESCRIPTION = (
    "Plans the work, drafts it with 2–3 worker agents for you to approve or revise, then sums up."
)


@dataclass(frozen=True)
class HostedGraph:
    name: str
    description: str
    engine: Engine
    inputs: InputSpec
    outputs: tuple[str, ...] | None = None  # the output schema's keys, when known
    builtin: bool = False
    # Other names a rule's `graph` may give it: the attr of path:attr (the name is the file's),
    # the graph id of a server's assistant named otherwise.
    aliases: tuple[str, ...] = ()


class Catalog:
    def __init__(self, graphs: list[HostedGraph]) -> None:
        assert graphs
        self.graphs = {g.name: g for g in graphs}
        self.default = graphs[0]

    def __getitem__(self, name: str) -> HostedGraph:
        return self.graphs.get(name, self.default)

    def names_of(self, name: str) -> tuple[str, ...]:
        """A hosted graph's name and its aliases, for matching a rule's `graph`."""
        graph = self.graphs.get(name)
        return (name, *graph.aliases) if graph else (name,)

    def pick(self, text: str) -> tuple[HostedGraph, str]:
        """(the graph the text names, the rest); the default graph takes all of it otherwise."""
        named, rest = self._named(text)
        return (named, rest) if named else (self.default, text.strip())

    def _named(self, text: str) -> tuple[HostedGraph | None, str]:
        words = text.strip().split(maxsplit=1)
        if len(self.graphs) > 1 and words:
            chosen = {n.lower(): g for n, g in self.graphs.items()}.get(words[0].lower())
            if chosen:
                return chosen, words[1] if len(words) > 1 else ""
        return None, text.strip()

    def prepare(self, text: str) -> tuple[HostedGraph, str, Any]:
        """(the graph, its text, its input) for `/orchestrate <text>`; InputError with the one
        line to show when nothing can start. With several graphs, a first word that names none
        and looks like a name is "no such graph" unless the default graph takes plain text."""
        named, rest = self._named(text)
        graph = named or self.default
        if problem := topic_problem(rest):
            if graph.builtin or rest:
                raise InputError(problem)  # the built-in usage, or a text that is too long
            raise InputError(self._usage(graph))
        try:
            return graph, rest, graph.inputs.build(rest)
        except InputError as error:
            word = rest.split(maxsplit=1)[0]
            if named is None and self._no_such_graph(word):
                listed = ", ".join(f"`{neutralize(n)}`" for n in self.graphs)
                told = NO_SUCH_GRAPH.format(name=neutralize(word), graphs=listed)
            else:
                told = f"{neutralize(str(error))} For example {self._example(graph)}."
            raise InputError(told) from None

    def _no_such_graph(self, word: str) -> bool:
        """A first word meant as a graph's name: the default graph cannot take plain text."""
        several = len(self.graphs) > 1
        return several and not self.default.inputs.takes_text and bool(_NAME.fullmatch(word))

    def _usage(self, graph: HostedGraph) -> str:
        takes = neutralize(graph.inputs.describe())
        return f"`{neutralize(graph.name)}` takes {takes}, for example {self._example(graph)}."

    def _takes(self, graph: HostedGraph) -> str:
        takes = neutralize(graph.inputs.describe())
        return f"Takes {takes}, for example {self._example(graph)}."

    def _example(self, graph: HostedGraph) -> str:
        return f"`{neutralize(self.example_command(graph))}`"

    def example_command(self, graph: HostedGraph | None = None) -> str:
        """A command that starts the graph (the default one), as a person types it."""
        graph = graph or self.default
        if graph.builtin:
            return f"/orchestrate {BUILTIN_EXAMPLE}"
        name = f"{graph.name} " if len(self.graphs) > 1 else ""
        return f"/orchestrate {name}{graph.inputs.example()}"

    def unavailable(self) -> str | None:
        """Why no run can start now (a LangGraph server that is down), else None."""
        return None

    async def aclose(self) -> None:
        """Stop what the catalog runs in the background (RemoteCatalog's retries)."""

    def help_text(self) -> str:
        lines = ["*What I can run here:*"]
        for graph in self.graphs.values():
            default = " (default)" if graph is self.default and len(self.graphs) > 1 else ""
            about = neutralize(graph.description) or "_no description_"
            lines.append(f"• `{neutralize(graph.name)}`{default}: {about} {self._takes(graph)}")
        if len(self.graphs) > 1:
            lines.append(
                "Usage: `/orchestrate &lt;graph&gt; &lt;input&gt;`; without a graph's name the"
                f" input goes to `{neutralize(self.default.name)}`."
            )
        else:
            lines.append("Usage: `/orchestrate &lt;input&gt;`")
        lines.append("`/orchestrate status` lists the runs waiting for people in this channel.")
        return "\n".join(lines)


def builtin_graph(checkpointer: BaseCheckpointSaver, context: Any) -> HostedGraph:
    graph = build_graph(checkpointer)
    return HostedGraph(
        name=BUILTIN,
        description=BUILTIN_DESCRIPTION,
        engine=LocalEngine(graph, context),
        inputs=input_spec(graph),
        builtin=True,
    )


async def load_catalog(
    spec: str | None,
    checkpointer: BaseCheckpointSaver | None,
    context: Any,
    cwd: Path | None = None,
    *,
    remote: RemoteSource | None = None,
    with_builtin: bool = False,
) -> Catalog:
    """The hosted graphs; raises GraphLoadError with one line when a spec gives no graph.

    With `remote` (LANGGRAPH_URL), the one graph of that server it names: nothing runs here,
    and a server that cannot be reached now is waited for (RemoteCatalog). `with_builtin`
    (the demo): the built-in graph first, the default, and the spec's graphs after it."""
    if remote is not None:
        return await RemoteCatalog.open(remote)
    assert checkpointer is not None
    if not spec:
        return Catalog([builtin_graph(checkpointer, context)])
    hosted = [builtin_graph(checkpointer, context)] if with_builtin else []
    for source in sources(spec, cwd or Path.cwd()):
        module, found = import_attr(source)
        graph = await compile_graph(source, found, checkpointer)
        hosted.append(
            HostedGraph(
                name=source.name,
                description=description_of(source, module, found),
                engine=LocalEngine(graph),
                inputs=input_spec(graph),
                outputs=output_keys(graph),
                aliases=source.aliases,
            )
        )
    return Catalog(hosted)


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
