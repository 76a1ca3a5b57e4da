"""manifest.yml asks for exactly what the code registers and uses."""

from pathlib import Path

import yaml

from slackbot import listeners

MANIFEST = yaml.safe_load((Path(__file__).parents[1] / "manifest.yml").read_text())


def test_slash_commands_match():
    commands = [c["command"] for c in MANIFEST["features"]["slash_commands"]]
    assert commands == listeners.SLASH_COMMANDS


def test_bot_events_match():
    assert MANIFEST["settings"]["event_subscriptions"]["bot_events"] == listeners.BOT_EVENTS


def test_bot_scopes_are_least_privilege():
    assert MANIFEST["oauth_config"]["scopes"]["bot"] == listeners.BOT_SCOPES
    assert "chat:write.public" not in listeners.BOT_SCOPES


def test_interactivity_and_socket_mode_on():
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert MANIFEST["settings"]["socket_mode_enabled"] is True


def test_the_scopes_rules_need_are_asked_for():
    """ORCHESTRATE_RULES: user groups (usergroups.list, usergroups.users.list), emails
    (users.lookupByEmail), names in the thread (users.info), rule channels (conversations.info,
    public and private)."""
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    needed = {"usergroups:read", "users:read", "users:read.email", "channels:read", "groups:read"}
    assert needed <= scopes
