"""An answer the graph refuses: a typed interrupt whose model has a validator the JSON Schema
cannot express. The form takes the answer, the resume raises `ValidationError`; the review opens
again showing why, the refused answer is kept, the step's other answers stay, and the new answer
resumes the step once. On PostgreSQL and SQLite, over real HTTP with the Slack emulator."""

from __future__ import annotations

import pytest

from slackbot.store import ReviewStatus, RunStatus
from tests.slackbot.conftest import ANA, BEN, app_settings, block_text, started
from tests.slackbot.test_own_graph import buttons, fill, form, next_open, result, run_row, start

GRAPH = """
from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel, model_validator
from typing_extensions import TypedDict


class Signoff(BaseModel):
    decision: Literal["approve", "reject"]
    comment: str | None = None

    @model_validator(mode="after")
    def a_rejection_says_why(self):
        if self.decision == "reject" and not self.comment:
            raise ValueError("a comment is required when rejecting")
        return self


class State(TypedDict, total=False):
    plan: str
    legal: str
    budget: str


def legal(state):
    answer = interrupt({"question": "Legal sign-off?"}, response_schema=Signoff)
    return {"legal": f"{answer.decision} ({answer.comment or 'no comment'})"}


def budget(state):
    answer = interrupt({"question": "Budget sign-off?"}, response_schema=Signoff)
    return {"budget": f"{answer.decision} ({answer.comment or 'no comment'})"}


builder = StateGraph(State)
builder.add_node("legal", legal)
builder.add_node("budget", budget)
builder.add_edge(START, "legal")
builder.add_edge(START, "budget")
builder.add_edge("legal", END)
builder.add_edge("budget", END)
graph = builder.compile()
"""


@pytest.fixture
async def app(slack, llm_server, database, tmp_path):
    (tmp_path / "signoff.py").write_text(GRAPH)
    database_url, data_dir = database
    settings = app_settings(
        slack,
        llm_server,
        database_url=database_url,
        data_dir=data_dir,
        graph_spec=f"{tmp_path / 'signoff.py'}:graph",
    )
    async with started(settings, slack) as running:
        yield running


async def answer(slack, review, user=ANA, **fields):
    view = await form(slack, review, "Answer", user)
    status, reply = await slack.submit_view(user, fill(view, **fields))
    assert status == 200 and not reply, reply  # the form takes it: the schema allows it


async def test_a_refused_answer_reopens_its_review_and_the_next_one_resumes_once(slack, app):
    root = await start(slack, '{"plan": "Q3 launch"}')
    first = await next_open(slack, root)
    second = await next_open(slack, root, after=first)
    legal, budget = (first, second) if "Legal" in block_text(first) else (second, first)
    await answer(slack, budget, BEN, Decision="approve")
    await answer(slack, legal, Decision="reject")  # no comment: the model refuses it

    def reopened():
        text = block_text(legal)
        return "refused by the graph" in text and buttons(legal) and text

    text = await slack.wait_for(reopened)
    assert "<@UANA>'s answer *decision: reject* was refused by the graph:" in text
    assert "a comment is required when rejecting. Answer again." in text
    assert "[type=" not in text and "errors.pydantic.dev" not in text  # one readable line
    assert "answered *decision: approve*" in block_text(budget)  # the other answer stays
    await app.services.orchestrator.wait_idle()
    run = await run_row(app, root)
    assert run.status == RunStatus.WAITING and run.phase == "waiting" and run.error is None
    await slack.wait_for(lambda: "Waiting" in block_text(slack.messages[(root.channel, root.ts)]))
    assert not any("Retry" in buttons(m) for m in slack.thread(root.channel, root.ts))
    store = app.services.store
    reviews = {r.request["question"]: r for r in await store.step_reviews(run.run_id, 1)}
    refused, kept = reviews["Legal sign-off?"], reviews["Budget sign-off?"]
    assert (refused.status, refused.answer) == (ReviewStatus.PENDING, None)
    assert [(r["answer"], r["by"]) for r in refused.refusals] == [({"decision": "reject"}, ANA)]
    assert (kept.status, kept.answer) == (ReviewStatus.DECIDED, {"decision": "approve"})

    await answer(slack, legal, Decision="reject", Comment="needs a DPA first")
    text = await result(slack, root)
    assert "reject (needs a DPA first)" in text and "approve (no comment)" in text
    reviews = {r.request["question"]: r for r in await store.step_reviews(run.run_id, 1)}
    legal_now = reviews["Legal sign-off?"]
    assert legal_now.status == ReviewStatus.DECIDED
    assert legal_now.answer == {"decision": "reject", "comment": "needs a DPA first"}
    assert len(legal_now.refusals) == 1  # kept for the record
    assert await store.step_reviews(run.run_id, 2) == []
    assert "refused" not in block_text(legal) and "needs a DPA first" in block_text(legal)
