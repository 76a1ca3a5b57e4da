"""Inputs the app means as optional say so (`"optional": true`), so Slack's client lets a
person submit them empty: the emulator refuses an empty required input as Slack's client does."""

from __future__ import annotations

from graphs.examples import agent
from tests.slackbot.conftest import ANA, block_text
from tests.slackbot.test_own_graph import form, next_open, result, start
from tests.slackbot.test_tool_approvals import EMAIL, agent_app, tool_messages  # noqa: F401


async def test_reject_with_no_reason_is_submitted_and_reaches_the_model(
    slack,
    llm_server,
    agent_app,  # noqa: F811
):
    agent.CALLS.clear()
    llm_server.script_tool_calls([("send_email", EMAIL)])
    async with agent_app("graphs.examples.agent:make_per_call_graph"):
        root = await start(slack, "email Ana about the launch")
        email = await next_open(slack, root)
        view = await form(slack, email, "Reject")
        [reason] = [b for b in view["blocks"] if b["type"] == "input"]
        assert "(optional)" in reason["label"]["text"] and reason.get("optional") is True
        status, reply = await slack.submit_view(ANA, {})  # the reason left empty
        assert status == 200 and not reply, slack.open_views(ANA)
        await result(slack, root)
    assert agent.CALLS == []
    assert "answered *Reject*" in block_text(email)
    assert tool_messages(llm_server)  # the rejection went back to the model as the tool's result
