"""Every action counts only where its review or run lives: a form button, a form submission,
Retry and Cancel from another channel or another team are refused aloud and change nothing."""

from __future__ import annotations

import copy

import pytest

from slackbot.blocks import ACTION_APPROVE, ACTION_CANCEL, ACTION_RETRY
from slackbot.demo import slack_emulator
from tests.slackbot.conftest import (
    ANA,
    CHANNEL,
    app_settings,
    block_text,
    db_rows,
    start_run,
    started,
    wait_reviews,
)
from tests.slackbot.test_own_graph import EXAMPLES, buttons, fill, form, next_open, start

UNKNOWN = "I don't know this review"
WORKERS = {"researcher", "critic", "editor"}
TRIAGE = dict(Severity="sev2", Summary="Search slow", Responders="2")


@pytest.fixture
async def examples(slack, llm_server, pg_url, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    settings = app_settings(
        slack, llm_server, database_url=pg_url, data_dir=tmp_path, graph_spec=EXAMPLES
    )
    async with started(settings, slack) as running:
        yield running


def from_another_team(monkeypatch):
    """What the emulator sends from now on comes from another workspace."""
    monkeypatch.setattr(slack_emulator, "TEAM_ID", "TOTHER")


def decided(pg_url):
    return db_rows(pg_url, "SELECT decided_by FROM orchestrate_reviews WHERE status = 'decided'")


async def test_a_form_button_copied_to_another_channel_opens_no_form(slack, examples, pg_url):
    root = await start(slack, "typed_answer Search is down")
    review = await next_open(slack, root)
    elsewhere = copy.deepcopy(review)
    elsewhere.channel = "COTHER"
    button = buttons(review)["Answer"]
    await slack.click(ANA, elsewhere, button["action_id"], value=button["value"])
    notice = await slack.wait_for(lambda: slack.responses and slack.responses[-1])
    assert UNKNOWN in notice["text"]
    assert slack.open_views(ANA) == []
    view = await form(slack, review, "Answer")  # from its own channel: it opens
    assert view["title"]["text"]


async def test_a_form_submitted_from_another_team_is_not_stored(
    slack, examples, pg_url, monkeypatch
):
    root = await start(slack, "typed_answer Search is down")
    review = await next_open(slack, root)
    view = await form(slack, review, "Answer")
    from_another_team(monkeypatch)
    status, reply = await slack.submit_view(ANA, fill(view, **TRIAGE))
    assert status == 200 and reply["response_action"] == "update"
    assert UNKNOWN in str(reply["view"])
    assert decided(pg_url) == []
    assert buttons(slack.messages[(CHANNEL, review.ts)])  # the review still waits


async def test_retry_from_another_channel_or_team_is_refused(
    slack, llm_server, pg_app, pg_url, monkeypatch
):
    llm_server.fail_next(1, status=500)  # the plan call
    root = await start_run(slack)
    stopped = await slack.wait_for(
        lambda: [m for m in slack.thread(CHANNEL, root.ts) if "The run stopped" in block_text(m)]
    )
    elsewhere = copy.deepcopy(stopped[0])
    elsewhere.channel = "COTHER"
    await slack.click(ANA, elsewhere, ACTION_RETRY)
    assert UNKNOWN in (await slack.wait_for(lambda: slack.responses))[-1]["text"]
    with monkeypatch.context() as patch:
        from_another_team(patch)
        await slack.click(ANA, stopped[0], ACTION_RETRY)
        await slack.wait_for(lambda: len(slack.responses) == 2)
    assert UNKNOWN in slack.responses[-1]["text"]
    await pg_app.services.orchestrator.wait_idle()
    assert db_rows(pg_url, "SELECT status FROM orchestrate_runs") == [("failed",)]
    await slack.click(ANA, stopped[0], ACTION_RETRY)  # from its own channel and team: it goes
    await wait_reviews(slack, root.ts, WORKERS)


async def test_cancel_from_another_team_is_refused(slack, pg_app, pg_url, monkeypatch):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    with monkeypatch.context() as patch:
        from_another_team(patch)
        await slack.click(ANA, slack.messages[(CHANNEL, root.ts)], ACTION_CANCEL)
        notice = await slack.wait_for(lambda: slack.responses and slack.responses[-1])
    assert UNKNOWN in notice["text"]
    assert db_rows(pg_url, "SELECT status FROM orchestrate_runs") == [("waiting",)]
    await slack.click(ANA, reviews["critic"], ACTION_APPROVE)  # the run goes on
    await slack.wait_for(lambda: "Approved by <@UANA>" in block_text(reviews["critic"]))
