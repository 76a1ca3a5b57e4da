"""Requests that must be refused, clearly and without effect."""

import time
from urllib.parse import urlencode

from slackbot.notices import MAX_TOPIC_CHARS
from tests.slackbot.conftest import ANA, CHANNEL, db_rows


async def test_empty_topic_gets_usage_help(slack, pg_app, pg_url):
    status, body = await slack.slash_command(ANA, CHANNEL, "   ")
    assert status == 200
    # shown only to the person who typed it, with `<` `>` escaped as Slack mrkdwn needs
    assert "Usage: `/orchestrate &lt;topic&gt;`" in body
    assert slack.roots(CHANNEL) == []
    assert db_rows(pg_url, "SELECT run_id FROM orchestrate_runs") == []


async def test_over_long_topic_is_refused_with_the_limit(slack, pg_app, pg_url):
    status, body = await slack.slash_command(ANA, CHANNEL, "x" * (MAX_TOPIC_CHARS + 1))
    assert status == 200
    assert f"the limit is {MAX_TOPIC_CHARS:,}" in body
    assert slack.roots(CHANNEL) == []
    assert db_rows(pg_url, "SELECT run_id FROM orchestrate_runs") == []


async def test_channel_without_the_bot_explains_how_to_invite(slack, llm_server, pg_app, pg_url):
    slack.add_channel("CPRIVATE", ANA, bot=False)
    status, _ = await slack.slash_command(ANA, "CPRIVATE", "a topic")
    assert status == 200
    notice = await slack.wait_for(lambda: slack.responses and slack.responses[-1])
    assert "/invite @orchestrator" in notice["text"] and notice["response_type"] == "ephemeral"
    assert db_rows(pg_url, "SELECT run_id FROM orchestrate_runs") == []
    assert llm_server.requests == []


def _command_body(text="a topic"):
    return urlencode(
        {"command": "/orchestrate", "text": text, "user_id": ANA, "channel_id": CHANNEL,
         "team_id": "T1", "response_url": "http://127.0.0.1:9/x", "trigger_id": "t"}
    )  # fmt: skip


async def test_forged_signature_is_401_and_does_nothing(slack, pg_app, pg_url):
    body = _command_body()
    headers = slack.signed_headers(body)
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    status, _ = await slack.deliver(body, "application/x-www-form-urlencoded", headers=headers)
    assert status == 401
    unsigned = {"X-Slack-Signature": "", "X-Slack-Request-Timestamp": ""}
    status, _ = await slack.deliver(body, "application/x-www-form-urlencoded", headers=unsigned)
    assert status == 401
    assert db_rows(pg_url, "SELECT run_id FROM orchestrate_runs") == []


async def test_stale_signed_request_is_401(slack, pg_app, pg_url):
    body = _command_body()
    stale = slack.signed_headers(body, timestamp=int(time.time()) - 6 * 60)
    status, _ = await slack.deliver(body, "application/x-www-form-urlencoded", headers=stale)
    assert status == 401
    assert slack.roots(CHANNEL) == []
    assert db_rows(pg_url, "SELECT run_id FROM orchestrate_runs") == []


async def test_healthz_reports_the_database(pg_app):
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(pg_app.url + "/healthz") as r:
        assert r.status == 200 and (await r.json()) == {"ok": True}
