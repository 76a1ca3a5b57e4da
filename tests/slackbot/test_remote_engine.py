"""Graphs on a LangGraph server: a real `langgraph dev` runs the example graphs, the app (with
LANGGRAPH_URL) drives them from Slack over real HTTP and holds no graph and no checkpointer."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from langgraph_sdk import get_client

from slackbot.catalog import load_catalog
from slackbot.demo.process import AppProcess, free_port
from slackbot.engine.loading import GraphLoadError
from slackbot.engine.remote import LangGraphServerError, RemoteEngine, RemoteSource
from slackbot.settings import Settings, SettingsError
from slackbot.store import RunStatus
from tests.slackbot.conftest import ANA, BEN, CHANNEL, app_settings, block_text, db_rows, started
from tests.slackbot.langgraph_server import LangGraphServer, start_server
from tests.slackbot.test_own_graph import buttons, fill, form, next_open, press, result, run_row
from tests.slackbot.test_own_graph import start as start_run


@pytest.fixture(scope="module")
def langgraph_dev(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("langgraph-dev"))
    print(f"langgraph dev answered /ok after {server.started_in:.2f} s")
    yield server
    server.stop()


@pytest.fixture
def server(langgraph_dev: LangGraphServer):
    print(f"langgraph dev log: {langgraph_dev.log}")  # shown when a test fails
    yield langgraph_dev
    assert langgraph_dev.process.poll() is None, f"langgraph dev died:\n{langgraph_dev.log_tail()}"


@pytest.fixture
async def client(server):
    lg = get_client(url=server.url, api_key=None)
    yield lg
    await lg.aclose()


@asynccontextmanager
async def remote_app(slack, llm_server, server, graph, *, database_url, data_dir):
    settings = app_settings(
        slack,
        llm_server,
        database_url=database_url,
        data_dir=data_dir,
        langgraph_url=server.url,
        langgraph_assistant_id=graph,
    )
    async with started(settings, slack) as running:
        yield running


def thread_of(run) -> str:
    return str(uuid.UUID(run.run_id))


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


async def test_unreachable_server_is_one_line(server):
    dead = f"http://127.0.0.1:{free_port()}"
    lg = get_client(url=dead, api_key=None, timeout=2)
    engine = RemoteEngine(lg, "approval", url=dead)
    remote = RemoteSource(lg, dead, "approval")
    try:  # both at once: the SDK's transport retries a refused connection for ~7 s
        reading, loading = await asyncio.gather(
            engine.state(uuid.uuid4().hex),
            load_catalog(None, None, None, remote=remote),
            return_exceptions=True,
        )
    finally:
        await lg.aclose()
    assert isinstance(reading, LangGraphServerError)
    line = f"cannot reach the LangGraph server at {dead} (ConnectError)"
    assert str(reading) == line
    assert isinstance(loading, GraphLoadError) and loading.exit_code == 1
    assert str(loading) == f"LANGGRAPH_URL: {line}"


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
