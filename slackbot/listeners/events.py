"""Thread replies (`message` events): the notes for a requested revision."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from slackbot.orchestrator import Orchestrator

EVENT = "message"
# A person's reply, also when sent "to the channel too" or with a file attached (its text is the
# notes); edits, deletions, joins and bot posts carry other subtypes and are not replies.
REPLY_SUBTYPES = {None, "thread_broadcast", "file_share"}


def register(app: AsyncApp, orchestrator: Orchestrator) -> None:
    @app.event(EVENT)
    async def thread_reply(event: dict) -> None:
        if event.get("subtype") not in REPLY_SUBTYPES or event.get("bot_id"):
            return
        channel, user = event.get("channel"), event.get("user")
        thread_ts, ts, text = event.get("thread_ts"), event.get("ts"), event.get("text")
        fields = (channel, user, thread_ts, ts)
        if not all(isinstance(f, str) and f for f in fields) or thread_ts == ts:
            return  # not inside a thread (or not shaped like a reply at all)
        await orchestrator.record_reply(
            channel_id=channel,
            thread_ts=thread_ts,
            user_id=user,
            text=text if isinstance(text, str) else "",
            ts=ts,
        )
