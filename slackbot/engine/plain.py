"""Values from a graph made JSON-plain for the store and for Slack."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

_MAX_DEPTH = 30


def to_plain(value: Any, depth: int = 0) -> Any:
    """Dicts, lists, strings, numbers, booleans and None as they are; models and dataclasses as
    their fields; anything else as a visible `‹Type› text` so a person sees what it was."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if depth > _MAX_DEPTH:
        return "‹…›"
    if isinstance(value, dict):
        return {str(k): to_plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_plain(v, depth + 1) for v in value]
    if isinstance(value, enum.Enum):
        return to_plain(value.value, depth + 1)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return to_plain(dump(mode="json"), depth + 1)
        except Exception:  # a model that cannot dump itself: shown as text below
            pass
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_plain(dataclasses.asdict(value), depth + 1)
    return f"‹{type(value).__name__}› {str(value)[:500]}"
