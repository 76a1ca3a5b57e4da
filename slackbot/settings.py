"""Settings: read once from the environment at start-up into one frozen object."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slackbot.rules import Rules

DEFAULT_MODEL = "gpt-4o-mini"
CHECKOUT = Path(__file__).resolve().parents[1]  # the repository, when run from a checkout

# Where a person finds each required value; the start-up error names it.
_WHERE = {
    "SLACK_BOT_TOKEN": "Slack app settings → OAuth & Permissions → Bot User OAuth Token (xoxb-…)",
    "SLACK_SIGNING_SECRET": "Slack app settings → Basic Information → Signing Secret",
    "OPENAI_API_KEY": "your OpenAI account's API keys (or a key your OPENAI_BASE_URL accepts)",
}


def load_env_file(cwd: Path | None = None) -> Path | None:
    """Read `.env` into the environment (the environment wins) and return it: the one in the
    working directory, where a person runs `python -m slackbot` from their own project, else
    the checkout's. Called once by the entry points, never at import time."""
    from dotenv import load_dotenv

    for folder in (cwd or Path.cwd(), CHECKOUT):
        path = folder / ".env"
        if path.is_file():
            load_dotenv(path)
            return path
    return None


class StartupError(Exception):
    """The app cannot start; the message is one line meant for a person (no traceback).

    Raised from start-up code and caught in `__main__`, which prints it and exits with
    `exit_code` (2 for a setting or credential to fix, 1 for a service that is not there).
    """

    exit_code = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """`30s`, `15m`, `4h`, `3d` → seconds (positive)."""
    found = _DURATION.match(text.lower())
    if not found or float(found.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r}")
    return float(found.group(1)) * _UNIT_SECONDS[found.group(2)]


class SettingsError(StartupError, ValueError):
    """Settings are missing or invalid; the message names every one of them, on one line."""

    exit_code = 2


@dataclass(frozen=True, kw_only=True)
class Settings:
    slack_bot_token: str
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str | None = None
    port: int = 3000
    database_url: str | None = None
    data_dir: Path = Path("data")
    openai_api_key: str  # "" when graphs run on a LangGraph server: this app calls no LLM
    openai_base_url: str | None = None
    openai_model: str = DEFAULT_MODEL
    approvers: frozenset[str] = frozenset()
    graph_spec: str | None = None  # ORCHESTRATE_GRAPH: which graph(s) to host; None = built-in
    with_builtin: bool = False  # the demo: the built-in graph too, first (no setting)
    # LANGGRAPH_URL: drive a graph on this LangGraph server instead of running one here.
    langgraph_url: str | None = None
    langgraph_assistant_id: str | None = None  # an assistant id or graph id on that server
    langgraph_api_key: str | None = None  # sent as the server expects (x-api-key)
    log_level: str = "INFO"
    log_format: str = "text"  # LOG_FORMAT: text, or json (one object per line)
    # Advanced knobs, with defaults that suit production.
    max_workers: int = 3
    max_revisions: int = 3
    llm_timeout: float = 60.0
    llm_max_retries: int = 2
    lease_seconds: float = 30.0
    max_concurrent_runs: int = 16  # graph runs one process drives at once
    expire_after: float | None = None  # ORCHESTRATE_EXPIRE_AFTER: a step unanswered this long
    remind_after: float | None = None  # ORCHESTRATE_REMIND_AFTER: remind people after this long
    streaming: bool = True  # ORCHESTRATE_STREAMING=off: steps shown by post + update instead
    migrate_on_start: bool = True  # ORCHESTRATE_MIGRATE=off: `python -m slackbot migrate` does it
    max_runs_per_user: int = 10  # runs one person may have going (running or waiting) at once
    max_runs_per_channel: int = 50
    # ORCHESTRATE_RULES: who answers which reviews (slackbot/rules.py); None = no rules.
    rules: Rules | None = field(default=None, compare=False)
    group_cache: float = 300.0  # ORCHESTRATE_GROUP_CACHE: how long user groups' members are kept
    follow_ups: str = "mention"  # ORCHESTRATE_FOLLOW_UPS: mention, or all channel thread replies
    double_text: str = "queue"  # ORCHESTRATE_DOUBLE_TEXT: queue, or reject while busy

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def remote(self) -> bool:
        """The graph runs on a LangGraph server: no graph, checkpointer or LLM in this app."""
        return bool(self.langgraph_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        # Every problem is collected, so one start-up attempt reports all of them.
        missing: list[str] = []
        invalid: list[str] = []

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def require(name: str) -> str:
            value = get(name)
            if value is None:
                missing.append(name)
            return value or ""

        def number(name: str, default: float, kind: type = int, most: float | None = None) -> float:
            raw = get(name)
            if raw is None:
                return default
            try:
                value = kind(raw)
            except ValueError:
                invalid.append(f"{name} must be a number, got {raw!r}")
                return default
            if not (0 < value <= (most or math.inf)) or not math.isfinite(value):
                limits = f"between 1 and {most:g}" if most is not None else "positive"
                invalid.append(f"{name} must be {limits}, got {raw!r}")
                return default
            return value

        app_token = get("SLACK_APP_TOKEN")
        if app_token and not app_token.startswith("xapp-"):
            invalid.append("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
        bot_token = require("SLACK_BOT_TOKEN")
        # Socket Mode needs no signing secret; HTTP mode cannot verify requests without one.
        signing_secret = get("SLACK_SIGNING_SECRET") if app_token else None
        if not app_token:
            signing_secret = require("SLACK_SIGNING_SECRET")
        database_url = get("DATABASE_URL")
        if database_url and not database_url.startswith(("postgresql://", "postgres://")):
            invalid.append("DATABASE_URL must start with postgresql:// (unset it for SQLite)")
        log_level = (get("LOG_LEVEL") or "INFO").upper()
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            invalid.append(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level}")
        log_format = (get("LOG_FORMAT") or "text").lower()
        if log_format not in ("text", "json"):
            invalid.append(f"LOG_FORMAT must be text or json, got {log_format!r}")
        approvers = frozenset(
            uid.strip() for uid in (get("ORCHESTRATE_APPROVERS") or "").split(",") if uid.strip()
        )
        graph_spec = get("ORCHESTRATE_GRAPH")
        langgraph_url = get("LANGGRAPH_URL")
        assistant_id = get("LANGGRAPH_ASSISTANT_ID")
        if langgraph_url and not langgraph_url.startswith(("http://", "https://")):
            invalid.append(
                f"LANGGRAPH_URL must start with http:// or https://, got {langgraph_url!r}"
            )
        if langgraph_url and graph_spec:
            invalid.append("set ORCHESTRATE_GRAPH or LANGGRAPH_URL, not both")
        if assistant_id and not langgraph_url:
            invalid.append("LANGGRAPH_ASSISTANT_ID needs LANGGRAPH_URL, the server it is on")
        # Graphs on a LangGraph server call their LLM there; this app then needs no key.
        key_name = "OPENAI_API_KEY"
        openai_api_key = (get(key_name) or "") if langgraph_url else require(key_name)
        port = int(number("PORT", 3000, most=65535))
        max_workers = int(number("ORCHESTRATE_MAX_WORKERS", 3))
        max_revisions = int(number("ORCHESTRATE_MAX_REVISIONS", 3))
        lease_seconds = float(number("ORCHESTRATE_LEASE_SECONDS", 30.0, float))
        max_concurrent_runs = int(number("ORCHESTRATE_MAX_CONCURRENT_RUNS", 16))
        max_runs_per_user = int(number("ORCHESTRATE_MAX_RUNS_PER_USER", 10))

        def duration(name: str) -> float | None:
            raw = get(name)
            if raw is None:
                return None
            try:
                return parse_duration(raw)
            except ValueError:
                invalid.append(f"{name} must be a duration like 30s, 15m, 4h or 3d, got {raw!r}")
                return None

        expire_after = duration("ORCHESTRATE_EXPIRE_AFTER")
        remind_after = duration("ORCHESTRATE_REMIND_AFTER")
        streaming = (get("ORCHESTRATE_STREAMING") or "on").lower()
        if streaming not in ("on", "off"):
            invalid.append(f"ORCHESTRATE_STREAMING must be on or off, got {streaming!r}")
        migrate = (get("ORCHESTRATE_MIGRATE") or "auto").lower()
        if migrate not in ("auto", "off"):
            invalid.append(f"ORCHESTRATE_MIGRATE must be auto or off, got {migrate!r}")
        max_runs_per_channel = int(number("ORCHESTRATE_MAX_RUNS_PER_CHANNEL", 50))
        group_cache = duration("ORCHESTRATE_GROUP_CACHE") or 300.0
        rules = None
        if rules_path := get("ORCHESTRATE_RULES"):
            from slackbot.rules import RulesError, load_rules

            try:
                rules = load_rules(Path(rules_path))
            except RulesError as error:
                invalid.append(str(error))
        follow_ups = (get("ORCHESTRATE_FOLLOW_UPS") or "mention").lower()
        if follow_ups not in ("mention", "all"):
            invalid.append(f"ORCHESTRATE_FOLLOW_UPS must be mention or all, got {follow_ups!r}")
        double_text = (get("ORCHESTRATE_DOUBLE_TEXT") or "queue").lower()
        if double_text not in ("queue", "reject"):
            invalid.append(f"ORCHESTRATE_DOUBLE_TEXT must be queue or reject, got {double_text!r}")
        if missing or invalid:
            raise SettingsError("; ".join([*_missing_message(missing), *invalid]))
        return cls(
            slack_bot_token=bot_token,
            slack_signing_secret=signing_secret,
            slack_app_token=app_token,
            slack_api_url=get("SLACK_API_URL"),
            port=port,
            database_url=database_url,
            data_dir=Path(get("ORCHESTRATE_DATA_DIR") or "data"),
            openai_api_key=openai_api_key,
            openai_base_url=get("OPENAI_BASE_URL"),
            openai_model=get("OPENAI_MODEL") or DEFAULT_MODEL,
            approvers=approvers,
            graph_spec=graph_spec,
            langgraph_url=langgraph_url.rstrip("/") if langgraph_url else None,
            langgraph_assistant_id=assistant_id,
            langgraph_api_key=get("LANGGRAPH_API_KEY"),
            log_level=log_level,
            log_format=log_format,
            max_workers=max_workers,
            max_revisions=max_revisions,
            lease_seconds=lease_seconds,
            max_concurrent_runs=max_concurrent_runs,
            max_runs_per_user=max_runs_per_user,
            migrate_on_start=migrate == "auto",
            streaming=streaming != "off",
            expire_after=expire_after,
            remind_after=remind_after,
            max_runs_per_channel=max_runs_per_channel,
            rules=rules,
            group_cache=group_cache,
            follow_ups=follow_ups,
            double_text=double_text,
        )


def _missing_message(missing: list[str]) -> list[str]:
    if not missing:
        return []
    names = " and ".join([", ".join(missing[:-1]), missing[-1]] if len(missing) > 1 else missing)
    where = "; ".join(f"{name} from {_WHERE[name]}" for name in missing)
    return [f"{names} {'is' if len(missing) == 1 else 'are'} not set: get {where}"]
