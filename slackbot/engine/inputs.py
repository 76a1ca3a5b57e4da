"""From the slash command's text to a graph's input, and what a graph's input looks like.

A graph whose input has `messages` gets `{"messages": [{"role": "user", "content": text}]}`; a
graph with exactly one required string field gets `{field: text}`; otherwise a text that is a
JSON object is the input; anything else is refused, naming the fields the graph expects.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from pydantic import BaseModel


class InputError(ValueError):
    """The text cannot be this graph's input; the message says what it expects."""


@dataclass(frozen=True)
class InputField:
    name: str
    type: str  # a readable type name
    required: bool


@dataclass(frozen=True)
class InputSpec:
    fields: tuple[InputField, ...]

    @property
    def messages(self) -> bool:
        return any(f.name == "messages" for f in self.fields)

    @property
    def text_field(self) -> str | None:
        required = [f for f in self.fields if f.required]
        if len(required) == 1 and required[0].type == "str":
            return required[0].name
        return None

    def describe(self) -> str:
        """What `/orchestrate help` says the graph takes."""
        if self.messages:
            return "a message (your text)"
        if self.text_field:
            return f"text (becomes `{self.text_field}`)"
        if not self.fields:
            return "a JSON object"
        listed = ", ".join(
            f"`{f.name}`{'' if f.required else '?'}: {f.type}" for f in self.fields[:12]
        )
        return f"a JSON object with {listed}"


def input_spec(graph: CompiledStateGraph) -> InputSpec:
    builder = getattr(graph, "builder", None)
    schema = getattr(builder, "input_schema", None) if builder is not None else None
    return InputSpec(tuple(_fields(schema))) if schema is not None else InputSpec(())


def output_keys(graph: CompiledStateGraph) -> tuple[str, ...] | None:
    builder = getattr(graph, "builder", None)
    schema = getattr(builder, "output_schema", None) if builder is not None else None
    return tuple(f.name for f in _fields(schema)) if schema is not None else None


def _fields(schema: Any) -> list[InputField]:
    try:
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            return [
                InputField(name, _type_name(info.annotation), info.is_required())
                for name, info in schema.model_fields.items()
            ]
        if dataclasses.is_dataclass(schema):
            hints = typing.get_type_hints(schema)
            return [
                InputField(f.name, _type_name(hints.get(f.name)), _no_default(f))
                for f in dataclasses.fields(schema)
            ]
        hints = typing.get_type_hints(schema)
        required = getattr(schema, "__required_keys__", frozenset(hints))
        return [InputField(n, _type_name(t), n in required) for n, t in hints.items()]
    except Exception:  # an exotic schema: treat the input as free JSON
        return []


def _no_default(field: dataclasses.Field) -> bool:
    missing = dataclasses.MISSING
    return field.default is missing and field.default_factory is missing


def _type_name(hint: Any) -> str:
    if hint is None:
        return "any"
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(hint)[0])
    if isinstance(hint, type) and origin is None:
        return hint.__name__
    return str(hint).replace("typing.", "")


def build_input(spec: InputSpec, text: str) -> dict[str, Any]:
    text = text.strip()
    if spec.messages:
        return {"messages": [{"role": "user", "content": text}]}
    if spec.text_field:
        return {spec.text_field: text}
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict):
        missing = [f.name for f in spec.fields if f.required and f.name not in value]
        if missing:
            raise InputError(f"The input lacks {', '.join(f'`{m}`' for m in missing)}.")
        return value
    raise InputError(f"This graph takes {spec.describe()}.")
