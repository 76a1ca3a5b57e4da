"""The app in Socket Mode against the emulator: the whole flow, a modal, Slack's `disconnect` and
an abrupt drop mid-step, retried events, two processes sharing the envelopes, a bad app token."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

import graphs.examples
from slackbot import socket_mode
from slackbot.blocks import ACTION_APPROVE, ACTION_REVISE
from slackbot.demo.process import AppProcess
from slackbot.settings import StartupError
from slackbot.store import RunStatus
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
    summaries,
    wait_reviews,
)
from tests.slackbot.test_own_graph import fill, form, next_open, result

WORKERS = {"researcher", "critic", "editor"}
TYPED_ANSWER = str(Path(graphs.examples.__file__).parent / "typed_answer.py") + ":graph"


@pytest.fixture(autouse=True)
def quick_reconnect(monkeypatch):
    """In-process apps notice a dropped connection within 1 s instead of 5 s."""
    monkeypatch.setattr(socket_mode, "SOCKET_PING_SECONDS", 1.0)


def socket_settings(slack, llm_server, database_url, data_dir, **overrides):
    return app_settings(
        slack, llm_server, database_url=database_url, data_dir=data_dir,
        slack_app_token=slack.app_token, slack_signing_secret=None, **overrides,
    )  # fmt: skip


@pytest.fixture
async def app(slack, llm_server, database):
    database_url, data_dir = database
    async with started(socket_settings(slack, llm_server, database_url, data_dir), slack) as app:
        await slack.sockets.wait_connected()
        yield app


@pytest.fixture
async def pg_app(slack, llm_server, pg_url, tmp_path):
    async with started(socket_settings(slack, llm_server, pg_url, tmp_path), slack) as app:
        await slack.sockets.wait_connected()
        yield app


def all_acked_at_first_attempt(slack) -> bool:
    return all(e.acked and e.retry_attempt == 0 for e in slack.sockets.envelopes)


async def revise_with_notes(slack, root, review, notes, user=BEN):
    await slack.click(user, review, ACTION_REVISE)
    await slack.wait_for(lambda: "reply in this thread with your notes" in block_text(review))
    reply, status = await slack.reply(user, CHANNEL, root.ts, notes)
    assert status == 200
    await slack.wait_for(lambda: reply.reactions == ["memo"])
    return reply


async def finish(slack, root, reviews, first_notes):
    """Approve the rest of step 1, then the editor's redraft: the summary, once."""
    await slack.click(ANA, reviews["critic"], ACTION_APPROVE)
    redraft = (await wait_reviews(slack, root.ts, {"editor"}))["editor"]
    assert f"addressing: {first_notes}" in block_text(redraft)
    await slack.click(BEN, redraft, ACTION_APPROVE)
    return (await slack.wait_for(lambda: summaries(slack, root.ts)))[0]


# -- the flow ---------------------------------------------------------------------------------


async def test_whole_flow_over_socket_mode(slack, llm_server, app):
    status, body = await slack.slash_command(ANA, CHANNEL, "")
    assert status == 200 and "Usage" in body  # the ack's payload is the ephemeral answer
    root = await start_run(slack, "Open an office in Berlin")
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    status, body = await slack.click(ANA, reviews["researcher"], ACTION_APPROVE)
    assert (status, body) == (200, "")
    await slack.wait_for(lambda: "Approved by <@UANA>" in block_text(reviews["researcher"]))
    await revise_with_notes(slack, root, reviews["editor"], "Cite the lease terms")
    summary = await finish(slack, root, reviews, "Cite the lease terms")
    await slack.wait_for(lambda: "Done" in block_text(slack.roots(CHANNEL)[-1]))
    await app.services.orchestrator.wait_idle()

    assert "addressing: Cite the lease terms" in block_text(summary)
    assert len(summaries(slack, root.ts)) == 1 and open_reviews(slack, root.ts) == {}
    assert len(llm_server.requests) == 6  # plan, 3 drafts, 1 redraft, 1 summary
    assert len(slack.calls_to("chat.postMessage")) == 6  # root, 4 reviews, summary
    kinds = [e.type for e in slack.sockets.envelopes]
    assert kinds.count("slash_commands") == 2 and kinds.count("events_api") == 1
    assert kinds.count("interactive") == 4  # approve, revise, approve, approve
    assert all_acked_at_first_attempt(slack) and slack.sockets.accepted == 1


async def test_a_modal_submitted_over_socket_mode(slack, llm_server, tmp_path):
    settings = socket_settings(slack, llm_server, None, tmp_path, graph_spec=TYPED_ANSWER)
    async with started(settings, slack):
        await slack.sockets.wait_connected()
        status, body = await slack.slash_command(ANA, CHANNEL, "Checkout is down")
        assert (status, body) == (200, "")
        root = await slack.wait_for(lambda: slack.roots(CHANNEL) and slack.roots(CHANNEL)[0])
        review = await next_open(slack, root)
        view = await form(slack, review, "Answer")
        answers = dict(Severity="sev2", Summary="Checkout is slow", Responders="50")
        status, reply = await slack.submit_view(ANA, fill(view, **answers))
        assert status == 200 and reply["response_action"] == "errors"  # the ack's payload
        (shown,) = slack.open_views(ANA)
        status, reply = await slack.submit_view(ANA, fill(shown, Responders="3"))
        assert status == 200 and not reply and slack.open_views(ANA) == []
        text = await result(slack, root)
    assert "SEV2 opened" in text and "3 responder(s)" in text
    submissions = [e for e in slack.sockets.delivered("interactive")
                   if e.payload["type"] == "view_submission"]  # fmt: skip
    assert [e.answer and e.answer["response_action"] for e in submissions] == ["errors", None]


# -- connections that go away -----------------------------------------------------------------


async def test_disconnect_mid_step_loses_nothing_and_doubles_nothing(slack, llm_server, pg_app):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    await slack.click(ANA, reviews["researcher"], ACTION_APPROVE)
    await slack.wait_for(lambda: "Approved" in block_text(reviews["researcher"]))

    assert await slack.sockets.request_refresh() == 1
    await slack.sockets.wait_connected()  # the app asked for a new URL and connected by itself
    assert slack.calls_to("apps.connections.open")[-1] and slack.sockets.accepted == 2

    await revise_with_notes(slack, root, reviews["editor"], "shorter please")
    await finish(slack, root, reviews, "shorter please")
    await pg_app.services.orchestrator.wait_idle()
    await asyncio.sleep(0.5)  # room for anything doubled to show itself
    assert len(summaries(slack, root.ts)) == 1
    assert len(slack.calls_to("chat.postMessage")) == 6
    assert len(llm_server.requests_where("final summary")) == 1
    answers = await step_answers(pg_app, root)
    assert answers["researcher"] == {"action": "approve", "by": ANA}  # decided before: kept
    assert answers["editor"]["notes"] == "shorter please"
    assert all_acked_at_first_attempt(slack)


async def test_abrupt_drop_mid_step_with_an_event_in_flight(slack, llm_server, pg_app):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    await slack.click(ANA, reviews["researcher"], ACTION_APPROVE)
    await slack.wait_for(lambda: "Approved" in block_text(reviews["researcher"]))
    assert slack.sockets.drop_connections() == 1  # no close frame: the app notices by itself
    await slack.sockets.wait_connected()
    await slack.click(BEN, reviews["editor"], ACTION_REVISE)
    await slack.wait_for(lambda: "reply in this thread" in block_text(reviews["editor"]))

    # The reply's event goes out and the connection is cut under it: its ack cannot come back,
    # so Slack delivers it again (retry_attempt 1) once the app has reconnected.
    slack.sockets.drop_after_next("events_api")
    reply, status = await slack.reply(BEN, CHANNEL, root.ts, "cite the lease")
    assert status == 200
    attempts = slack.sockets.event_deliveries(f"Ev{reply.ts.replace('.', '')}")
    assert [e.retry_attempt for e in attempts] == [0, 1] and attempts[-1].acked
    await slack.wait_for(lambda: reply.reactions == ["memo"])

    await finish(slack, root, reviews, "cite the lease")
    await pg_app.services.orchestrator.wait_idle()
    await asyncio.sleep(0.5)
    assert slack.sockets.accepted == 3
    assert len(summaries(slack, root.ts)) == 1
    assert len(slack.calls_to("chat.postMessage")) == 6
    assert len(slack.calls_to("reactions.add", ok_only=False)) == 1  # the reply handled once
    assert len(llm_server.requests_where("Reviewer notes: cite the lease")) == 1
    answers = await step_answers(pg_app, root)
    assert answers["researcher"] == {"action": "approve", "by": ANA}
    assert answers["editor"] == {"action": "revise", "notes": "cite the lease", "by": BEN}


async def test_an_event_whose_ack_is_lost_is_handled_once(slack, llm_server, pg_app):
    root = await start_run(slack)
    reviews = await wait_reviews(slack, root.ts, WORKERS)
    await slack.click(BEN, reviews["editor"], ACTION_REVISE)
    await slack.wait_for(lambda: "reply in this thread" in block_text(reviews["editor"]))
    slack.sockets.lose_acks("events_api")  # the app got it and acked; Slack never heard
    reply = await revise_with_notes_reply(slack, root, "cite the lease")
    attempts = slack.sockets.event_deliveries(f"Ev{reply.ts.replace('.', '')}")
    assert [(e.retry_attempt, e.retry_reason) for e in attempts] == [(0, None), (1, "timeout")]
    await slack.click(ANA, reviews["researcher"], ACTION_APPROVE)
    await finish(slack, root, reviews, "cite the lease")
    await pg_app.services.orchestrator.wait_idle()
    assert len(slack.calls_to("reactions.add", ok_only=False)) == 1
    assert len(llm_server.requests_where("Reviewer notes: cite the lease")) == 1
    assert len(summaries(slack, root.ts)) == 1


async def revise_with_notes_reply(slack, root, notes):
    reply, status = await slack.reply(BEN, CHANNEL, root.ts, notes)
    assert status == 200
    await slack.wait_for(lambda: reply.reactions == ["memo"])
    return reply


async def step_answers(app, root) -> dict[str, dict]:
    store = app.services.store
    async with store.db.transaction() as tx:
        row = await tx.fetchone(
            "SELECT run_id FROM orchestrate_runs WHERE root_ts = %(ts)s", {"ts": root.ts}
        )
    run = await store.get_run(row["run_id"])
    assert run.status == RunStatus.DONE
    return {r.request["worker_id"]: r.answer for r in await store.step_reviews(run.run_id, 1)}


# -- two processes ----------------------------------------------------------------------------


async def test_two_processes_share_the_envelopes_and_resume_each_step_once(
    slack, llm_server, pg_url, tmp_path
):
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_APP_TOKEN": slack.app_token,
        "SLACK_API_URL": slack.base_url + "/api/",
        "DATABASE_URL": pg_url,
        "OPENAI_API_KEY": "test",
        "OPENAI_BASE_URL": llm_server.base_url,
        "ORCHESTRATE_LEASE_SECONDS": "2",
        "LOG_LEVEL": "INFO",
    }
    processes = [AppProcess(env, tmp_path, name) for name in ("a", "b")]
    try:
        await asyncio.gather(*(p.start() for p in processes))
        await slack.sockets.wait_connected(2)
        roots = []
        for i in range(3):
            root = await start_run(slack, f"topic {i}")
            roots.append(root)
            reviews = await wait_reviews(slack, root.ts, WORKERS, timeout=20)
            await slack.click(BEN, reviews["editor"], ACTION_REVISE)
            await slack.wait_for(lambda r=reviews: "reply in this" in block_text(r["editor"]))
            slack.sockets.lose_acks("events_api")  # its retry goes to the other process
            await revise_with_notes_reply(slack, root, f"notes {i}")
            # The step's last two answers at once, one on each process.
            await asyncio.gather(
                slack.click(ANA, reviews["researcher"], ACTION_APPROVE),
                slack.click(ANA, reviews["critic"], ACTION_APPROVE),
            )
            last_two = slack.sockets.delivered("interactive")[-2:]
            assert last_two[0].connection != last_two[1].connection
            redraft = (await wait_reviews(slack, root.ts, {"editor"}, timeout=20))["editor"]
            await slack.click(BEN, redraft, ACTION_APPROVE)
            await slack.wait_for(lambda r=root: summaries(slack, r.ts), timeout=20)
        await asyncio.sleep(2)  # a lease's length: room for a duplicate resume to show itself
    finally:
        await asyncio.gather(*(p.stop() for p in processes))
    assert [len(summaries(slack, r.ts)) for r in roots] == [1, 1, 1]
    assert len(llm_server.requests_where("final summary")) == 3
    for i in range(3):
        assert len(llm_server.requests_where(f"Reviewer notes: notes {i}")) == 1
    assert len(slack.calls_to("chat.postMessage")) == 3 * 6  # root, 3 + 1 reviews, summary
    assert len(slack.calls_to("reactions.add", ok_only=False)) == 3
    assert db_rows(pg_url, "SELECT status FROM orchestrate_runs") == [("done",)] * 3
    by_connection = {e.connection for e in slack.sockets.envelopes}
    assert len(by_connection) == 2  # both processes got envelopes
    retried = [e for e in slack.sockets.envelopes if e.retry_attempt]
    first_of = {e.payload["event_id"]: e.connection for e in slack.sockets.envelopes
                if e.type == "events_api" and not e.retry_attempt}  # fmt: skip
    assert all(first_of[e.payload["event_id"]] != e.connection for e in retried)


# -- start-up ---------------------------------------------------------------------------------


async def test_an_app_token_slack_rejects_stops_start_up_with_one_line(slack, llm_server, tmp_path):
    settings = socket_settings(slack, llm_server, None, tmp_path)
    settings = dataclasses.replace(settings, slack_app_token="xapp-revoked")
    with pytest.raises(StartupError) as stopped:
        async with started(settings, slack):
            pass
    message = str(stopped.value)
    assert "\n" not in message and stopped.value.exit_code == 2
    assert message.startswith(
        "Slack rejected SLACK_APP_TOKEN (apps.connections.open: invalid_auth)"
    )
    assert slack.sockets.accepted == 0


async def test_notes_from_someone_who_may_not_answer_are_refused_privately(
    slack, llm_server, pg_url, tmp_path
):
    settings = socket_settings(slack, llm_server, pg_url, tmp_path, approvers=frozenset({ANA}))
    async with started(settings, slack):
        await slack.sockets.wait_connected()
        root = await start_run(slack)
        reviews = await wait_reviews(slack, root.ts, WORKERS)
        await slack.reply(BEN, CHANNEL, root.ts, "Note: looks good to me")  # chat: no word
        await slack.reply(BEN, CHANNEL, root.ts, "editor: make it shorter")  # meant as notes
        told = await slack.wait_for(lambda: slack.calls_to("chat.postEphemeral"))
    assert [(c.args["user"], c.args["channel"]) for c in told] == [(BEN, CHANNEL)]
    assert "didn't take your reply as notes" in told[0].args["text"]
    assert "Only the approvers" in told[0].args["text"]
    assert db_rows(pg_url, "SELECT status FROM orchestrate_reviews") == [("pending",)] * 3
    assert "editor" in open_reviews(slack, root.ts) and reviews


async def test_a_reconnect_whose_first_url_fails_asks_for_a_new_one(slack, pg_app, monkeypatch):
    """After Slack's `disconnect`, the first URL the app gets cannot be used (single use: as if
    spent): it must not be retried, a new one is asked for."""
    issue = slack.sockets.open_url
    spoiled: list[str] = []

    def spoiled_once(base_url: str) -> str:
        url = issue(base_url)
        if not spoiled:
            spoiled.append(url.replace("ticket=", "ticket=spent"))
            return spoiled[0]
        return url

    monkeypatch.setattr(slack.sockets, "open_url", spoiled_once)
    assert await slack.sockets.request_refresh() == 1
    await slack.sockets.wait_connected(timeout=10)
    assert spoiled and slack.sockets.accepted == 2
    assert len(slack.calls_to("apps.connections.open")) == 3  # at start, spoiled, fresh
    root = await start_run(slack)  # and the app works over the new connection
    await wait_reviews(slack, root.ts, WORKERS)
