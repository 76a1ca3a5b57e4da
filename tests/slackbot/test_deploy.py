"""A deploy (SIGTERM) or a crash (SIGKILL) in the middle of a burst of clicks, commands and
thread replies: every acknowledged one is stored (each is stored before its ack), and what a
person sees catches up. The app is a real `python -m slackbot` process."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import psycopg
import pytest

from slackbot import server
from slackbot.blocks import ACTION_APPROVE, ACTION_CANCEL, ACTION_REVISE
from slackbot.demo.process import AppProcess
from slackbot.inflight import NOT_FINISHED
from slackbot.notices import CANCEL_LATE
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
        burst = asyncio.gather(
            *(slack.click(ANA, message, ACTION_APPROVE) for message in clicked),
            slack.slash_command(BEN, CHANNEL, "A third topic"),
        )
        await asyncio.sleep(0.5)  # all four in flight, none stored yet
        a.process.terminate()  # SIGTERM, as `docker stop` or Kubernetes send
        await asyncio.sleep(1.0)  # the database stays slow for a while
    answers = await burst
    assert [status for status, _ in answers] == [200] * 4  # stored, then acknowledged
    assert await asyncio.wait_for(a.process.wait(), 15) == 0
    assert decided(pg_url) == {m.ts for m in clicked}
    topics = db_rows(pg_url, "SELECT topic FROM orchestrate_runs ORDER BY created_at")
    assert [t for (t,) in topics] == ["topic 0", "topic 1", "A third topic"]
    assert slack.responses == []  # nothing to tell: all of it was stored
    assert "shutting down" in a.log.read_text()  # they were in flight at the SIGTERM


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
        click = asyncio.ensure_future(slack.click(ANA, reviews["critic"], ACTION_APPROVE))
        await asyncio.sleep(0.5)  # in flight: not stored, so not acknowledged
        stopping = asyncio.ensure_future(app.__aexit__(None, None, None))  # the shutdown
        told = await slack.wait_for(lambda: slack.responses, 10)
    await stopping
    answer = (await asyncio.gather(click, return_exceptions=True))[0]
    assert isinstance(answer, Exception) or answer[0] != 200  # Slack shows the click failed
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


# -- a crash (SIGKILL) loses nothing that was acknowledged --------------------------------------


def approved(slack, message) -> bool:
    return "Approved by <@UANA>" in block_text(message) and ACTION_APPROVE not in str(
        message.blocks
    )


async def test_sigkill_mid_burst_loses_no_acknowledged_click_or_command(
    slack, llm_server, spawn, pg_url
):
    a = await spawn("a")
    slack.app_url = a.url
    roots = [await start_run(slack, f"topic {i}") for i in range(2)]
    reviews = [await wait_reviews(slack, root.ts, WORKERS) for root in roots]
    first = await asyncio.gather(  # stored and acknowledged before the crash
        slack.click(ANA, reviews[0]["researcher"], ACTION_APPROVE),
        slack.slash_command(BEN, CHANNEL, "A stored topic"),
    )
    assert [status for status, _ in first] == [200, 200]
    clicked = [reviews[0]["critic"], reviews[1]["researcher"], reviews[1]["editor"]]
    with runs_locked(pg_url):
        burst = asyncio.gather(
            *(slack.click(ANA, message, ACTION_APPROVE) for message in clicked),
            slack.slash_command(BEN, CHANNEL, "A lost topic"),
            return_exceptions=True,
        )
        await asyncio.sleep(1.0)  # all four in flight
        await a.kill()  # SIGKILL: no grace period
        answers = await burst
    acknowledged = [a for a in answers if not isinstance(a, BaseException) and a[0] == 200]
    assert acknowledged == []  # none was stored, so none was acknowledged
    assert decided(pg_url) == {reviews[0]["researcher"].ts}
    topics = db_rows(pg_url, "SELECT topic FROM orchestrate_runs ORDER BY created_at")
    assert [t for (t,) in topics] == ["topic 0", "topic 1", "A stored topic"]
    await spawn("b")
    await slack.wait_for(lambda: approved(slack, reviews[0]["researcher"]), 20)
    stored = await slack.wait_for(lambda: [r for r in slack.roots(CHANNEL) if "stored" in
                                           block_text(r)], 20)  # fmt: skip
    assert len(stored) == 1
    assert all(ACTION_APPROVE in str(m.blocks) for m in clicked)  # still to be clicked again


async def test_a_click_stored_just_before_a_sigkill_is_shown_by_the_next_process(
    slack, llm_server, spawn, pg_url
):
    a = await spawn("a")
    slack.app_url = a.url
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    await slack.wait_for(lambda: "0 of 3" in block_text(root_of(slack, root)))
    slack.fail_next("chat.update", status=503, count=10_000)  # its display does not get through
    status, _ = await slack.click(ANA, reviews["critic"], ACTION_APPROVE)
    assert status == 200
    await slack.wait_for(lambda: slack.calls_to("chat.update", ok_only=False)[-1].status == 503)
    await a.kill()
    slack._failures.clear()
    assert decided(pg_url) == {reviews["critic"].ts}
    assert not approved(slack, reviews["critic"])  # still shows its buttons
    await spawn("b")
    await slack.wait_for(lambda: approved(slack, reviews["critic"]), 20)
    await slack.wait_for(lambda: "1 of 3" in block_text(root_of(slack, root)), 20)
    assert set(open_reviews(slack, root.ts)) == WORKERS - {"critic"}


async def test_sigterm_mid_burst_of_thread_replies_loses_none(slack, llm_server, spawn, pg_url):
    """Revision notes sent as the app stops, with the database too slow for the grace period:
    none is acknowledged unstored; those Slack sends again are stored, each once."""
    a = await spawn("a")
    slack.app_url = a.url
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    for worker in sorted(WORKERS):
        status, _ = await slack.click(ANA, reviews[worker], ACTION_REVISE)
        assert status == 200
    notes = [f"{worker}: sharper, please" for worker in sorted(WORKERS)]
    with runs_locked(pg_url):
        burst = asyncio.gather(*(slack.reply(ANA, CHANNEL, root.ts, text) for text in notes))
        await asyncio.sleep(0.5)  # in flight
        a.process.terminate()
        sent = await burst
        await asyncio.sleep(server.GRACE_SECONDS + 1)  # slower than the whole grace period
    await asyncio.wait_for(a.process.wait(), 15)
    stored = {ts for (ts,) in db_rows(pg_url, "SELECT notes_ts FROM orchestrate_reviews"
                                               " WHERE notes_ts IS NOT NULL")}  # fmt: skip
    acknowledged = {message.ts for message, status in sent if status == 200}
    assert acknowledged <= stored  # every acknowledged one is stored
    b = await spawn("b")
    for message, status in sent:  # Slack sends again what got no 200
        if status != 200:
            body = json.dumps(slack.event_callback(message))
            assert (await slack.deliver(body, "application/json", url=b.url))[0] == 200
    rows = db_rows(pg_url, "SELECT notes_ts FROM orchestrate_reviews WHERE notes_ts IS NOT NULL")
    assert sorted(ts for (ts,) in rows) == sorted(message.ts for message, _ in sent)


async def test_sigterm_mid_burst_of_form_submissions_stores_every_acknowledged_one(
    slack, llm_server, spawn, pg_url
):
    """Three typed forms submitted as the app stops, with the database slow: each closes
    (stored, then answered) and each run goes on; nobody has to submit again."""
    from tests.slackbot.test_deadlines import TRIAGE
    from tests.slackbot.test_own_graph import fill, form, next_open, start

    examples = str(Path(__file__).parents[2] / "graphs" / "examples" / "langgraph.json")
    a = await spawn("a", ORCHESTRATE_GRAPH=examples)
    slack.app_url = a.url
    users = [ANA, BEN, EVE]
    roots = [await start(slack, f"typed_answer Search is down {i}") for i in range(3)]
    views = []
    for user, root in zip(users, roots, strict=True):
        views.append(await form(slack, await next_open(slack, root), "Answer", user=user))
    with runs_locked(pg_url):
        burst = asyncio.gather(
            *(
                slack.submit_view(user, fill(view, **TRIAGE), view=view)
                for user, view in zip(users, views, strict=True)
            )
        )
        await asyncio.sleep(0.5)  # all three in flight, none stored yet
        a.process.terminate()
        await asyncio.sleep(1.0)
    answers = await burst
    assert answers == [(200, None)] * 3  # each form closed: its answer was stored
    assert await asyncio.wait_for(a.process.wait(), 15) == 0
    rows = db_rows(pg_url, "SELECT COUNT(*) FROM orchestrate_reviews WHERE status = 'decided'")
    assert rows == [(3,)]
    await spawn("b", ORCHESTRATE_GRAPH=examples)
    for root in roots:  # each run resumed with its answer, by the next process if need be
        await slack.wait_for(lambda r=root: "Done" in block_text(root_of(slack, r)), 30)
