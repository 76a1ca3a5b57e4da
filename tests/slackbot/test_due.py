"""Expiry (fail closed) and reminders, with an injected clock: no real waiting."""

from __future__ import annotations

import asyncio
import copy
import time

from slackbot.blocks import ACTION_APPROVE
from slackbot.store import RunStatus
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

WORKERS = {"researcher", "critic", "editor"}
HOUR = 3600.0


class Clock:
    """Real time plus however far a test has moved it on."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> float:
        return time.time() + self.ahead


def use_clock(running, clock: Clock) -> None:
    running.services.store.clock = clock


async def test_an_unanswered_step_expires_and_is_never_reported_as_answered(
    slack, llm_server, pg_url, tmp_path
):
    settings = app_settings(
        slack, llm_server, database_url=pg_url, data_dir=tmp_path, expire_after=72 * HOUR
    )
    clock = Clock()
    async with started(settings, slack) as app:
        use_clock(app, clock)
        root = await start_run(slack)
        reviews = await wait_reviews(slack, root.ts, WORKERS)
        await slack.click(ANA, reviews["researcher"], ACTION_APPROVE)
        await slack.wait_for(lambda: "Approved by" in block_text(reviews["researcher"]))
        requests = len(llm_server.requests)
        stale = copy.deepcopy(reviews["critic"])  # as another screen still shows it
        await app.services.orchestrator.run_due_work()
        # The step waits once its reviews are all posted (a click may come in before that).
        await slack.wait_for(
            lambda: db_rows(pg_url, "SELECT status FROM orchestrate_runs") == [("waiting",)]
        )

        clock.ahead = 73 * HOUR
        await app.services.orchestrator.run_due_work()
        for worker in ("critic", "editor"):
            await slack.wait_for(
                lambda w=worker: "Expired: no answer since" in block_text(reviews[w])
            )
        assert "Approved by <@UANA>" in block_text(reviews["researcher"])
        root_now = slack.messages[(CHANNEL, root.ts)]
        await slack.wait_for(lambda: "Expired: no answer since" in block_text(root_now))
        notes = [m for m in slack.thread(CHANNEL, root.ts) if "Timed out" in block_text(m)]
        assert len(notes) == 1 and "Nothing was approved or rejected" in block_text(notes[0])
        await slack.click(BEN, stale, ACTION_APPROVE)
        notice = await slack.wait_for(lambda: slack.responses and slack.responses[-1])
        assert "This review expired" in notice["text"]
        await asyncio.sleep(0.5)
        assert len(llm_server.requests) == requests  # the graph was never resumed
    assert db_rows(pg_url, "SELECT status FROM orchestrate_runs") == [(RunStatus.EXPIRED.value,)]
    statuses = sorted(r[0] for r in db_rows(pg_url, "SELECT status FROM orchestrate_reviews"))
    assert statuses == ["decided", "expired", "expired"]


def reminders(slack, root):
    return [m for m in slack.thread(CHANNEL, root.ts) if "⏰" in block_text(m)]


async def test_reminders_are_sent_once_each_across_replicas_and_a_restart(
    slack, llm_server, pg_url, tmp_path
):
    def settings(name):
        return app_settings(
            slack, llm_server, database_url=pg_url, data_dir=tmp_path / name, remind_after=HOUR
        )

    clock = Clock()
    async with started(settings("a"), slack) as first:
        use_clock(first, clock)
        root = await start_run(slack, url=first.url)
        await wait_reviews(slack, root.ts, WORKERS)
        async with started(settings("b"), slack) as second:
            use_clock(second, clock)
            clock.ahead = HOUR + 1
            await asyncio.gather(
                first.services.orchestrator.run_due_work(),
                second.services.orchestrator.run_due_work(),
            )
            (one,) = reminders(slack, root)
            assert f"<@{ANA}>" in block_text(one) and "3 review(s)" in block_text(one)

            # A replica claims the next one and dies before marking it sent (after posting).
            clock.ahead = 2 * HOUR + 2
            run = await second.services.store.claim_reminder()
            assert run is not None
            reviews = await second.services.store.step_reviews(run.run_id, run.step)
            await second.services.orchestrator.thread.post_reminder(run, [ANA], reviews)
        assert len(reminders(slack, root)) == 2

        async with started(settings("c"), slack) as restarted:  # a new process
            use_clock(restarted, clock)
            clock.ahead = 2 * HOUR + 200  # past the dead replica's claim
            await restarted.services.orchestrator.run_due_work()
            await first.services.orchestrator.run_due_work()
            assert len(reminders(slack, root)) == 2  # found by its metadata, not posted again

            for hours in (4, 5, 6):
                clock.ahead = hours * HOUR + 300
                await restarted.services.orchestrator.run_due_work()
                await first.services.orchestrator.run_due_work()
            assert len(reminders(slack, root)) == 3  # at most 3


async def test_a_replica_that_dies_mid_reminders_holds_one_run_not_the_batch(
    slack, llm_server, pg_url, tmp_path
):
    def settings(name):
        return app_settings(
            slack, llm_server, database_url=pg_url, data_dir=tmp_path / name, remind_after=HOUR
        )

    clock = Clock()
    async with started(settings("a"), slack) as first, started(settings("b"), slack) as second:
        use_clock(first, clock)
        use_clock(second, clock)
        roots = [await start_run(slack, f"topic {i}", url=first.url) for i in range(3)]
        for root in roots:
            await wait_reviews(slack, root.ts, WORKERS)
        waiting = [("waiting",)] * 3
        await slack.wait_for(
            lambda: db_rows(pg_url, "SELECT status FROM orchestrate_runs") == waiting
        )
        clock.ahead = HOUR + 60  # all three are due

        # The first replica starts its reminders and dies at its first post (its own
        # background loop stopped first, so that this pass is its last act).
        await first.services.orchestrator.close()
        posting = asyncio.Event()

        async def dies(*_: object) -> None:
            posting.set()
            await asyncio.Event().wait()

        first.services.orchestrator.thread.post_reminder = dies  # type: ignore[method-assign]
        dying = asyncio.ensure_future(first.services.orchestrator.run_due_work())
        await asyncio.wait_for(posting.wait(), 10)
        dying.cancel()

        def counts():
            return sorted(len(reminders(slack, root)) for root in roots)

        await second.services.orchestrator.run_due_work()  # at once, not a minute later
        await slack.wait_for(lambda: counts() == [0, 1, 1], 5)
        assert counts() == [0, 1, 1]  # the dead replica holds one run's reminder, not all three
        clock.ahead += second.services.store.lease_seconds + 1  # the dead one's claim ran out
        await second.services.orchestrator.run_due_work()
        await slack.wait_for(lambda: counts() == [1, 1, 1], 5)
        assert counts() == [1, 1, 1]  # ...and only for one lease
