"""The app's Messages tab: opening it sets the suggested prompts; each message there (`message.im`)
is a turn of the conversation in its thread."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from slackbot.conversations import Conversations
from slackbot.listeners.messages import incoming

EVENT = "message"
OPENED = "app_home_opened"  # with tab `messages`: a person opened the app's Messages tab
MESSAGES_TAB = "messages"


async def _in_a_dm(body: dict) -> bool:
    return (body.get("event") or {}).get("channel_type") == "im"


async def _messages_tab(body: dict) -> bool:
    return (body.get("event") or {}).get("tab") == MESSAGES_TAB


def register(app: AsyncApp, conversations: Conversations) -> None:
    @app.event(OPENED, matchers=[_messages_tab])
    async def messages_tab_opened(event: dict) -> None:
        channel = event.get("channel")
        if isinstance(channel, str) and channel:
            await conversations.suggest_prompts(channel)

    @app.event(EVENT, matchers=[_in_a_dm])
    async def direct_message(ack: AsyncAck, event: dict, context: AsyncBoltContext) -> None:
        message = incoming(event, context, dm=True)
        if message is not None:
            await conversations.heard(message, context.bot_user_id, stored=ack)
        await ack()  # stored, or not a message to store (acking twice changes nothing)
