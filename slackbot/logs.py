"""Log lines: LOG_FORMAT=text (the default) or json, one object per line; set up by `__main__`.

`run_id` and `review_id` come from `extra={...}` on one call, else from context variables the
orchestrator binds while it drives a run or handles an answer. Each of those is an asyncio task
of its own (Bolt runs every listener in one), and a task's context dies with it, so the names
never reach another task's lines.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

RUN_ID: ContextVar[str | None] = ContextVar("run_id", default=None)
REVIEW_ID: ContextVar[str | None] = ContextVar("review_id", default=None)


def bind_log_context(run_id: str | None, review_id: str | None = None) -> None:
    """Name the run (and review) the current task works on, in its log lines from now on;
    None clears a name (a run's driver is not about the click that resumed it)."""
    RUN_ID.set(run_id)
    REVIEW_ID.set(review_id)


def _one_line(text: str) -> str:
    return " ".join(text.split())


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: time (UTC, ISO 8601), level, logger, message,
    run_id and review_id when known; an exception as `error` (its type and message, one line)
    and `exc_info` (the traceback, newlines escaped like any JSON string)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, var in (("run_id", RUN_ID), ("review_id", REVIEW_ID)):
            value = getattr(record, key, None) or var.get()
            if value:
                entry[key] = str(value)
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            entry["error"] = _one_line(f"{type(error).__name__}: {error}")
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        # ASCII only: no raw U+2028 and the like that a line splitter might break a line on.
        return json.dumps(entry, default=str)


def setup_logging(level: str, log_format: str = "text", stream: IO[str] | None = None) -> None:
    """The root logger's one handler (stderr unless `stream`), in the format asked for."""
    handler = logging.StreamHandler(stream)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
