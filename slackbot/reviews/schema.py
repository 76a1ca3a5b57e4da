"""Reading a JSON Schema as a form designer would: resolve `$ref`s, unwrap Optional, find
choices and discriminated branches. Pure functions; the schema comes from `response_schema`."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]
MAX_BUTTONS = 5  # an enum of at most this many values becomes buttons


def resolve(node: Any, root: Schema, depth: int = 0) -> Schema:
    """The schema a local `$ref` points at (`#/$defs/Name`), merged with the node's own keys."""
    if not isinstance(node, dict):
        return {}
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/") or depth > 20:
        return node
    target: Any = root
    for part in ref[2:].split("/"):
        target = target.get(part, {}) if isinstance(target, dict) else {}
    rest = {k: v for k, v in node.items() if k != "$ref"}
    return resolve(target, root, depth + 1) | rest


def unwrap_optional(node: Schema, root: Schema) -> tuple[Schema, bool]:
    """`anyOf: [X, {type: null}]` (Pydantic's Optional[X]) → (X, True)."""
    node = resolve(node, root)
    options = node.get("anyOf")
    if isinstance(options, list):
        kept = [resolve(o, root) for o in options if resolve(o, root).get("type") != "null"]
        if len(kept) == 1 and len(kept) < len(options):
            extra = {k: v for k, v in node.items() if k != "anyOf"}
            return kept[0] | extra, True
    return node, False


def enum_values(node: Schema, root: Schema) -> list[Any] | None:
    """The allowed values of an enum, a `Literal` or a single `const`, else None."""
    node = resolve(node, root)
    if isinstance(node.get("enum"), list):
        return list(node["enum"])
    if "const" in node:
        return [node["const"]]
    return None


def schema_type(node: Schema) -> str | None:
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return kinds[0] if len(kinds) == 1 else None
    return kind if isinstance(kind, str) else None


def branches(root: Schema) -> tuple[str, list[tuple[Any, Schema]]] | None:
    """A discriminated union: (discriminator, [(its const value, branch schema), …]), else None.

    Pydantic writes `oneOf` + `discriminator.propertyName`; hand-written schemas may use
    `anyOf` or leave the discriminator implicit (one property that is `const` in every branch)."""
    options = root.get("oneOf") or root.get("anyOf")
    if not isinstance(options, list) or len(options) < 2:
        return None
    resolved = [resolve(o, root) for o in options]
    if any(schema_type(o) not in (None, "object") or "properties" not in o for o in resolved):
        return None
    named = (root.get("discriminator") or {}).get("propertyName")
    candidates = [named] if named else list(resolved[0]["properties"])
    for name in candidates:
        values = [const_of(o["properties"].get(name), root) for o in resolved]
        if all(v is not None for v in values) and len(set(map(str, values))) == len(values):
            return name, list(zip(values, resolved, strict=True))
    return None


def const_of(node: Any, root: Schema) -> Any:
    values = enum_values(node, root) if isinstance(node, dict) else None
    return values[0] if values and len(values) == 1 else None


def label(value: Any) -> str:
    """A button label for a choice: `approve` → `Approve`, `True` → `Yes`."""
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    text = str(value)
    return text[:1].upper() + text[1:] if text else "(empty)"
