"""Text from people and LLMs, made unable to notify anyone before it reaches Slack."""

from __future__ import annotations

import re

_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
WORD_JOINER = "\u2060"


def neutralize(text: str) -> str:
    """Escape `& < >` so `<!here>`/`<@U…>` stay literal; break bare `@here`-style words too."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub(lambda m: f"@{WORD_JOINER}{m.group(1)}", escaped)


def clip(text: str, limit: int, marker: str = "…") -> str:
    return text if len(text) <= limit else text[: limit - len(marker)].rstrip() + marker


def quote(text: str) -> str:
    return "\n".join(f"> {line}" for line in text.splitlines() or [""])
