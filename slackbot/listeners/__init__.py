"""Listeners are adapters: parse the Slack payload, ack, call one orchestrator method, reply."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from slackbot.listeners import actions, commands, events, home, views
from slackbot.orchestrator import Orchestrator

# What the code registers and needs; tests/test_manifest.py holds manifest.yml to exactly this.
SLASH_COMMANDS = [commands.COMMAND]
# Thread replies carry revision notes: `message` events from public and private channels;
# `app_home_opened` shows a person's Home tab (it needs no scope, nor do views.publish and
# chat.getPermalink).
BOT_EVENTS = [f"{events.EVENT}.channels", f"{events.EVENT}.groups", home.EVENT]
BOT_SCOPES = ["commands", "chat:write", "reactions:write", "channels:history", "groups:history"]
# ORCHESTRATE_RULES (slackbot/people.py): user groups' members, people by email, and each
# rule's channel checked at start-up.
BOT_SCOPES += ["usergroups:read", "users:read", "users:read.email", "channels:read", "groups:read"]


def register(app: AsyncApp, orchestrator: Orchestrator) -> None:
    commands.register(app, orchestrator)
    actions.register(app, orchestrator)
    events.register(app, orchestrator)
    views.register(app, orchestrator)
    home.register(app, orchestrator)
