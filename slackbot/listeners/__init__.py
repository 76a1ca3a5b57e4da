"""Listeners are adapters: parse the Slack payload, ack, call one orchestrator method, reply."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from slackbot.listeners import actions, commands, events
from slackbot.orchestrator import Orchestrator

# What the code registers and needs; tests/test_manifest.py holds manifest.yml to exactly this.
SLASH_COMMANDS = [commands.COMMAND]
BOT_EVENTS = ["message.channels", "message.groups"]  # thread replies carry revision notes
BOT_SCOPES = ["commands", "chat:write", "reactions:write", "channels:history", "groups:history"]


def register(app: AsyncApp, orchestrator: Orchestrator) -> None:
    commands.register(app, orchestrator)
    actions.register(app, orchestrator)
    events.register(app, orchestrator)
