"""Channel messages (`message` events): thread replies (the notes for a requested revision, a
conversation's follow-ups, the answer to a question) and posts that mention the app."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from slackbot.conversations import Conversations
from slackbot.listeners.messages import incoming

EVENT = "message"


def register(app: AsyncApp, conversations: Conversations) -> None:
    @app.event(EVENT)
    async def channel_message(ack: AsyncAck, event: dict, context: AsyncBoltContext) -> None:
        message = incoming(event, context)
        if message is not None and (message.in_thread or message.mention):
            await conversations.heard(message, context.bot_user_id, stored=ack)
        await ack()  # stored, or not a message to store (acking twice changes nothing)
