"""A deploy (SIGTERM) in the middle of a burst of clicks and commands: every acknowledged one
is stored, or its person is told. The app is a real `python -m slackbot` process."""

from __future__ import annotations

import asyncio
import contextlib

import psycopg
import pytest

from slackbot import server
from slackbot.blocks import ACTION_APPROVE, ACTION_CANCEL
from slackbot.demo.process import AppProcess
from slackbot.inflight import NOT_FINISHED
from slackbot.notices import CANCEL_LATE
from tests.slackbot.conftest import (
    ANA,
    BEN,
    CHANNEL,
    app_settings,
    block_text,
    db_rows,
    open_reviews,
    start_run,
    started,
    wait_reviews,
)

WORKERS = {"researcher", "critic", "editor"}


def process_env(slack, llm_server, pg_url, **more: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_API_URL": slack.base_url + "/api/",
        "DATABASE_URL": pg_url,
        "OPENAI_API_KEY": "test",
        "OPENAI_BASE_URL": llm_server.base_url,
        "ORCHESTRATE_LEASE_SECONDS": "2",
        "LOG_LEVEL": "INFO",
        **more,
    }


@pytest.fixture
async def spawn(slack, llm_server, pg_url, tmp_path):
    processes: list[AppProcess] = []

    async def start(name: str, **more: str) -> AppProcess:
        process = AppProcess(process_env(slack, llm_server, pg_url, **more), tmp_path, name)
        processes.append(process)
        return await process.start()

    yield start
    await asyncio.gather(*(p.stop() for p in processes))


@contextlib.contextmanager
def runs_locked(pg_url):
    """Hold the runs table so no click or command can be stored until the block ends (as a
    slow database or a long transaction would)."""
    with psycopg.connect(pg_url) as conn:
        conn.execute("LOCK TABLE orchestrate_runs IN EXCLUSIVE MODE")
        yield
        conn.rollback()


def decided(pg_url) -> set[str]:
    rows = db_rows(pg_url, "SELECT message_ts FROM orchestrate_reviews WHERE status = 'decided'")
    return {ts for (ts,) in rows}


async def test_sigterm_mid_burst_stores_every_acknowledged_click_and_command(
    slack, llm_server, spawn, pg_url
):
    a = await spawn("a")
    slack.app_url = a.url
    roots = [await start_run(slack, f"topic {i}") for i in range(2)]
    reviews = [await wait_reviews(slack, root.ts, WORKERS) for root in roots]
    clicked = [reviews[0]["researcher"], reviews[0]["critic"], reviews[1]["editor"]]
    with runs_locked(pg_url):
        answers = await asyncio.gather(
            *(slack.click(ANA, message, ACTION_APPROVE) for message in clicked),
            slack.slash_command(BEN, CHANNEL, "A third topic"),
        )
        assert [status for status, _ in answers] == [200] * 4  # all acknowledged
        a.process.terminate()  # SIGTERM, as `docker stop` or Kubernetes send
        await asyncio.sleep(1.0)  # the database stays slow for a while
    assert await asyncio.wait_for(a.process.wait(), 15) == 0
    assert decided(pg_url) == {m.ts for m in clicked}
    topics = db_rows(pg_url, "SELECT topic FROM orchestrate_runs ORDER BY created_at")
    assert [t for (t,) in topics] == ["topic 0", "topic 1", "A third topic"]
    assert slack.responses == []  # nothing to tell: all of it was stored
    log = a.log.read_text()
    assert "waiting for 4 Slack request(s)" in log  # they were in flight at the SIGTERM


async def test_work_still_unstored_after_the_grace_period_is_told(
    slack, llm_server, pg_url, tmp_path, monkeypatch
):
    monkeypatch.setattr(server, "GRACE_SECONDS", 1.0)
    settings = app_settings(slack, llm_server, database_url=pg_url, data_dir=tmp_path)
    app = started(settings, slack)
    await app.__aenter__()
    try:
        root = await start_run(slack)
        reviews = await wait_reviews(slack, root.ts, WORKERS)
    except BaseException:
        await app.__aexit__(None, None, None)
        raise
    with runs_locked(pg_url):
        status, _ = await slack.click(ANA, reviews["critic"], ACTION_APPROVE)
        assert status == 200
        stopping = asyncio.ensure_future(app.__aexit__(None, None, None))  # the shutdown
        told = await slack.wait_for(lambda: slack.responses, 10)
    await stopping
    assert told[-1]["text"] == NOT_FINISHED
    assert told[-1]["user"] == ANA
    assert decided(pg_url) == set()  # not stored: and the person knows to click again


# -- what a person sees, repaired after Slack errors and by the next process -----------------


def root_of(slack, root):
    return slack.messages[(CHANNEL, root.ts)]


def timed_out_notes(slack, root):
    return [m for m in slack.thread(CHANNEL, root.ts) if "Timed out" in block_text(m)]


async def test_cancel_while_slack_fails_updates_is_shown_once_slack_is_back(slack, llm_server, app):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    await slack.wait_for(lambda: "0 of 3" in block_text(root_of(slack, root)))
    slack.fail_next("chat.update", status=503, count=10_000)  # Slack fails updates a while
    status, _ = await slack.click(ANA, root_of(slack, root), ACTION_CANCEL)
    assert status == 200
    told = await slack.wait_for(lambda: slack.responses, 20)
    slack._failures.clear()  # and is back
    assert told[-1]["text"] == CANCEL_LATE  # the canceller knows the display is late
    for worker in WORKERS:
        await slack.wait_for(lambda w=worker: "Cancelled by <@UANA>" in block_text(reviews[w]))
    await slack.wait_for(lambda: "Cancelled by <@UANA>" in block_text(root_of(slack, root)))
    assert open_reviews(slack, root.ts) == {}
    assert ACTION_CANCEL not in str(root_of(slack, root).blocks)


@pytest.mark.parametrize("stop", ["SIGKILL", "SIGTERM"])
async def test_expiry_cut_short_is_shown_by_the_next_process(slack, llm_server, spawn, stop):
    a = await spawn("a", ORCHESTRATE_EXPIRE_AFTER="4s")
    slack.app_url = a.url
    roots = [await start_run(slack)]
    for root in roots:
        await wait_reviews(slack, root.ts, WORKERS)
        await slack.wait_for(lambda r=root: "0 of 3" in block_text(root_of(slack, r)))
    slack.fail_next("chat.update", status=503, count=10_000)  # the "Expired" updates fail
    await slack.wait_for(lambda: slack.calls_to("chat.update", ok_only=False)[-1].status == 503)
    await (a.kill() if stop == "SIGKILL" else a.stop())
    slack._failures.clear()  # Slack is fine again
    b = await spawn("b")
    for root in roots:
        await slack.wait_for(lambda r=root: open_reviews(slack, r.ts) == {}, 20)
        await slack.wait_for(lambda r=root: "Expired" in block_text(root_of(slack, r)), 20)
        assert ACTION_CANCEL not in str(root_of(slack, root).blocks)
        await slack.wait_for(lambda r=root: timed_out_notes(slack, r), 20)
    await asyncio.sleep(1)  # room for a second note to show itself
    assert [len(timed_out_notes(slack, root)) for root in roots] == [1]
    await b.stop()


async def test_a_kill_between_posting_the_root_and_saving_its_ts_posts_no_second_root(
    slack, llm_server, spawn, pg_url
):
    a = await spawn("a")
    slack.app_url = a.url
    slack.fail_next("chat.postMessage", status=429, retry_after=2)  # the root's post waits
    status, _ = await slack.slash_command(ANA, CHANNEL, "Open an office in Berlin")
    assert status == 200
    await slack.wait_for(lambda: db_rows(pg_url, "SELECT run_id FROM orchestrate_runs"))
    with runs_locked(pg_url):  # the ts cannot be saved
        await slack.wait_for(lambda: slack.roots(CHANNEL), 10)  # Slack accepted the root
        await a.kill()
    assert db_rows(pg_url, "SELECT root_ts FROM orchestrate_runs") == [(None,)]
    await spawn("b")  # takes the run over once the dead process's lease runs out
    (root,) = slack.roots(CHANNEL)
    await wait_reviews(slack, root.ts, WORKERS, timeout=30)  # in the first root's thread
    await slack.wait_for(lambda: "0 of 3" in block_text(root_of(slack, root)))
    assert len(slack.roots(CHANNEL)) == 1
    assert db_rows(pg_url, "SELECT root_ts FROM orchestrate_runs") == [(root.ts,)]
