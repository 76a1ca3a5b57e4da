"""Who answers a review: `[[rule]]` tables from ORCHESTRATE_RULES, parsed once at start-up into
frozen objects. The first rule that matches a review (graph, kind, tool, value) decides; no
match keeps the app-wide ORCHESTRATE_APPROVERS behaviour."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from slackbot.settings import StartupError, parse_duration

# A rule's `kind` → the review kind that shows it (slackbot/reviews); `builtin` is the worker.
KINDS = {
    "tool_call": "tool_call",
    "typed": "typed",
    "question": "question",
    "breakpoint": "breakpoint",
    "builtin": "worker",
    "inbox": "inbox",
}
APPROVING_WORDS = frozenset({"approve", "approved", "accept", "yes", "continue"})
_FIELDS = {"name", "graph", "kind", "tool", "value", "approvers", "channel", "quorum",
           "self_approval", "expire_after", "remind_after", "escalate_to"}  # fmt: skip


class RulesError(StartupError):
    """The rules file cannot be used; the message names the rule and its field."""

    exit_code = 2


@dataclass(frozen=True)
class Rule:
    name: str
    approvers: tuple[str, ...]  # as written: user ids, @group handles, emails
    graph: str | None = None
    kind: str | None = None  # a review kind name (KINDS' values)
    tool: str | None = None
    value: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    channel: str | None = None
    quorum: int = 1
    self_approval: bool = True
    expire_after: float | None = None
    remind_after: float | None = None
    escalate_to: tuple[str, ...] = ()

    def matches(self, graph: str | tuple[str, ...], kind: str, request: Any) -> bool:
        """`graph`: the hosted graph's name, or it and its aliases (catalog.names_of)."""
        names = (graph,) if isinstance(graph, str) else graph
        if self.graph is not None and self.graph not in names:
            return False
        if self.kind is not None and self.kind != kind:
            return False
        name, args = tool_call(kind, request)
        if self.tool is not None and self.tool != name:
            return False
        if self.value is not None:
            subject = args if name is not None else request
            if kind == "breakpoint" and isinstance(request, dict):
                subject = request.get("values")
            return Draft202012Validator(self.value).is_valid(subject)
        return True


@dataclass(frozen=True)
class Rules:
    rules: tuple[Rule, ...] = ()

    def match(self, graph: str | tuple[str, ...], kind: str, request: Any) -> Rule | None:
        return next((r for r in self.rules if r.matches(graph, kind, request)), None)

    def named(self, name: str | None) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None) if name else None

    def __bool__(self) -> bool:
        return bool(self.rules)


@dataclass(frozen=True)
class Gate:
    """What the store needs to decide an answer under a rule, read before its transaction."""

    rule: str
    approvers: frozenset[str]  # who may answer now
    escalation: frozenset[str]  # who may answer too once the review escalated
    quorum: int = 1
    self_approval: bool = True


def tool_call(kind: str, request: Any) -> tuple[str | None, Any]:
    """(the tool's name, its arguments) of a tool-approval or Agent Inbox review, else
    (None, None)."""
    if not isinstance(request, dict) and not (isinstance(request, list) and len(request) == 1):
        return None, None
    if kind == "tool_call":
        action = request.get("action", request)
        return str(action.get("name")), action.get("args") or {}
    if kind == "inbox":
        inner = request[0] if isinstance(request, list) else request
        action = inner.get("action_request") or {}
        return str(action.get("action")), action.get("args") or {}
    return None, None


def is_approving(answer: Any) -> bool:
    """Approve, Accept, Continue, Yes, or an option or union branch whose value says so."""
    if answer is True:
        return True
    if isinstance(answer, str):
        return answer.strip().lower() in APPROVING_WORDS
    if isinstance(answer, list) and len(answer) == 1:
        return is_approving(answer[0])
    if isinstance(answer, dict):
        said = [v for k, v in answer.items() if k not in ("by", "message") and isinstance(v, str)]
        return len(said) == 1 and said[0].lower() in APPROVING_WORDS
    return False


def load_rules(path: Path) -> Rules:
    """Read and check ORCHESTRATE_RULES; a problem raises one line naming the rule and field."""
    where = f"ORCHESTRATE_RULES {path}"
    try:
        data = tomllib.loads(path.read_text())
    except OSError as error:
        raise RulesError(f"{where}: cannot read it ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise RulesError(f"{where}: not valid TOML ({error})") from None
    tables = data.get("rule", [])
    if not isinstance(tables, list) or set(data) - {"rule"}:
        raise RulesError(f"{where}: expected only [[rule]] tables")
    rules = [_rule(table, n, where) for n, table in enumerate(tables, start=1)]
    names = [r.name for r in rules]
    for name in names:
        if names.count(name) > 1:
            raise RulesError(f"{where}: two rules are named {name!r}")
    return Rules(tuple(rules))


def _rule(table: dict[str, Any], number: int, where: str) -> Rule:
    name = table.get("name", f"rule {number}")
    at = f"{where}: rule {name!r}"

    def fail(key: str, why: str) -> RulesError:
        return RulesError(f"{at}: {key} {why}")

    if not isinstance(name, str) or not name.strip():
        raise fail("name", "must be a non-empty string")
    unknown = sorted(set(table) - _FIELDS)
    if unknown:
        raise fail(unknown[0], "is not a rule field")

    def text(key: str) -> str | None:
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise fail(key, "must be a non-empty string")
        return value

    def people(key: str, required: bool) -> tuple[str, ...]:
        value = table.get(key)
        if value is None and not required:
            return ()
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            raise fail(key, "must be a list of user ids, @group handles or emails")
        return tuple(v.strip() for v in value)

    def duration(key: str) -> float | None:
        value = text(key)
        try:
            return parse_duration(value) if value is not None else None
        except ValueError:
            raise fail(key, f"must be a duration like 30s, 15m, 4h or 3d, got {value!r}") from None

    kind = text("kind")
    if kind is not None and kind not in KINDS:
        raise fail("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    quorum = table.get("quorum", 1)
    if not isinstance(quorum, int) or isinstance(quorum, bool) or quorum < 1:
        raise fail("quorum", f"must be a whole number of at least 1, got {quorum!r}")
    self_approval = table.get("self_approval", True)
    if not isinstance(self_approval, bool):
        raise fail("self_approval", "must be true or false")
    value = table.get("value")
    if value is not None:
        if not isinstance(value, dict):
            raise fail("value", "must be a JSON Schema (a table)")
        try:
            Draft202012Validator.check_schema(value)
        except SchemaError as error:
            raise fail("value", f"is not a valid JSON Schema ({error.message})") from None
    return Rule(
        name=name.strip(),
        approvers=people("approvers", required=True),
        graph=text("graph"),
        kind=KINDS[kind] if kind else None,
        tool=text("tool"),
        value=value,
        channel=text("channel"),
        quorum=quorum,
        self_approval=self_approval,
        expire_after=duration("expire_after"),
        remind_after=duration("remind_after"),
        escalate_to=people("escalate_to", required=False),
    )
