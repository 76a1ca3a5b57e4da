"""Modal submissions: a review's form. Validation errors go back onto the form itself."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp

from slackbot.blocks import FORM_CALLBACK
from slackbot.orchestrator import Orchestrator


def _submitted(body: dict) -> tuple[str, int, str, dict]:
    """(review id, control, user id, state.values) of a view_submission."""
    view = body["view"]
    review_id, _, control = str(view.get("private_metadata", "")).partition("|")
    values = (view.get("state") or {}).get("values") or {}
    return review_id, int(control) if control.isdigit() else -1, body["user"]["id"], values


def register(app: AsyncApp, orchestrator: Orchestrator) -> None:
    @app.view(FORM_CALLBACK)
    async def submit_form(ack: AsyncAck, body: dict) -> None:
        reply = await orchestrator.submit_form(*_submitted(body))
        await ack(**reply.ack_kwargs())
