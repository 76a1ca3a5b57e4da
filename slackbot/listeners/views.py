"""Modal submissions: a review's form. Validation errors go back onto the form itself."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp

from slackbot.blocks import FORM_CALLBACK
from slackbot.orchestrator import Orchestrator


def _submitted(body: dict) -> tuple[str, int, str, dict, str]:
    """(review id, control, user id, state.values, team id) of a view_submission."""
    view = body["view"]
    review_id, _, control = str(view.get("private_metadata", "")).partition("|")
    values = (view.get("state") or {}).get("values") or {}
    team = (body.get("team") or {}).get("id") or body["user"].get("team_id") or ""
    user = body["user"]["id"]
    return review_id, int(control) if control.isdigit() else -1, user, values, str(team)


def register(app: AsyncApp, orchestrator: Orchestrator) -> None:
    @app.view(FORM_CALLBACK)
    async def submit_form(ack: AsyncAck, body: dict) -> None:
        reply = await orchestrator.submit_form(*_submitted(body))
        await ack(**reply.ack_kwargs())
