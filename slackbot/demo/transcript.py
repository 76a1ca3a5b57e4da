"""A thread as a person reads it, in plain text: for the scripted demo and for tests."""

from __future__ import annotations

import html
import re
from typing import Any

from slackbot.demo.slack_emulator import Message


def plain(text: str, names: dict[str, str]) -> str:
    """Slack mrkdwn → what a reader sees: names for mentions, dates, no entity escapes."""
    text = re.sub(r"<!date\^\d+\^[^|>]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<@(\w+)>", lambda m: "@" + names.get(m.group(1), m.group(1)), text)
    text = re.sub(r"<([^|<>]+)\|([^<>]+)>", r"\2", text)
    text = re.sub(r"(^|[\s(])\*([^*\n]+)\*", r"\1\2", text)  # *bold*
    return html.unescape(text).replace("\u2060", "")


def block_lines(block: dict[str, Any], names: dict[str, str]) -> list[str]:
    kind = block.get("type")
    if kind == "markdown":  # standard Markdown: **bold**
        return re.sub(r"\*\*([^*\n]+)\*\*", r"\1", plain(block["text"], names)).splitlines()
    if kind in {"header", "section"}:
        return plain(block["text"]["text"], names).splitlines()
    if kind == "context":
        return [" ".join(plain(e.get("text", ""), names) for e in block["elements"])]
    if kind == "actions":
        return ["  ".join(f"[{e['text']['text']}]" for e in block["elements"])]
    return []


def message_text(message: Message, names: dict[str, str] | None = None) -> str:
    names = names or {}
    if not message.blocks:
        return plain(message.text, names)
    return "\n".join(line for b in message.blocks for line in block_lines(b, names))


TASK_MARKS = {"complete": "✓", "in_progress": "…", "pending": "·", "error": "✗"}


def stream_lines(stream: Any) -> list[str]:
    """A streamed message's plan or task cards, as a person reads them."""
    lines = [f"Plan: {stream.plan_title}"] if stream.plan_title else []
    for task in stream.tasks.values():
        mark = TASK_MARKS.get(task.get("status", ""), "·")
        lines.append(f"{mark} {task.get('title', '')}")
    return lines


def thread_transcript(
    messages: list[Message],
    names: dict[str, str],
    asides: dict[str, list[str]] | None = None,
    streams: dict[tuple[str, str], Any] | None = None,
) -> str:
    """Root first, then each reply indented, with who wrote it and its reactions.

    `asides` adds lines in parentheses under a message, by its ts: what only one person saw;
    `streams` (the emulator's, by channel and ts) shows a streamed message's plan and tasks.
    """
    out = []
    for index, message in enumerate(messages):
        who = names.get(message.user, message.user)
        lines = message_text(message, names).splitlines()
        stream = (streams or {}).get((message.channel, message.ts))
        if stream is not None:
            lines = stream_lines(stream) + lines
        lines = lines or [""]
        lead, pad = ("", "") if index == 0 else ("  ├─ ", "  │  ")
        indent = f"{pad}{' ' * (len(who) + 2)}"
        out.append(f"{lead}{who}: {lines[0]}")
        out.extend(f"{indent}{line}" for line in lines[1:])
        if message.reactions:
            out.append(f"{indent}(reactions: {', '.join(message.reactions)})")
        for aside in (asides or {}).get(message.ts, []):
            out.append(f"{indent}({plain(aside, names)})")
        out.append(pad.rstrip())
    return "\n".join(out).rstrip()
