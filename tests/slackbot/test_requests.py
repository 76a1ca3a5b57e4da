"""Requests that must be refused, clearly and without effect, and the shapes that must not be."""

import asyncio
import json
import time
from urllib.parse import urlencode

import pytest

from slackbot.blocks import ACTION_REVISE
from slackbot.notices import MAX_TOPIC_CHARS, topic_problem
from tests.slackbot.conftest import (
    ANA,
    BEN,
    CHANNEL,
    app_settings,
    block_text,
    db_rows,
    start_run,
    started,
    wait_reviews,
)


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


async def test_a_topic_with_the_word_payload_starts_a_run(slack, pg_app):
    # Bolt alone reads any form body containing "payload" as an interaction without one.
    root = await start_run(slack, "payload formats for the public API")
    assert "payload formats" in block_text(root)


WORKERS = {"researcher", "critic", "editor"}


async def _reply_event(slack, root_ts: str, text: str, **event_fields) -> int:
    """A thread reply by Ben, delivered as Slack shapes it for `event_fields` (a subtype…)."""
    reply = slack.post_as_person(BEN, CHANNEL, text, root_ts)
    envelope = json.loads(slack.message_event(reply))
    envelope["event"].update(event_fields)
    status, _ = await slack.deliver(json.dumps(envelope), "application/json")
    return status


@pytest.mark.parametrize(
    "shape",
    [
        {"subtype": "thread_broadcast", "root": {"type": "message", "text": "root"}},
        {
            "subtype": "file_share",
            "upload": False,
            "files": [{"id": "F1", "name": "notes.pdf", "mimetype": "application/pdf"}],
        },
    ],
    ids=["also sent to the channel", "with a file"],
)
async def test_notes_also_sent_to_the_channel_or_with_a_file_count(slack, pg_app, shape):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    await slack.click(BEN, reviews["editor"], ACTION_REVISE)
    await slack.wait_for(lambda: "reply in this thread" in block_text(reviews["editor"]))
    assert await _reply_event(slack, root.ts, "shorter, and cite the lease", **shape) == 200
    await slack.wait_for(lambda: "Revision requested" in block_text(reviews["editor"]))
    assert "shorter, and cite the lease" in block_text(reviews["editor"])


@pytest.mark.parametrize(
    "shape",
    [{"subtype": "message_changed"}, {"subtype": "channel_join"}, {"bot_id": "B0OTHER"}],
    ids=["an edit", "a join", "another bot"],
)
async def test_other_thread_messages_are_not_notes(slack, pg_app, pg_url, shape):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    await slack.click(BEN, reviews["editor"], ACTION_REVISE)
    await slack.wait_for(lambda: "reply in this thread" in block_text(reviews["editor"]))
    assert await _reply_event(slack, root.ts, "not notes", **shape) == 200
    await asyncio.sleep(0.3)
    assert "reply in this thread" in block_text(reviews["editor"])
    assert ("awaiting_notes",) in db_rows(pg_url, "SELECT status FROM orchestrate_reviews")


async def test_runs_in_flight_are_limited_per_person_and_per_channel(
    slack, llm_server, pg_url, tmp_path
):
    settings = app_settings(
        slack, llm_server, database_url=pg_url, data_dir=tmp_path,
        max_runs_per_user=2, max_runs_per_channel=3,
    )  # fmt: skip
    async with started(settings, slack):
        for _ in range(2):
            await start_run(slack, user=ANA)
        status, told = await slack.slash_command(ANA, CHANNEL, "a third one")
        assert status == 200  # the command's own answer, seen only by Ana
        assert "You already have 2 runs going" in told
        await start_run(slack, user=BEN)  # Ben may: his first
        _, told = await slack.slash_command(BEN, CHANNEL, "and another")
        assert "This channel already has 3 runs going" in told
        assert len(slack.roots(CHANNEL)) == 3


def test_typed_emoji_count_as_one_character_against_the_topic_limit():
    assert topic_problem(":tada: " * (MAX_TOPIC_CHARS // 2)) is None  # 500 emoji + spaces
    assert topic_problem("x" * (MAX_TOPIC_CHARS + 1)).startswith("That text is 1,001")
