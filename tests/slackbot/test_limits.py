"""Run limits hold under concurrency: many `/orchestrate` at once, sent to two replicas on one
PostgreSQL, start exactly as many runs as allowed; the others are refused aloud."""

from __future__ import annotations

import asyncio

from tests.slackbot.conftest import ANA, BEN, CHANNEL, EVE, app_settings, db_rows, started


async def _burst(slack, replicas, people, count) -> list[str]:
    """The commands sent at once; what those refused were told (the command's own answer: the
    run is stored, or refused, before Slack gets it)."""
    sent = [
        slack.slash_command(people[i % len(people)], CHANNEL, f"topic {i}", url=replicas[i % 2].url)
        for i in range(count)
    ]
    answers = await asyncio.gather(*sent)
    assert {status for status, _ in answers} == {200}
    return [body.strip() for _, body in answers if body.strip()]


async def _settle(replicas):
    for replica in replicas:
        await replica.services.orchestrator.wait_idle()


async def test_one_person_limit_holds_across_two_replicas(slack, llm_server, pg_url, tmp_path):
    def settings(name):
        return app_settings(
            slack, llm_server, database_url=pg_url, data_dir=tmp_path / name,
            max_runs_per_user=10, max_runs_per_channel=100,
        )  # fmt: skip

    async with started(settings("a"), slack) as a, started(settings("b"), slack) as b:
        told = await _burst(slack, (a, b), [ANA], 20)
        await _settle((a, b))
    assert db_rows(pg_url, "SELECT COUNT(*) FROM orchestrate_runs")[0][0] == 10
    assert len(told) == 10 and all("You already have 10 runs going" in t for t in told)


async def test_one_channel_limit_holds_across_two_replicas(slack, llm_server, pg_url, tmp_path):
    def settings(name):
        return app_settings(
            slack, llm_server, database_url=pg_url, data_dir=tmp_path / name,
            max_runs_per_user=100, max_runs_per_channel=6,
        )  # fmt: skip

    async with started(settings("a"), slack) as a, started(settings("b"), slack) as b:
        told = await _burst(slack, (a, b), [ANA, BEN, EVE], 15)
        await _settle((a, b))
    assert db_rows(pg_url, "SELECT COUNT(*) FROM orchestrate_runs")[0][0] == 6
    assert len(told) == 9 and all("This channel already has 6 runs going" in t for t in told)
