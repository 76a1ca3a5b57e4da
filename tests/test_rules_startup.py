"""A rules file the app cannot use stops `python -m slackbot` with one line naming the rule and
field: bad TOML or values, an unknown email or user group, a channel it cannot post in."""

from __future__ import annotations

import asyncio
import signal

import pytest

from slackbot.demo.slack_emulator import SlackEmulator
from tests.test_startup import (
    QUICK,
    app_env,
    assert_one_line,
    read_lines_for,
    run_app,
    start_app,
)


@pytest.fixture
async def slack():
    emulator = SlackEmulator()
    await emulator.start()
    emulator.add_channel("CAPPROVALS", "UANA")
    emulator.add_channel("CNOTIN", "UANA", bot=False)
    emulator.add_person("UANA", "ana@example.com")
    emulator.add_usergroup("S0FIN", "finance", "Finance", "UANA")
    yield emulator
    await emulator.close()


async def start_with(tmp_path, slack, toml: str):
    (tmp_path / "rules.toml").write_text(toml)
    env = app_env(
        tmp_path,
        slack.base_url + "/api/",
        SLACK_BOT_TOKEN=slack.bot_token,
        ORCHESTRATE_RULES=str(tmp_path / "rules.toml"),
    )
    return await run_app(env, tmp_path)


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('[[rule]]\nname = "pay"\napprovers = ["UANA"]\nquorum = 0\n', ["'pay'", "quorum"]),
        ('[[rule]]\napprovers = ["UANA"]\nkind = "poll"\n', ["'rule 1'", "kind", "poll"]),
        ('[[rule]]\nname = "pay"\n', ["'pay'", "approvers"]),
        (
            '[[rule]]\nname = "pay"\napprovers = ["UANA"]\nremind_after = "soon"\n',
            ["'pay'", "remind_after"],
        ),
        ('[[rule]\nname = "pay"', ["not valid TOML"]),
    ],
)
async def test_a_bad_rules_file_stops_start_up_in_one_line(tmp_path, slack, toml, words):
    code, lines, seconds = await start_with(tmp_path, slack, toml)
    assert code == 2 and seconds < QUICK
    assert_one_line(lines, "ORCHESTRATE_RULES", *words)


@pytest.mark.parametrize(
    ("approvers", "channel", "words"),
    [
        ('["bob@example.com"]', None, ["'pay'", "approvers", "bob@example.com"]),
        ('["@legal"]', None, ["'pay'", "approvers", "@legal"]),
        ('["@finance", "ana@example.com"]', "CNOTIN", ["'pay'", "CNOTIN", "not a member"]),
        ('["UANA"]', "CGONE", ["'pay'", "CGONE", "channel_not_found"]),
    ],
)
async def test_unknown_people_or_channels_stop_start_up(tmp_path, slack, approvers, channel, words):
    toml = f'[[rule]]\nname = "pay"\napprovers = {approvers}\n'
    if channel:
        toml += f'channel = "{channel}"\n'
    code, lines, _ = await start_with(tmp_path, slack, toml)
    assert code == 2
    assert_one_line(lines, *words)


async def test_known_people_groups_and_channel_start(tmp_path, slack):
    """The same checks pass for what the workspace has: the app serves."""
    toml = '[[rule]]\nname = "pay"\napprovers = ["@finance", "ana@example.com"]\n'
    (tmp_path / "rules.toml").write_text(toml + 'channel = "CAPPROVALS"\n')
    env = app_env(
        tmp_path,
        slack.base_url + "/api/",
        SLACK_BOT_TOKEN=slack.bot_token,
        ORCHESTRATE_RULES=str(tmp_path / "rules.toml"),
    )
    process = await start_app(env, tmp_path)
    try:
        lines = await read_lines_for(process, 20.0, until="listening")
        assert "listening" in lines[-1], "\n".join(lines)
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 10)
    methods = {c.method for c in slack.calls}
    assert {"usergroups.list", "users.lookupByEmail", "conversations.info"} <= methods
