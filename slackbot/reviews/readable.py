"""Any JSON value as Block Kit a person can read: short values as fields, long or nested ones
as quotes or code blocks, everything escaped and clipped to Slack's limits. Pure functions."""

from __future__ import annotations

import json
from typing import Any

from slackbot.safe_text import clip, neutralize, quote

SECTION_LIMIT = 3_000
FIELD_LIMIT = 2_000
SHORT = 80  # a string up to this long, on one line, is shown as a field
MAX_FIELDS = 10  # per section
QUESTION_KEYS = ("question", "message", "description", "prompt", "text")


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}]}


def header(text: str) -> dict[str, Any]:
    plain = text.replace("<", "‹").replace(">", "›")
    return {"type": "header", "text": {"type": "plain_text", "text": clip(plain, 150)}}


def is_short(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= SHORT and "\n" not in value
    return value is None or isinstance(value, bool | int | float)


def inline(value: Any) -> str:
    """A short value as escaped mrkdwn text."""
    if value is None:
        return "_none_"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, str):
        return neutralize(value) if value else "_(empty)_"
    return neutralize(json.dumps(value, ensure_ascii=False))


def code(value: Any, limit: int = SECTION_LIMIT - 100) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    if len(text) > limit:
        text = text[: limit - 40].rstrip() + f"\n… ({len(text) - limit + 40:,} more characters)"
    return "```" + neutralize(text).replace("```", "ˋˋˋ") + "```"


def long_text(name: str | None, value: str) -> str:
    title = f"*{neutralize(name)}*\n" if name else ""
    return title + quote(clip(neutralize(value), SECTION_LIMIT - len(title) - 200))


def fields_blocks(values: dict[str, Any], max_blocks: int = 20) -> list[dict[str, Any]]:
    """A dict: short values as two-column fields (10 per section), the others one by one."""
    blocks: list[dict[str, Any]] = []
    short = [(k, v) for k, v in values.items() if is_short(v)]
    for start in range(0, len(short), MAX_FIELDS):
        chunk = short[start : start + MAX_FIELDS]
        fields = [
            {"type": "mrkdwn", "text": clip(f"*{neutralize(str(k))}*\n{inline(v)}", FIELD_LIMIT)}
            for k, v in chunk
        ]
        blocks.append({"type": "section", "fields": fields})
    for name, value in values.items():
        if is_short(value):
            continue
        if isinstance(value, str):
            blocks.append(section(long_text(str(name), value)))
        else:
            blocks.append(section(f"*{neutralize(str(name))}*\n{code(value)}"))
    if len(blocks) > max_blocks:
        hidden = len(blocks) - max_blocks + 1
        blocks = [*blocks[: max_blocks - 1], context(f"… {hidden} more not shown")]
    return blocks


def value_blocks(value: Any) -> list[dict[str, Any]]:
    """Any value: a dict as fields, a string as a quote, anything else as a code block; None
    (nothing besides the question) as nothing."""
    if value is None:
        return []
    if isinstance(value, dict):
        return fields_blocks(value) if value else []
    if isinstance(value, str):
        return [section(long_text(None, value))] if value else []
    return [section(code(value))]


def question_of(value: Any) -> tuple[str | None, Any]:
    """The question an interrupt asks (a string value, or its question-like field) and the rest."""
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict):
        for key in QUESTION_KEYS:
            if isinstance(value.get(key), str) and value[key].strip():
                rest = {k: v for k, v in value.items() if k != key}
                return value[key], rest
    return None, value


def one_line(text: str) -> str:
    """Text on one line (bold and italics in mrkdwn do not span lines)."""
    return " ".join(text.split())


def clip_words(text: str, limit: int) -> str:
    """`text` up to `limit` characters, cut after a whole word (so never inside a link)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


_NO = {"reject", "rejected", "deny", "denied", "decline", "declined", "no", "ignore", "abort"}
_VERDICT_KEYS = ("type", "decision", "action", "approved", "approve")


def says_no(answer: Any) -> bool:
    """Whether an answer turns the request down (a Reject, No, `decision: reject`…)."""
    if isinstance(answer, list) and len(answer) == 1:  # an Agent Inbox response
        answer = answer[0]
    if answer is False:
        return True
    if isinstance(answer, str):
        return answer.strip().lower() in _NO
    if isinstance(answer, dict):
        return any(says_no(answer.get(key)) for key in _VERDICT_KEYS if key in answer)
    return False
