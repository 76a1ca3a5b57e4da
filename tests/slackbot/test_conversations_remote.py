"""A conversation with the agent on `langgraph dev` (LANGGRAPH_URL): the example `create_agent`
served by a real Agent Server whose ChatOpenAI talks to a stand-in; each turn is a new run on
the same server thread."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from langgraph_sdk import get_client

from slackbot.demo.langgraph_dev import repository_graphs, serve
from tests.slackbot.conftest import (
    ANA,
    BEN,
    CHANNEL,
    app_settings,
    has_feedback,
    is_answer,
    started,
)
from tests.slackbot.langgraph_server import openai_in_a_thread
from tests.slackbot.test_conversations import user_texts, wait_answers


@pytest.fixture(scope="module")
def served_llm():
    with openai_in_a_thread() as llm:
        yield llm


@pytest.fixture(scope="module")
def agent_server(tmp_path_factory, served_llm):
    folder = tmp_path_factory.mktemp("langgraph-dev-agent")
    env = {"OPENAI_API_KEY": "test", "OPENAI_BASE_URL": served_llm.base_url}
    server = serve(folder, {"agent": repository_graphs()["agent"]}, env)
    yield server
    server.stop()


async def test_the_second_turn_is_a_new_run_on_the_same_server_thread(
    slack, llm_server, served_llm, agent_server, database
):
    print(f"langgraph dev log: {agent_server.log}")  # shown when the test fails
    served_llm.script.extend(["Berlin has 3.7 million people.", "You asked about Berlin."])
    database_url, data_dir = database
    settings = app_settings(
        slack,
        llm_server,
        database_url=database_url,
        data_dir=data_dir,
        langgraph_url=agent_server.url,
        langgraph_assistant_id="agent",
    )
    async with started(settings, slack) as running:
        asked = await slack.mention(ANA, CHANNEL, "how many people live in Berlin?")
        await wait_answers(slack, CHANNEL, asked.ts, 1, timeout=60)
        await slack.mention(BEN, CHANNEL, "what did Ana ask?", thread_ts=asked.ts)
        both = await wait_answers(slack, CHANNEL, asked.ts, 2, timeout=60)
        run = await running.services.store.thread_run(CHANNEL, asked.ts)

    assert run is not None and "You asked about Berlin." in both[1]
    assert user_texts(served_llm.requests[-1]) == [
        "how many people live in Berlin?",
        "what did Ana ask?",
    ]
    client = get_client(url=agent_server.url, api_key=None)
    try:
        runs = await client.runs.list(str(uuid.UUID(run.run_id)), limit=10)
        threads = await client.threads.search(metadata={"slack_thread_ts": asked.ts}, limit=10)
    finally:
        await client.aclose()
    assert len(runs) == 2 and {r["status"] for r in runs} == {"success"}
    assert [t["thread_id"] for t in threads] == [str(uuid.UUID(run.run_id))]
    served_llm.script.clear()
    served_llm.requests.clear()


async def test_a_turn_streams_on_the_server_and_a_restart_mid_stream_finishes_that_message(
    slack, llm_server, served_llm, agent_server, database
):
    """The same streaming on `langgraph dev` (runs.stream): the answer streams as it is
    written; the app stopped mid-answer, the run goes on on the server, and the restarted app
    finishes that same message instead of posting a second answer."""
    answer = (
        "Berlin has about 3.7 million people, more than any other city in Germany, and it"
        " grows by some twenty thousand a year."
    )
    served_llm.token_delay = 0.1  # the app goes away while the server's model still writes
    served_llm.script.append(answer)
    database_url, data_dir = database
    settings = app_settings(
        slack,
        llm_server,
        database_url=database_url,
        data_dir=data_dir,
        langgraph_url=agent_server.url,
        langgraph_assistant_id="agent",
    )
    try:
        async with started(settings, slack) as running:
            asked = await slack.mention(ANA, CHANNEL, "how many people live in Berlin?")
            await slack.wait_for(lambda: slack.calls_to("chat.appendStream"), timeout=60)
            run = await running.services.store.thread_run(CHANNEL, asked.ts)
        ((channel, cut_ts),) = slack.streams
        cut = slack.messages[(channel, cut_ts)]
        assert cut.thread_ts == asked.ts and slack.streams[(channel, cut_ts)].streaming
        assert cut.text and cut.text != answer and answer.startswith(cut.text)  # written so far

        client = get_client(url=agent_server.url, api_key=None)
        try:  # the run goes on on the server without the app
            tid = str(uuid.UUID(run.run_id))
            for _ in range(300):
                runs = await client.runs.list(tid, limit=10)
                if runs and runs[0]["status"] == "success":
                    break
                await asyncio.sleep(0.1)
        finally:
            await client.aclose()

        async with started(settings, slack):
            done = await wait_answers(slack, CHANNEL, asked.ts, 1, timeout=60)
        (answered,) = [m for m in slack.thread(CHANNEL, asked.ts) if is_answer(m)]
        assert answered.ts == cut_ts and cut.text == answer in done[0]  # that message, finished
        assert not slack.streams[(channel, cut_ts)].streaming and has_feedback(answered)
        assert len(served_llm.requests) == 1  # the model was asked once
    finally:
        served_llm.token_delay = 0
        served_llm.script.clear()
        served_llm.requests.clear()
