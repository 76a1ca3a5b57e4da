"""The App Home tab: opening it shows the person the reviews that wait for them."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from slackbot.orchestrator import Orchestrator

EVENT = "app_home_opened"
HOME_TAB = "home"  # the event also comes for the app's Messages tab


def register(app: AsyncApp, orchestrator: Orchestrator) -> None:
    @app.event(EVENT)
    async def home_opened(event: dict) -> None:
        user = event.get("user")
        if event.get("tab") != HOME_TAB or not isinstance(user, str) or not user:
            return
        await orchestrator.inbox.show_home(user)
