"""Slack and LLM failures: retried where Slack says so, else stopped with a Retry button."""

import copy
import json
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

from slackbot.blocks import ACTION_APPROVE, ACTION_RETRY, ACTION_REVISE
from tests.slackbot.conftest import (
    ANA,
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


def stopped_messages(slack, root_ts):
    return [m for m in slack.thread(CHANNEL, root_ts) if "The run stopped" in block_text(m)]


async def test_slack_429_is_retried_after_retry_after(slack, pg_app):
    slack.fail_next("chat.postMessage", status=429, count=2, retry_after=1)
    root = await start_run(slack)
    await wait_reviews(slack, root.ts, WORKERS)
    posts = slack.calls_to("chat.postMessage", ok_only=False)
    assert [c.status for c in posts[:3]] == [429, 429, 200]
    assert len([c for c in posts if c.status == 200]) == 4  # root + 3 reviews, none twice


async def test_per_channel_rate_limit_is_obeyed(slack, llm_server, pg_url, tmp_path):
    slack.post_rate_per_channel = 2.0  # Slack: about 1 message per second per channel
    settings = app_settings(slack, llm_server, database_url=pg_url, data_dir=tmp_path)
    async with started(settings, slack):
        root = await start_run(slack)
        await wait_reviews(slack, root.ts, WORKERS, timeout=30)
    statuses = [c.status for c in slack.calls_to("chat.postMessage", ok_only=False)]
    assert 429 in statuses and statuses.count(200) == 4


async def test_slack_500_is_retried(slack, pg_app):
    slack.fail_next("chat.postMessage", status=500, count=1)
    root = await start_run(slack)
    await wait_reviews(slack, root.ts, WORKERS)
    assert slack.calls_to("chat.postMessage", ok_only=False)[0].status == 500


async def test_llm_failure_stops_with_retry_that_picks_up(slack, llm_server, pg_app, pg_url):
    llm_server.fail_next(1, status=500)  # the plan call
    root = await start_run(slack)
    stopped = (await slack.wait_for(lambda: stopped_messages(slack, root.ts)))[0]
    assert "the LLM call failed (HTTP 500)" in block_text(stopped)
    await slack.wait_for(lambda: "Stopped" in block_text(slack.roots(CHANNEL)[-1]))
    assert db_rows(pg_url, "SELECT status FROM orchestrate_runs") == [("failed",)]

    await slack.click(ANA, stopped, ACTION_RETRY)
    await slack.wait_for(lambda: "Retried by <@UANA>" in block_text(stopped))
    await wait_reviews(slack, root.ts, WORKERS)
    await slack.wait_for(lambda: "Waiting for reviews" in block_text(slack.roots(CHANNEL)[-1]))
    assert db_rows(pg_url, "SELECT status FROM orchestrate_runs") == [("waiting",)]


async def test_llm_failure_while_resuming_keeps_the_answers(slack, llm_server, pg_app, pg_url):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    await slack.click(ANA, reviews["researcher"], ACTION_APPROVE)
    await slack.click(ANA, reviews["critic"], ACTION_APPROVE)
    await slack.click(ANA, reviews["editor"], ACTION_REVISE)
    await slack.wait_for(lambda: "reply in this thread" in block_text(reviews["editor"]))
    llm_server.fail_next(1, status=500)  # the redraft
    await slack.reply(ANA, CHANNEL, root.ts, "tighter")
    stopped = (await slack.wait_for(lambda: stopped_messages(slack, root.ts)))[0]
    stale = copy.deepcopy(stopped)  # as another screen still shows it
    await slack.click(ANA, stopped, ACTION_RETRY)
    redraft = (await wait_reviews(slack, root.ts, {"editor"}))["editor"]
    assert "addressing: tighter" in block_text(redraft)
    await slack.click(ANA, redraft, ACTION_APPROVE)
    await slack.wait_for(lambda: summaries(slack, root.ts))
    answers = [json.loads(a) for (a,) in db_rows(pg_url, "SELECT answer FROM orchestrate_reviews")]
    assert sum(a["action"] == "revise" for a in answers) == 1
    assert len(llm_server.requests_where("Reviewer notes: tighter")) == 2  # failed once, then ok

    await slack.click(ANA, stale, ACTION_RETRY)  # a stale Retry after it finished
    notice = await slack.wait_for(lambda: slack.responses and slack.responses[-1])
    assert "nothing to retry" in notice["text"]


@asynccontextmanager
async def slack_behind_a_failing_proxy(slack, failing: str):
    """Slack's API behind a proxy that answers `failing` with a 503 and a text body (as a load
    balancer does), and forwards every other method."""

    async def forward(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == failing:
            return web.Response(
                status=503, text="upstream connect error", content_type="text/plain"
            )
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{slack.base_url}/api/{method}", data=await request.read(), headers=request.headers
            ) as answer,
        ):
            return web.Response(
                status=answer.status, body=await answer.read(), content_type=answer.content_type
            )

    app = web.Application()
    app.router.add_post("/api/{method}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/api/"
    finally:
        await runner.cleanup()


async def test_a_slack_5xx_with_a_text_body_is_told_without_internals(
    slack, llm_server, pg_url, tmp_path
):
    async with slack_behind_a_failing_proxy(slack, "chat.postMessage") as api:
        settings = app_settings(
            slack, llm_server, database_url=pg_url, data_dir=tmp_path, slack_api_url=api
        )
        async with started(settings, slack):
            status, _ = await slack.slash_command(ANA, CHANNEL, "Open an office in Berlin")
            assert status == 200
            told = await slack.wait_for(lambda: slack.responses and slack.responses[-1], 30)
    assert told["text"] == "I couldn't start: Slack answered `http_503`."
    assert db_rows(pg_url, "SELECT COUNT(*) FROM orchestrate_runs") == [(0,)]  # nothing left
