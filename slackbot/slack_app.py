"""The Bolt app: request verification on, listeners registered from slackbot.listeners."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from slackbot.services import Services
from slackbot.settings import Settings


def create_bolt_app(settings: Settings, services: Services) -> AsyncApp:
    return AsyncApp(
        client=services.slack,
        signing_secret=settings.slack_signing_secret or "socket-mode-unused",
        process_before_response=False,
    )
