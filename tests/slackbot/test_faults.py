"""Faults injected for real: PostgreSQL connections terminated, a database refusing
connections, Slack failing for a while. No answer is lost without the person being told,
nothing is posted twice, every stopped run can go on."""

from __future__ import annotations

import asyncio

import psycopg

from slackbot.blocks import ACTION_APPROVE
from slackbot.postgres import open_pool
from tests.conftest import ADMIN_URL
from tests.slackbot.conftest import (
    ANA,
    CHANNEL,
    block_text,
    db_rows,
    open_reviews,
    start_run,
    summaries,
    wait_reviews,
)

WORKERS = {"researcher", "critic", "editor"}


def dbname(pg_url: str) -> str:
    return psycopg.conninfo.conninfo_to_dict(pg_url)["dbname"]


def terminate_app_connections(pg_url: str) -> int:
    """Kill every connection to the test database (from outside it, as an operator would)."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"
            " AND pid <> pg_backend_pid()",
            (dbname(pg_url),),
        ).fetchall()
    return len(rows)


def allow_connections(pg_url: str, allowed: bool) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        flag = "true" if allowed else "false"
        admin.execute(f'ALTER DATABASE "{dbname(pg_url)}" WITH ALLOW_CONNECTIONS {flag}')


async def test_clicks_after_connections_were_killed_are_stored(slack, pg_app, pg_url):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    assert terminate_app_connections(pg_url) >= 1  # every pooled connection is dead now
    for worker in sorted(WORKERS):
        status, _ = await slack.click(ANA, reviews[worker], ACTION_APPROVE)
        assert status == 200
    await slack.wait_for(lambda: summaries(slack, root.ts), 20)
    assert all("Approved by <@UANA>" in block_text(m) for m in reviews.values())
    assert slack.responses == []  # nobody had to be told anything


async def test_a_click_while_the_database_refuses_connections_is_refused_aloud(
    slack, pg_app, pg_url
):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    allow_connections(pg_url, False)
    try:
        terminate_app_connections(pg_url)
        await slack.click(ANA, reviews["critic"], ACTION_APPROVE)
        told = await slack.wait_for(lambda: slack.responses, 30)
    finally:
        allow_connections(pg_url, True)
    assert "couldn't save that just now (the database was unavailable)" in told[-1]["text"]
    assert "critic" in open_reviews(slack, root.ts)  # still open: nothing pretended to be saved
    await slack.click(ANA, reviews["critic"], ACTION_APPROVE)  # the person clicks again
    await slack.wait_for(lambda: "Approved by <@UANA>" in block_text(reviews["critic"]), 20)


async def test_a_slack_outage_while_reviews_are_posted_pauses_the_run_until_slack_is_back(
    slack, llm_server, pg_app
):
    llm_server.delay = 0.5  # Slack goes down while the workers draft
    root = await start_run(slack)
    slack.fail_next("chat.postMessage", status=500, count=10, retry_after=0)
    await wait_reviews(slack, root.ts, WORKERS, timeout=40)
    posted = [c for c in slack.calls_to("chat.postMessage") if c.args.get("thread_ts")]
    assert len(posted) == 3  # each review once: none lost, none twice after the retries
    assert len(slack.calls_to("chat.postMessage", ok_only=False)) > 4  # Slack did fail
    assert not any("stopped" in block_text(m) for m in slack.thread(CHANNEL, root.ts))


async def test_a_slow_root_post_is_not_posted_twice_by_recovery(slack, pg_app):
    slack.fail_next("chat.postMessage", status=429, retry_after=5)  # longer than the 3 s lease
    status, _ = await slack.slash_command(ANA, CHANNEL, "Open an office in Berlin")
    assert status == 200
    root = await slack.wait_for(lambda: slack.roots(CHANNEL) and slack.roots(CHANNEL)[0], 20)
    await wait_reviews(slack, root.ts, WORKERS)
    await asyncio.sleep(6)  # past the Retry-After: the slow post has certainly finished
    assert len(slack.roots(CHANNEL)) == 1  # the lease (3 s) was held while Slack retried


async def test_connections_killed_while_a_step_resumes_lose_nothing(
    slack, llm_server, pg_app, pg_url
):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    llm_server.delay = 1.0  # the resumed graph is mid-run (the summary's LLM call) …
    for message in reviews.values():
        await slack.click(ANA, message, ACTION_APPROVE)
    await slack.wait_for(lambda: llm_server.requests_where("final summary"), 20)
    assert terminate_app_connections(pg_url) >= 1  # … when every connection dies
    await slack.wait_for(lambda: summaries(slack, root.ts), 40)
    await pg_app.services.orchestrator.wait_idle()
    assert len(summaries(slack, root.ts)) == 1  # the checkpoint write was retried, once
    assert not any("stopped" in block_text(m) for m in slack.thread(CHANNEL, root.ts))
    assert db_rows(pg_url, "SELECT status FROM orchestrate_runs") == [("done",)]


async def test_the_pool_hands_out_no_connection_the_server_closed(pg_url):
    """The check reads the socket, not the server (a query per checkout tripled the
    transactions per click): a terminated connection is replaced before anyone gets it."""
    async with open_pool(pg_url, max_size=1) as pool:
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")
        assert terminate_app_connections(pg_url) == 1
        await asyncio.sleep(0.1)  # the server's goodbye reaches the socket
        async with pool.connection() as conn:  # no retry: the dead one never comes out
            assert (await (await conn.execute("SELECT 1 AS ok")).fetchone())["ok"] == 1
        assert pool.get_stats().get("connections_lost", 0) == 1


async def test_a_slow_graph_keeps_its_lease_and_stops_once_taken_over(
    slack, llm_server, pg_app, pg_url
):
    """Drafts slower than the 3 s lease: the process renews it (nobody takes the run over);
    when another process does take it (this one stalled), this one stops driving it."""
    llm_server.delay = 6.0
    root = await start_run(slack)
    await slack.wait_for(lambda: llm_server.requests_where("Your task:"), 20)  # drafting
    await asyncio.sleep(3.5)  # past the 3 s lease it had when drafting began
    ((owner, until),) = db_rows(pg_url, "SELECT lease_owner, lease_until FROM orchestrate_runs")
    store = pg_app.services.orchestrator.store
    assert owner == store.owner and until > store.clock()  # renewed, still ours
    db_rows(
        pg_url,
        "UPDATE orchestrate_runs SET lease_owner = 'another process', lease_until = %s RETURNING 1",
        store.clock() + 60,  # … which keeps renewing it
    )
    held = pg_app.services.orchestrator.driver.held
    await slack.wait_for(lambda: not held, 1.5)  # one renewal later, not when drafts end
    await asyncio.sleep(2.5)  # its drafts would have come back by now
    assert open_reviews(slack, root.ts) == {}  # posted by nobody: the other process drives it
    assert db_rows(pg_url, "SELECT lease_owner FROM orchestrate_runs") == [("another process",)]


async def test_the_pool_replaces_many_dead_connections_without_backing_off(pg_url):
    """psycopg_pool alone backs off 1 s, 2 s, 4 s… after each connection failing its check:
    with five dead ones idle, the next checkout timed out (5 s) instead of getting a new one."""
    async with open_pool(pg_url, max_size=5) as pool:

        async def busy() -> None:
            async with pool.connection() as conn:
                await conn.execute("SELECT pg_sleep(0.3)")

        await asyncio.gather(*(busy() for _ in range(5)))
        assert terminate_app_connections(pg_url) == 5
        await asyncio.sleep(0.2)  # the server's goodbyes reach the sockets
        async with pool.connection() as conn:
            assert (await (await conn.execute("SELECT 1 AS ok")).fetchone())["ok"] == 1
        assert pool.get_stats().get("connections_lost", 0) == 5
