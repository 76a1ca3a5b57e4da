"""What a graph does while it runs, as plain events: the one thing above `engine/` sees of a
running step (the Slack view streams from these; nothing else reads LangGraph chunks).

`Translator` turns what both transports yield into events: LangGraph's `messages` items (a
message chunk or whole message, object or dict, with its metadata) and `updates` items
(`{node: update}`), each with its namespace (a subgraph's tokens count, its nodes do not).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from slackbot.engine.base import GraphState

INTERRUPT = "__interrupt__"


@dataclass(frozen=True)
class TextDelta:
    """A piece of an AI message's text (all pieces of one model call share `message_id`)."""

    message_id: str
    text: str


@dataclass(frozen=True)
class ToolStarted:
    call_id: str
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class ToolFinished:
    call_id: str
    name: str
    result: str
    ok: bool


@dataclass(frozen=True)
class NodeStarted:
    name: str


@dataclass(frozen=True)
class NodeFinished:
    name: str


@dataclass(frozen=True)
class Interrupted:
    ids: tuple[str, ...]


@dataclass(frozen=True)
class Done:
    """The step ended: the state it stopped in when known without reading it back, else None."""

    state: GraphState | None


Event = TextDelta | ToolStarted | ToolFinished | NodeStarted | NodeFinished | Interrupted | Done


@dataclass(frozen=True)
class Step:
    """What to run: `start` with an input, `resume` with answers, or `proceed` (no value)."""

    kind: str
    value: Any = None

    @classmethod
    def start(cls, graph_input: Any) -> Step:
        return cls("start", graph_input)

    @classmethod
    def resume(cls, answers: dict[str, Any]) -> Step:
        return cls("resume", answers)

    @classmethod
    def proceed(cls) -> Step:
        return cls("proceed")


async def final_state(events: AsyncIterator[Event]) -> GraphState | None:
    """Run a step without watching it: the state `Done` carries."""
    state = None
    async for event in events:
        if isinstance(event, Done):
            state = event.state
    return state


def _get(message: Any, key: str, default: Any = None) -> Any:
    if isinstance(message, dict):
        return message.get(key, default)
    return getattr(message, key, default)


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
        )
    return ""


def _kind(message: Any) -> str:
    kind = str(_get(message, "type", "") or "")
    return {"AIMessageChunk": "ai", "ToolMessage": "tool", "AIMessage": "ai"}.get(kind, kind)


class Translator:
    """One step's LangGraph items → events; remembers what it told (each tool call once, each
    node started once, each interrupt once)."""

    def __init__(self) -> None:
        self._streamed: set[str] = set()  # ids of AI messages whose tokens were seen
        self._tools_started: set[str] = set()
        self._tools_done: set[str] = set()
        self._nodes: set[str] = set()
        self._interrupts: dict[str, Any] = {}  # id → the interrupt, as the transport gave it
        self._labels: dict[str, str] = {}  # "node:task id" → who runs it (its input names)
        self._labelled: set[str] = set()  # root nodes told by their tasks' labels instead

    @property
    def interrupts(self) -> list[Any]:
        return list(self._interrupts.values())

    def interrupted(self) -> Iterator[Event]:
        if self._interrupts:
            yield Interrupted(tuple(self._interrupts))

    def message(self, namespace: tuple[str, ...], message: Any, meta: Any) -> Iterator[Event]:
        node = str((meta or {}).get("langgraph_node") or "") if isinstance(meta, dict) else ""
        if node in self._labelled:
            node = ""
        if not namespace and node and not node.startswith("__") and node not in self._nodes:
            self._nodes.add(node)
            yield NodeStarted(node)
        kind = _kind(message)
        if kind == "ai":
            message_id = str(_get(message, "id") or "")
            text = text_of(_get(message, "content"))
            chunk = "Chunk" in type(message).__name__ or _get(message, "type") == "AIMessageChunk"
            if chunk:
                self._streamed.add(message_id)
            elif message_id in self._streamed:
                return  # the whole message of tokens already told
            if text:
                yield TextDelta(message_id, text)
        elif kind == "tool":
            yield from self._tool_result(message)

    def _tool_result(self, message: Any) -> Iterator[Event]:
        call_id = str(_get(message, "tool_call_id") or "")
        if not call_id or call_id in self._tools_done:
            return
        self._tools_done.add(call_id)
        name = str(_get(message, "name") or "")
        if call_id not in self._tools_started:
            self._tools_started.add(call_id)
            yield ToolStarted(call_id, name, {})
        ok = _get(message, "status", "success") != "error"
        yield ToolFinished(call_id, name, text_of(_get(message, "content")), ok)

    def update(self, namespace: tuple[str, ...], update: Any) -> Iterator[Event]:
        if not isinstance(update, dict):
            return
        for node, value in update.items():
            if node == INTERRUPT:
                if not namespace:  # also raised in its subgraph's namespace: same id
                    for interrupt in value or ():
                        found = _get(interrupt, "id")
                        if found:
                            self._interrupts.setdefault(str(found), interrupt)
                continue
            for message in _messages_in(value):
                if _kind(message) == "ai":
                    for call in _get(message, "tool_calls") or ():
                        call_id = str(_get(call, "id") or "")
                        if call_id and call_id not in self._tools_started:
                            self._tools_started.add(call_id)
                            args = _get(call, "args") or {}
                            yield ToolStarted(call_id, str(_get(call, "name") or ""), dict(args))
                elif _kind(message) == "tool":
                    yield from self._tool_result(message)
            if not namespace and not node.startswith("__") and node not in self._labelled:
                if node not in self._nodes:
                    self._nodes.add(node)
                    yield NodeStarted(node)
                yield NodeFinished(node)
                self._nodes.discard(node)  # a node that runs again starts again

    def task(self, namespace: tuple[str, ...], task: Any) -> Iterator[Event]:
        """`tasks` items. A root task whose input names who runs it (a worker's `Send`, a
        subgraph) makes its inner nodes show as tasks of their own, "researcher: draft"; an
        inner node that stops at an interrupt stays open (the step pauses)."""
        if not isinstance(task, dict) or not task.get("name"):
            return
        name, starts = str(task["name"]), "input" in task
        if not namespace:
            label = _label(task.get("input")) if starts else None
            if label:
                self._labels[f"{name}:{task.get('id')}"] = label
                self._labelled.add(name)
            return
        label = self._labels.get(namespace[0])
        if not label or name.startswith("__"):
            return
        title = f"{label}: {name}"
        if starts:
            yield NodeStarted(title)
        elif not task.get("interrupts"):
            yield NodeFinished(title)


LABEL_KEYS = ("worker_id", "worker", "agent", "name")  # what names who runs a task


def _label(task_input: Any) -> str | None:
    if not isinstance(task_input, dict):
        return None
    for key in LABEL_KEYS:
        value = task_input.get(key)
        if isinstance(value, str) and 0 < len(value) <= 40:
            return value
    return None


def _messages_in(update: Any) -> list[Any]:
    if not isinstance(update, dict):
        return []
    messages = update.get("messages")
    if isinstance(messages, list):
        return messages
    return [messages] if messages is not None and not isinstance(messages, str) else []
