"""The graphs this app hosts: the built-in orchestration, those `ORCHESTRATE_GRAPH` names, or
one graph of the LangGraph server at `LANGGRAPH_URL`.

`/orchestrate <graph name> <text>` picks one when there are several (the first word names it);
otherwise the first (default) graph gets the whole text. A LangGraph server's graph is
read, and waited for while the server is down, in remote_catalog.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from graphs.graph import build_graph
from slackbot.engine.base import Engine
from slackbot.engine.inputs import InputError, InputSpec, input_spec, output_keys
from slackbot.engine.loading import compile_graph, description_of, import_attr, sources
from slackbot.engine.local import LocalEngine
from slackbot.engine.remote import RemoteSource
from slackbot.notices import NO_SUCH_GRAPH, topic_problem
from slackbot.safe_text import neutralize

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
    from slackbot.remote_catalog import RemoteCatalog  # a subclass of Catalog: imported late

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
