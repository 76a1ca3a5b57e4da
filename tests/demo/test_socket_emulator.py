"""The emulator's Socket Mode, against a plain aiohttp WebSocket client playing the app."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from slackbot.demo.slack_emulator import APP_ID, SlackEmulator
from slackbot.demo.workspace import CHANNEL

ANA, BEN = "UANA", "UBEN"
ROOT = Path(__file__).parents[2]
ENVELOPE_KEYS = {"envelope_id", "type", "payload", "accepts_response_payload", "retry_attempt",
                 "retry_reason"}  # fmt: skip


@pytest.fixture
async def slack():
    emulator = SlackEmulator()
    await emulator.start()
    emulator.add_channel(CHANNEL, ANA, BEN)
    emulator.sockets.ack_timeout = 0.5  # Slack's is 3 s; these tests wait it out on purpose
    yield emulator
    await emulator.close()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def connections_open(slack, http, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with http.post(slack.base_url + "/api/apps.connections.open", headers=headers) as answer:
        return await answer.json()


async def connect(slack, http) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
    """A new connection as an app opens one: (the WebSocket, its hello)."""
    opened = await connections_open(slack, http, slack.app_token)
    ws = await http.ws_connect(opened["url"])
    return ws, await receive(ws)


async def receive(ws, timeout: float = 5.0) -> dict[str, Any]:
    return await asyncio.wait_for(ws.receive_json(), timeout)


async def ack(ws, envelope: dict[str, Any], payload: dict[str, Any] | None = None) -> None:
    answer = {"envelope_id": envelope["envelope_id"]}
    await ws.send_json(answer | ({"payload": payload} if payload is not None else {}))


def thread_root(slack):
    return slack.post_as_person(ANA, CHANNEL, "a root", None)


# -- connecting -------------------------------------------------------------------------------


async def test_connections_open_takes_only_the_app_token_and_gives_a_single_use_url(slack, http):
    for token in (slack.bot_token, "xapp-someone-else", ""):
        assert await connections_open(slack, http, token) == {
            "ok": False,
            "error": "invalid_auth",
        }
    opened = await connections_open(slack, http, slack.app_token)
    assert opened["ok"] and opened["url"].startswith(slack.base_url.replace("http", "ws"))
    ws = await http.ws_connect(opened["url"])
    await ws.close()
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(opened["url"])  # used once already
    assert refused.value.status == 401
    assert [c.method for c in slack.calls] == ["apps.connections.open"] * 4


async def test_hello_on_connect(slack, http):
    ws, hello = await connect(slack, http)
    assert hello["type"] == "hello" and hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": APP_ID}
    assert isinstance(hello["debug_info"], dict) and hello["debug_info"]["host"]
    second, hello = await connect(slack, http)
    assert hello["num_connections"] == 2
    assert len(await slack.sockets.wait_connected(2)) == 2
    await ws.close()
    await second.close()


# -- envelopes --------------------------------------------------------------------------------


async def test_a_slash_command_envelope_and_its_ack_payload_as_the_answer(slack, http):
    ws, _ = await connect(slack, http)
    command = asyncio.create_task(slack.slash_command(ANA, CHANNEL, "hello"))
    envelope = await receive(ws)
    assert set(envelope) == ENVELOPE_KEYS
    assert envelope["type"] == "slash_commands" and envelope["accepts_response_payload"] is True
    assert (envelope["retry_attempt"], envelope["retry_reason"]) == (0, None)
    payload = envelope["payload"]
    assert (payload["command"], payload["text"], payload["user_id"]) == (
        "/orchestrate",
        "hello",
        ANA,
    )
    assert payload["channel_id"] == CHANNEL and payload["trigger_id"]
    await ack(ws, envelope, {"text": "Usage: `/orchestrate <topic>`"})
    assert await command == (200, "Usage: `/orchestrate <topic>`")  # as the HTTP body would be

    command = asyncio.create_task(slack.slash_command(ANA, CHANNEL, "start"))
    await ack(ws, await receive(ws))
    assert await command == (200, "")
    (first, second) = slack.sockets.delivered("slash_commands")
    assert first.acked and first.answer == {"text": "Usage: `/orchestrate <topic>`"}
    assert second.acked and second.answer is None
    await ws.close()


async def test_a_click_and_a_reply_as_envelopes(slack, http):
    ws, _ = await connect(slack, http)
    ok = {"type": "plain_text", "text": "OK"}
    button = {"type": "button", "action_id": "approve", "text": ok, "value": "r1"}
    message = slack.post_as_person(ANA, CHANNEL, "review", None)
    message.blocks = [{"type": "actions", "block_id": "b1", "elements": [button]}]
    click = asyncio.create_task(slack.click(BEN, message, "approve"))
    envelope = await receive(ws)
    assert envelope["type"] == "interactive" and envelope["accepts_response_payload"] is False
    assert envelope["payload"]["type"] == "block_actions"
    assert envelope["payload"]["user"]["id"] == BEN
    assert envelope["payload"]["actions"][0]["value"] == "r1"
    await ack(ws, envelope)
    assert await click == (200, "")

    reply = asyncio.create_task(slack.reply(BEN, CHANNEL, message.ts, "notes"))
    envelope = await receive(ws)
    assert set(envelope) == ENVELOPE_KEYS and envelope["type"] == "events_api"
    assert envelope["accepts_response_payload"] is False
    event = envelope["payload"]
    assert event["type"] == "event_callback" and event["event_id"].startswith("Ev")
    assert event["event"]["text"] == "notes" and event["event"]["thread_ts"] == message.ts
    await ack(ws, envelope)
    posted, status = await reply
    assert status == 200 and posted.text == "notes"
    await ws.close()


async def test_a_view_submission_ack_answers_the_submission(slack, http):
    ws, _ = await connect(slack, http)
    client = aiohttp.ClientSession()
    view = {"type": "modal", "callback_id": "form", "title": {"type": "plain_text", "text": "F"},
            "submit": {"type": "plain_text", "text": "Send"},
            "blocks": [{"type": "input", "block_id": "name", "label": {"type": "plain_text",
                        "text": "Name"}, "element": {"type": "plain_text_input",
                        "action_id": "name"}}]}  # fmt: skip
    headers = {"Authorization": f"Bearer {slack.bot_token}"}
    trigger = slack.issue_trigger(ANA)
    async with client.post(
        slack.base_url + "/api/views.open", json={"trigger_id": trigger, "view": view},
        headers=headers,
    ) as opened:  # fmt: skip
        assert (await opened.json())["ok"]
    await client.close()
    errors = {"response_action": "errors", "errors": {"name": "Too short"}}
    submit = asyncio.create_task(slack.submit_view(ANA, {"name": "x"}))
    envelope = await receive(ws)
    assert envelope["payload"]["type"] == "view_submission"
    assert envelope["accepts_response_payload"] is True
    await ack(ws, envelope, errors)
    assert await submit == (200, errors)
    assert slack.open_views(ANA)[-1]["errors"] == {"name": "Too short"}

    submit = asyncio.create_task(slack.submit_view(ANA, {"name": "long enough"}))
    await ack(ws, await receive(ws))
    assert await submit == (200, None)
    assert slack.open_views(ANA) == []
    await ws.close()


# -- acks that do not come --------------------------------------------------------------------


async def test_an_event_not_acked_in_time_is_delivered_again_with_retry_attempt(slack, http):
    ws, _ = await connect(slack, http)
    root = thread_root(slack)
    reply = asyncio.create_task(slack.reply(BEN, CHANNEL, root.ts, "notes"))
    first = await receive(ws)  # not acked
    second = await receive(ws)
    assert (second["retry_attempt"], second["retry_reason"]) == (1, "timeout")
    assert second["envelope_id"] != first["envelope_id"]
    assert second["payload"] == first["payload"]  # the same event_id: dedupe by it
    await ack(ws, first)  # too late: Slack does not count it
    await ack(ws, second)
    assert (await reply)[1] == 200
    attempts = slack.sockets.event_deliveries(first["payload"]["event_id"])
    assert [(e.retry_attempt, e.acked) for e in attempts] == [(0, False), (1, True)]
    assert [a.counted for a in slack.sockets.acks] == [False, True]
    await ws.close()


async def test_an_event_never_acked_is_tried_four_times_then_dropped(slack, http):
    ws, _ = await connect(slack, http)
    root = thread_root(slack)
    reply = asyncio.create_task(slack.reply(BEN, CHANNEL, root.ts, "notes"))
    seen = [await receive(ws) for _ in range(4)]
    assert [e["retry_attempt"] for e in seen] == [0, 1, 2, 3]
    assert [e["retry_reason"] for e in seen] == [None, "timeout", "timeout", "timeout"]
    assert (await reply)[1] == 504
    await ws.close()


async def test_a_command_not_acked_is_not_retried(slack, http):
    ws, _ = await connect(slack, http)
    assert await slack.slash_command(ANA, CHANNEL, "hello") == (504, "")  # the person sees an error
    assert len(slack.sockets.delivered()) == 1
    assert (await receive(ws))["type"] == "slash_commands"
    with pytest.raises(TimeoutError):
        await receive(ws, timeout=0.1)
    await ws.close()


async def test_a_lost_ack_makes_the_event_come_again(slack, http):
    ws, _ = await connect(slack, http)
    slack.sockets.lose_acks("events_api")
    reply = asyncio.create_task(slack.reply(BEN, CHANNEL, thread_root(slack).ts, "notes"))
    first = await receive(ws)
    await ack(ws, first)
    second = await receive(ws)
    assert second["retry_attempt"] == 1 and second["payload"] == first["payload"]
    await ack(ws, second)
    assert (await reply)[1] == 200


# -- disconnects, drops and several connections -----------------------------------------------


async def test_refresh_sends_disconnect_and_envelopes_go_to_the_new_connection(slack, http):
    old, _ = await connect(slack, http)
    assert await slack.sockets.request_refresh() == 1
    assert await receive(old) == {
        "type": "disconnect",
        "reason": "refresh_requested",
        "debug_info": {"host": "emulator"},
    }
    command = asyncio.create_task(slack.slash_command(ANA, CHANNEL, "hello"))
    await asyncio.sleep(0.1)
    assert not command.done()  # waits for a connection that takes envelopes
    new, _ = await connect(slack, http)
    envelope = await receive(new)
    await ack(old, envelope)  # an ack counts on whichever connection it comes
    assert await command == (200, "")
    await old.close()
    await new.close()


async def test_a_dropped_connection_ends_without_a_close_and_the_event_waits(slack, http):
    ws, _ = await connect(slack, http)
    assert slack.sockets.drop_connections() == 1
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    assert slack.sockets.live == []
    reply = asyncio.create_task(slack.reply(BEN, CHANNEL, thread_root(slack).ts, "notes"))
    again, _ = await connect(slack, http)
    await ack(again, await receive(again))
    assert (await reply)[1] == 200
    await again.close()


async def test_drop_after_the_next_event_cuts_the_connection_it_went_over(slack, http):
    ws, _ = await connect(slack, http)
    slack.sockets.drop_after_next("events_api")
    reply = asyncio.create_task(slack.reply(BEN, CHANNEL, thread_root(slack).ts, "notes"))
    first = await receive(ws)  # it arrived, but the connection is gone before the ack
    assert first["type"] == "events_api"
    again, _ = await connect(slack, http)
    retried = await receive(again)
    assert retried["retry_attempt"] == 1 and retried["payload"] == first["payload"]
    await ack(again, retried)
    assert (await reply)[1] == 200
    await again.close()


async def test_envelopes_take_turns_over_open_connections(slack, http):
    sockets = [(await connect(slack, http))[0] for _ in range(2)]
    arrived: asyncio.Queue[tuple[int, dict[str, Any]]] = asyncio.Queue()

    async def read(index: int, ws) -> None:
        async for message in ws:
            await arrived.put((index, message.json()))

    readers = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(sockets)]
    root = thread_root(slack)
    took = []
    for text in ("one", "two", "three", "four"):
        reply = asyncio.create_task(slack.reply(BEN, CHANNEL, root.ts, text))
        index, envelope = await asyncio.wait_for(arrived.get(), 5)
        await ack(sockets[index], envelope)
        assert (await reply)[1] == 200
        took.append(index)
    assert took in ([0, 1, 0, 1], [1, 0, 1, 0])
    used = [e.connection for e in slack.sockets.delivered()]
    assert len(set(used)) == 2 and all(e.acked for e in slack.sockets.delivered())
    for ws in sockets:
        await ws.close()
    await asyncio.gather(*readers)


async def test_http_until_an_app_asks_for_socket_mode_and_a_forced_choice(slack, http):
    slack.app_url = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(aiohttp.ClientError):
        await slack.slash_command(ANA, CHANNEL, "hello")  # over HTTP
    ws, _ = await connect(slack, http)
    command = asyncio.create_task(slack.slash_command(ANA, CHANNEL, "hello"))
    await ack(ws, await receive(ws))
    assert await command == (200, "")
    slack.socket_mode = False
    with pytest.raises(aiohttp.ClientError):
        await slack.slash_command(ANA, CHANNEL, "hello")
    await ws.close()


# -- the demo ---------------------------------------------------------------------------------


def test_demo_script_in_socket_mode(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "SLACK_", "ORCHESTRATE_", "LOG_LEVEL"))}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "slackbot.demo", "--script", "--socket-mode", "--stand-in",
         "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "in Socket Mode" in result.stdout
    assert "Done: the summary is in the thread" in result.stdout
    assert "Revised draft by the Editor, addressing: Please make it shorter" in result.stdout
    assert "(reactions: memo)" in result.stdout and result.stderr == ""
