"""Clicks and replies that must not count twice, nor count at all."""

import copy
import json

from slackbot.blocks import ACTION_APPROVE, ACTION_REVISE
from tests.slackbot.conftest import (
    ANA,
    BEN,
    CHANNEL,
    EVE,
    app_settings,
    block_text,
    db_rows,
    start_run,
    started,
    summaries,
    wait_reviews,
)

WORKERS = {"researcher", "critic", "editor"}


async def test_second_click_on_a_decided_review_says_who_decided(slack, pg_app, pg_url):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    stale = copy.deepcopy(reviews["critic"])  # the message as a second screen still shows it
    await slack.click(ANA, reviews["critic"], ACTION_APPROVE)
    await slack.wait_for(lambda: "Approved by <@UANA>" in block_text(reviews["critic"]))
    await slack.click(BEN, stale, ACTION_APPROVE)
    notice = await slack.wait_for(lambda: slack.responses and slack.responses[-1])
    assert notice["text"] == "Already decided by <@UANA>: nothing changed."
    assert notice["user"] == BEN and notice["response_type"] == "ephemeral"
    rows = db_rows(pg_url, "SELECT decided_by FROM orchestrate_reviews WHERE status='decided'")
    assert rows == [(ANA,)]


async def test_click_on_a_finished_run_and_a_forged_value(slack, pg_app, pg_url):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    stale = copy.deepcopy(reviews["editor"])
    for message in reviews.values():
        await slack.click(ANA, message, ACTION_APPROVE)
    await slack.wait_for(lambda: summaries(slack, root.ts))
    await slack.click(BEN, stale, ACTION_REVISE)
    notice = await slack.wait_for(lambda: slack.responses and slack.responses[-1])
    assert "Already decided by <@UANA>" in notice["text"]

    forged = copy.deepcopy(stale)
    for block in forged.blocks:
        for element in block.get("elements", []):
            if "value" in element:
                element["value"] = "f" * 32
    await slack.click(BEN, forged, ACTION_APPROVE)
    await slack.wait_for(lambda: len(slack.responses) == 2)
    assert "I don't know this review" in slack.responses[-1]["text"]
    assert len(summaries(slack, root.ts)) == 1


async def test_only_configured_approvers_may_answer(slack, llm_server, pg_url, tmp_path):
    settings = app_settings(
        slack, llm_server, database_url=pg_url, data_dir=tmp_path, approvers=frozenset({ANA})
    )
    async with started(settings, slack):
        root = await start_run(slack, user=EVE)  # anyone may start
        reviews = await wait_reviews(slack, root.ts, WORKERS)
        await slack.click(EVE, reviews["critic"], ACTION_APPROVE)
        await slack.click(EVE, reviews["editor"], ACTION_REVISE)
        await slack.wait_for(lambda: len(slack.responses) == 2)
        assert all("Only the approvers" in r["text"] for r in slack.responses)
        rows = db_rows(pg_url, "SELECT status FROM orchestrate_reviews ORDER BY position")
        assert rows == [("pending",)] * 3
        slack.find_button(reviews["critic"], ACTION_APPROVE)  # still offered: nothing changed
        slack.find_button(reviews["editor"], ACTION_REVISE)
        await slack.click(ANA, reviews["critic"], ACTION_APPROVE)
        await slack.wait_for(lambda: "Approved by <@UANA>" in block_text(reviews["critic"]))


async def test_retried_event_delivery_counts_once(slack, pg_app, pg_url):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    await slack.click(BEN, reviews["critic"], ACTION_REVISE)
    await slack.click(BEN, reviews["editor"], ACTION_REVISE)
    await slack.wait_for(lambda: "reply in this thread" in block_text(reviews["editor"]))
    reply, _ = await slack.reply(BEN, CHANNEL, root.ts, "more risks please")
    # Slack redelivers the same event (e.g. after a slow answer), with retry headers.
    status, _ = await slack.deliver(
        slack.message_event(reply),
        "application/json",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert status == 200
    await slack.wait_for(lambda: "Revision requested" in block_text(reviews["critic"]))
    rows = db_rows(
        pg_url, "SELECT status, answer FROM orchestrate_reviews WHERE status <> 'pending'"
    )
    statuses = sorted(status for status, _ in rows)
    assert statuses == ["awaiting_notes", "decided"]  # the editor still waits for its own notes
    decided = next(json.loads(answer) for status, answer in rows if status == "decided")
    assert decided["notes"] == "more risks please"


async def test_reply_addressed_to_a_worker_goes_to_that_revision(slack, pg_app, pg_url):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    await slack.click(BEN, reviews["critic"], ACTION_REVISE)
    await slack.click(BEN, reviews["editor"], ACTION_REVISE)
    await slack.wait_for(lambda: "reply in this thread" in block_text(reviews["editor"]))
    await slack.reply(BEN, CHANNEL, root.ts, "editor: shorter")
    await slack.wait_for(lambda: "Revision requested" in block_text(reviews["editor"]))
    assert "shorter" in block_text(reviews["editor"])
    assert "reply in this thread" in block_text(reviews["critic"])


async def test_ordinary_thread_chat_changes_nothing(slack, pg_app, pg_url):
    root = await start_run(slack)
    await wait_reviews(slack, root.ts, WORKERS)
    reply, status = await slack.reply(EVE, CHANNEL, root.ts, "looks exciting!")
    assert status == 200
    assert reply.reactions == []
    assert db_rows(pg_url, "SELECT status FROM orchestrate_reviews") == [("pending",)] * 3


async def test_a_button_copied_to_another_channel_or_team_answers_nothing(slack, pg_app, pg_url):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    elsewhere = copy.deepcopy(reviews["critic"])
    elsewhere.channel = "COTHER"  # the same button, clicked from another channel
    await slack.click(ANA, elsewhere, ACTION_APPROVE)
    notice = await slack.wait_for(lambda: slack.responses and slack.responses[-1])
    assert "I don't know this review" in notice["text"]
    assert db_rows(pg_url, "SELECT 1 FROM orchestrate_reviews WHERE status = 'decided'") == []
    await slack.click(ANA, reviews["critic"], ACTION_APPROVE)  # from its own channel: counts
    await slack.wait_for(lambda: "Approved by <@UANA>" in block_text(reviews["critic"]))


async def test_notes_owed_for_a_review_someone_else_approved_meanwhile_are_refused_aloud(
    slack, pg_app, pg_url
):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    await slack.click(ANA, reviews["editor"], ACTION_REVISE)
    await slack.wait_for(lambda: "reply in this thread" in block_text(reviews["editor"]))
    await slack.click(BEN, reviews["editor"], ACTION_APPROVE)  # Ben decides it meanwhile
    await slack.wait_for(lambda: "Approved by <@UBEN>" in block_text(reviews["editor"]))
    await slack.reply(ANA, CHANNEL, root.ts, "make it shorter")  # Ana's notes, too late
    told = await slack.wait_for(lambda: slack.calls_to("chat.postEphemeral"))
    assert told[0].args["user"] == ANA
    assert "<@UBEN> decided that review meanwhile" in told[0].args["text"]
    (answer,) = db_rows(pg_url, "SELECT answer FROM orchestrate_reviews WHERE status = 'decided'")
    assert '"approve"' in answer[0] and "shorter" not in answer[0]
    await slack.reply(EVE, CHANNEL, root.ts, "nice work")  # ordinary chat: no word
    await pg_app.services.orchestrator.wait_idle()
    assert len(slack.calls_to("chat.postEphemeral")) == 1
