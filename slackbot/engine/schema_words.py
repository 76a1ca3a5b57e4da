"""A JSON Schema (a graph's input) in words a person reads: type names, an example value, and one
line for what is wrong with a value (`amount` must be a number), never a raw regex or schema."""

from __future__ import annotations

import json
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

_KINDS = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a JSON object",
    "null": "null",
}
_TYPES = {
    "string": "text",
    "number": "number",
    "integer": "whole number",
    "boolean": "true/false",
    "array": "list",
    "object": "object",
    "null": "null",
}
_EXAMPLES = {"string": "…", "number": 1.5, "integer": 1, "boolean": True, "null": None}


def resolve(schema: Any, root: dict[str, Any]) -> Any:
    """`{"$ref": "#/$defs/Name"}` → the schema it points to (local references only)."""
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 20:
        ref, seen = schema["$ref"], seen + 1
        if not ref.startswith("#/"):
            return {}
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        schema = target
    return schema


def type_name(schema: Any, root: dict[str, Any]) -> str:
    """A short readable type: `text`, `number`, `list of text`, `Quote`, `"a" | "b"`."""
    if not isinstance(schema, dict):
        return "any"
    if isinstance(schema.get("$ref"), str):
        return schema["$ref"].rsplit("/", 1)[-1]
    if isinstance(schema.get("enum"), list):
        return " | ".join(json.dumps(v) for v in schema["enum"][:6])
    if "const" in schema:
        return json.dumps(schema["const"])
    for union in ("anyOf", "oneOf"):
        if isinstance(schema.get(union), list):
            return " | ".join(dict.fromkeys(type_name(s, root) for s in schema[union]))
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(_TYPES.get(k, str(k)) for k in kind)
    if kind == "array" and isinstance(schema.get("items"), dict):
        return f"list of {type_name(schema['items'], root)}"
    return _TYPES.get(kind, "any") if isinstance(kind, str) else "any"


def example(schema: Any, root: dict[str, Any], depth: int = 0) -> Any:
    """A value that fits the schema, from its examples and defaults where it gives them."""
    schema = resolve(schema, root)
    if not isinstance(schema, dict) or depth > 4:
        return "…"
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if "default" in schema and schema["default"] not in (None, "", [], {}):
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for union in ("anyOf", "oneOf"):
        options = [s for s in schema.get(union) or () if resolve(s, root).get("type") != "null"]
        if options:
            return example(options[0], root, depth + 1)
    kind = schema.get("type")
    kind = next((k for k in kind if k != "null"), "null") if isinstance(kind, list) else kind
    if kind == "array":
        return [example(schema.get("items", {}), root, depth + 1)]
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        names = [n for n in schema.get("required") or () if n in properties]
        return {n: example(properties[n], root, depth + 1) for n in names or list(properties)[:2]}
    return _EXAMPLES.get(kind, "…") if isinstance(kind, str) else "…"


def problem(errors: list[ValidationError]) -> str | None:
    """The most relevant of the errors in one line, or None when there are none."""
    error = best_match(errors)
    return None if error is None else _say(error) + "."


def _where(path: Any) -> str | None:
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return f"`{name}`" if name else None


def _say(error: ValidationError) -> str:
    path = list(error.absolute_path)
    where = _where(path) or "The input"
    rule, value = error.validator, error.validator_value
    instance = error.instance
    if rule == "required" and isinstance(instance, dict):
        missing = [n for n in value if n not in instance]
        return f"{_where([*path, missing[0]])} is missing" if missing else f"{where} is incomplete"
    if rule == "type":
        kinds = value if isinstance(value, list) else [value]
        return f"{where} must be {' or '.join(_KINDS.get(k, str(k)) for k in kinds)}"
    if rule == "enum":
        return f"{where} must be one of {', '.join(json.dumps(v) for v in value[:10])}"
    if rule == "const":
        return f"{where} must be {json.dumps(value)}"
    if rule in ("anyOf", "oneOf"):
        kinds = [s.get("type") for s in value if isinstance(s, dict)]
        if kinds and all(isinstance(k, str) for k in kinds) and len(kinds) == len(value):
            return f"{where} must be {' or '.join(_KINDS.get(k, k) for k in kinds)}"
        inner = best_match(error.context or [])
        return _say(inner) if inner is not None else f"{where} is not a value it accepts"
    if rule == "additionalProperties" and isinstance(instance, dict):
        known = error.schema.get("properties") or {} if isinstance(error.schema, dict) else {}
        extra = [k for k in instance if k not in known]
        return f"{_where([*path, extra[0]]) if extra else where} is not a field it takes"
    bounds = {
        "minimum": "at least {}",
        "exclusiveMinimum": "more than {}",
        "maximum": "at most {}",
        "exclusiveMaximum": "less than {}",
        "minLength": "at least {} characters long",
        "maxLength": "at most {} characters long",
        "minItems": "a list of at least {} items",
        "maxItems": "a list of at most {} items",
        "multipleOf": "a multiple of {}",
    }
    if rule in bounds:
        return f"{where} must be {bounds[rule].format(value)}"
    if rule == "pattern":
        return f"{where} is not in the form it expects"
    return f"{where} is not a value it accepts"
