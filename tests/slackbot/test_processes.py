"""Real app processes over one PostgreSQL: concurrent clicks on two replicas, and SIGKILL."""

import asyncio

import pytest

from slackbot.blocks import ACTION_APPROVE, ACTION_REVISE
from slackbot.demo.process import AppProcess
from tests.slackbot.conftest import (
    ANA,
    BEN,
    CHANNEL,
    block_text,
    db_rows,
    start_run,
    summaries,
    wait_reviews,
)

WORKERS = {"researcher", "critic", "editor"}
LEASE_SECONDS = 2


@pytest.fixture
async def spawn(slack, llm_server, pg_url, tmp_path):
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_API_URL": slack.base_url + "/api/",
        "DATABASE_URL": pg_url,
        "OPENAI_API_KEY": "test",
        "OPENAI_BASE_URL": llm_server.base_url,
        "ORCHESTRATE_LEASE_SECONDS": str(LEASE_SECONDS),
        "LOG_LEVEL": "INFO",
    }
    processes: list[AppProcess] = []

    async def start(name: str) -> AppProcess:
        process = AppProcess(env, tmp_path, name)
        processes.append(process)  # stopped at teardown even if it never became healthy
        return await process.start()

    yield start
    await asyncio.gather(*(p.stop() for p in processes))


async def stop_all(*processes):
    await asyncio.gather(*(p.stop() for p in processes))


async def test_last_two_clicks_on_two_replicas_resume_once(slack, llm_server, spawn):
    a, b = await asyncio.gather(spawn("a"), spawn("b"))
    try:
        slack.app_url = a.url
        roots = []
        for i in range(4):  # several runs: each is a chance for the race to go wrong
            root = await start_run(slack, f"topic {i}")
            roots.append(root)
            reviews = await wait_reviews(slack, root.ts, WORKERS)
            await slack.click(ANA, reviews["researcher"], ACTION_APPROVE, url=a.url)
            await slack.wait_for(lambda r=reviews: "Approved" in block_text(r["researcher"]))
            await asyncio.gather(
                slack.click(ANA, reviews["critic"], ACTION_APPROVE, url=a.url),
                slack.click(BEN, reviews["editor"], ACTION_APPROVE, url=b.url),
            )
            await slack.wait_for(lambda r=root: summaries(slack, r.ts), timeout=20)
        await asyncio.sleep(LEASE_SECONDS)  # room for a duplicate resume to show itself
        assert [len(summaries(slack, r.ts)) for r in roots] == [1, 1, 1, 1]
        assert len(llm_server.requests_where("final summary")) == 4
        assert len(slack.calls_to("chat.postMessage")) == 4 * 5  # root, 3 reviews, summary
    finally:
        await stop_all(a, b)


async def test_sigkill_mid_step_then_restart(slack, llm_server, spawn, pg_url):
    a = await spawn("a")
    slack.app_url = a.url
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    await slack.click(ANA, reviews["researcher"], ACTION_APPROVE)
    await slack.wait_for(lambda: "Approved" in block_text(reviews["researcher"]))
    await a.kill()
    a2 = await spawn("a2")
    try:
        slack.app_url = a2.url
        await slack.click(ANA, reviews["critic"], ACTION_APPROVE)
        await slack.click(ANA, reviews["editor"], ACTION_APPROVE)
        await slack.wait_for(lambda: summaries(slack, root.ts), timeout=20)
        await asyncio.sleep(LEASE_SECONDS)
        assert len(summaries(slack, root.ts)) == 1
        assert len(slack.calls_to("chat.postMessage")) == 5  # nothing posted twice
        assert db_rows(pg_url, "SELECT status FROM orchestrate_runs") == [("done",)]
    finally:
        await a2.stop()


async def test_sigkill_while_drafting_then_restart(slack, llm_server, spawn):
    llm_server.delay = 1.5
    a = await spawn("a")
    slack.app_url = a.url
    root = await start_run(slack)
    await slack.wait_for(lambda: len(llm_server.requests) >= 4, timeout=20)  # plan + 3 drafts
    await a.kill()
    llm_server.delay = 0
    a2 = await spawn("a2")  # picks the run up once the dead process's lease expires
    try:
        reviews = await wait_reviews(slack, root.ts, WORKERS, timeout=30)
        for message in reviews.values():
            await slack.click(ANA, message, ACTION_APPROVE, url=a2.url)
        await slack.wait_for(lambda: summaries(slack, root.ts), timeout=20)
        await asyncio.sleep(LEASE_SECONDS)
        assert len(summaries(slack, root.ts)) == 1
        assert len(slack.calls_to("chat.postMessage")) == 5
    finally:
        await a2.stop()


async def test_sigkill_while_resuming_then_restart(slack, llm_server, spawn, pg_url):
    a = await spawn("a")
    slack.app_url = a.url
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    await slack.click(ANA, reviews["researcher"], ACTION_APPROVE)
    await slack.click(ANA, reviews["critic"], ACTION_APPROVE)
    await slack.click(BEN, reviews["editor"], ACTION_REVISE)
    await slack.wait_for(lambda: "reply in this thread" in block_text(reviews["editor"]))
    llm_server.delay = 1.5
    await slack.reply(BEN, CHANNEL, root.ts, "cite the lease")  # completes the step: resume
    await slack.wait_for(lambda: llm_server.requests_where("Reviewer notes: cite the lease"))
    await a.kill()  # while the resumed run is redrafting
    llm_server.delay = 0
    a2 = await spawn("a2")
    try:
        redraft = (await wait_reviews(slack, root.ts, {"editor"}, timeout=30))["editor"]
        assert "addressing: cite the lease" in block_text(redraft)
        await slack.click(BEN, redraft, ACTION_APPROVE, url=a2.url)
        await slack.wait_for(lambda: summaries(slack, root.ts), timeout=20)
        await asyncio.sleep(LEASE_SECONDS)
        assert len(summaries(slack, root.ts)) == 1
        assert len(slack.calls_to("chat.postMessage")) == 6  # root, 3 + 1 reviews, summary
        decided = db_rows(pg_url, "SELECT count(*) FROM orchestrate_reviews WHERE status='decided'")
        assert decided == [(4,)]
    finally:
        await a2.stop()


async def test_replicas_starting_together_all_come_up(spawn, pg_url):
    # Each sets up the schema at the same moment; the checkpointer's migrations use
    # CREATE INDEX CONCURRENTLY, which once deadlocked against a blocked setup lock.
    processes = await asyncio.gather(*(spawn(f"r{i}") for i in range(3)))
    assert all(p.process and p.process.returncode is None for p in processes)
    tables = db_rows(pg_url, "SELECT count(*) FROM orchestrate_runs")
    assert tables == [(0,)]
    await asyncio.gather(*(p.stop() for p in processes))
    assert all(p.process and p.process.returncode == 0 for p in processes)  # clean SIGTERM exit
