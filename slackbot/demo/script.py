"""The scripted demo session: start, approve some, revise one with notes, approve, summary.

With approver rules on (the demo's default: Ana is the only approver), Ben first tries to approve
a draft and is told, privately, that he may not; Ana then does the reviewing. With anyone allowed
to answer, Ben asks for the revision and approves the redraft.

Every wait ends: the session stops with `ScriptStopped` (one line for a person) when the run
stops on an error, or when nothing at all happens in the emulator for `stall_timeout` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from slackbot.blocks import ACTION_APPROVE, ACTION_REVISE
from slackbot.demo.slack_emulator import Message, SlackEmulator
from slackbot.demo.transcript import message_text

STALL_TIMEOUT = 60.0  # seconds without any change in the emulator before the session gives up
NOTES = "Please make it shorter and cite the lease terms."
T = TypeVar("T")


class ScriptStopped(RuntimeError):
    """The scripted session cannot go on; the message is one line meant for a person."""


@dataclass
class Session:
    root_ts: str
    # Ephemeral notices seen by one person, by the ts of the message they concern.
    asides: dict[str, list[str]] = field(default_factory=dict)


def open_reviews(slack: SlackEmulator, channel: str, root_ts: str) -> dict[str, Message]:
    """Review messages in the thread that still offer Approve, by worker id."""
    found = {}
    for message in slack.thread(channel, root_ts):
        try:
            slack.find_button(message, ACTION_APPROVE)
        except LookupError:
            continue
        header = message.blocks[0]["text"]["text"] if message.blocks else ""
        found[header.rsplit("(", 1)[-1].rstrip(")")] = message
    return found


class _Watch:
    """Waits on the emulator for the session, failing fast when the run stops or stalls."""

    def __init__(self, slack: SlackEmulator, channel: str, stall_timeout: float) -> None:
        self.slack, self.channel, self.stall_timeout = slack, channel, stall_timeout
        self.root: Message | None = None

    def stopped(self) -> str | None:
        """The run's error as its root message shows it, once the run has stopped."""
        if self.root is None:
            return None
        text = message_text(self.root)
        if "Stopped:" not in text:
            return None
        error = text.split("Stopped:", 1)[1].strip().splitlines()[0]  # not the buttons below
        return error.removesuffix("Use Retry in the thread").strip().rstrip(".") or "error"

    async def until(self, predicate: Callable[[], T | None], what: str) -> T:
        loop = asyncio.get_running_loop()
        seen, last_change = self.slack.version, loop.time()
        while True:
            result = predicate()
            if result:
                return result
            error = self.stopped()
            if error:
                raise ScriptStopped(f"the run stopped while waiting for {what}: {error}")
            if self.slack.version != seen:
                seen, last_change = self.slack.version, loop.time()
            elif loop.time() - last_change > self.stall_timeout:
                raise ScriptStopped(
                    f"nothing happened for {self.stall_timeout:.0f} s while waiting for {what}"
                )
            self.slack.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.slack.changed.wait(), 0.2)


async def scripted_session(
    slack: SlackEmulator,
    channel: str,
    topic: str,
    ana: str,
    ben: str,
    *,
    ben_may_answer: bool = True,
    stall_timeout: float = STALL_TIMEOUT,
) -> Session:
    """Play a short session as two people; return the root message's ts and private notices."""
    watch = _Watch(slack, channel, stall_timeout)
    status, body = await slack.slash_command(ana, channel, topic)
    if status != 200 or body.strip():
        raise ScriptStopped(f"/orchestrate was refused: {status} {body.strip()}")
    root = await watch.until(lambda: slack.roots(channel) and slack.roots(channel)[-1], "the run")
    watch.root = root
    session = Session(root.ts)
    reviews = await watch.until(
        lambda: len(r := open_reviews(slack, channel, root.ts)) >= 2 and _settled(root) and r,
        "the first drafts",
    )
    workers = list(reviews)
    revised, approved = workers[-1], workers[:-1]
    reviser = ben if ben_may_answer else ana
    if not ben_may_answer:
        # Ben is not an approver: his click changes nothing and only he is told why.
        tried = reviews[approved[0]]
        before = len(slack.responses)
        await slack.click(ben, tried, ACTION_APPROVE)
        notice = await watch.until(
            lambda: next((r for r in slack.responses[before:] if r["user"] == ben), None),
            "the notice to Ben",
        )
        session.asides.setdefault(tried.ts, []).append(
            f'<@{ben}> clicked Approve; only <@{ben}> saw: "{notice.get("text", "")}"'
        )
    await slack.click(reviser, reviews[revised], ACTION_REVISE)
    await watch.until(
        lambda: "reply in this thread" in message_text(reviews[revised]), "the request for notes"
    )
    await slack.reply(reviser, channel, root.ts, NOTES)
    for worker in approved:
        await slack.click(ana, reviews[worker], ACTION_APPROVE)
    first_ts = reviews[revised].ts
    redraft = await watch.until(
        lambda: (
            (r := open_reviews(slack, channel, root.ts).get(revised)) and r.ts != first_ts and r
        ),
        "the redraft",
    )
    await slack.click(reviser, redraft, ACTION_APPROVE)
    await watch.until(lambda: "Done" in message_text(root), "the summary")
    return session


def _settled(root: Message) -> bool:
    return "Waiting for reviews" in message_text(root)
