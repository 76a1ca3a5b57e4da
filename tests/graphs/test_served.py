"""The built-in graph as a LangGraph server serves it: named in the root langgraph.json, run
from plain knobs (the run's context), its chat model built from the model name and the
environment of the process that serves it."""

import importlib
import json
import uuid
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from graphs import llm
from graphs.context import Context
from graphs.graph import build_graph
from graphs.review import pending_interrupts

ROOT = Path(__file__).parents[2]
SERVED = json.loads((ROOT / "langgraph.json").read_text())["graphs"]
EXAMPLES = json.loads((ROOT / "graphs" / "examples" / "langgraph.json").read_text())["graphs"]


def _target(path: str):
    file, attr = path.split(":")
    module = ".".join(Path(file).with_suffix("").parts)  # ./graphs/server.py → graphs.server
    return getattr(importlib.import_module(module), attr)


def test_the_root_langgraph_json_serves_the_built_in_graph_and_every_example():
    assert SERVED["orchestrate"]["path"] == "./graphs/server.py:graph"
    assert set(SERVED) == {"orchestrate", *EXAMPLES}
    for name, entry in EXAMPLES.items():  # the same graphs, described alike
        assert SERVED[name] == entry | {"path": f"./graphs/examples/{entry['path'][2:]}"}, name
    for entry in SERVED.values():
        assert _target(entry["path"]) is not None  # the module imports and has the name


def test_the_served_graph_shows_plain_knobs_and_the_topic_as_its_input():
    graph = _target(SERVED["orchestrate"]["path"])
    assert graph.checkpointer is None  # the server brings its own
    context = graph.get_context_jsonschema()
    assert set(context["properties"]) == {"model", "max_workers", "max_revisions"}
    assert "chat_model" not in json.dumps(context)  # a live model cannot cross the wire
    assert graph.get_input_jsonschema()["required"] == ["topic"]


def test_the_chat_model_comes_from_the_model_name_and_the_servers_environment():
    env = {"OPENAI_API_KEY": "sk-served", "OPENAI_BASE_URL": "http://llm.internal/v1"}
    config = llm.served_config("gpt-test", env)
    assert (config.model, config.api_key, config.base_url) == (
        "gpt-test",
        "sk-served",
        "http://llm.internal/v1",
    )
    assert llm.served_config("", {"OPENAI_API_KEY": "k"}).model == llm.DEFAULT_MODEL
    with pytest.raises(RuntimeError, match="set OPENAI_API_KEY"):
        llm.served_config("gpt-test", {})


def test_a_ready_chat_model_wins_and_built_ones_are_shared(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-served")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    built = llm.chat_model(Context(model="gpt-test"))
    assert built.model_name == "gpt-test"
    assert llm.chat_model(Context(model="gpt-test")) is built  # one client per configuration
    assert llm.chat_model(Context(model="gpt-test", chat_model=built)) is built
    ready = llm.build_chat_model(llm.LLMConfig(model="local", api_key="k"))
    assert llm.chat_model(Context(model="gpt-test", chat_model=ready)) is ready


async def test_a_run_from_knobs_alone_as_a_server_passes_them(llm_server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    graph = build_graph(InMemorySaver())
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    knobs = {"model": "knob-model", "max_workers": 2, "max_revisions": 1}  # as JSON sends them
    await graph.ainvoke({"topic": "Open an office in Porto"}, config, context=knobs)
    pending = pending_interrupts(await graph.aget_state(config))
    assert [i.value["worker_id"] for i in pending] == ["researcher", "critic"]
    assert {i.value["max_rounds"] for i in pending} == {2}
    answers = {i.id: {"action": "approve", "by": "U1"} for i in pending}
    result = await graph.ainvoke(Command(resume=answers), config, context=knobs)
    assert result["summary"]
    assert {r["model"] for r in llm_server.requests} == {"knob-model"}
