"""From the slash command's text to a graph's input, by the graph's input JSON Schema: LangGraph's
own `get_input_jsonschema()` here, the assistant's schema on a LangGraph server; the same rules
for a StateGraph (TypedDict, pydantic or dataclass state), a Functional API entrypoint, and
`from __future__ import annotations`.

The text becomes the input this way, and nothing starts unless the input fits the schema:
- a JSON object is the input itself when the graph takes one and either cannot take plain text
  or the object names one of its fields;
- otherwise the text: a graph whose input is a string gets it as is, a graph with `messages`
  gets `{"messages": [{"role": "user", "content": text}]}`, a graph with one required text
  field gets `{field: text}`;
- anything else is refused in one line naming the field and what is wrong with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jsonschema
from langgraph.pregel import Pregel

from slackbot.engine.schema_words import example, problem, resolve, type_name

_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})


class InputError(ValueError):
    """The text cannot be this graph's input; the message says why, in one line."""


@dataclass(frozen=True)
class InputField:
    name: str
    type: str  # a readable type name
    required: bool


@dataclass(frozen=True, eq=False)
class InputSpec:
    schema: dict[str, Any] | None = None  # the input's JSON Schema; None: not known

    @cached_property
    def _properties(self) -> dict[str, Any]:
        found = (self.schema or {}).get("properties")
        return found if isinstance(found, dict) else {}

    @cached_property
    def fields(self) -> tuple[InputField, ...]:
        required = set((self.schema or {}).get("required") or ())
        return tuple(
            InputField(name, _type(name, prop, self.schema or {}), name in required)
            for name, prop in self._properties.items()
        )

    @property
    def messages(self) -> bool:
        return "messages" in self._properties

    @property
    def takes_string(self) -> bool:
        """The input is a string itself (`@entrypoint() def essay(topic: str)`)."""
        return (self.schema or {}).get("type") == "string"

    @property
    def takes_object(self) -> bool:
        schema = self.schema or {}
        return schema.get("type") == "object" or bool(self._properties)

    @property
    def text_field(self) -> str | None:
        """The field /orchestrate's text fills: the one required field, when it is text; with
        nothing required (a `total=False` state), the first text field."""
        if self.messages:
            return None
        required = [f for f in self.fields if f.required]
        candidates = required if required else list(self.fields)
        texts = [f.name for f in candidates if self._is_text(f.name)]
        if required:
            return texts[0] if len(required) == 1 and texts else None
        return texts[0] if texts else None

    def _is_text(self, name: str) -> bool:
        prop = resolve(self._properties[name], self.schema or {})
        return isinstance(prop, dict) and prop.get("type") == "string"

    @property
    def also_required(self) -> list[str]:
        """The fields a messages graph needs besides `messages`."""
        return [f.name for f in self.fields if f.required and f.name != "messages"]

    @property
    def takes_text(self) -> bool:
        """Plain text makes an input (or may: an unknown schema takes anything)."""
        if self.schema is None or not self.schema:
            return True
        return (
            self.takes_string
            or self.text_field is not None
            or (self.messages and not self.also_required)
        )

    def describe(self) -> str:
        """What `/orchestrate help` says the graph takes."""
        if self.takes_string:
            return "text"
        if self.messages and not self.also_required:
            return "a message (your text)"
        if self.text_field:
            return f"text (becomes `{self.text_field}`)"
        if not self.fields:
            return "a JSON object" if self.takes_object else "JSON"
        listed = ", ".join(
            f"`{f.name}`{'' if f.required else '?'}: {f.type}" for f in self.fields[:12]
        )
        return f"a JSON object with {listed}"

    def example(self) -> str:
        """What to type after `/orchestrate [graph]`, from the schema."""
        if self.takes_string:
            return "<your text>"
        if self.messages and not self.also_required:
            return "<your message>"
        if self.text_field:
            return f"<{self.text_field}>"
        value = example(self._validated_schema, self.schema or {})
        if isinstance(value, dict) and self.messages:
            value["messages"] = [{"role": "user", "content": "…"}]
        return json.dumps(value, ensure_ascii=False)

    @cached_property
    def _validated_schema(self) -> dict[str, Any]:
        """The schema as checked: `messages` takes whatever LangGraph's `add_messages` does
        (dicts with a role, strings, tuples), not only serialized message objects."""
        schema = dict(self.schema or {})
        if self.messages:
            schema["properties"] = {**self._properties, "messages": {}}
        return schema

    @cached_property
    def _validator(self) -> Any:
        cls = jsonschema.validators.validator_for(self._validated_schema)
        return cls(self._validated_schema)

    def check(self, value: Any) -> Any:
        """The value, when it fits the schema; else InputError naming what is wrong."""
        wrong = problem(list(self._validator.iter_errors(value))) if self.schema else None
        if wrong:
            raise InputError(wrong)
        return value

    def build(self, text: str) -> Any:
        """The graph's input from the command's text (see the module's docstring)."""
        text = text.strip()
        value, not_json = _json(text)
        if (
            isinstance(value, dict)
            and self.takes_object
            and (not self.takes_text or any(name in value for name in self._properties))
        ):
            return self.check(value)
        if self.takes_string:
            return self.check(text)
        if self.messages and not self.also_required:
            return self.check({"messages": [{"role": "user", "content": text}]})
        if self.text_field:
            return self.check({self.text_field: text})
        if self.schema is None or not self.schema:
            return value if not_json is None else text
        if not_json is not None and text[:1] in "{[":
            raise InputError(f"That is not valid JSON: {not_json}.")
        if value is not None and not self.takes_object:
            return self.check(value)  # a number, a list: as the schema asks
        if self.messages:
            needed = ", ".join(f"`{n}`" for n in self.also_required)
            raise InputError(f"This graph needs {needed} besides your message: send a JSON object.")
        raise InputError(f"This graph takes {self.describe()}.")


def _type(name: str, prop: Any, root: dict[str, Any]) -> str:
    return "list of messages" if name == "messages" else type_name(prop, root)


def _json(text: str) -> tuple[Any, str | None]:
    """(the JSON value the text is, None) or (None, why it is not JSON)."""
    try:
        return json.loads(text), None
    except ValueError as error:
        straightened = text.translate(_SMART_QUOTES)  # as a phone's keyboard types quotes
        if straightened != text:
            try:
                return json.loads(straightened), None
            except ValueError:
                pass
        why = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        where = (
            f" (at character {error.pos + 1})" if isinstance(error, json.JSONDecodeError) else ""
        )
        return None, f"{why.lower()}{where}"


def input_spec(graph: Pregel) -> InputSpec:
    """The input of a graph running here, as LangGraph describes it."""
    try:
        return InputSpec(graph.get_input_jsonschema())
    except Exception:  # a schema pydantic cannot express: take any JSON
        return InputSpec(None)


def output_keys(graph: Pregel) -> tuple[str, ...] | None:
    try:
        return json_keys(graph.get_output_jsonschema())
    except Exception:
        return None


def json_keys(schema: Any) -> tuple[str, ...] | None:
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return None
    return tuple(schema["properties"])
