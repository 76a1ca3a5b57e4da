"""Graphs on a LangGraph server: a real `langgraph dev` (one per module) runs our built-in
orchestration (its LLM a stand-in of the module's own) and the example graphs; the app (with
LANGGRAPH_URL) drives them from Slack over real HTTP and holds no graph and no checkpointer.
Also: the app killed mid-step, the server stopped and restarted mid-run or down at start-up, a
thread deleted on the server, 5xx answers."""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web
from langgraph_sdk import get_client
from langgraph_sdk.errors import NotFoundError

from slackbot.blocks import ACTION_APPROVE, ACTION_REVISE
from slackbot.catalog import load_catalog
from slackbot.demo.process import AppProcess, free_port
from slackbot.engine.loading import GraphLoadError
from slackbot.engine.remote import LangGraphServerError, RemoteEngine, RemoteSource
from slackbot.remote_catalog import UNREACHABLE_NOW, RemoteCatalog
from slackbot.settings import Settings, SettingsError
from slackbot.store import RunStatus
from tests.slackbot.conftest import (
    ANA,
    BEN,
    CHANNEL,
    app_settings,
    block_text,
    db_rows,
    started,
    summaries,
    wait_reviews,
)
from tests.slackbot.langgraph_server import LangGraphServer, openai_in_a_thread, start_server
from tests.slackbot.test_own_graph import buttons, fill, form, next_open, press, result, run_row
from tests.slackbot.test_own_graph import start as start_run


@pytest.fixture(scope="module")
def served_llm():
    """The built-in graph's LLM on the server: one stand-in for the module, as the server."""
    with openai_in_a_thread() as llm:
        yield llm


@pytest.fixture(scope="module")
def langgraph_dev(tmp_path_factory, served_llm):
    server = start_server(tmp_path_factory.mktemp("langgraph-dev"), served_llm.base_url)
    print(f"langgraph dev answered /ok after {server.started_in:.2f} s")
    yield server
    server.stop()


@pytest.fixture
def server(langgraph_dev: LangGraphServer, served_llm):
    print(f"langgraph dev log: {langgraph_dev.log}")  # shown when a test fails
    served_llm.delay = 0
    yield langgraph_dev
    served_llm.delay = 0
    if not langgraph_dev.running:  # a test that stops it starts it again; a crash is a failure
        langgraph_dev.start()
        pytest.fail(f"langgraph dev died:\n{langgraph_dev.log_tail()}")


@pytest.fixture
async def client(server):
    lg = get_client(url=server.url, api_key=None)
    yield lg
    await lg.aclose()


@asynccontextmanager
async def remote_app(slack, llm_server, server, graph, *, database_url, data_dir, **overrides):
    settings = app_settings(
        slack,
        llm_server,
        database_url=database_url,
        data_dir=data_dir,
        langgraph_url=getattr(server, "url", server),
        langgraph_assistant_id=graph,
        **overrides,
    )
    async with started(settings, slack) as running:
        yield running


def thread_of(run) -> str:
    return str(uuid.UUID(run.run_id))


WORKERS = {"researcher", "critic", "editor"}
LEASE_SECONDS = 2


def remote_env(slack, server, graph, pg_url) -> dict[str, str]:
    """An app process's environment: Slack's emulator, a database, the server's graph."""
    return {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_API_URL": slack.base_url + "/api/",
        "DATABASE_URL": pg_url,
        "LANGGRAPH_URL": server.url,
        "LANGGRAPH_ASSISTANT_ID": graph,
        "ORCHESTRATE_LEASE_SECONDS": str(LEASE_SECONDS),
    }


async def start_builtin(slack, topic):
    """`/orchestrate <topic>` for the built-in graph: its root message."""
    before = len(slack.roots(CHANNEL))
    status, body = await slack.slash_command(ANA, CHANNEL, topic)
    assert status == 200 and not body.strip(), body
    return await slack.wait_for(lambda: len(r := slack.roots(CHANNEL)) > before and r[before])


async def step(app, run, number=1):
    return await app.services.store.step_reviews(run.run_id, number)


async def healthz(url: str) -> tuple[int, dict, float]:
    began = time.monotonic()
    async with (
        aiohttp.ClientSession() as session,
        session.get(url + "/healthz", timeout=aiohttp.ClientTimeout(total=5)) as response,
    ):
        return response.status, await response.json(), time.monotonic() - began


class Forwarder:
    """A TCP port that refuses connections until `start()`, then passes them to `target`."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _accept(self, reader, writer) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        for pipe in (self._pipe(reader, up_writer), self._pipe(up_reader, writer)):
            task = asyncio.create_task(pipe)
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    @staticmethod
    async def _pipe(reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)


async def runs_on(client, run) -> list[dict]:
    """The server's runs on the run's thread, oldest first."""
    return sorted(await client.runs.list(thread_of(run), limit=50), key=lambda r: r["created_at"])


# -- from Slack, over the app, on the server ----------------------------------------------------


async def test_options_on_the_server_with_no_graph_and_no_checkpointer_here(
    slack, llm_server, server, client, database
):
    database_url, data_dir = database
    async with remote_app(
        slack, llm_server, server, "approval", database_url=database_url, data_dir=data_dir
    ) as app:
        root = await start_run(slack, "pay 1200 EUR to ACME")
        review = await next_open(slack, root)
        assert "Approve paying 1,200.00 EUR to ACME?" in block_text(review)
        assert list(buttons(review)) == ["yes", "no"]
        await press(slack, review, "yes")
        assert "Paid 1,200.00 EUR to ACME (approved)" in await result(slack, root)
        await app.services.orchestrator.wait_idle()  # "Done" shows before the row says so
        run = await run_row(app, root)
        assert run.status == RunStatus.DONE and run.graph == "approval"
        (stored,) = await app.services.store.step_reviews(run.run_id, 1)

    thread = await client.threads.get(thread_of(run))
    assert thread["status"] == "idle"
    assert thread["metadata"]["slack_channel"] == CHANNEL
    assert thread["metadata"]["slack_thread_ts"] == root.ts
    assert thread["metadata"]["slack_started_by"] == ANA
    started_run, resumed = await runs_on(client, run)
    assert started_run["kwargs"]["input"] == {"request": "pay 1200 EUR to ACME"}
    assert resumed["kwargs"]["command"]["resume"] == {stored.interrupt_id: "yes"}
    assert {r["multitask_strategy"] for r in (started_run, resumed)} == {"reject"}
    # The server keeps the checkpoints: the app opened no checkpointer of its own.
    if database_url:
        assert db_rows(database_url, "SELECT to_regclass('checkpoints')::text") == [(None,)]
        assert db_rows(database_url, "SELECT to_regclass('orchestrate_runs')::text") != [(None,)]
    else:
        assert not (data_dir / "checkpoints.sqlite").exists()
        assert (data_dir / "orchestrate.sqlite").exists()


async def test_typed_form_with_a_validation_error_fixed_and_resubmitted(
    slack, llm_server, server, pg_url, tmp_path
):
    async with remote_app(
        slack, llm_server, server, "typed_answer", database_url=pg_url, data_dir=tmp_path
    ) as app:
        root = await start_run(slack, "Checkout is down for EU customers")
        review = await next_open(slack, root)
        view = await form(slack, review, "Answer")
        labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
        assert labels[:2] == ["Severity", "Summary"], labels  # the response_schema crossed the wire
        answers = dict(Severity="sev2", Summary="Checkout is slow", Responders="50")
        status, reply = await slack.submit_view(ANA, fill(view, **answers))
        assert status == 200 and reply["response_action"] == "errors"
        (shown,) = slack.open_views(ANA)
        assert any("maximum" in e or "10" in e for e in shown["errors"].values()), shown["errors"]
        assert (await run_row(app, root)).status == RunStatus.WAITING

        status, reply = await slack.submit_view(ANA, fill(shown, Responders="3"))
        assert status == 200 and not reply
        text = await result(slack, root)
        assert "SEV2 opened: Checkout is slow" in text and "3 responder(s)" in text


async def test_a_step_of_several_interrupts_resumes_once_on_the_server(
    slack, llm_server, server, client, pg_url, tmp_path
):
    async with remote_app(
        slack, llm_server, server, "parallel", database_url=pg_url, data_dir=tmp_path
    ) as app:
        root = await start_run(slack, "Q3 launch plan")
        reviews = []
        for _ in range(3):
            reviews.append(await next_open(slack, root, after=reviews[-1] if reviews else None))
        assert all(list(buttons(r)) == ["approve", "reject"] for r in reviews)
        await press(slack, reviews[0], "approve")
        await press(slack, reviews[1], "approve", user=BEN)
        await press(slack, reviews[2], "reject")
        assert "Back to the author: Risks" in await result(slack, root)
        run = await run_row(app, root)
    started_run, resumed = await runs_on(client, run)
    assert len(resumed["kwargs"]["command"]["resume"]) == 3  # all three answers in one resume
    assert {r["status"] for r in (started_run, resumed)} == {"success"}


async def test_breakpoint_edited_then_continued_through_the_servers_thread_api(
    slack, llm_server, server, client, pg_url, tmp_path
):
    async with remote_app(
        slack, llm_server, server, "breakpoint", database_url=pg_url, data_dir=tmp_path
    ) as app:
        root = await start_run(slack, "delete the staging database")
        paused = await next_open(slack, root)
        assert "Paused before approval" in block_text(paused)
        assert list(buttons(paused)) == ["Continue", "Edit state"]
        view = await form(slack, paused, "Edit state")
        (state_block,) = [b for b in view["blocks"] if b["type"] == "input"]
        edited = '{"request": "delete the test database"}'
        status, reply = await slack.submit_view(ANA, {state_block["block_id"]: edited})
        assert status == 200 and not reply
        again = await next_open(slack, root, after=paused)  # a new key: the edit's checkpoint
        assert "Paused before approval" in block_text(again)
        assert "delete the test database" in block_text(again)
        await press(slack, again, "Continue")
        after = await next_open(slack, root, after=again)
        assert "Paused after approval" in block_text(after)
        await press(slack, after, "Continue")
        assert "Processed: delete the test database" in await result(slack, root)
        run = await run_row(app, root)
    history = await client.threads.get_history(thread_of(run), limit=50)
    assert any((s["metadata"] or {}).get("source") == "update" for s in history)
    assert [r["kwargs"]["input"] for r in await runs_on(client, run)] == [
        {"request": "delete the staging database"},
        None,
        None,
    ]


async def test_messages_graph_gets_the_text_as_a_message(slack, llm_server, server, tmp_path):
    async with remote_app(
        slack, llm_server, server, "assistant", database_url=None, data_dir=tmp_path
    ):
        root = await start_run(slack, "book a table for four")
        review = await next_open(slack, root)
        await press(slack, review, "go ahead")
        text = await result(slack, root)
        assert "Done:" in text and "book a table for four" in text


async def test_help_shows_the_servers_graph_and_its_input(slack, llm_server, server, tmp_path):
    async with remote_app(
        slack, llm_server, server, "approval", database_url=None, data_dir=tmp_path
    ):
        status, body = await slack.slash_command(ANA, CHANNEL, "help")
        assert status == 200
        assert "`approval`" in body and "Approve a payment" in body
        assert "Takes text (becomes `request`)" in body


async def test_a_run_that_fails_on_the_server_stops_with_retry_that_goes_on(
    slack, llm_server, server, pg_url, tmp_path
):
    async with remote_app(
        slack, llm_server, server, "flaky", database_url=pg_url, data_dir=tmp_path
    ):
        root = await start_run(slack, f"invoice {uuid.uuid4().hex[:6]}")
        stopped = await next_open(slack, root)
        assert list(buttons(stopped)) == ["Retry"]
        assert (
            "the graph failed on the LangGraph server: RuntimeError: the ledger is locked"
            in block_text(stopped)
        )
        await press(slack, stopped, "Retry")
        assert "on attempt 2" in await result(slack, root)


async def test_an_answer_the_graph_refuses_on_the_server_reopens_its_review(
    slack, llm_server, server, client, pg_url, tmp_path
):
    async with remote_app(
        slack, llm_server, server, "signoff", database_url=pg_url, data_dir=tmp_path
    ) as app:
        root = await start_run(slack, '{"plan": "the Q3 launch"}')
        review = await next_open(slack, root)
        view = await form(slack, review, "Answer")
        status, reply = await slack.submit_view(ANA, fill(view, Decision="reject"))
        assert status == 200 and not reply  # the schema allows it; the model's validator not
        text = await slack.wait_for(
            lambda: "refused by the graph" in (t := block_text(review)) and buttons(review) and t
        )
        assert "a comment is required when rejecting. Answer again." in text
        await app.services.orchestrator.wait_idle()
        run = await run_row(app, root)
        assert run.status == RunStatus.WAITING
        (stored,) = await step(app, run)
        assert [r["answer"] for r in stored.refusals] == [{"decision": "reject"}]

        view = await form(slack, review, "Answer")
        answer = fill(view, Decision="reject", Comment="not before the audit")
        status, reply = await slack.submit_view(ANA, answer)
        assert "reject: not before the audit" in await result(slack, root)
    started_run, refused, resumed = await runs_on(client, run)
    assert [r["status"] for r in (started_run, refused, resumed)] == ["success", "error", "success"]


async def test_last_two_clicks_on_two_app_processes_resume_once(
    slack, server, client, pg_url, tmp_path
):
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_API_URL": slack.base_url + "/api/",
        "DATABASE_URL": pg_url,
        "LANGGRAPH_URL": server.url,
        "LANGGRAPH_ASSISTANT_ID": "parallel",
        "ORCHESTRATE_LEASE_SECONDS": "2",
    }
    a, b = AppProcess(env, tmp_path, "a"), AppProcess(env, tmp_path, "b")
    try:
        await asyncio.gather(a.start(), b.start())
        slack.app_url = a.url
        root = await start_run(slack, "Q4 hiring plan")
        reviews = []
        for _ in range(3):
            reviews.append(await next_open(slack, root, after=reviews[-1] if reviews else None))
        await press(slack, reviews[0], "approve")
        await slack.wait_for(lambda: not buttons(reviews[0]))
        await asyncio.gather(  # the last two clicks, on two processes at once
            click(slack, reviews[1], "approve", a.url), click(slack, reviews[2], "approve", b.url)
        )
        assert "All 3 sections approved" in await result(slack, root, timeout=20)
        await asyncio.sleep(2)  # room for a duplicate resume to show itself
    finally:
        await asyncio.gather(a.stop(), b.stop())
    (run_id,) = db_rows(pg_url, "SELECT run_id FROM orchestrate_runs")[0]
    runs = await client.runs.list(str(uuid.UUID(run_id)), limit=50)
    assert len(runs) == 2 and {r["status"] for r in runs} == {"success"}  # start + one resume


async def click(slack, message, label, url):
    button = buttons(message)[label]
    status, _ = await slack.click(ANA, message, button["action_id"], value=button["value"], url=url)
    assert status == 200


# -- our built-in orchestration on the server ----------------------------------------------------


async def test_the_built_in_flow_with_a_revision_runs_on_the_server_with_our_knobs(
    slack, llm_server, server, served_llm, client, pg_url, tmp_path
):
    topic = f"Open an office in Lisbon {uuid.uuid4().hex[:6]}"
    async with remote_app(
        slack, llm_server, server, "orchestrate", database_url=pg_url, data_dir=tmp_path,
        openai_model="served-model", max_revisions=2,
    ) as app:  # fmt: skip
        status, body = await slack.slash_command(ANA, CHANNEL, "help")
        assert status == 200 and "`orchestrate`" in body and "2–3 worker agents" in body
        root = await start_builtin(slack, topic)
        reviews = await wait_reviews(slack, root.ts, WORKERS)
        editor = reviews["editor"]
        assert "First draft by the Editor" in block_text(editor)
        assert "Round 1 of 3" in block_text(editor)  # max_revisions=2 crossed the wire
        plan = next(
            s
            for (c, ts), s in slack.streams.items()
            if slack.messages[(c, ts)].thread_ts == root.ts
        )
        shown = {t["title"]: t["status"] for t in plan.tasks.values()}  # the plan, by worker
        assert shown["researcher: draft"] == "complete" and shown["editor: review"] == "pending"

        await slack.click(ANA, reviews["researcher"], ACTION_APPROVE)
        await slack.click(BEN, editor, ACTION_REVISE)
        await slack.wait_for(lambda: "reply in this thread with your notes" in block_text(editor))
        await slack.reply(BEN, CHANNEL, root.ts, "Cite the lease terms")
        await slack.wait_for(lambda: "Revision requested by <@UBEN>" in block_text(editor))
        await slack.click(ANA, reviews["critic"], ACTION_APPROVE)

        redraft = (await wait_reviews(slack, root.ts, {"editor"}))["editor"]
        assert redraft.ts != editor.ts
        assert "addressing: Cite the lease terms" in block_text(redraft)
        assert "Round 2 of 3" in block_text(redraft)
        await slack.click(BEN, redraft, ACTION_APPROVE)
        summary = (await slack.wait_for(lambda: summaries(slack, root.ts)))[0]
        await app.services.orchestrator.wait_idle()
        text = block_text(summary)
        assert (
            "addressing: Cite the lease terms" in text and "First draft by the Researcher" in text
        )
        run = await run_row(app, root)
        assert run.status == RunStatus.DONE and run.graph == "orchestrate"
        assert len(slack.calls_to("chat.postMessage")) == 6  # root, 3 + 1 reviews, summary

    # The LLM was called on the server, by the model name the app sent.
    asked = served_llm.requests_where(topic)
    assert len(asked) == 6 and {r["model"] for r in asked} == {"served-model"}
    assert len(served_llm.requests_where("Reviewer notes: Cite the lease terms")) == 1
    assert llm_server.requests == []  # the app itself called no LLM
    runs = await runs_on(client, run)
    assert [r["status"] for r in runs] == ["success"] * 3  # start, resume, resume
    knobs = {"model": "served-model", "max_workers": 3, "max_revisions": 2}
    assert all(r["kwargs"]["context"] == knobs for r in runs)
    assert runs[0]["kwargs"]["input"] == {"topic": topic}


async def test_the_app_killed_mid_step_and_restarted_resumes_once_on_the_server(
    slack, server, served_llm, client, pg_url, tmp_path
):
    env = remote_env(slack, server, "orchestrate", pg_url)
    a = AppProcess(env, tmp_path, "a")
    a2 = AppProcess(env, tmp_path, "a2")
    try:
        await a.start()
        slack.app_url = a.url
        topic = f"Q1 hiring plan {uuid.uuid4().hex[:6]}"
        root = await start_builtin(slack, topic)
        reviews = await wait_reviews(slack, root.ts, WORKERS, timeout=20)
        await slack.click(ANA, reviews["researcher"], ACTION_APPROVE)
        await slack.click(ANA, reviews["critic"], ACTION_APPROVE)
        await slack.click(BEN, reviews["editor"], ACTION_REVISE)
        await slack.wait_for(lambda: "reply in this thread" in block_text(reviews["editor"]))
        served_llm.delay = 1.5
        await slack.reply(BEN, CHANNEL, root.ts, "name the budget owner")  # completes the step
        await slack.wait_for(lambda: served_llm.requests_where("name the budget owner"), 20)
        await a.kill()  # while the resumed run redrafts on the server
        served_llm.delay = 0
        await a2.start()  # takes the run over once the dead process's lease runs out
        slack.app_url = a2.url
        redraft = (await wait_reviews(slack, root.ts, {"editor"}, timeout=30))["editor"]
        assert "addressing: name the budget owner" in block_text(redraft)
        await slack.click(BEN, redraft, ACTION_APPROVE)
        await slack.wait_for(lambda: summaries(slack, root.ts), timeout=20)
        await asyncio.sleep(LEASE_SECONDS)  # room for a duplicate to show itself
        assert len(summaries(slack, root.ts)) == 1
        assert len(slack.calls_to("chat.postMessage")) == 6  # nothing posted twice
    finally:
        await asyncio.gather(a.stop(), a2.stop())
    ((run_id,),) = db_rows(pg_url, "SELECT run_id FROM orchestrate_runs")
    runs = await client.runs.list(str(uuid.UUID(run_id)), limit=50)
    assert sorted(r["status"] for r in runs) == ["success"] * 3  # start + one resume per step
    assert len(served_llm.requests_where("Reviewer notes: name the budget owner")) == 1


async def test_the_server_stopped_and_restarted_mid_run_loses_no_answer(
    slack, llm_server, server, client, pg_url, tmp_path
):
    async with remote_app(
        slack, llm_server, server, "orchestrate", database_url=pg_url, data_dir=tmp_path
    ) as app:
        topic = f"Move the data centre {uuid.uuid4().hex[:6]}"
        root = await start_builtin(slack, topic)
        reviews = await wait_reviews(slack, root.ts, WORKERS)
        await slack.click(ANA, reviews["researcher"], ACTION_APPROVE)
        await asyncio.to_thread(server.stop)  # SIGTERM: the server keeps its state on disk
        await slack.click(BEN, reviews["critic"], ACTION_APPROVE)  # stored, as always
        await slack.click(ANA, reviews["editor"], ACTION_APPROVE)  # completes the step
        stopped = await next_open(slack, root, reviews["editor"], 30)  # the resume can't reach it
        assert list(buttons(stopped)) == ["Retry"]
        assert f"cannot reach the LangGraph server at {server.url}" in block_text(stopped)
        run = await run_row(app, root)
        assert run.status == RunStatus.FAILED

        await asyncio.to_thread(server.start)  # same port, same folder: its threads are back
        await press(slack, stopped, "Retry")
        summary = (await slack.wait_for(lambda: summaries(slack, root.ts), 20))[0]
        for worker in ("Researcher", "Critic", "Editor"):  # every answer given counted
            assert f"First draft by the {worker}" in block_text(summary)
        await app.services.orchestrator.wait_idle()
        assert (await run_row(app, root)).status == RunStatus.DONE
        approvals = {r.request["worker_id"]: r.answer["by"] for r in await step(app, run)}
        assert approvals == {"researcher": ANA, "critic": BEN, "editor": ANA}
    runs = await runs_on(client, run)
    assert [r["status"] for r in runs] == ["success", "success"]  # start, the one resume


async def test_server_down_at_start_up_the_app_starts_says_so_and_works_once_it_is_up(
    slack, llm_server, server, pg_url, tmp_path
):
    proxy = Forwarder(server.port)  # the server's address, until now answered by nobody
    async with remote_app(
        slack, llm_server, proxy.url, "approval", database_url=pg_url, data_dir=tmp_path
    ) as app:
        status, body, seconds = await healthz(app.url)
        assert status == 200 and body["ok"] and seconds < 1.0
        assert body["langgraph"] == {
            "url": proxy.url,
            "ok": False,
            "error": f"cannot reach the LangGraph server at {proxy.url} (ConnectError)",
        }
        down = UNREACHABLE_NOW.format(url=proxy.url)
        for text in ("pay 1200 EUR to ACME", "help"):
            status, body = await slack.slash_command(ANA, CHANNEL, text)
            assert (status, body) == (200, down)  # an ephemeral answer, and nothing started
        assert slack.roots(CHANNEL) == []

        await proxy.start()  # the server is back
        await slack.wait_for(lambda: app.services.orchestrator.catalog.unavailable() is None, 10)
        status, body, seconds = await healthz(app.url)
        assert (status, body["langgraph"]) == (200, {"url": proxy.url, "ok": True})
        root = await start_run(slack, "pay 1200 EUR to ACME")
        await press(slack, await next_open(slack, root), "yes")
        assert "Paid 1,200.00 EUR to ACME (approved)" in await result(slack, root)
    await proxy.close()


async def test_a_thread_deleted_on_the_server_stops_the_run_instead_of_starting_over(
    slack, llm_server, server, client, pg_url, tmp_path
):
    async with remote_app(
        slack, llm_server, server, "approval", database_url=pg_url, data_dir=tmp_path
    ) as app:
        root = await start_run(slack, "pay 5000 EUR to Initech")
        review = await next_open(slack, root)
        run = await run_row(app, root)
        await client.threads.delete(thread_of(run))
        await press(slack, review, "yes")
        stopped = await next_open(slack, root, after=review)
        assert list(buttons(stopped)) == ["Retry"]
        gone = f"its thread is gone from the LangGraph server at {server.url} (deleted?)"
        assert gone in block_text(stopped)
        assert (await run_row(app, root)).status == RunStatus.FAILED
        (stored,) = await step(app, run)
        assert stored.answer == "yes"  # the answer is kept
        await press(slack, stopped, "Retry")  # does not start it over either
        again = await next_open(slack, root, after=stopped)
        assert gone in block_text(again)
        await app.services.orchestrator.wait_idle()
    with pytest.raises(NotFoundError):
        await client.threads.get(thread_of(run))  # no new thread: nothing ran again


# -- the engine and the catalog against the server ----------------------------------------------


async def test_a_second_run_on_a_busy_thread_is_refused_in_one_line(server, client):
    engine = RemoteEngine(client, "slow", url=server.url)
    thread_id = uuid.uuid4().hex
    await client.threads.create(thread_id=str(uuid.UUID(thread_id)))
    await client.runs.create(str(uuid.UUID(thread_id)), "slow", input={"seconds": 1.5})
    with pytest.raises(LangGraphServerError) as refused:
        await engine.proceed(thread_id)
    assert str(refused.value).startswith("the LangGraph server answered 409 (Thread is already")
    state = await engine.state(thread_id)  # waits for the run a driver before us started
    assert state.done and state.values == {"seconds": 1.5, "slept": True}


async def test_a_thread_never_started_reads_as_not_started(server, client):
    state = await RemoteEngine(client, "approval", url=server.url).state(uuid.uuid4().hex)
    assert not state.started and not state.done


async def test_unreachable_server_is_one_line_and_the_catalog_waits_for_it(server):
    dead = f"http://127.0.0.1:{free_port()}"
    lg = get_client(url=dead, api_key=None, timeout=2)
    engine = RemoteEngine(lg, "approval", url=dead)
    remote = RemoteSource(lg, dead, "approval")
    try:  # both at once: the SDK's transport retries a refused connection for ~7 s
        reading, catalog = await asyncio.gather(
            engine.state(uuid.uuid4().hex),
            load_catalog(None, None, None, remote=remote),
            return_exceptions=True,
        )
        line = f"cannot reach the LangGraph server at {dead} (ConnectError)"
        assert isinstance(reading, LangGraphServerError)
        assert str(reading) == line
        # Start-up goes on without the graph: the catalog says why, and keeps asking.
        assert isinstance(catalog, RemoteCatalog) and not catalog.loaded
        assert catalog.problem == line
        assert catalog.unavailable() == UNREACHABLE_NOW.format(url=dead)
        assert catalog.help_text() == catalog.unavailable()
        with pytest.raises(LangGraphServerError, match="cannot reach"):
            catalog["approval"]
        await catalog.aclose()
    finally:
        await lg.aclose()


async def test_catalog_picks_by_graph_or_assistant_id_and_reads_the_input_schema(server, client):
    catalog = await load_catalog(
        None, None, None, remote=RemoteSource(client, server.url, "approval")
    )
    graph = catalog.default
    assert (graph.name, graph.inputs.text_field) == ("approval", "request")
    assert graph.description.startswith("Approve a payment")
    assert "outcome" in (graph.outputs or ())

    (assistant,) = await client.assistants.search(graph_id="typed_answer")
    catalog = await load_catalog(
        None, None, None, remote=RemoteSource(client, server.url, assistant["assistant_id"])
    )
    assert catalog.default.name == "typed_answer"
    assert catalog.default.inputs.text_field == "incident"

    catalog = await load_catalog(
        None, None, None, remote=RemoteSource(client, server.url, "assistant")
    )
    assert catalog.default.inputs.messages

    catalog = await load_catalog(
        None, None, None, remote=RemoteSource(client, server.url, "breakpoint")
    )
    engine = catalog.default.engine
    assert isinstance(engine, RemoteEngine)
    assert engine.breakpoints.before == engine.breakpoints.after == {"approval"}


async def test_several_graphs_and_none_chosen_is_a_start_up_error_listing_them(server, client):
    with pytest.raises(GraphLoadError) as caught:
        await load_catalog(None, None, None, remote=RemoteSource(client, server.url))
    message = str(caught.value)
    assert "has several graphs (approval, assistant, breakpoint," in message
    assert "set LANGGRAPH_ASSISTANT_ID" in message and "\n" not in message
    with pytest.raises(GraphLoadError, match="LANGGRAPH_ASSISTANT_ID='nope' is no assistant"):
        await load_catalog(None, None, None, remote=RemoteSource(client, server.url, "nope"))


async def test_the_api_key_goes_as_x_api_key_and_one_graph_needs_no_choosing():
    seen: list[str | None] = []

    async def search(request: web.Request) -> web.Response:
        seen.append(request.headers.get("x-api-key"))
        if int((await request.json()).get("offset") or 0):
            return web.json_response([])
        return web.json_response([{"assistant_id": str(uuid.uuid4()), "graph_id": "only"}])

    async def anything(request: web.Request) -> web.Response:
        seen.append(request.headers.get("x-api-key"))
        return web.json_response({"input_schema": None, "nodes": []})

    app = web.Application()
    app.router.add_post("/assistants/search", search)
    app.router.add_get("/assistants/{aid}/{what}", anything)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    lg = get_client(url=url, api_key="lsv2-secret")
    try:
        catalog = await load_catalog(None, None, None, remote=RemoteSource(lg, url))
    finally:
        await lg.aclose()
        await runner.cleanup()
    assert catalog.default.name == "only" and catalog.default.inputs.fields == ()
    assert seen and set(seen) == {"lsv2-secret"}


async def test_a_server_answering_5xx_is_waited_for_at_start_up_and_one_line_for_a_run():
    failing = {"search": True}

    async def search(request: web.Request) -> web.Response:
        if failing["search"]:
            return web.json_response({"detail": "the database is restarting"}, status=503)
        if int((await request.json()).get("offset") or 0):
            return web.json_response([])
        return web.json_response([{"assistant_id": str(uuid.uuid4()), "graph_id": "only"}])

    async def anything(request: web.Request) -> web.Response:
        return web.json_response({"input_schema": None, "nodes": []})

    async def run(request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad Gateway</html>")

    app = web.Application()
    app.router.add_post("/assistants/search", search)
    app.router.add_get("/assistants/{aid}/{what}", anything)
    app.router.add_post("/threads/{tid}/runs", run)
    app.router.add_post("/threads/{tid}/runs/stream", run)  # a step is read as it streams
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    lg = get_client(url=url, api_key=None)
    try:
        catalog = await load_catalog(None, None, None, remote=RemoteSource(lg, url))
        assert isinstance(catalog, RemoteCatalog) and not catalog.loaded  # start-up goes on
        assert catalog.unavailable() == (
            "I can't start anything yet: the LangGraph server answered 503 (the database is"
            " restarting). Whoever runs this app can fix it."
        )
        failing["search"] = False
        assert await catalog.load() and catalog.unavailable() is None
        engine = catalog.default.engine
        with pytest.raises(LangGraphServerError) as caught:
            await engine.resume(uuid.uuid4().hex, {"a" * 32: "yes"})
        assert str(caught.value) == "the LangGraph server answered 502 (Bad Gateway)"
        await catalog.aclose()
    finally:
        await lg.aclose()
        await runner.cleanup()


# -- settings -----------------------------------------------------------------------------------

REMOTE_ENV = {
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_SIGNING_SECRET": "secret",
    "LANGGRAPH_URL": "http://127.0.0.1:2024/",
}


def test_remote_settings_need_no_openai_key():
    settings = Settings.from_env(
        REMOTE_ENV | {"LANGGRAPH_ASSISTANT_ID": "agent", "LANGGRAPH_API_KEY": "lsv2-1"}
    )
    assert settings.remote and settings.langgraph_url == "http://127.0.0.1:2024"
    assert (settings.langgraph_assistant_id, settings.langgraph_api_key) == ("agent", "lsv2-1")
    assert settings.openai_api_key == ""
    assert not Settings.from_env(
        REMOTE_ENV | {"LANGGRAPH_URL": ""} | {"OPENAI_API_KEY": "k"}
    ).remote


def test_bad_remote_settings_are_part_of_the_one_line_report():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(
            REMOTE_ENV
            | {"LANGGRAPH_URL": "localhost:2024", "ORCHESTRATE_GRAPH": "x.py:g", "PORT": "0"}
        )
    message = str(caught.value)
    assert "\n" not in message
    assert "LANGGRAPH_URL must start with http:// or https://, got 'localhost:2024'" in message
    assert "set ORCHESTRATE_GRAPH or LANGGRAPH_URL, not both" in message
    assert "PORT must be" in message
    with pytest.raises(SettingsError, match="LANGGRAPH_ASSISTANT_ID needs LANGGRAPH_URL"):
        Settings.from_env(
            {k: v for k, v in REMOTE_ENV.items() if k != "LANGGRAPH_URL"}
            | {"OPENAI_API_KEY": "k", "LANGGRAPH_ASSISTANT_ID": "agent"}
        )
