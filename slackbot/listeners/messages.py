"""A person's message event, read into what conversations.py needs (or None: not a person's)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncBoltContext

from slackbot.conversations import Incoming, mentions

# A person's message, also when sent "to the channel too" or with a file attached; edits,
# deletions, joins and bot posts carry other subtypes and are not.
PERSON_SUBTYPES = {None, "thread_broadcast", "file_share"}


def incoming(
    event: dict, context: AsyncBoltContext, *, mention: bool = False, dm: bool = False
) -> Incoming | None:
    if event.get("subtype") not in PERSON_SUBTYPES or event.get("bot_id"):
        return None
    channel, user, ts = event.get("channel"), event.get("user"), event.get("ts")
    if not all(isinstance(f, str) and f for f in (channel, user, ts)):
        return None
    if user == context.bot_user_id:
        return None
    text = event.get("text") if isinstance(event.get("text"), str) else ""
    thread_ts = event.get("thread_ts") if isinstance(event.get("thread_ts"), str) else None
    return Incoming(
        team_id=str(context.team_id or event.get("team") or ""),
        channel_id=channel,  # type: ignore[arg-type]
        user_id=user,  # type: ignore[arg-type]
        text=text,  # type: ignore[arg-type]
        ts=ts,  # type: ignore[arg-type]
        thread_ts=thread_ts,
        mention=mention or mentions(text, context.bot_user_id),  # type: ignore[arg-type]
        dm=dm,
    )
