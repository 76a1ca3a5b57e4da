"""Slack waits 3 s for an answer: with the database in trouble (connections terminated, the
server refusing connections, a run's row held locked), a click and a form submission are
stored at once, or the form says in time that it could not save, and an answer stored after
all shows as stored."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from slackbot.blocks import ACTION_APPROVE
from tests.conftest import ADMIN_URL
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
from tests.slackbot.test_faults import allow_connections, dbname, terminate_app_connections
from tests.slackbot.test_own_graph import EXAMPLES, buttons, fill, form, next_open, result, start

WORKERS = {"researcher", "critic", "editor"}
TRIAGE = dict(Severity="sev2", Summary="Search slow", Responders="2")


# Recovery passes every lease_seconds / 3: rare here, so the click or the submission is the
# first to meet the dead connections (a pass meeting some of them first hides how long a
# request waits behind them).
QUIET = {"lease_seconds": 30.0}


@pytest.fixture
async def app(slack, llm_server, pg_url, tmp_path):
    settings = app_settings(slack, llm_server, database_url=pg_url, data_dir=tmp_path, **QUIET)
    async with started(settings, slack) as running:
        yield running


@pytest.fixture
async def examples(slack, llm_server, pg_url, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    settings = app_settings(
        slack, llm_server, database_url=pg_url, data_dir=tmp_path, graph_spec=EXAMPLES, **QUIET
    )
    async with started(settings, slack) as running:
        yield running


async def kill_pooled_connections(app, pg_url, pooled: int = 10) -> None:
    """The pool holds `pooled` idle connections (as after a burst), then every one of them is
    terminated from outside and gone from the server."""
    pool = app.services.store.db.pool

    async def busy() -> None:
        async with pool.connection() as conn:
            await conn.execute("SELECT pg_sleep(0.3)")

    await asyncio.gather(*(busy() for _ in range(pooled)))
    assert pool.get_stats()["pool_available"] >= pooled
    assert terminate_app_connections(pg_url) >= pooled
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        for _ in range(100):  # each backend's goodbye is on its socket once it has exited
            (left,) = admin.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s"
                " AND pid <> pg_backend_pid()",
                (dbname(pg_url),),
            ).fetchone()
            if left == 0:
                break
            await asyncio.sleep(0.05)


def review_message(slack, review):
    return slack.messages[(CHANNEL, review.ts)]


async def test_a_click_after_every_pooled_connection_was_killed_is_stored(slack, app, pg_url):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    await kill_pooled_connections(app, pg_url)
    status, _ = await slack.click(ANA, reviews["critic"], ACTION_APPROVE)
    assert status == 200
    # Stored and shown at once: psycopg_pool's back-off alone made the click wait 5 s for a
    # connection, then retry (4 s leaves room for a busy machine).
    await slack.wait_for(
        lambda: slack.responses or "Approved by <@UANA>" in block_text(reviews["critic"]), 4
    )
    assert slack.responses == []  # nobody was told it failed: it was stored
    assert "Approved by <@UANA>" in block_text(reviews["critic"])


async def test_a_form_submitted_after_every_pooled_connection_was_killed_is_stored(
    slack, examples, pg_url
):
    root = await start(slack, "typed_answer Search is down")
    review = await next_open(slack, root)
    view = await form(slack, review, "Answer")
    await kill_pooled_connections(examples, pg_url)
    status, reply = await slack.submit_view(ANA, fill(view, **TRIAGE))
    assert (status, reply) == (200, None)  # the form closed: stored
    assert "sev2" in await result(slack, root)


async def test_a_form_submitted_while_the_database_refuses_says_so_in_time(slack, examples, pg_url):
    root = await start(slack, "typed_answer Search is down")
    review = await next_open(slack, root)
    view = await form(slack, review, "Answer")
    allow_connections(pg_url, False)
    try:
        await kill_pooled_connections(examples, pg_url, pooled=1)
        status, reply = await slack.submit_view(ANA, fill(view, **TRIAGE))
    finally:
        allow_connections(pg_url, True)
    assert status == 200 and reply["response_action"] == "errors"  # not a 404 after 3 s
    assert "couldn't save" in str(reply["errors"])
    assert slack.open_views(ANA)  # the form stays open, as filled in
    status, reply = await slack.submit_view(ANA, fill(view, **TRIAGE))  # submitted again
    assert (status, reply) == (200, None)
    assert "sev2" in await result(slack, root)


async def test_a_form_answer_stored_after_its_deadline_shows_as_stored(slack, examples, pg_url):
    root = await start(slack, "typed_answer Search is down")
    review = await next_open(slack, root)
    view = await form(slack, review, "Answer")
    async with await psycopg.AsyncConnection.connect(pg_url) as holder:
        # Another process holds the run's row for 4 s (a slow transaction on it).
        await holder.execute("SELECT 1 FROM orchestrate_runs FOR UPDATE")
        status, reply = await slack.submit_view(ANA, fill(view, **TRIAGE))
        assert status == 200 and reply["response_action"] == "errors"
        assert "couldn't save that in time" in str(reply["errors"])
        await asyncio.sleep(1.5)
    # The answer got stored once the row was free: the review and the run show it.
    assert "sev2" in await result(slack, root)
    assert buttons(review_message(slack, review)) == {}
    assert db_rows(pg_url, "SELECT decided_by FROM orchestrate_reviews") == [(ANA,)]
    status, reply = await slack.submit_view(ANA, fill(view, **TRIAGE))  # the form, again
    assert status == 200 and "You already answered this review" in str(reply["view"])
