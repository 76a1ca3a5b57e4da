"""GET /metrics over real HTTP: a whole run counted as a person would tell it, every way a run
ends, Slack's refusals by method and error; and the app's JSON log lines name run and review."""

from __future__ import annotations

import io
import json
import logging
import time

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.errors import SlackApiError

from slackbot.blocks import ACTION_APPROVE, ACTION_CANCEL, ACTION_REVISE
from slackbot.logs import JsonFormatter
from slackbot.metrics import REVIEW_KINDS, Metrics
from tests.slackbot.conftest import (
    ANA,
    BEN,
    CHANNEL,
    app_settings,
    block_text,
    db_rows,
    start_run,
    started,
    summaries,
    wait_reviews,
)

WORKERS = {"researcher", "critic", "editor"}
HOUR = 3600.0

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(app) -> Samples:
    async with aiohttp.ClientSession() as http, http.get(app.url + "/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def labelled(samples: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample of `name` with a non-zero value, by its labels."""
    return {labels: v for (n, labels), v in samples.items() if n == name and v}


def root_text(slack, root) -> str:
    return block_text(slack.messages[(CHANNEL, root.ts)])


async def test_metrics_count_a_whole_run(slack, llm_server, pg_app, pg_url):
    before = await scrape(pg_app)
    assert value(before, "orchestrate_runs_started_total") == 0
    assert value(before, "orchestrate_runs_waiting") == 0
    for kind in REVIEW_KINDS:  # every kind and outcome is there from the start, at 0
        assert value(before, "orchestrate_reviews_answered_total", kind=kind) == 0
    for outcome in ("finished", "failed", "cancelled", "expired"):
        assert value(before, "orchestrate_runs_ended_total", outcome=outcome) == 0

    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    await slack.wait_for(lambda: "Waiting for reviews: 0 of 3 in" in root_text(slack, root))
    waiting = await scrape(pg_app)
    assert value(waiting, "orchestrate_runs_started_total") == 1
    assert value(waiting, "orchestrate_runs_waiting") == 1
    assert value(waiting, "orchestrate_step_resume_seconds_count") == 0

    await slack.click(ANA, reviews["researcher"], ACTION_APPROVE)
    await slack.wait_for(lambda: "Approved by" in block_text(reviews["researcher"]))
    await slack.click(BEN, reviews["editor"], ACTION_REVISE)
    await slack.wait_for(lambda: "reply in this thread" in block_text(reviews["editor"]))
    revising = await scrape(pg_app)  # Revise alone is no answer yet: its notes are
    assert value(revising, "orchestrate_reviews_answered_total", kind="worker") == 1
    reply, _ = await slack.reply(BEN, CHANNEL, root.ts, "Cite the lease terms")
    await slack.wait_for(lambda: reply.reactions == ["memo"])
    await slack.click(ANA, reviews["critic"], ACTION_APPROVE)  # the step's last answer
    redraft = (await wait_reviews(slack, root.ts, {"editor"}))["editor"]
    await slack.wait_for(lambda: "0 of 1 in · round 2" in root_text(slack, root))
    round_two = await scrape(pg_app)
    assert value(round_two, "orchestrate_reviews_answered_total", kind="worker") == 3
    assert value(round_two, "orchestrate_step_resume_seconds_count") == 1
    assert value(round_two, "orchestrate_runs_waiting") == 1

    # Slack refuses the update that shows the last approval: counted, logged with the run
    # and the review, and the run still finishes (the answer was stored first).
    slack.fail_next("chat.update", status=400)  # the emulator answers `ratelimited`
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    logging.getLogger("slackbot").addHandler(handler)
    try:
        await slack.click(BEN, redraft, ACTION_APPROVE)
        await slack.wait_for(lambda: summaries(slack, root.ts))
        await slack.wait_for(lambda: "Done" in root_text(slack, root))
        await pg_app.services.orchestrator.wait_idle()
    finally:
        logging.getLogger("slackbot").removeHandler(handler)

    after = await scrape(pg_app)
    assert value(after, "orchestrate_runs_started_total") == 1
    assert labelled(after, "orchestrate_runs_ended_total") == {(("outcome", "finished"),): 1}
    assert labelled(after, "orchestrate_reviews_answered_total") == {(("kind", "worker"),): 4}
    # Two steps resumed: all three first drafts answered, then the redraft.
    assert value(after, "orchestrate_step_resume_seconds_count") == 2
    assert value(after, "orchestrate_step_resume_seconds_bucket", le="+Inf") == 2
    assert 0 < value(after, "orchestrate_step_resume_seconds_sum") < 10  # type: ignore[operator]
    assert value(after, "orchestrate_runs_waiting") == 0
    assert labelled(after, "orchestrate_slack_api_errors_total") == {
        (("error", "ratelimited"), ("method", "chat.update")): 1
    }
    assert labelled(after, "orchestrate_graph_errors_total") == {}

    (run_id,) = db_rows(pg_url, "SELECT run_id FROM orchestrate_runs")[0]
    (review_id,) = db_rows(pg_url, "SELECT review_id FROM orchestrate_reviews WHERE step = 2")[0]
    logged = [json.loads(line) for line in lines.getvalue().splitlines()]
    # The update was owed with the answer (the outbox): Slack refused it for good, so dropped.
    refused = [e for e in logged if e["message"].startswith(f"could not update review {review_id}")]
    assert len(refused) == 1, logged
    assert refused[0]["run_id"] == run_id and refused[0]["review_id"] == review_id
    assert refused[0]["level"] == "WARNING" and refused[0]["logger"] == "slackbot.outbox"

    # Any call Slack refuses counts, by method and Slack's own error code.
    with pytest.raises(SlackApiError):
        await pg_app.services.slack.chat_update(channel=CHANNEL, ts="1.000001", text="x")
    refused_now = await scrape(pg_app)
    errors = labelled(refused_now, "orchestrate_slack_api_errors_total")
    assert errors[(("error", "message_not_found"), ("method", "chat.update"))] == 1


class Clock:
    """Real time plus however far the test moved it on (the store's clock only)."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> float:
        return time.time() + self.ahead


async def test_metrics_count_failed_cancelled_and_expired_runs(slack, llm_server, pg_url, tmp_path):
    settings = app_settings(
        slack, llm_server, database_url=pg_url, data_dir=tmp_path, expire_after=72 * HOUR
    )
    clock = Clock()
    async with started(settings, slack) as app:
        app.services.store.clock = clock

        llm_server.fail_next(1, status=500)  # the plan call: the run stops
        failed = await start_run(slack, "Open an office in Berlin")
        await slack.wait_for(lambda: "Stopped" in root_text(slack, failed))

        cancelled = await start_run(slack, "Open an office in Lisbon")
        await wait_reviews(slack, cancelled.ts, WORKERS)
        await slack.wait_for(lambda: "0 of 3 in" in root_text(slack, cancelled))
        root = slack.messages[(CHANNEL, cancelled.ts)]
        await slack.click(ANA, root, ACTION_CANCEL)
        await slack.wait_for(lambda: "Cancelled by" in root_text(slack, cancelled))

        expired = await start_run(slack, "Open an office in Oslo")
        await wait_reviews(slack, expired.ts, WORKERS)
        await slack.wait_for(lambda: "0 of 3 in" in root_text(slack, expired))
        assert value(await scrape(app), "orchestrate_runs_waiting") == 1
        clock.ahead = 73 * HOUR
        await app.services.orchestrator.run_due_work()
        await slack.wait_for(lambda: "Expired" in root_text(slack, expired))

        samples = await scrape(app)
    assert value(samples, "orchestrate_runs_started_total") == 3
    assert labelled(samples, "orchestrate_runs_ended_total") == {
        (("outcome", "failed"),): 1,
        (("outcome", "cancelled"),): 1,
        (("outcome", "expired"),): 1,
    }
    assert labelled(samples, "orchestrate_graph_errors_total") == {
        (("error_type", "OpenAIAPIError"),): 1  # langchain-openai's, for the LLM's HTTP 500
    }
    assert value(samples, "orchestrate_runs_waiting") == 0
    assert labelled(samples, "orchestrate_reviews_answered_total") == {}  # nobody answered


def test_each_app_has_its_own_registry():
    """Two apps in one process (tests, the demo) count apart and do not collide."""
    one, two = Metrics(), Metrics()
    one.run_started()
    assert one.registry.get_sample_value("orchestrate_runs_started_total") == 1
    assert two.registry.get_sample_value("orchestrate_runs_started_total") == 0


class BrokenDatabase:
    def transaction(self):
        raise ConnectionError("the database is down")


async def test_waiting_gauge_is_left_out_when_the_database_does_not_answer():
    metrics = Metrics(BrokenDatabase())
    metrics.run_started()
    families = {f.name for f in text_string_to_metric_families((await metrics.render()).decode())}
    assert "orchestrate_runs_started" in families  # the counters are still served
    assert "orchestrate_runs_waiting" not in families  # no number rather than a wrong one
