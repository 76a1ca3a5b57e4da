"""The engine's event stream: a real `create_agent` (ChatOpenAI streaming from the local
OpenAI-compatible server) and the built-in graph, run step by step through `events`."""

from __future__ import annotations

import uuid

from langgraph.checkpoint.memory import InMemorySaver

from graphs.examples import agent
from graphs.graph import build_graph
from slackbot.engine.events import (
    Done,
    Interrupted,
    NodeFinished,
    NodeStarted,
    Step,
    TextDelta,
    ToolFinished,
    ToolStarted,
)
from slackbot.engine.local import LocalEngine

EMAIL = {"to": "ana@example.com", "subject": "Launch", "body": "It ships on Friday."}


def agent_engine(monkeypatch, llm_server) -> LocalEngine:
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    graph = agent.make_graph().copy(update={"checkpointer": InMemorySaver()})
    return LocalEngine(graph)


async def collect(engine, thread_id, step):
    return [event async for event in engine.events(thread_id, step)]


async def test_an_agent_step_streams_its_text_its_tool_calls_and_its_interrupt(
    monkeypatch, llm_server
):
    engine = agent_engine(monkeypatch, llm_server)
    thread = uuid.uuid4().hex
    llm_server.script_tool_calls([("send_email", EMAIL)], content="Let me write to Ana now.")
    llm_server.script.append("Done: the email to Ana went out, saying it ships on Friday.")

    first = await collect(engine, thread, Step.start({"messages": [("user", "email Ana")]}))
    deltas = [e for e in first if isinstance(e, TextDelta)]
    assert len(deltas) > 3  # token by token, not the whole message at once
    assert "".join(d.text for d in deltas) == "Let me write to Ana now."
    assert len({d.message_id for d in deltas}) == 1
    started = [e for e in first if isinstance(e, ToolStarted)]
    assert [(s.name, s.args) for s in started] == [("send_email", EMAIL)]
    (interrupted,) = [e for e in first if isinstance(e, Interrupted)]
    assert isinstance(first[-1], Done) and first[-1].state is not None
    assert [i.id for i in first[-1].state.interrupts] == list(interrupted.ids)  # as ainvoke

    answer = {interrupted.ids[0]: {"decisions": [{"type": "approve"}]}}
    second = await collect(engine, thread, Step.resume(answer))
    (finished,) = [e for e in second if isinstance(e, ToolFinished)]
    assert (finished.call_id, finished.name, finished.ok) == (
        started[0].call_id,
        "send_email",
        True,
    )
    assert "Email sent to ana@example.com" in finished.result
    text = "".join(e.text for e in second if isinstance(e, TextDelta))
    assert text == "Done: the email to Ana went out, saying it ships on Friday."
    assert second[-1] == Done(None)  # finished: the state is read back
    final = await engine.state(thread)
    assert final.done and final.values["messages"][-1].content == text


async def test_the_built_in_graph_tells_each_node_as_it_starts_and_ends(context):
    engine = LocalEngine(build_graph(InMemorySaver()), context)
    thread = uuid.uuid4().hex
    events = await collect(engine, thread, Step.start({"topic": "Open an office"}))
    nodes = [
        (type(e).__name__, e.name) for e in events if isinstance(e, NodeStarted | NodeFinished)
    ]
    assert ("NodeStarted", "plan") in nodes and ("NodeFinished", "plan") in nodes
    assert nodes.index(("NodeStarted", "plan")) < nodes.index(("NodeFinished", "plan"))
    # the workers (Send tasks, a subgraph each) show by name: draft done, review waiting
    for worker in ("researcher", "critic", "editor"):
        draft, review = f"{worker}: draft", f"{worker}: review"
        assert nodes.index(("NodeStarted", draft)) < nodes.index(("NodeFinished", draft))
        assert ("NodeStarted", review) in nodes and ("NodeFinished", review) not in nodes
    assert not [n for n in nodes if n[1] == "worker"]  # named by worker, not by node
    assert any(isinstance(e, Interrupted) for e in events)
    # Three workers raise as they finish: Done leaves the state to be read back, in task order.
    assert isinstance(events[-1], Done) and events[-1].state is None
    reviews = [i.value["worker_id"] for i in (await engine.state(thread)).interrupts]
    assert reviews == ["researcher", "critic", "editor"]
