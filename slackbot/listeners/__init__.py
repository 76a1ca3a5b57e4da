"""Listeners are adapters: parse the Slack payload, ack, call one orchestrator method, reply."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from slackbot.conversations import Conversations
from slackbot.feedback import Feedback
from slackbot.listeners import actions, commands, dms, events, feedback, home, mentions, views
from slackbot.orchestrator import Orchestrator

# What the code registers and needs; tests/test_manifest.py holds manifest.yml to exactly this.
SLASH_COMMANDS = [commands.COMMAND]
# Thread replies carry revision notes: `message` events from public and private channels;
# `app_home_opened` shows a person's Home tab (it needs no scope, nor do views.publish and
# chat.getPermalink).
# Conversations: `app_mention`, DMs (`message.im`), the Messages tab's prompts (assistant:write),
# the thread a mention is in (its authors' names: users:read).
BOT_EVENTS = [
    f"{events.EVENT}.channels",
    f"{events.EVENT}.groups",
    home.EVENT,
    mentions.EVENT,
    f"{dms.EVENT}.im",
]
BOT_SCOPES = [
    "commands",
    "chat:write",
    "reactions:write",
    "channels:history",
    "groups:history",
    "app_mentions:read",
    "im:history",
    "assistant:write",
    "users:read",
]
# ORCHESTRATE_RULES (slackbot/people.py): user groups' members, people by email, and each
# rule's channel checked at start-up (users:read is needed by both).
BOT_SCOPES += ["usergroups:read", "users:read.email", "channels:read", "groups:read"]


def register(app: AsyncApp, orchestrator: Orchestrator, conversations: Conversations) -> None:
    commands.register(app, orchestrator)
    actions.register(app, orchestrator)
    feedback.register(app, Feedback(orchestrator.store))  # the buttons under answers
    mentions.register(app, conversations)
    dms.register(app, conversations)  # before events and home: DMs and the Messages tab
    events.register(app, conversations)
    views.register(app, orchestrator)
    home.register(app, orchestrator)
    # Bolt acks an event before its listener runs; one that takes `ack` acks once it has
    # stored the message instead (Slack sends an event again until it gets the ack).
    for listener in app._async_listeners:
        if listener.auto_acknowledgement and "ack" in listener.arg_names:
            listener.auto_acknowledgement = False
