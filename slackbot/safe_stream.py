"""LLM text streamed into Slack, made as safe as `neutralize` makes a whole text, piece by piece.

A token may end in the middle of `@here` or of `[label](https://…)`: a last word with an `@` waits
for its end, and the part of a line from an unclosed `[` on waits until the link is whole (so
`neutralize` shows where it goes); anything else is shown at once. A line is never held back
past its end: a reference definition on its own line is broken by `neutralize`, so no earlier
`[label]` can point at it. `& < >` are escaped wherever they fall.
"""

from __future__ import annotations

from slackbot.safe_text import neutralize


class SafeStream:
    def __init__(self) -> None:
        self._held = ""

    def feed(self, delta: str) -> str:
        """The text that can be shown now, neutralized ("" while all of it waits)."""
        self._held += delta
        cut = _releasable(self._held)
        released, self._held = self._held[:cut], self._held[cut:]
        return _neutralized(released)

    def finish(self) -> str:
        """Whatever is still held, neutralized: the text ended."""
        released, self._held = self._held, ""
        return _neutralized(released)


def _neutralized(text: str) -> str:
    return neutralize(text) if text else ""


def _releasable(text: str) -> int:
    """How much of `text` may be shown now: whole lines, then the last line up to any unclosed
    `[`, less a last word that may still grow into `@here` (it has an `@`)."""
    line_start = text.rfind("\n") + 1
    last = text[line_start:]
    opened = _unclosed_bracket(last)
    limit = len(last) if opened is None else opened
    word_start = max(last.rfind(" ", 0, limit), last.rfind("\t", 0, limit)) + 1
    keep = word_start if "@" in last[word_start:limit] else limit
    return line_start + keep


def _unclosed_bracket(line: str) -> int | None:
    """Where the first `[` of the line opens something not yet closed by `](…)` or a space
    after `]` (a plain bracket), else None."""
    depth, start, i = 0, None, 0
    while i < len(line):
        char = line[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            if depth == 0:
                start = i
            depth += 1
        elif char == "]" and depth:
            depth -= 1
            if depth == 0:
                rest = line[i + 1 :]
                if rest.startswith("("):
                    close = rest.find(")")
                    if close < 0:
                        return start  # `[label](…` still open
                    i += close + 1
                elif rest in ("", ":") or rest.startswith("["):
                    return start  # `[label]` may go on as `(url)`, `[ref]` or `: url`
                start = None
        i += 1
    return start if depth else None
