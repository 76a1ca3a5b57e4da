"""Text from people and LLMs, made unable to notify anyone or disguise a link in Slack."""

from __future__ import annotations

import re

_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
WORD_JOINER = "\u2060"

# Markdown (the `markdown` block) and Slack mrkdwn links whose label hides where they go.
# Each alternative starts with a different character, so the patterns match in linear time.
_LABEL = r"(?:\\.|[^\[\]\\]|\[(?:\\.|[^\[\]\\])*\])*"  # one level of nested [brackets]
_DEST = r"<[^<>\n]*>|(?:\\.|[^\s()\\]|\((?:\\.|[^\s()\\])*\))*"
_TITLE = r"""(?:\s+(?:"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|\((?:\\.|[^()\\])*\)))?"""
_INLINE_LINK = re.compile(rf"!?\[(?P<label>{_LABEL})\]\(\s*(?P<dest>{_DEST}){_TITLE}\s*\)")
# What may stand before a reference definition on its line: indentation and the markers of
# list items and quotes, nested (`- [label]: url` defines `[label]` as much as `[label]: url`).
_CONTAINERS = r"(?:[ \t]*(?:[-+*]|\d{1,9}[.)]|>))*[ \t]*"
_DEFINITION = re.compile(
    rf"^{_CONTAINERS}\[(?P<ref>(?:\\.|[^\[\]\\])+)\]:[ \t]*\n?[ \t]*(?P<dest><[^<>\n]*>|\S+)",
    re.MULTILINE,
)
_REFERENCE_LINK = re.compile(rf"!?\[(?P<label>{_LABEL})\]\[(?P<ref>(?:\\.|[^\[\]\\])*)\]")
_SHORTCUT_LINK = re.compile(rf"!?\[(?P<label>{_LABEL})\](?![\[(:])")
_SLACK_LINK = re.compile(r"<(?P<dest>[A-Za-z][A-Za-z0-9+.\-]*:[^|<>\s]*)(?:\|(?P<label>[^<>]*))?>")
# Whatever the patterns above missed cannot become a link once `](`, `][` and a definition's
# `]:` are split by an invisible character.
_LINK_SEAM = re.compile(rf"\](?=[\[(])|^({_CONTAINERS}\[(?:\\.|[^\[\]\\])+\])(?=:)", re.MULTILINE)


def neutralize(text: str) -> str:
    """Make text from a person or an LLM safe to post in mrkdwn or a `markdown` block.

    Every link shows where it goes (`[label](url)` → `label (url)`, `<url|label>` too), `& < >`
    are escaped so `<!here>`/`<@U…>` stay literal, and bare `@here`-style words are broken.
    """
    escaped = _reveal_links(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub(lambda m: f"@{WORD_JOINER}{m.group(1)}", escaped)


def _shown(label: str, dest: str) -> str:
    label, dest = label.strip(), dest.strip().removeprefix("<").removesuffix(">").strip()
    if not dest or label == dest:
        return label or dest
    return f"{label} ({dest})" if label else dest


def _reference(references: dict[str, str], ref: str) -> str | None:
    return references.get(" ".join(ref.split()).casefold())


def _reveal_links(text: str) -> str:
    text = _SLACK_LINK.sub(lambda m: _shown(m["label"] or "", m["dest"]), text)
    for _ in range(3):  # a link inside a label (an image in a link) shows up on the next pass
        revealed = _INLINE_LINK.sub(lambda m: _shown(m["label"], m["dest"]), text)
        if revealed == text:
            break
        text = revealed
    references: dict[str, str] = {}
    for match in _DEFINITION.finditer(text):
        references.setdefault(" ".join(match["ref"].split()).casefold(), match["dest"])
    if references:

        def full(m: re.Match[str]) -> str:
            dest = _reference(references, m["ref"] or m["label"])
            return m[0] if dest is None else _shown(m["label"], dest)

        def shortcut(m: re.Match[str]) -> str:
            dest = _reference(references, m["label"])
            return m[0] if dest is None else _shown(m["label"], dest)

        text = _REFERENCE_LINK.sub(full, text)
        text = _SHORTCUT_LINK.sub(shortcut, text)
    return _LINK_SEAM.sub(lambda m: (m[1] or "]") + WORD_JOINER, text)


def clip(text: str, limit: int, marker: str = "…") -> str:
    return text if len(text) <= limit else text[: limit - len(marker)].rstrip() + marker


def quote(text: str) -> str:
    return "\n".join(f"> {line}" for line in text.splitlines() or [""])
