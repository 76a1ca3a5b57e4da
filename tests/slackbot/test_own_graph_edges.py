"""Your own graph, the unhappy paths: specs that give no graph, graphs that raise, values that
are not JSON, a form whose trigger expired; and a database made before migrations upgrading."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from slackbot.catalog import load_catalog
from slackbot.engine.loading import GraphLoadError
from slackbot.postgres import open_pool
from slackbot.store import Store
from slackbot.store.backends import PostgresDatabase, SqliteDatabase
from slackbot.store.migrations import FOLDER, migrations
from tests.slackbot.conftest import ANA, CHANNEL, app_settings, block_text, started
from tests.slackbot.test_own_graph import buttons, form, next_open, press, result, start

GRAPH = """
from datetime import datetime
from typing_extensions import TypedDict
from langgraph.graph import StateGraph, START, END
from langgraph.types import interrupt

class State(TypedDict):
    text: str

def ask(state):
    {body}
    return {{"text": str(answer)}}

builder = StateGraph(State)
builder.add_node("ask", ask)
builder.add_edge(START, "ask")
builder.add_edge("ask", END)
graph = builder.compile()
"""


def graph_file(tmp_path, body: str, name: str = "mine.py") -> str:
    path = tmp_path / name
    path.write_text(GRAPH.format(body=textwrap.dedent(body).strip()))
    return f"{path}:graph"


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("nothing-here", "names no graph"),
        ("./missing.py:graph", "there is no file"),
        ("json:dumps", "is a function"),
        ("json:nope", "has no attribute 'nope'"),
        ("sys:maxsize", "is an `int`, not a LangGraph graph"),
        ("no_such_module_x:graph", "importing no_such_module_x failed"),
    ],
)
async def test_a_spec_that_gives_no_graph_says_why_in_one_line(tmp_path, spec, says):
    with pytest.raises(GraphLoadError) as caught:
        await load_catalog(spec, InMemorySaver(), None, cwd=tmp_path)
    message = str(caught.value)
    assert says in message or (says == "is a function" and "not a LangGraph graph" in message)
    assert "\n" not in message


async def test_a_graph_file_that_fails_to_import_names_the_error(tmp_path):
    (tmp_path / "broken.py").write_text("raise RuntimeError('bad config')\n")
    with pytest.raises(GraphLoadError, match="RuntimeError: bad config"):
        await load_catalog("./broken.py:graph", InMemorySaver(), None, cwd=tmp_path)


async def test_a_langgraph_json_offers_every_graph_with_its_description(tmp_path):
    spec = graph_file(tmp_path, 'answer = interrupt("Go?")')
    (tmp_path / "langgraph.json").write_text(
        json.dumps({"graphs": {"first": "./mine.py:graph", "second": {"path": spec}}})
    )
    catalog = await load_catalog(str(tmp_path / "langgraph.json"), InMemorySaver(), None)
    assert list(catalog.graphs) == ["first", "second"] and catalog.default.name == "first"
    assert catalog.pick("second hello")[0].name == "second"
    assert catalog.pick("hello there") == (catalog.default, "hello there")


@pytest.fixture
def own_app(slack, llm_server, tmp_path):
    async def make(body: str, **overrides):
        settings = app_settings(
            slack, llm_server, data_dir=tmp_path, graph_spec=graph_file(tmp_path, body), **overrides
        )
        return started(settings, slack)

    return make


async def test_a_graph_that_raises_stops_with_a_retry(slack, own_app):
    async with await own_app('answer = interrupt("Go?")\n    raise ValueError("no budget left")'):
        root = await start(slack, "go")
        review = await next_open(slack, root)
        await press(slack, review, "Answer")
        view = (await slack.wait_for(lambda: slack.open_views(ANA)))[-1]
        block = next(b["block_id"] for b in view["blocks"] if b["type"] == "input")
        await slack.submit_view(ANA, {block: "yes"})
        failed = await next_open(slack, root, after=review)
        assert "ValueError: no budget left" in block_text(failed)
        assert list(buttons(failed)) == ["Retry"]


async def test_a_value_that_is_not_json_is_shown_as_text(slack, own_app):
    body = 'answer = interrupt({"question": "When?", "at": datetime(2030, 1, 2)})'
    async with await own_app(body):
        root = await start(slack, "when")
        review = await next_open(slack, root)
        assert "When?" in block_text(review) and "‹datetime› 2030-01-02" in block_text(review)


async def test_an_untyped_answer_that_is_json_reaches_the_graph_as_json(slack, own_app):
    body = """answer = interrupt("Which action, how many times?")
    answer = (f"{answer['action']} x{answer['times']}" if isinstance(answer, dict)
              else f"text: {answer}")"""
    async with await own_app(body):
        for typed, reached in [('{"action": "approve", "times": 2}', "approve x2"),
                               ("approve twice", "text: approve twice"),
                               ('"quoted"', 'text: "quoted"')]:  # fmt: skip
            root = await start(slack, "go")
            review = await next_open(slack, root)
            view = await form(slack, review, "Answer")
            (block,) = [b for b in view["blocks"] if b["type"] == "input"]
            assert "is sent as JSON" in block["hint"]["text"]  # said under the input
            status, reply = await slack.submit_view(ANA, {block["block_id"]: typed})
            assert status == 200 and not reply
            assert reached in await result(slack, root)


async def test_a_form_opened_too_late_tells_the_person_to_click_again(slack, own_app):
    slack.modals.triggers.ttl = 0.0  # every trigger_id has expired by the time it is used
    async with await own_app('answer = interrupt("Go?")'):
        root = await start(slack, "go")
        review = await next_open(slack, root)
        await press(slack, review, "Answer")
        notice = await slack.wait_for(lambda: slack.responses)
        assert "click the button again" in notice[-1]["text"]
        assert slack.open_views(ANA) == [] and buttons(review)


@pytest.fixture(params=["postgres", "sqlite"])
async def old_db(request, tmp_path):
    """An empty database of each backend, as the first release would have found it."""
    if request.param == "sqlite":
        db = await SqliteDatabase.open(tmp_path / "old.sqlite")
        yield db
        await db.close()
        return
    async with open_pool(request.getfixturevalue("pg_url")) as pool:
        yield PostgresDatabase(pool)


async def test_a_database_made_before_migrations_upgrades_in_place(old_db):
    first = migrations()[0]
    assert first.version == 1 and (FOLDER / "0001_initial.sql").exists()
    async with old_db.transaction() as tx:  # what the first release created, with one run
        for statement in first.statements:
            await tx.execute(statement)
        await tx.execute(
            "INSERT INTO orchestrate_runs (run_id, team_id, channel_id, started_by, topic,"
            " status, phase, step, created_at, updated_at) VALUES ('r1', 'T', 'C', 'U',"
            " 'Berlin', 'waiting', 'waiting', 1, 1, 1)"
        )
        await tx.execute(
            "INSERT INTO orchestrate_reviews (review_id, run_id, step, interrupt_id,"
            " position, request, status) VALUES ('v1', 'r1', 1, 'i1', 0, '{\"draft\": 1}',"
            " 'pending')"
        )
    store = Store(old_db)
    assert await store.setup() == [v.version for v in migrations()]
    assert await store.setup() == []  # applied once
    run = await store.get_run("r1")
    assert (run.topic, run.graph, run.input) == ("Berlin", "orchestrate", None)
    (review,) = await store.step_reviews("r1", 1)
    assert (review.kind, review.request) == ("worker", {"draft": 1})
    assert review.response_schema is None


async def test_the_readme_example_works_as_written(slack, llm_server, tmp_path):
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    code = readme.split("# approvals.py — ORCHESTRATE_GRAPH=./approvals.py:graph\n")[1]
    (tmp_path / "approvals.py").write_text(code.split("```")[0])
    settings = app_settings(
        slack, llm_server, data_dir=tmp_path, graph_spec=f"{tmp_path / 'approvals.py'}:graph"
    )
    async with started(settings, slack):
        root = await start(slack, "a new laptop for Ben")
        review = await next_open(slack, root)
        assert "Approve a new laptop for Ben?" in block_text(review)
        assert list(buttons(review)) == ["Answer"]
        await press(slack, review, "Answer")
        view = (await slack.wait_for(lambda: slack.open_views(ANA)))[-1]
        inputs = [b for b in view["blocks"] if b["type"] == "input"]
        assert [b["label"]["text"] for b in inputs] == ["Decision", "Note"]
        approve = next(
            o["value"] for o in inputs[0]["element"]["options"] if o["text"]["text"] == "approve"
        )
        status, reply = await slack.submit_view(ANA, {inputs[0]["block_id"]: approve})
        assert status == 200 and not reply
        done = await slack.wait_for(
            lambda: [m for m in slack.thread(CHANNEL, root.ts) if "🏁 Result" in block_text(m)]
        )
        assert "approve" in block_text(done[0])
