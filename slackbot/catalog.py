"""The graphs this app hosts: the built-in orchestration, or those `ORCHESTRATE_GRAPH` names.

`/orchestrate <graph name> <text>` picks one when there are several (the first word names it);
otherwise the first (default) graph gets the whole text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from graphs.graph import build_graph
from slackbot.engine.base import Engine
from slackbot.engine.inputs import InputField, InputSpec, input_spec, output_keys
from slackbot.engine.loading import compile_graph, description_of, import_attr, sources
from slackbot.engine.local import LocalEngine
from slackbot.safe_text import neutralize

BUILTIN = "orchestrate"
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


class Catalog:
    def __init__(self, graphs: list[HostedGraph]) -> None:
        assert graphs
        self.graphs = {g.name: g for g in graphs}
        self.default = graphs[0]

    def __getitem__(self, name: str) -> HostedGraph:
        return self.graphs.get(name, self.default)

    def pick(self, text: str) -> tuple[HostedGraph, str]:
        """(the graph the text names, the rest); the default graph takes all of it otherwise."""
        words = text.strip().split(maxsplit=1)
        if len(self.graphs) > 1 and words:
            chosen = {n.lower(): g for n, g in self.graphs.items()}.get(words[0].lower())
            if chosen:
                return chosen, words[1] if len(words) > 1 else ""
        return self.default, text.strip()

    def help_text(self) -> str:
        lines = ["*What I can run here:*"]
        for graph in self.graphs.values():
            default = " (default)" if graph is self.default and len(self.graphs) > 1 else ""
            about = neutralize(graph.description) or "_no description_"
            takes = neutralize(graph.inputs.describe())
            lines.append(f"• `{neutralize(graph.name)}`{default}: {about} Takes {takes}.")
        if len(self.graphs) > 1:
            lines.append("Usage: `/orchestrate &lt;graph&gt; &lt;text&gt;`, for example")
            lines.append(f"`/orchestrate {neutralize(self.default.name)} …`")
        else:
            lines.append("Usage: `/orchestrate &lt;text&gt;`")
        return "\n".join(lines)


def builtin_graph(checkpointer: BaseCheckpointSaver, context: Any) -> HostedGraph:
    return HostedGraph(
        name=BUILTIN,
        description=BUILTIN_DESCRIPTION,
        engine=LocalEngine(build_graph(checkpointer), context),
        inputs=InputSpec((InputField("topic", "str", True),)),
        builtin=True,
    )


async def load_catalog(
    spec: str | None, checkpointer: BaseCheckpointSaver, context: Any, cwd: Path | None = None
) -> Catalog:
    """The hosted graphs; raises GraphLoadError with one line when a spec gives no graph."""
    if not spec:
        return Catalog([builtin_graph(checkpointer, context)])
    hosted = []
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
            )
        )
    return Catalog(hosted)
