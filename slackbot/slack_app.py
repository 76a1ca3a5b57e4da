"""The Bolt app: request verification stays on (HTTP mode); listeners come from listeners/."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from slackbot import listeners
from slackbot.services import Services
from slackbot.settings import Settings


def create_bolt_app(settings: Settings, services: Services) -> AsyncApp:
    app = AsyncApp(
        client=services.slack,
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=not settings.socket_mode,
        process_before_response=False,  # ack first; the listener's slow work goes on after
    )
    listeners.register(app, services.orchestrator, services.conversations)
    return app
