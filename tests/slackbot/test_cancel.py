"""Cancel: the starter (or an approver) ends a run from its root message; it is never resumed,
its open reviews say so, and a cancel racing the last click on another replica loses or wins
as a whole."""

from __future__ import annotations

import asyncio
import copy

from slackbot.blocks import ACTION_APPROVE, ACTION_CANCEL
from slackbot.store import RunStatus
from tests.slackbot.conftest import (
    ANA,
    BEN,
    CHANNEL,
    EVE,
    app_settings,
    block_text,
    db_rows,
    open_reviews,
    start_run,
    started,
    summaries,
    wait_reviews,
)

WORKERS = {"researcher", "critic", "editor"}


def root_of(slack, root):
    return slack.messages[(CHANNEL, root.ts)]


async def test_the_starter_cancels_and_nothing_is_resumed(slack, llm_server, pg_app, pg_url):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    await slack.click(ANA, reviews["researcher"], ACTION_APPROVE)
    await slack.wait_for(lambda: "1 of 3 in" in block_text(root_of(slack, root)))
    button, _ = slack.find_button(root_of(slack, root), ACTION_CANCEL)
    assert button["confirm"]["confirm"]["text"] == "Cancel the run"  # Slack asks first
    stale = copy.deepcopy(reviews["critic"])
    requests_before = len(llm_server.requests)

    status, _ = await slack.click(ANA, root_of(slack, root), ACTION_CANCEL)
    assert status == 200
    await slack.wait_for(lambda: "Cancelled by <@UANA>" in block_text(root_of(slack, root)))
    for worker in ("critic", "editor"):
        await slack.wait_for(lambda w=worker: "Cancelled by <@UANA>" in block_text(reviews[w]))
    assert "Approved by <@UANA>" in block_text(reviews["researcher"])  # answers stay as given
    assert open_reviews(slack, root.ts) == {}
    assert ACTION_CANCEL not in str(root_of(slack, root).blocks)

    await slack.click(BEN, stale, ACTION_APPROVE)  # a click seen on an old screen
    notice = await slack.wait_for(lambda: slack.responses and slack.responses[-1])
    assert notice["text"] == "This run was cancelled by <@UANA>: nothing changed."
    assert len(llm_server.requests) == requests_before  # the graph was never resumed
    assert db_rows(pg_url, "SELECT status, ended_by FROM orchestrate_runs") == [
        (RunStatus.CANCELLED.value, ANA)
    ]
    statuses = db_rows(pg_url, "SELECT status FROM orchestrate_reviews ORDER BY status")
    assert statuses == [("cancelled",), ("cancelled",), ("decided",)]


async def test_only_the_starter_or_an_approver_may_cancel(slack, llm_server, pg_url, tmp_path):
    settings = app_settings(
        slack, llm_server, database_url=pg_url, data_dir=tmp_path, approvers=frozenset({BEN})
    )
    async with started(settings, slack):
        root = await start_run(slack, user=EVE)
        await wait_reviews(slack, root.ts, WORKERS)
        await slack.click(ANA, root_of(slack, root), ACTION_CANCEL)
        notice = await slack.wait_for(lambda: slack.responses and slack.responses[-1])
        assert "Only the person who started this run or an approver" in notice["text"]
        await slack.click(BEN, root_of(slack, root), ACTION_CANCEL)  # an approver may
        await slack.wait_for(lambda: "Cancelled by <@UBEN>" in block_text(root_of(slack, root)))


async def test_a_cancel_racing_the_last_click_on_another_replica(
    slack, llm_server, pg_app, pg_url, tmp_path
):
    second = app_settings(slack, llm_server, database_url=pg_url, data_dir=tmp_path / "b")
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    await slack.click(ANA, reviews["researcher"], ACTION_APPROVE)
    await slack.click(ANA, reviews["critic"], ACTION_APPROVE)
    await slack.wait_for(lambda: "2 of 3 in" in block_text(root_of(slack, root)))
    async with started(second, slack) as replica:
        await asyncio.gather(
            slack.click(ANA, reviews["editor"], ACTION_APPROVE, url=pg_app.url),
            slack.click(ANA, root_of(slack, root), ACTION_CANCEL, url=replica.url),
        )
        await slack.wait_for(lambda: slack.responses or summaries(slack, root.ts), 20)
        await pg_app.services.orchestrator.wait_idle()
        await replica.services.orchestrator.wait_idle()
    (status,) = db_rows(pg_url, "SELECT status FROM orchestrate_runs")[0]
    told = [r["text"] for r in slack.responses]
    if status == RunStatus.CANCELLED.value:  # the cancel won: the click was refused, no summary
        assert told == ["This run was cancelled by <@UANA>: nothing changed."]
        assert summaries(slack, root.ts) == []
    else:  # the click won: the step resumed once and the cancel said so
        assert status in (RunStatus.RUNNING.value, RunStatus.DONE.value)
        assert (len(told) == 1 and "nothing was cancelled" in told[0]) or "already over" in told[0]
        await slack.wait_for(lambda: summaries(slack, root.ts), 20)
        assert len(summaries(slack, root.ts)) == 1
