"""What waits for people, as Slack shows it: the App Home's "Waiting for you" (a Block Kit view)
and `/orchestrate status` (an ephemeral text). Pure functions writing Block Kit as plain dicts,
checked against slack_sdk's models in tests/slackbot/test_block_kit_valid.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slackbot.blocks import slack_date
from slackbot.reviews import KINDS, WORKER
from slackbot.safe_text import clip, neutralize
from slackbot.store import Review, ReviewStatus
from slackbot.store.inbox import OpenReview, WaitingRun
from slackbot.store.models import BUILTIN_GRAPH

STATUS = "status"  # `/orchestrate status`
STATUS_RUNS = 20  # runs listed by status; the rest are counted
HOME_REVIEWS = 45  # reviews listed on the Home tab: 2 blocks each, within Slack's 100
TEXT_LIMIT = 3_000  # a section's text
TOPIC_CHARS = 150
TITLE_CHARS = 150

# Who sees which reviews on their Home tab (the app's approvers rule).
APPROVER = "approver"  # ORCHESTRATE_APPROVERS names them: every open review
OWN = "own"  # no approvers set: reviews of runs they started, revisions waiting for their notes
NOBODY = "nobody"  # approvers set, and this person is not one: they answer nothing
RULED = "ruled"  # not an approver, but approval rules name them: the reviews of those rules
AUDIENCE = {
    APPROVER: "You are an approver, so every open review is listed, in every channel.",
    OWN: "Listed: the open reviews of runs you started, and revisions waiting for your notes,"
    " in every channel.",
    NOBODY: "Only the approvers configured for this app answer reviews, so none are listed"
    " for you. You can still start runs with `/orchestrate`.",
    RULED: "Listed: the open reviews whose approval rules name you, in every channel.",
}

Links = Mapping[tuple[str, str], str]  # (channel id, message ts) → permalink
Block = dict[str, Any]


def review_title(review: Review) -> str:
    """One line naming what a review asks (raw text: escape before showing it)."""
    if review.kind == WORKER:
        request = review.request if isinstance(review.request, dict) else {}
        return f"{request.get('role', 'Worker')} ({request.get('worker_id', '?')})"
    kind = KINDS.get(review.kind)
    return kind.title(review) if kind else review.kind


def _text(value: str, limit: int) -> str:
    """Text from a person, a graph or an LLM: clipped, then made unable to notify or link."""
    return neutralize(clip(" ".join(value.split()), limit)) or "_(no text)_"


def _link(url: str | None, label: str) -> str:
    if not url:
        return ""
    return f"<{url.replace('&', '&amp;').replace('<', '%3C').replace('>', '%3E')}|{label}>"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# -- the App Home -------------------------------------------------------------------------------


def home_view(
    items: list[OpenReview], total: int, links: Links, audience: str, viewer: str
) -> dict[str, Any]:
    """The Home tab: a header with the count, then each open review, newest first."""
    shown = items[:HOME_REVIEWS]
    heading = f"⏳ Waiting for you: {_plural(total, 'review')}" if total else "✅ Nothing waits"
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": heading, "emoji": True}},
        _context(AUDIENCE[audience]),
        {"type": "divider"},
    ]
    if not shown:
        empty = (
            "Nothing waits for you right now. When a run pauses for a review you may answer,"
            " it appears here with a link to its thread."
        )
        blocks.append(_section(empty if audience != NOBODY else "Nothing to answer here."))
    for item in shown:
        blocks.extend(_review_blocks(item, links, viewer))
    if total > len(shown):
        more = total - len(shown)
        blocks.append(_context(f"…and {_plural(more, 'older review')} not shown here."))
    return {"type": "home", "blocks": blocks}


def _review_blocks(item: OpenReview, links: Links, viewer: str) -> list[Block]:
    review, run = item.review, item.run
    title = _text(review_title(review), TITLE_CHARS)
    where = f"<#{run.channel_id}> · {_text(run.topic, TOPIC_CHARS)}"
    if run.graph != BUILTIN_GRAPH:
        where += f" · `{_text(run.graph, 80)}`"
    url = links.get(_posted(item))
    line = f"Waiting since {slack_date(item.since)}"
    if url:
        routed = review.channel_id and review.channel_id != run.channel_id
        if routed:
            line += f" · in <#{review.channel_id}>"
        line += f" · {_link(url, 'Open the review' if routed else 'Open in the thread')}"
    if review.status == ReviewStatus.AWAITING_NOTES:
        asked = review.notes_requested_by
        line += (
            " · ✏️ your notes are awaited: reply in the thread"
            if asked == viewer
            else f" · ✏️ <@{asked}> is writing notes"
        )
    return [_section(f"*{title}*\n{where}"), _context(line)]


def _posted(item: OpenReview) -> tuple[str, str]:
    """Where a review's message is: the run's thread, or the channel a rule posted it in."""
    return (item.review.channel_id or item.run.channel_id, item.review.message_ts or "")


def home_links(items: list[OpenReview]) -> list[tuple[str, str]]:
    """The messages the Home tab links to (the reviews, where they are posted)."""
    return [_posted(i) for i in items if i.review.message_ts]


# -- /orchestrate status -----------------------------------------------------------------------


def status_text(runs: list[WaitingRun], total: int, links: Links) -> str:
    """This channel's runs that wait for people, newest first (mrkdwn, escaped)."""
    if not total:
        return (
            "Nothing in this channel waits for people right now. Start a run with"
            " `/orchestrate &lt;topic&gt;`."
        )
    lines = [f"*Waiting for people in this channel: {_plural(total, 'run')}*"]
    for waiting in runs[:STATUS_RUNS]:
        run = waiting.run
        parts = [
            f"• *{_text(run.topic, TOPIC_CHARS)}*",
            f"`{_text(run.graph, 80)}`",
            f"{waiting.decided} of {waiting.total} answers in"
            + (f" (round {run.step})" if run.step > 1 else ""),
            f"waiting since {slack_date(waiting.since)}",
        ]
        if waiting.review_ts:  # posted here by a rule: the review, not a thread elsewhere
            url = links.get(_status_link(waiting))
            parts.append(f"from <#{run.channel_id}>")
            if url:
                parts.append(_link(url, "open the review"))
        elif url := links.get(_status_link(waiting)):
            parts.append(_link(url, "open the thread"))
        lines.append(" · ".join(parts))
    shown = min(len(runs), STATUS_RUNS)
    if total > shown:
        lines.append(f"…and {total - shown} more.")
    return "\n".join(lines)


def _status_link(waiting: WaitingRun) -> tuple[str, str]:
    run = waiting.run
    if waiting.review_ts:
        return (waiting.review_channel or run.channel_id, waiting.review_ts)
    return (run.channel_id, run.root_ts or "")


def status_links(runs: list[WaitingRun]) -> list[tuple[str, str]]:
    """The messages `/orchestrate status` links to: threads, or reviews posted in the channel."""
    return [link for link in map(_status_link, runs) if link[1]]


# -- helpers -------------------------------------------------------------------------------------


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, TEXT_LIMIT)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, TEXT_LIMIT)}]}
