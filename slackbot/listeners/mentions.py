"""`@app <text>` in a channel (`app_mention`): starts a conversation, or is its next turn."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from slackbot.conversations import Conversations
from slackbot.listeners.messages import incoming

EVENT = "app_mention"


def register(app: AsyncApp, conversations: Conversations) -> None:
    @app.event(EVENT)
    async def mentioned(ack: AsyncAck, event: dict, context: AsyncBoltContext) -> None:
        message = incoming(event, context, mention=True)
        if message is not None:
            await conversations.heard(message, context.bot_user_id, stored=ack)
        await ack()  # stored, or not a message to store (acking twice changes nothing)
