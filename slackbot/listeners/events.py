"""Thread replies (`message` events): the notes for a requested revision."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from slackbot.orchestrator import Orchestrator

EVENT = "message"


def register(app: AsyncApp, orchestrator: Orchestrator) -> None:
    @app.event(EVENT)
    async def thread_reply(event: dict) -> None:
        # Only plain replies inside a thread; edits, joins and bot posts have a subtype.
        thread_ts, ts = event.get("thread_ts"), event.get("ts")
        if event.get("subtype") or not event.get("user") or not thread_ts or thread_ts == ts:
            return
        await orchestrator.record_reply(
            channel_id=event["channel"],
            thread_ts=thread_ts,
            user_id=event["user"],
            text=event.get("text", ""),
            ts=ts,
        )
