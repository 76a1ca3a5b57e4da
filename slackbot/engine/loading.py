"""`ORCHESTRATE_GRAPH`: find the graphs a team points the app at, and bind them to our saver.

A spec uses langgraph.json's syntax: `./path/to/file.py:attr` (relative to the working
directory, or to the langgraph.json that names it) or `package.module:attr`; or it is the path
of a langgraph.json, whose `graphs` are all offered (the first is the default). `attr` may be a
compiled graph, a `StateGraph`, or a function (sync or async, taking nothing or a
`RunnableConfig`) returning either.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.pregel import Pregel

from slackbot.settings import StartupError


class GraphLoadError(StartupError):
    """The spec cannot give a graph; the message is one line meant for a person."""

    exit_code = 2  # a setting to fix


@dataclass(frozen=True)
class GraphSource:
    name: str
    spec: str  # ./file.py:attr or package.module:attr
    base: Path  # what a ./ path is relative to
    description: str = ""
    single: bool = False  # one path:attr, not a langgraph.json: named after its file

    @property
    def aliases(self) -> tuple[str, ...]:
        """The attr of a single path:attr, when its name is the file's (for rules)."""
        attr = self.spec.rsplit(":", 1)[-1]
        return (attr,) if self.single and attr != self.name else ()


def sources(spec: str, cwd: Path) -> list[GraphSource]:
    """What `ORCHESTRATE_GRAPH` names, without importing anything yet."""
    spec = spec.strip()
    if spec.endswith(".json") or (cwd / spec).is_dir():
        return _from_config(cwd / spec)
    if ":" not in spec:
        raise GraphLoadError(
            f"ORCHESTRATE_GRAPH={spec!r} names no graph: write ./path/file.py:attr,"
            " package.module:attr, or the path of a langgraph.json"
        )
    return [GraphSource(_default_name(spec), spec, cwd, single=True)]


def _default_name(spec: str) -> str:
    target, attr = spec.rsplit(":", 1)
    stem = Path(target).stem if target.endswith(".py") else target.rsplit(".", 1)[-1]
    return stem or attr


def _from_config(path: Path) -> list[GraphSource]:
    if path.is_dir():
        path = path / "langgraph.json"
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise GraphLoadError(f"ORCHESTRATE_GRAPH: there is no file {path}") from None
    except (OSError, ValueError) as error:
        raise GraphLoadError(f"ORCHESTRATE_GRAPH: cannot read {path}: {error}") from None
    graphs = config.get("graphs") if isinstance(config, dict) else None
    if not isinstance(graphs, dict) or not graphs:
        raise GraphLoadError(f'ORCHESTRATE_GRAPH: {path} has no "graphs" to offer')
    found = []
    for name, entry in graphs.items():
        if isinstance(entry, dict):
            target, description = entry.get("path", ""), str(entry.get("description") or "")
        else:
            target, description = entry, ""
        if not isinstance(target, str) or ":" not in target:
            raise GraphLoadError(f"ORCHESTRATE_GRAPH: graph {name!r} in {path} is not file:attr")
        found.append(GraphSource(name, target, path.parent, description))
    return found


def import_attr(source: GraphSource) -> tuple[Any, Any]:
    """(the module, the object its attr names)."""
    target, attr = source.spec.rsplit(":", 1)
    try:
        if target.endswith(".py") or "/" in target:
            module = _import_file((source.base / target).resolve(), source.base)
        else:
            module = importlib.import_module(target)
    except GraphLoadError:
        raise
    except Exception as error:  # the user's module failed to import: say what and where
        raise GraphLoadError(
            f"graph {source.name!r}: importing {target} failed: {type(error).__name__}: {error}"
        ) from None
    try:
        return module, getattr(module, attr)
    except AttributeError:
        raise GraphLoadError(f"graph {source.name!r}: {target} has no attribute {attr!r}") from None


def _import_file(path: Path, base: Path) -> Any:
    if not path.is_file():
        raise GraphLoadError(f"ORCHESTRATE_GRAPH: there is no file {path}")
    if str(base.resolve()) not in sys.path:
        sys.path.insert(0, str(base.resolve()))  # as langgraph.json's "dependencies": ["."]
    name = module_name(path, base)
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__file__", None) == str(path):
        return loaded  # a second graph of the same file: its classes stay the same objects
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def module_name(path: Path, base: Path) -> str:
    """The name a graph file is imported under: the checkpoints store the classes it defines
    (a pydantic model in the state) by module and name, so it must be the same in every
    process and on every replica. Built from the path relative to the base (the working
    directory or the langgraph.json), as the LangGraph server does: never from `hash()`,
    which Python salts per process, nor, when avoidable, from an absolute path."""
    base = base.resolve()
    relative = path.relative_to(base) if path.is_relative_to(base) else path
    parts = [re.sub(r"\W", "_", part) for part in relative.with_suffix("").parts if part != "/"]
    return "orchestrate_graph__" + "__".join(parts)


async def compile_graph(
    source: GraphSource, found: Any, checkpointer: BaseCheckpointSaver
) -> CompiledStateGraph:
    """A graph object (or a factory of one) → a compiled graph bound to our checkpointer,
    keeping its interrupt_before / interrupt_after."""
    if callable(found) and not isinstance(found, StateGraph | Pregel):
        found = await _call_factory(source, found)
    if isinstance(found, StateGraph):
        return found.compile(checkpointer=checkpointer)
    if isinstance(found, Pregel):
        bound = found.copy(update={"checkpointer": checkpointer})
        # `copy` drops the classes the graph's schemas allow the checkpointer to load back
        # (LANGGRAPH_STRICT_MSGPACK): without them a pydantic object in the state comes back
        # from a checkpoint as a plain dict.
        bound._serde_allowlist = getattr(found, "_serde_allowlist", None)
        return bound
    raise GraphLoadError(
        f"graph {source.name!r}: {source.spec} is {_a(type(found).__name__)}, not a LangGraph"
        " graph (a compiled graph, a StateGraph, or a function returning one)"
    )


async def _call_factory(source: GraphSource, factory: Any) -> Any:
    try:
        takes_config = bool(inspect.signature(factory).parameters)
    except (TypeError, ValueError):
        takes_config = False
    try:
        made = factory({"configurable": {}}) if takes_config else factory()
        if inspect.isawaitable(made):
            made = await made
    except Exception as error:
        raise GraphLoadError(
            f"graph {source.name!r}: {source.spec} raised {type(error).__name__}: {error}"
        ) from None
    return made


def description_of(source: GraphSource, module: Any, found: Any) -> str:
    """langgraph.json's description, else the docstring of the factory or of its module."""
    doc = source.description
    if not doc and inspect.isfunction(found):
        doc = inspect.getdoc(found) or ""
    if not doc:
        doc = inspect.getdoc(module) or ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def _a(noun: str) -> str:
    """`an int`, `a dict`: the article a person would write."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} `{noun}`"
