"""Buttons: Approve and Revise on review messages, Retry on a stopped run."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from slackbot.blocks import ACTION_APPROVE, ACTION_RETRY, ACTION_REVISE
from slackbot.orchestrator import Orchestrator


def _clicked(body: dict) -> tuple[str, str, str | None]:
    """(button value, user id, ts of the message holding the button)."""
    action = body["actions"][0]
    message_ts = (body.get("container") or {}).get("message_ts")
    return str(action.get("value", "")), body["user"]["id"], message_ts


async def _tell(respond: AsyncRespond, notice: str | None) -> None:
    if notice:
        await respond(text=notice, response_type="ephemeral", replace_original=False)


def register(app: AsyncApp, orchestrator: Orchestrator) -> None:
    @app.action(ACTION_APPROVE)
    async def approve(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()
        await _tell(respond, await orchestrator.approve(*_clicked(body)))

    @app.action(ACTION_REVISE)
    async def revise(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()
        await _tell(respond, await orchestrator.request_revision(*_clicked(body)))

    @app.action(ACTION_RETRY)
    async def retry(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()
        await _tell(respond, await orchestrator.retry(*_clicked(body)))
