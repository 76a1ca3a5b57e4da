"""The graphs this app hosts: the built-in orchestration, those `ORCHESTRATE_GRAPH` names, or
one graph of the LangGraph server at `LANGGRAPH_URL`.

`/orchestrate <graph name> <text>` picks one when there are several (the first word names it);
otherwise the first (default) graph gets the whole text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from langgraph.checkpoint.base import BaseCheckpointSaver

from graphs.graph import build_graph
from slackbot.engine.base import Engine
from slackbot.engine.inputs import InputField, InputSpec, input_spec, output_keys
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
)
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
    spec: str | None,
    checkpointer: BaseCheckpointSaver | None,
    context: Any,
    cwd: Path | None = None,
    *,
    remote: RemoteSource | None = None,
) -> Catalog:
    """The hosted graphs; raises GraphLoadError with one line when a spec gives no graph.

    With `remote` (LANGGRAPH_URL), the one graph of that server it names: nothing runs here."""
    if remote is not None:
        return Catalog([await remote_graph(remote)])
    assert checkpointer is not None
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


# -- a graph on a LangGraph server -----------------------------------------------------------

_JSON_TYPES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "array": "list",
    "object": "dict",
    "null": "None",
}
_MAX_ASSISTANTS = 1_000


async def remote_graph(remote: RemoteSource) -> HostedGraph:
    """The server's assistant that LANGGRAPH_ASSISTANT_ID names (or its only graph), with the
    input its schema asks for; one line (GraphLoadError) when there is none to pick."""
    try:
        with server_calls(remote.url):
            assistant = pick_assistant(await _assistants(remote), remote)
            assistant_id = assistant["assistant_id"]
            schemas = await remote.client.assistants.get_schemas(assistant_id)
            drawn = await remote.client.assistants.get_graph(assistant_id)
    except LangGraphServerError as error:
        unreachable = isinstance(error.__cause__, httpx.TransportError)
        raise GraphLoadError(f"LANGGRAPH_URL: {error}", exit_code=1 if unreachable else 2) from None
    return HostedGraph(
        name=str(assistant.get("name") or assistant["graph_id"]),
        description=" ".join(str(assistant.get("description") or "").split()),
        engine=RemoteEngine(
            remote.client,
            assistant_id,
            url=remote.url,
            breakpoints=Breakpoints.drawn(drawn or {}),
            thread_metadata=remote.thread_metadata,
        ),
        inputs=json_input_spec(schemas.get("input_schema")),
        outputs=json_keys(schemas.get("output_schema")),
    )


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


def json_input_spec(schema: Any) -> InputSpec:
    """A JSON Schema (the server's view of a graph's input) as the fields /orchestrate fills."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return InputSpec(())
    required = set(schema.get("required") or ())
    return InputSpec(
        tuple(
            InputField(name, _json_type(prop), name in required)
            for name, prop in schema["properties"].items()
        )
    )


def json_keys(schema: Any) -> tuple[str, ...] | None:
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return None
    return tuple(schema["properties"])


def _json_type(prop: Any) -> str:
    """A readable type name, spelled as the local engine spells Python's (`str`, `list[int]`)."""
    if not isinstance(prop, dict):
        return "any"
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    for union in ("anyOf", "oneOf"):
        if isinstance(prop.get(union), list):
            return " | ".join(dict.fromkeys(_json_type(p) for p in prop[union]))
    kind = prop.get("type")
    if isinstance(kind, list):
        return " | ".join(_JSON_TYPES.get(k, str(k)) for k in kind)
    if kind == "array" and isinstance(prop.get("items"), dict):
        return f"list[{_json_type(prop['items'])}]"
    return _JSON_TYPES.get(kind, "any") if isinstance(kind, str) else "any"
