"""The feedback buttons under an answer: the click is stored, then acked."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from slackbot.feedback import ACTION_FEEDBACK, Feedback
from slackbot.listeners.actions import _tell, _where

log = logging.getLogger(__name__)

NOT_SAVED = "I couldn't save your feedback just now: please click again in a moment."


def register(app: AsyncApp, feedback: Feedback) -> None:
    @app.action(ACTION_FEEDBACK)
    async def clicked(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        action = body["actions"][0]
        message_ts = (body.get("container") or {}).get("message_ts") or ""
        try:
            notice = await feedback.record(
                str(action.get("block_id", "")),
                str(action.get("value", "")),
                body["user"]["id"],
                message_ts,
                _where(body),
            )
        except Exception:
            log.exception("could not store feedback")
            notice = NOT_SAVED
        await ack()
        await _tell(respond, notice)
