"""The scripted demo session: start, approve some, revise one with notes, approve, summary."""

from __future__ import annotations

from slackbot.blocks import ACTION_APPROVE, ACTION_REVISE
from slackbot.demo.slack_emulator import Message, SlackEmulator
from slackbot.demo.transcript import message_text

TIMEOUT = 120.0  # a real LLM may be slow


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


async def scripted_session(
    slack: SlackEmulator, channel: str, topic: str, ana: str, ben: str
) -> str:
    """Play a short session as two people; return the root message's ts."""
    status, body = await slack.slash_command(ana, channel, topic)
    if status != 200 or body.strip():
        raise RuntimeError(f"/orchestrate was refused: {status} {body}")
    root = await slack.wait_for(lambda: slack.roots(channel) and slack.roots(channel)[-1])
    reviews = await slack.wait_for(
        lambda: (
            len(r := open_reviews(slack, channel, root.ts)) >= 2 and _settled(slack, root) and r
        ),
        TIMEOUT,
    )
    workers = list(reviews)
    revised, approved = workers[-1], workers[:-1]
    await slack.click(ben, reviews[revised], ACTION_REVISE)
    await slack.wait_for(lambda: "reply in this thread" in message_text(reviews[revised]))
    await slack.reply(ben, channel, root.ts, "Please make it shorter and cite the lease terms.")
    for worker in approved:
        await slack.click(ana, reviews[worker], ACTION_APPROVE)
    first_ts = reviews[revised].ts
    redraft = await slack.wait_for(
        lambda: (
            (r := open_reviews(slack, channel, root.ts).get(revised)) and r.ts != first_ts and r
        ),
        TIMEOUT,
    )
    await slack.click(ben, redraft, ACTION_APPROVE)
    await slack.wait_for(lambda: "Done" in message_text(slack.roots(channel)[-1]), TIMEOUT)
    return root.ts


def _settled(slack: SlackEmulator, root: Message) -> bool:
    return "Waiting for reviews" in message_text(root)
