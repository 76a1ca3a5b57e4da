"""Your own graph's input, as people type it: checked against the graph's input JSON Schema
before anything starts (refused privately, naming the field), for graphs written the ways
LangGraph's docs write them: a TypedDict, a MessagesState with one more field, the Functional
API, `from __future__ import annotations`; and, with several graphs, which one the text is for."""

from __future__ import annotations

import json

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from slackbot.catalog import load_catalog
from slackbot.engine.inputs import InputError
from slackbot.store import RunStatus
from tests.slackbot.conftest import ANA, CHANNEL, app_settings, block_text, started
from tests.slackbot.test_own_graph import fill, form, next_open, result, run_row, start

EXPENSE = '''
"""File an expense."""
from typing_extensions import TypedDict
from langgraph.graph import StateGraph, START, END


class State(TypedDict):
    description: str
    amount: float


def book(state: State) -> dict:
    return {"description": f"booked {state['description']} for {state['amount']:.2f}"}


builder = StateGraph(State)
builder.add_node("book", book)
builder.add_edge(START, "book")
builder.add_edge("book", END)
graph = builder.compile()
'''

SUPPORT = '''
"""Answer a customer."""
from langchain_core.messages import AIMessage
from langgraph.graph import StateGraph, START, END, MessagesState


class State(MessagesState):
    customer: str


def reply(state: State) -> dict:
    asked = state["messages"][-1].content
    return {"messages": [AIMessage(f"Dear {state['customer']}, about {asked!r}: on it.")]}


builder = StateGraph(State)
builder.add_node("reply", reply)
builder.add_edge(START, "reply")
builder.add_edge("reply", END)
graph = builder.compile()
'''

ESSAY = '''
"""Write an essay (the Functional API, as LangGraph's docs write it)."""
from langgraph.func import entrypoint, task
from langgraph.types import interrupt


@task
def write_essay(topic: str) -> str:
    return f"An essay about {topic}"


@entrypoint()
def essay_workflow(topic: str) -> dict:
    essay = write_essay(topic).result()
    verdict = interrupt({"essay": essay, "action": "Please approve or reject the essay"})
    return {"essay": essay, "verdict": verdict}
'''

APPROVALS = '''
"""The README's approvals.py, with postponed annotations."""
from __future__ import annotations

from typing import Literal
from pydantic import BaseModel
from typing_extensions import NotRequired, TypedDict
from langgraph.graph import StateGraph, START, END
from langgraph.types import interrupt


class State(TypedDict):
    request: str
    decision: NotRequired[str]


class Verdict(BaseModel):
    decision: Literal["approve", "reject"]
    note: str = ""


def review(state: State) -> dict:
    verdict = interrupt({"question": f"Approve {state['request']}?"}, response_schema=Verdict)
    return {"decision": verdict.decision}


builder = StateGraph(State)
builder.add_node("review", review)
builder.add_edge(START, "review")
builder.add_edge("review", END)
graph = builder.compile()
'''

FILES = {"expense": EXPENSE, "support": SUPPORT, "essay": ESSAY, "approvals": APPROVALS}
ATTRS = {"essay": "essay_workflow"}


def write_graphs(folder, names) -> str:
    """A langgraph.json offering the named graphs (the first is the default)."""
    for name in names:
        (folder / f"{name}.py").write_text(FILES[name])
    graphs = {n: f"./{n}.py:{ATTRS.get(n, 'graph')}" for n in names}
    (folder / "langgraph.json").write_text(json.dumps({"graphs": graphs}))
    return str(folder / "langgraph.json")


@pytest.fixture
async def app(slack, llm_server, database):
    database_url, data_dir = database
    spec = write_graphs(data_dir, ["expense", "support", "essay", "approvals"])
    settings = app_settings(
        slack, llm_server, database_url=database_url, data_dir=data_dir, graph_spec=spec
    )
    async with started(settings, slack) as running:
        yield running


async def refused(slack, text) -> str:
    """The private answer to `/orchestrate <text>`, checking that nothing started."""
    status, body = await slack.slash_command(ANA, CHANNEL, text)
    assert status == 200 and body.strip(), body
    assert slack.roots(CHANNEL) == [] and not slack.calls_to("chat.postMessage")
    return body


# -- 3. input that does not fit the graph -------------------------------------------------------


async def test_a_json_input_is_checked_against_the_graph_naming_the_field(slack, app):
    assert (await refused(slack, 'expense {"foo": 1}')).startswith("`description` is missing.")
    body = await refused(slack, 'expense {"description": "taxi", "amount": "lots"}')
    assert body.startswith("`amount` must be a number.")
    assert "For example `/orchestrate expense {" in body

    root = await start(slack, 'expense {"description": "taxi", "amount": 12.5}')
    assert "booked taxi for 12.50" in await result(slack, root)

    # Slack escapes & < > in a command's text: the graph gets them as they were typed.
    root = await start(slack, 'expense {"description": "R&D <lab> taxi", "amount": 3}')
    await result(slack, root)
    assert (await run_row(app, root)).input == {"description": "R&D <lab> taxi", "amount": 3}


async def test_a_messages_graph_with_one_more_field_takes_json_and_refuses_plain_text(slack, app):
    body = await refused(slack, "support where is my order")
    assert body.startswith("This graph needs `customer` besides your message")
    typed = {"messages": [{"role": "user", "content": "where is my order"}], "customer": "ACME"}
    root = await start(slack, "support " + json.dumps(typed))
    assert "Dear ACME, about 'where is my order': on it." in await result(slack, root)
    run = await run_row(app, root)
    assert run.input == typed


# -- 4. the Functional API; 5. postponed annotations ---------------------------------------------


async def test_a_functional_api_entrypoint_takes_the_text(slack, app):
    root = await start(slack, "essay the sea")
    review = await next_open(slack, root)
    assert "An essay about the sea" in block_text(review)
    view = await form(slack, review, "Answer")
    block = next(b["block_id"] for b in view["blocks"] if b["type"] == "input")
    await slack.submit_view(ANA, {block: "approved"})
    text = await result(slack, root)
    assert "An essay about the sea" in text and "approved" in text
    assert (await run_row(app, root)).input == "the sea"


async def test_not_required_fields_stay_optional_under_postponed_annotations(slack, app):
    root = await start(slack, "approvals a new laptop")
    review = await next_open(slack, root)
    assert "Approve a new laptop?" in block_text(review)
    view = await form(slack, review, "Answer")
    await slack.submit_view(ANA, fill(view, Decision="approve"))
    await result(slack, root)
    run = await run_row(app, root)
    assert (run.status, run.input) == (RunStatus.DONE, {"request": "a new laptop"})


# -- 14. several graphs: which one, and the words about it -----------------------------------------


async def test_a_word_that_names_no_graph_says_so_with_the_list(slack, app):
    body = await refused(slack, "nosuchgraph do it")
    assert body == (
        "There is no graph `nosuchgraph` here; there are `expense`, `support`, `essay`,"
        " `approvals`. `/orchestrate help` says what each takes."
    )


async def test_a_graph_named_without_input_shows_its_own_usage(slack, app):
    body = await refused(slack, "expense")
    assert body == (
        "`expense` takes a JSON object with `description`: text, `amount`: number, for example"
        ' `/orchestrate expense {"description": "…", "amount": 1.5}`.'
    )


async def test_invalid_json_is_called_invalid_json(slack, app):
    body = await refused(slack, 'expense {"description": "taxi", amount: 3}')
    assert body.startswith("That is not valid JSON: expecting property name")


async def test_help_gives_each_graph_a_real_example(slack, app):
    status, body = await slack.slash_command(ANA, CHANNEL, "help")
    assert status == 200
    assert '`/orchestrate expense {"description": "…", "amount": 1.5}`' in body
    assert "`essay`: Write an essay" in body and "`/orchestrate essay &lt;your text&gt;`" in body
    assert "`/orchestrate approvals &lt;request&gt;`" in body
    assert "…`." not in body.replace('…"', "")  # no bare "/orchestrate expense …"


async def test_with_a_text_default_an_unknown_first_word_is_its_text(tmp_path):
    catalog = await load_catalog(
        write_graphs(tmp_path, ["approvals", "expense"]), InMemorySaver(), None
    )
    graph, _, graph_input = catalog.prepare("nosuchgraph do it")
    assert (graph.name, graph_input) == ("approvals", {"request": "nosuchgraph do it"})
    with pytest.raises(InputError, match="`amount` is missing"):
        catalog.prepare('expense {"description": "taxi"}')


def test_with_no_required_field_the_text_fills_the_first_text_field():
    """A `TypedDict(total=False)` state as newcomers write it (nothing required): the text
    fills its first text field, as a single required text field does, not "takes a JSON
    object"; JSON naming its fields is still the input."""
    from langgraph.graph import END, START, StateGraph
    from typing_extensions import TypedDict

    from slackbot.engine.inputs import input_spec

    class State(TypedDict, total=False):
        count: int
        request: str
        traveller: str

    builder = StateGraph(State)
    builder.add_node("noop", lambda state: {})
    builder.add_edge(START, "noop")
    builder.add_edge("noop", END)
    spec = input_spec(builder.compile())
    assert spec.text_field == "request" and spec.takes_text
    assert spec.build("a trip to Lisbon") == {"request": "a trip to Lisbon"}
    assert spec.build('{"traveller": "Ana"}') == {"traveller": "Ana"}
    assert spec.describe() == "text (becomes `request`)"
