"""The orchestration graph over real HTTP to a local OpenAI-compatible server."""

import json
import uuid
from contextlib import asynccontextmanager

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Command

from graphs.graph import build_graph
from graphs.review import LAST_ROUND_NOTICE, pending_interrupts
from slackbot.postgres import open_pool


def approve(user="U1"):
    return {"action": "approve", "by": user}


def revise(notes, user="U1"):
    return {"action": "revise", "notes": notes, "by": user}


class Run:
    """One orchestration thread on a graph, with helpers to read what is pending."""

    def __init__(self, graph, context):
        self.graph, self.context = graph, context
        self.config = {"configurable": {"thread_id": uuid.uuid4().hex}}

    async def invoke(self, value):
        return await self.graph.ainvoke(value, self.config, context=self.context)

    async def pending(self):
        return pending_interrupts(await self.graph.aget_state(self.config))

    async def by_worker(self):
        return {i.value["worker_id"]: i for i in await self.pending()}


@pytest.fixture
def run(context):
    return Run(build_graph(InMemorySaver()), context)


async def test_run_pauses_with_one_interrupt_per_worker_in_one_step(run, llm_server):
    await run.invoke({"topic": "Open an office in Berlin"})
    pending = await run.pending()
    assert [i.value["worker_id"] for i in pending] == ["researcher", "critic", "editor"]
    assert len({i.id for i in pending}) == 3
    assert all(len(i.id) == 32 for i in pending)
    snapshot = await run.graph.aget_state(run.config)
    assert snapshot.next == ("worker", "worker", "worker")  # all three wait in one step
    first = pending[0].value
    assert first["round"] == 1 and first["answers"] == ["approve", "revise"]
    assert first["draft"].startswith("First draft by the Researcher")
    assert json.loads(json.dumps(first)) == first  # JSON-plain
    assert len(llm_server.requests) == 4  # one plan + three drafts


async def test_full_resume_map_finishes_the_step(run):
    await run.invoke({"topic": "t"})
    answers = {i.id: approve() for i in await run.pending()}
    result = await run.invoke(Command(resume=answers))
    assert await run.pending() == []
    assert "researcher" in result["summary"]
    assert [a["approved_by"] for a in result["approved"]] == ["U1", "U1", "U1"]


async def test_partial_resume_leaves_the_others_paused_with_their_ids(run):
    await run.invoke({"topic": "t"})
    before = await run.by_worker()
    await run.invoke(Command(resume={before["critic"].id: approve()}))
    after = await run.by_worker()
    assert set(after) == {"researcher", "editor"}
    assert after["researcher"].id == before["researcher"].id
    assert after["editor"].id == before["editor"].id


async def test_revise_redrafts_with_the_notes_and_asks_again(run, llm_server):
    await run.invoke({"topic": "t"})
    first = await run.by_worker()
    answers = {i.id: approve() for i in first.values()}
    answers[first["editor"].id] = revise("Cite the lease terms")
    await run.invoke(Command(resume=answers))
    second = await run.by_worker()
    assert set(second) == {"editor"}
    assert second["editor"].id != first["editor"].id
    assert second["editor"].value["round"] == 2
    assert second["editor"].value["notes"] == "Cite the lease terms"
    assert second["editor"].value["draft"] != first["editor"].value["draft"]
    sent = llm_server.requests_where("Reviewer notes: Cite the lease terms")
    assert len(sent) == 1
    assert first["editor"].value["draft"] in sent[0]["messages"][-1]["content"]


async def test_resuming_does_not_redraft_written_drafts(run, llm_server):
    await run.invoke({"topic": "t"})
    assert len(llm_server.requests) == 4
    first = await run.by_worker()
    await run.invoke(Command(resume={first["researcher"].id: approve()}))
    assert len(llm_server.requests) == 4  # the other two only asked again, no LLM call
    rest = await run.pending()
    answers = {i.id: approve() for i in rest}
    answers[first["critic"].id] = revise("more risks")
    await run.invoke(Command(resume=answers))
    assert len(llm_server.requests) == 5  # exactly one redraft


async def test_summary_is_written_once_from_the_approved_drafts(run, llm_server):
    await run.invoke({"topic": "Berlin"})
    pending = await run.pending()
    drafts = [i.value["draft"] for i in pending]
    result = await run.invoke(Command(resume={i.id: approve() for i in pending}))
    summary_calls = llm_server.requests_where("final summary")
    assert len(summary_calls) == 1
    for draft in drafts:
        assert draft in result["summary"]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"action": "reject", "by": "U1"}, "Unknown action 'reject'"),
        ({"action": "revise", "by": "U1"}, "needs notes"),
        ("yes", "must be an object"),
    ],
)
async def test_malformed_answer_asks_again(run, answer, problem):
    await run.invoke({"topic": "t"})
    first = await run.by_worker()
    answers = {i.id: approve() for i in first.values()}
    answers[first["critic"].id] = answer
    await run.invoke(Command(resume=answers))
    again = await run.by_worker()
    assert set(again) == {"critic"}
    assert problem in again["critic"].value["notice"]
    assert again["critic"].value["draft"] == first["critic"].value["draft"]
    result = await run.invoke(Command(resume={again["critic"].id: approve()}))
    assert result["summary"]


async def test_last_round_offers_only_approval(context, llm_server):
    context.max_revisions = 1
    run = Run(build_graph(InMemorySaver()), context)
    await run.invoke({"topic": "t"})
    first = await run.by_worker()
    answers = {i.id: approve() for i in first.values()}
    answers[first["editor"].id] = revise("again")
    await run.invoke(Command(resume=answers))
    last = (await run.by_worker())["editor"].value
    assert last["answers"] == ["approve"] and last["round"] == last["max_rounds"] == 2
    assert LAST_ROUND_NOTICE in last["notice"]
    await run.invoke(Command(resume={(await run.pending())[0].id: revise("more")}))
    refused = (await run.by_worker())["editor"].value
    assert "Unknown action 'revise'" in refused["notice"]


async def test_plan_respects_max_workers(context, llm_server):
    context.max_workers = 2
    run = Run(build_graph(InMemorySaver()), context)
    await run.invoke({"topic": "t"})
    assert [i.value["worker_id"] for i in await run.pending()] == ["researcher", "critic"]


async def test_unusable_plan_falls_back_after_one_retry(run, llm_server):
    llm_server.script.extend(["not json", json.dumps({"assignments": [{"worker_id": "x"}]})])
    result = await run.invoke({"topic": "t"})
    assert "default plan" in result["plan_note"]
    assert [a["worker_id"] for a in result["assignments"]] == ["researcher", "critic", "editor"]
    assert len(llm_server.requests_where("worker assignments")) == 2


async def test_llm_failure_stops_the_run_at_its_last_checkpoint(run, llm_server):
    await run.invoke({"topic": "t"})
    pending = await run.pending()
    llm_server.fail_next(1, status=500)
    answers = {i.id: approve() for i in pending}
    answers[pending[0].id] = revise("x")
    with pytest.raises(Exception, match="500"):
        await run.invoke(Command(resume=answers))
    # Resuming again with the same answers picks up where it stopped.
    result = await run.invoke(Command(resume=answers))
    assert "__interrupt__" in result
    assert [i.value["round"] for i in await run.pending()] == [2]


@asynccontextmanager
async def sqlite_saver(tmp_path):
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "checkpoints.sqlite")) as saver:
        yield saver


@asynccontextmanager
async def postgres_saver(pg_url):
    async with open_pool(pg_url) as pool:
        saver = AsyncPostgresSaver(pool)
        await saver.setup()
        yield saver


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_paused_thread_resumes_on_a_fresh_graph_and_saver(
    backend, tmp_path, request, context, llm_server
):
    def open_saver():
        if backend == "sqlite":
            return sqlite_saver(tmp_path)
        return postgres_saver(request.getfixturevalue("pg_url"))

    async with open_saver() as saver:
        run = Run(build_graph(saver), context)
        await run.invoke({"topic": "survives restarts"})
        pending = await run.pending()
    config = run.config
    # As after a restart: new saver, new graph, same thread id.
    async with open_saver() as saver:
        fresh = Run(build_graph(saver), context)
        fresh.config = config
        assert [i.id for i in await fresh.pending()] == [i.id for i in pending]
        result = await fresh.invoke(Command(resume={i.id: approve() for i in pending}))
    assert (
        "survives restarts"
        in llm_server.requests_where("final summary")[0]["messages"][0]["content"]
    )
    assert result["summary"] and len(llm_server.requests) == 5
