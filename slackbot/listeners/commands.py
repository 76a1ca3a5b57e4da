"""`/orchestrate <text>`, `/orchestrate <graph> <text>`, `/orchestrate help` and
`/orchestrate status`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from slackbot.home import STATUS
from slackbot.orchestrator import Orchestrator

COMMAND = "/orchestrate"


def register(app: AsyncApp, orchestrator: Orchestrator) -> None:
    @app.command(COMMAND)
    async def orchestrate(ack: AsyncAck, command: dict, respond: AsyncRespond) -> None:
        if command.get("text", "").strip().lower() == STATUS:
            await ack()  # the list needs the database: it follows as an ephemeral response
            status = await orchestrator.inbox.status(
                team_id=command.get("team_id", ""),
                channel_id=command["channel_id"],
                user_id=command["user_id"],
            )
            await respond(text=status, response_type="ephemeral")
            return
        reply = orchestrator.command_reply(command.get("text", ""))
        if reply:
            await ack(text=reply)  # an ephemeral answer to the person who typed it
            return
        recorded = await orchestrator.start(  # the run is stored before the ack
            team_id=command.get("team_id", ""),
            channel_id=command["channel_id"],
            user_id=command["user_id"],
            topic=command["text"],
        )
        await (ack(text=recorded.notice) if recorded.notice else ack())
        if notice := await recorded.show():  # the root is posted, the graph started
            await respond(text=notice, response_type="ephemeral")
