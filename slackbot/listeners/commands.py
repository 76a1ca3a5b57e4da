"""`/orchestrate <text>`, `/orchestrate <graph> <text>`, `/orchestrate help` and
`/orchestrate status`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from slackbot.home import STATUS
from slackbot.orchestrator import Orchestrator

COMMAND = "/orchestrate"


def typed(command: dict) -> str:
    """What the person typed: Slack sends a command's text with `&`, `<` and `>` escaped
    (`{"note": "a &amp; b"}`), and a graph's JSON input must get them back as typed."""
    text = str(command.get("text") or "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def register(app: AsyncApp, orchestrator: Orchestrator) -> None:
    @app.command(COMMAND)
    async def orchestrate(ack: AsyncAck, command: dict, respond: AsyncRespond) -> None:
        text = typed(command)
        if text.strip().lower() == STATUS:
            await ack()  # the list needs the database: it follows as an ephemeral response
            status = await orchestrator.inbox.status(
                team_id=command.get("team_id", ""),
                channel_id=command["channel_id"],
                user_id=command["user_id"],
            )
            await respond(text=status, response_type="ephemeral")
            return
        reply = orchestrator.command_reply(text)
        if reply:
            await ack(text=reply)  # an ephemeral answer to the person who typed it
            return
        recorded = await orchestrator.start(  # the run is stored before the ack
            team_id=command.get("team_id", ""),
            channel_id=command["channel_id"],
            user_id=command["user_id"],
            topic=text,
        )
        await (ack(text=recorded.notice) if recorded.notice else ack())
        if notice := await recorded.show():  # the root is posted, the graph started
            await respond(text=notice, response_type="ephemeral")
