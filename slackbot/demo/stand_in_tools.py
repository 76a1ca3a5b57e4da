"""The stand-in model's tool calls: for each clause of a request that asks for an offered tool, a
call with arguments read from the clause and fitted to the tool's JSON Schema; then a report
quoting each tool's result whole.

Three tools are known by name with arguments read closely (`send_email`, `create_ticket`,
`lookup_contact`); any other offered tool is asked for by the words of its name ("book a flight"
asks for `book_flight`), with arguments made from its parameters' schema (`schema_args`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

TOPIC_CHARS = 60  # a topic quoted in a task is shortened to this, at a word, with "…"


def shorten(text: str, limit: int = TOPIC_CHARS) -> str:
    """One line of at most `limit` characters, cut at a word and ending in "…" when cut."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-") + "…"


@dataclass(frozen=True)
class ToolCall:
    """One tool call the model asks for; an empty `id` lets the server number it (`call_1`, …)."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    id: str = ""


@dataclass(frozen=True)
class ToolCalls:
    """An answer that calls tools (`finish_reason: "tool_calls"`), with optional text."""

    calls: tuple[ToolCall, ...]
    content: str = ""


Answer = str | ToolCalls  # what `script` holds and `stand_in_answer` returns

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A request such as "email Ana about X and open a ticket for Y" is cut into one clause per
# action; "and" cuts only before a verb that starts an action, so "X and Y" stays one subject.
_ACTION_VERBS = (
    r"(?:also\s+)?(?:e-?mail|mail|message|write|send|open|create|file|raise|log|look|find)\b"
)
_CLAUSE_BREAK = re.compile(
    rf"\s*(?:[;\n]|\.\s+|,?\s+(?:and\s+)?then\s+|,?\s+and\s+(?={_ACTION_VERBS}))\s*", re.I
)
_TOOL_WORDS = {  # a tool the stand-in knows → the words that ask for it
    "send_email": re.compile(r"\b(?:e-?mail|mail|write to|message)\b", re.I),
    "create_ticket": re.compile(r"\b(?:ticket|issue|bug)\b", re.I),
    "lookup_contact": re.compile(r"\b(?:look\s*up|find)\b", re.I),
}
_URGENT = ("urgent", "asap", "broken", "down", "outage", "critical", "blocker")
_NOT_A_NAME = {"the", "a", "an", "about", "to", "everyone", "all", "team", "him", "her", "them"}


def _text(content: Any) -> str:
    """A message's content as text: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") if isinstance(p, dict) else str(p) for p in content]
        return "".join(parts)
    return "" if content is None else str(content)


def _phrase(text: str, limit: int = TOPIC_CHARS) -> str:
    """`text` as a short phrase with a capital first letter and no closing punctuation."""
    line = shorten(text.strip().rstrip(".!?"), limit)
    return line[:1].upper() + line[1:]


def _email_args(clause: str, request: str) -> dict[str, Any]:
    found = _EMAIL.search(clause) or _EMAIL.search(request)
    if found:
        to = found.group(0).rstrip(".")
    else:
        named = re.search(
            r"\b(?:e-?mail|mail|write to|message)\s+(?:to\s+)?([A-Za-z][\w-]*)", clause
        )
        name = named.group(1) if named else ""
        to = f"{name.lower()}@example.com" if name and name.lower() not in _NOT_A_NAME else ""
        to = to or "team@example.com"
    about = re.search(r"\b(?:about|regarding|re:)\s+(.+)", clause, re.I)
    said = re.search(r"\b(?:saying|to say)\s+(.+)|:\s*(.+)", clause, re.I)
    topic = (about.group(1) if about else "").strip().rstrip(".!?")
    message = (said.group(1) or said.group(2)).strip() if said else ""
    subject = _phrase(topic or message or clause)
    text = _phrase(message, 500) + "." if message else f"A quick note about {topic or clause}."
    return {"to": to, "subject": subject, "body": f"Hello,\n\n{text}\n\nBest regards"}


def _ticket_args(clause: str, request: str) -> dict[str, Any]:
    what = re.search(r"\b(?:ticket|issue|bug)\b\s*(?:(?:for|about|to|on|:)\s+)?(.*)", clause, re.I)
    title = _phrase((what.group(1) if what else "") or clause, 80)
    urgent = any(re.search(rf"\b{word}\b", request, re.I) for word in _URGENT)
    return {
        "title": title,
        "priority": "high" if urgent else "normal",
        "description": f"Requested in chat: {request.strip()}",
    }


def _contact_args(clause: str, request: str) -> dict[str, Any]:
    who = re.search(r"\b(?:look\s*up|find)\s+(.+)", clause, re.I)
    name = (
        re.sub(r"^(?:the\s+)?(?:(?:e-?mail\s+)?address\s+(?:of|for)\s+)?", "", who.group(1))
        if who
        else ""
    )
    name = re.sub(r"'s\s+(?:e-?mail|address|contact).*$", "", name, flags=re.I)
    return {"name": shorten(name.strip().rstrip(".!?"), 40) or "the team"}


_ARGUMENTS = {
    "send_email": _email_args,
    "create_ticket": _ticket_args,
    "lookup_contact": _contact_args,
}


def _fit(args: dict[str, Any], tool: dict[str, Any], fallback: str) -> dict[str, Any]:
    """Keep the arguments the tool declares; fill its other required strings with `fallback`."""
    parameters = tool.get("function", {}).get("parameters") or {}
    properties = parameters.get("properties")
    if not isinstance(properties, dict):
        return args
    fitted = {}
    for name, value in args.items():
        declared = properties.get(name)
        if declared is None:
            continue
        choices = declared.get("enum")
        if choices and value not in choices:
            value = declared.get("default", choices[0])
        fitted[name] = value
    for name in parameters.get("required", []):
        if name not in fitted and properties.get(name, {}).get("type") == "string":
            fitted[name] = fallback
    return fitted


def stand_in_tool_calls(body: dict[str, Any]) -> list[ToolCall]:
    """Calls to the offered tools, one per clause of the user's last message that asks for one,
    in the order asked, with arguments taken from that clause."""
    messages = body.get("messages", [])
    request = next((_text(m.get("content")) for m in reversed(messages) if m["role"] == "user"), "")
    offered = {
        tool["function"]["name"]: tool
        for tool in body.get("tools") or []
        if tool.get("type") == "function" and tool.get("function", {}).get("name")
    }
    calls = []
    for clause in filter(None, _CLAUSE_BREAK.split(request.strip())):
        asked = [(found.start(), n) for n in offered if (found := _asks_for(n, clause))]
        if not asked:
            continue
        name = min(asked)[1]
        if name in _ARGUMENTS:
            args = _fit(_ARGUMENTS[name](clause, request), offered[name], shorten(clause))
        else:
            args = schema_args(clause, _parameters(offered[name]))
        calls.append(ToolCall(name, args))
    return calls


# -- any other tool: asked for by the words of its name, arguments from its schema -------------

_STOP_WORDS = {"the", "and", "for", "get", "set", "run", "use", "tool", "with", "from", "into"}
_FROM = re.compile(r"\bfrom\s+([A-Z][\w-]*(?:\s+[A-Z][\w-]*)*|[\w-]+)")
_TO = re.compile(r"\bto\s+([A-Z][\w-]*(?:\s+[A-Z][\w-]*)*)")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_IN = re.compile(r"\b(?:in|at|for)\s+([A-Z][\w-]*(?:\s+[A-Z][\w-]*)*)")
_ASKED_TO_KEEP = re.compile(
    r"^(?:please\s+)?(?:note|remember|save(?:\s+a\s+note)?)\s+(?:that\s+)?", re.I
)
_WHEN = re.compile(
    r"\b(?:today|tomorrow|tonight|next\s+\w+|(?:mon|tues|wednes|thurs|fri|satur|sun)day|"
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})?)\b",
    re.I,
)


def _name_words(name: str) -> list[str]:
    """`book_flight`, `bookFlight`, `BookFlight` → ["book", "flight"]."""
    words = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)
    return [w.lower() for w in words if len(w) >= 3 and w.lower() not in _STOP_WORDS]


def _asks_for(name: str, clause: str) -> re.Match[str] | None:
    """Where `clause` asks for the tool: a known tool's own words, else any word of its name
    (as a word's start: "flights" asks for `book_flight` too)."""
    if name in _TOOL_WORDS:
        return _TOOL_WORDS[name].search(clause)
    words = _name_words(name)
    if not words:
        return None
    return re.search(r"\b(?:" + "|".join(map(re.escape, words)) + r")", clause, re.I)


def _parameters(tool: dict[str, Any]) -> dict[str, Any]:
    parameters = tool.get("function", {}).get("parameters")
    return parameters if isinstance(parameters, dict) else {}


def schema_args(clause: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """Arguments for a tool the stand-in does not know: every required parameter (and every one
    with a default) from its JSON Schema, read from the clause where its name says how."""
    properties = parameters.get("properties")
    if not isinstance(properties, dict):
        return {}
    required = set(parameters.get("required") or [])
    numbers = iter(_NUMBER.findall(clause))
    args: dict[str, Any] = {}
    for name, schema in properties.items():
        schema = schema if isinstance(schema, dict) else {}
        if name in required or "default" in schema:
            args[name] = _value_for(name, schema, clause, numbers)
    return args


def _value_for(name: str, schema: dict[str, Any], clause: str, numbers: Any) -> Any:
    kinds = schema.get("type")
    kind = next((k for k in kinds if k != "null"), None) if isinstance(kinds, list) else kinds
    if schema.get("enum"):
        return schema.get("default", schema["enum"][0])
    if "default" in schema:
        return schema["default"]
    if kind in ("integer", "number"):
        found = next(numbers, None)
        low = schema.get("minimum", 1)
        value = float(found) if found is not None else low
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return _text_for(name, schema, clause)


def _text_for(name: str, schema: dict[str, Any], clause: str) -> str:
    """A string parameter from the clause: an address, a place after from/to, a day, or the
    clause itself, as the parameter's name (`to_email`, `origin`, `departure_date`) says."""
    parts = re.findall(r"[a-z]+", re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower())

    def says(*stems: str) -> bool:
        return any(part == stem or (part.startswith(stem) and len(stem) > 2) for part in parts
                   for stem in stems)  # fmt: skip

    if says("email", "mail") or schema.get("format") == "email":
        found = _EMAIL.search(clause)
        return found.group(0) if found else "team@example.com"
    if says("date", "day", "when", "time") or schema.get("format") in ("date", "date-time"):
        found = _WHEN.search(clause)
        return found.group(0) if found else "tomorrow"
    if says("origin", "from", "source", "depart") and (found := _FROM.search(clause)):
        return found.group(1)
    if says("destination", "to", "target", "arrival") and (found := _TO.search(clause)):
        return found.group(1)
    if says("city", "place", "location", "where") and (found := _IN.search(clause)):
        return found.group(1)
    kept = _ASKED_TO_KEEP.sub("", clause.strip()).rstrip(".!?")  # "note that X" → "X"
    return shorten(kept or clause, schema.get("maxLength") or TOPIC_CHARS)


def stand_in_recall(messages: Sequence[dict[str, Any]]) -> str | None:
    """For a message that asks for no tool in a conversation with earlier turns: what was
    asked before and what the tools said, so a follow-up shows the model remembers."""
    users = [_text(m.get("content")) for m in messages if m["role"] == "user"]
    if len(users) < 2:
        return None
    asked = ", ".join(f"“{shorten(text)}”" for text in users[:-1])
    results = [f"“{shorten(_text(m.get('content')))}”" for m in messages if m["role"] == "tool"]
    heard = f" The tools said: {', '.join(results)}." if results else ""
    return f"Earlier in this conversation you asked: {asked}.{heard}"


def stand_in_tool_report(messages: Sequence[dict[str, Any]]) -> str:
    """The results of the last round of tool calls, each quoted whole, named by its tool."""
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=-1)
    asked = (messages[last].get("tool_calls") or []) if last >= 0 else []
    names = {call.get("id"): call.get("function", {}).get("name", "tool") for call in asked}
    results = [m for m in messages[last + 1 :] if m["role"] == "tool"]
    lines = [
        f"- {names.get(m.get('tool_call_id'), 'tool')}: “{_text(m.get('content'))}”"
        for m in results
    ]
    return "\n".join(["Here is what each step reported:", *lines])
