"""Buttons: Approve and Revise on worker reviews, the controls of the other review kinds
(answer at once, or open a form), Retry on a stopped run, Cancel on the root message.

A click is stored before it is acknowledged (slackbot/recording.py), then shown."""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from slackbot.blocks import (
    ACTION_ANSWER,
    ACTION_APPROVE,
    ACTION_CANCEL,
    ACTION_FORM,
    ACTION_RETRY,
    ACTION_REVISE,
)
from slackbot.orchestrator import Orchestrator
from slackbot.recording import Recorded

_ANSWER = re.compile(rf"^{ACTION_ANSWER}(\d+)$")
_FORM = re.compile(rf"^{ACTION_FORM}(\d+)$")


def _control(body: dict, pattern: re.Pattern[str]) -> int:
    match = pattern.match(str(body["actions"][0].get("action_id", "")))
    return int(match.group(1)) if match else -1


def _clicked(body: dict) -> tuple[str, str, str | None]:
    """(button value, user id, ts of the message holding the button)."""
    action = body["actions"][0]
    message_ts = (body.get("container") or {}).get("message_ts")
    return str(action.get("value", "")), body["user"]["id"], message_ts


def _where(body: dict) -> tuple[str, str]:
    """(team id, channel id) of the click: answers count only where the review was posted."""
    team = (body.get("team") or {}).get("id") or body["user"].get("team_id") or ""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id", ""
    )
    return str(team), str(channel)


async def _tell(respond: AsyncRespond, notice: str | None) -> None:
    if notice:
        await respond(text=notice, response_type="ephemeral", replace_original=False)


async def _stored(ack: AsyncAck, respond: AsyncRespond, recorded: Recorded) -> None:
    """Stored (or refused, or not in time): Slack gets its ack, then the click is shown."""
    await ack()
    await _tell(respond, recorded.notice or await recorded.show())


def register(app: AsyncApp, orchestrator: Orchestrator) -> None:
    @app.action(ACTION_APPROVE)
    async def approve(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await _stored(ack, respond, await orchestrator.approve(*_clicked(body), _where(body)))

    @app.action(ACTION_REVISE)
    async def revise(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        recorded = await orchestrator.request_revision(*_clicked(body), _where(body))
        await _stored(ack, respond, recorded)

    @app.action(_ANSWER)
    async def answer(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        review_id, user_id, message_ts = _clicked(body)
        control = _control(body, _ANSWER)
        recorded = await orchestrator.answer(review_id, control, user_id, message_ts, _where(body))
        await _stored(ack, respond, recorded)

    @app.action(_FORM)
    async def open_form(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()  # nothing to store: the modal opens
        review_id, user_id, _ = _clicked(body)
        control, trigger_id = _control(body, _FORM), str(body.get("trigger_id", ""))
        await _tell(
            respond,
            await orchestrator.open_form(review_id, control, user_id, trigger_id, _where(body)),
        )

    @app.action(ACTION_CANCEL)
    async def cancel(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await _stored(ack, respond, await orchestrator.cancel(*_clicked(body), _where(body)))

    @app.action(ACTION_RETRY)
    async def retry(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await _stored(ack, respond, await orchestrator.retry(*_clicked(body), _where(body)))
