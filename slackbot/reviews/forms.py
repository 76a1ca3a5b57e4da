"""JSON Schema ↔ Slack modal inputs: one input per property, read back and validated.

string → text input (multi-line for prose), enum → select, boolean → Yes/No, integer/number →
number input, array of enum → multi-select, anything else → a JSON text input. The answer is
validated against the whole schema with `jsonschema` before anything is stored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from slackbot.reviews.schema import Schema, enum_values, resolve, schema_type, unwrap_optional
from slackbot.safe_text import clip

ACTION = "value"  # the one action_id inside every input block
# string properties whose names say "prose" get a multi-line input
_PROSE = re.compile(r"notes|reason|message|comment|description|text|body|content|draft|feedback"
                    r"|details|summary|answer|response|explanation", re.IGNORECASE)  # fmt: skip
_MAX_OPTIONS = 100  # Slack's limit for a select
_TEXT_LIMIT = 3000  # plain_text_input max_length


@dataclass(frozen=True)
class Field:
    block_id: str
    name: str | None  # the property; None when the whole answer is this one input
    schema: Schema  # resolved, Optional unwrapped
    required: bool
    widget: str  # text | prose | select | multiselect | yesno | integer | number | json
    choices: tuple[Any, ...] = ()


def fields_for(schema: Schema, root: Schema, skip: frozenset[str] = frozenset()) -> list[Field]:
    """The inputs a form needs for `schema` (properties in order; `skip` ones are fixed)."""
    node, _ = unwrap_optional(schema, root)
    properties = node.get("properties")
    if schema_type(node) in (None, "object") and isinstance(properties, dict) and properties:
        required = set(node.get("required") or [])
        found = []
        for position, (name, sub) in enumerate(properties.items()):
            if name in skip:
                continue
            resolved, optional = unwrap_optional(sub, root)
            field_required = name in required and not optional
            found.append(_field(f"f{position}", name, resolved, field_required, root))
        return found
    return [_field("f0", None, node, True, root)]


def _field(block_id: str, name: str | None, node: Schema, required: bool, root: Schema) -> Field:
    values = enum_values(node, root)
    kind = schema_type(node)
    if values is not None and 0 < len(values) <= _MAX_OPTIONS:
        return Field(block_id, name, node, required, "select", tuple(values))
    if kind == "boolean":
        return Field(block_id, name, node, required, "yesno", (True, False))
    if kind in ("integer", "number"):
        return Field(block_id, name, node, required, kind)
    if kind == "array":
        items = enum_values(resolve(node.get("items", {}), root), root)
        if items and len(items) <= _MAX_OPTIONS:
            return Field(block_id, name, node, required, "multiselect", tuple(items))
    if kind == "string" and node.get("format") != "json":
        prose = name is None or bool(_PROSE.fullmatch(name)) or node.get("maxLength", 0) > 150
        return Field(block_id, name, node, required, "prose" if prose else "text")
    return Field(block_id, name, node, required, "json")


# -- building the inputs ----------------------------------------------------------------------


def input_blocks(fields: list[Field], initial: dict[str | None, Any]) -> list[dict[str, Any]]:
    return [_input_block(f, initial.get(f.name, f.schema.get("default"))) for f in fields]


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) or " "}


def _option(value: Any, position: int) -> dict[str, Any]:
    shown = "Yes" if value is True else "No" if value is False else str(value)
    return {"text": _plain(shown, 75), "value": str(position)}


def _input_block(field: Field, initial: Any) -> dict[str, Any]:
    title = field.schema.get("title") or (field.name or "Your answer")
    element: dict[str, Any] = {"action_id": ACTION}
    if field.widget in ("select", "yesno"):
        options = [_option(v, i) for i, v in enumerate(field.choices)]
        element |= {"type": "static_select" if field.widget == "select" else "radio_buttons"}
        element["options"] = options
        if field.widget == "select":
            element["placeholder"] = _plain("Choose…", 150)
        if initial in field.choices:
            element["initial_option"] = options[field.choices.index(initial)]
    elif field.widget == "multiselect":
        options = [_option(v, i) for i, v in enumerate(field.choices)]
        element |= {"type": "multi_static_select", "options": options}
        element["placeholder"] = _plain("Choose…", 150)
        chosen = [options[field.choices.index(v)] for v in initial or [] if v in field.choices]
        if chosen:
            element["initial_options"] = chosen
    elif field.widget in ("integer", "number"):
        element |= {"type": "number_input", "is_decimal_allowed": field.widget == "number"}
        if isinstance(initial, int | float) and not isinstance(initial, bool):
            element["initial_value"] = str(initial)
    else:
        element |= {"type": "plain_text_input", "multiline": field.widget in ("prose", "json")}
        limit = field.schema.get("maxLength")
        element["max_length"] = min(limit, _TEXT_LIMIT) if isinstance(limit, int) else _TEXT_LIMIT
        text = _initial_text(field, initial)
        if text:
            element["initial_value"] = clip(text, element["max_length"])
        if field.widget == "json":
            element["placeholder"] = _plain("JSON, for example " + _example(field.schema), 150)
    block: dict[str, Any] = {
        "type": "input",
        "block_id": field.block_id,
        "label": _plain(str(title), 2000),
        "element": element,
        "optional": not field.required,
    }
    if field.schema.get("description"):
        block["hint"] = _plain(str(field.schema["description"]), 2000)
    return block


def _initial_text(field: Field, initial: Any) -> str:
    if initial is None:
        return ""
    if field.widget == "json":
        return json.dumps(initial, indent=2, ensure_ascii=False)
    return str(initial)


def _example(schema: Schema) -> str:
    kind = schema_type(schema)
    return {"array": '["a", "b"]', "object": '{"key": "value"}'}.get(kind or "", '"text"')


# -- reading what was submitted ---------------------------------------------------------------


def read_answer(
    fields: list[Field], state_values: dict[str, Any], fixed: dict[str, Any] | None = None
) -> tuple[Any, dict[str, str]]:
    """The answer from a view's `state.values`, and errors by block id for what cannot parse."""
    answer: dict[str, Any] = dict(fixed or {})
    errors: dict[str, str] = {}
    for field in fields:
        state = (state_values.get(field.block_id) or {}).get(ACTION) or {}
        try:
            value = _parse(field, state)
        except ValueError as error:
            errors[field.block_id] = str(error)
            continue
        if field.name is None:
            return value, errors
        if value is not None:
            answer[field.name] = value
    return answer, errors


def _parse(field: Field, state: dict[str, Any]) -> Any:
    if field.widget in ("select", "yesno"):
        option = state.get("selected_option")
        return field.choices[int(option["value"])] if option else None
    if field.widget == "multiselect":
        options = state.get("selected_options") or []
        return [field.choices[int(o["value"])] for o in options] if options else None
    raw = state.get("value")
    if raw is None or str(raw).strip() == "":
        return None
    raw = str(raw)
    if field.widget == "integer":
        try:
            return int(raw)
        except ValueError:
            raise ValueError("Enter a whole number.") from None
    if field.widget == "number":
        try:
            number = float(raw)
        except ValueError:
            raise ValueError("Enter a number.") from None
        return int(number) if number.is_integer() and "." not in raw else number
    if field.widget == "json":
        try:
            return json.loads(raw)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"This is not valid JSON: {error.msg} (line {error.lineno})."
            ) from None
    return raw


def validate(answer: Any, schema: Schema, fields: list[Field]) -> dict[str, str]:
    """Errors by block id (Slack shows them under the inputs); {} when the answer is valid."""
    try:
        validator = Draft202012Validator(schema)
        found = sorted(validator.iter_errors(answer), key=lambda e: list(e.absolute_path))
    except SchemaError:
        return {}  # a schema jsonschema cannot use: LangGraph still validates typed answers
    by_name = {f.name: f for f in fields}
    errors: dict[str, str] = {}
    for error in found:
        field = by_name.get(_field_name(error)) or fields[0]
        errors.setdefault(field.block_id, _message(error, field))
    return errors


def _field_name(error: Any) -> str | None:
    if error.validator == "required" and not error.absolute_path:
        missing = [r for r in error.validator_value if r not in (error.instance or {})]
        return missing[0] if missing else None
    path = list(error.absolute_path)
    return path[0] if path and isinstance(path[0], str) else None


_KINDS = {
    "integer": "a whole number",
    "number": "a number",
    "string": "text",
    "boolean": "yes or no",
    "array": "a list",
    "object": "an object",
    "null": "empty",
}


def _message(error: Any, field: Field) -> str:
    """What is wrong, in words: never a raw pattern or a type's name from the schema."""
    label = str(field.schema.get("title") or field.name or "answer")
    if error.validator == "required":
        return "This field is required."
    if error.validator == "enum":
        return clip("Choose one of: " + ", ".join(map(str, error.validator_value)), 150)
    if error.validator in ("pattern", "format"):
        return clip(f"This is not a valid {label}.", 150)
    if error.validator == "type":
        wanted = error.validator_value
        kinds = [wanted] if isinstance(wanted, str) else list(wanted)
        words = " or ".join(_KINDS.get(k, str(k)) for k in kinds)
        return clip(f"{label} must be {words}.", 150)
    return clip(error.message, 150)
