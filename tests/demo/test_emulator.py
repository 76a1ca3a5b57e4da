"""The Slack emulator's modals, clicks and the demo workspace, against a stand-in for the app."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slackbot.demo.slack_emulator import BlockKitError, Message, SlackEmulator, check_blocks
from slackbot.demo.workspace import CHANNEL, DemoWorkspace
from slackbot.feedback import feedback_block
from tests.demo.stand_in_app import StandInApp, notes_view, option, plain

ANA, BEN = "UANA", "UBEN"


@pytest.fixture
async def slack():
    emulator = SlackEmulator(trigger_ttl=1.0)
    await emulator.start()
    emulator.add_channel(CHANNEL, ANA, BEN)
    yield emulator
    await emulator.close()


@pytest.fixture
async def app(slack):
    stand_in = StandInApp(slack.signing_secret)
    slack.app_url = await stand_in.start()
    yield stand_in
    await stand_in.close()


@pytest.fixture
def client(slack):
    return AsyncWebClient(token=slack.bot_token, base_url=slack.base_url + "/api/")


async def a_trigger(slack: SlackEmulator, app: StandInApp, user: str = ANA) -> str:
    """The trigger_id of a slash command, as the app receives it."""
    status, _ = await slack.slash_command(user, CHANNEL, "topic")
    assert status == 200
    return app.received[-1]["trigger_id"]


async def open_notes(slack, app, client, user: str = ANA, **changes: Any) -> dict[str, Any]:
    response = await client.views_open(
        trigger_id=await a_trigger(slack, app, user), view=notes_view(**changes)
    )
    return response["view"]


async def api_error(call) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as raised:
        await call
    return raised.value.response.data


# -- views.open, views.update, views.push ---------------------------------------------------------


async def test_views_open_answers_the_view_as_slack_and_puts_it_on_the_persons_stack(
    slack, app, client
):
    view = await open_notes(slack, app, client)
    assert view["id"].startswith("V") and view["hash"] and view["team_id"] == "TEMULATOR"
    assert view["type"] == "modal" and view["callback_id"] == "review_notes"
    assert view["private_metadata"] == "review-123" and view["state"] == {"values": {}}
    assert view["title"] == plain("Revision notes") and view["root_view_id"] == view["id"]
    assert all(block["block_id"] for block in view["blocks"])  # Slack names unnamed blocks
    assert [v["id"] for v in slack.open_views(ANA)] == [view["id"]] and not slack.open_views(BEN)
    assert slack.open_views(ANA)[0]["errors"] == {}
    assert slack.calls_to("views.open")[0].args["view"]["callback_id"] == "review_notes"


async def test_views_open_takes_the_view_as_json_text_in_a_form_body(slack, app):
    trigger_id = await a_trigger(slack, app)
    async with aiohttp.ClientSession() as session:
        form = {"trigger_id": trigger_id, "view": json.dumps(notes_view())}
        headers = {"Authorization": f"Bearer {slack.bot_token}"}
        async with session.post(
            slack.base_url + "/api/views.open", data=form, headers=headers
        ) as response:
            answer = await response.json()
    assert answer["ok"] and answer["view"]["callback_id"] == "review_notes"


async def test_a_click_carries_a_trigger_for_the_person_who_clicked(slack, app, client):
    posted = await client.chat_postMessage(
        channel=CHANNEL,
        text="review",
        blocks=[
            {
                "type": "actions",
                "block_id": "b",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "revise",
                        "text": plain("Revise"),
                        "value": "r1",
                    }
                ],
            }
        ],
    )
    message = slack.messages[(CHANNEL, posted["ts"])]
    await slack.click(BEN, message, "revise")
    click = app.received[-1]
    assert click["type"] == "block_actions" and click["user"]["id"] == BEN
    await client.views_open(trigger_id=click["trigger_id"], view=notes_view())
    assert len(slack.open_views(BEN)) == 1 and not slack.open_views(ANA)


async def test_a_trigger_is_refused_when_unknown_used_or_expired(slack, app, client):
    unknown = await api_error(client.views_open(trigger_id="123.456.abc", view=notes_view()))
    assert unknown["error"] == "invalid_trigger_id"

    trigger_id = await a_trigger(slack, app)
    await client.views_open(trigger_id=trigger_id, view=notes_view())
    again = await api_error(client.views_open(trigger_id=trigger_id, view=notes_view()))
    assert again["error"] == "exchanged_trigger_id"

    late = await a_trigger(slack, app)
    await asyncio.sleep(1.1)  # the fixture's trigger_ttl is 1 s (Slack's: 3 s)
    expired = await api_error(client.views_open(trigger_id=late, view=notes_view()))
    assert expired["error"] == "expired_trigger_id"
    assert len(slack.calls_to("views.open", ok_only=False)) == 4


async def test_an_invalid_view_does_not_use_up_the_trigger(slack, app, client):
    trigger_id = await a_trigger(slack, app)
    refused = await api_error(
        client.views_open(trigger_id=trigger_id, view=notes_view(type="home"))
    )
    assert refused["error"] == "invalid_arguments"
    opened = await client.views_open(trigger_id=trigger_id, view=notes_view())
    assert opened["ok"] and opened["view"]["type"] == "modal"  # the same trigger still works


def too_many_options(view: dict[str, Any]) -> None:
    view["blocks"][3]["element"]["options"] = [option(f"o{i}") for i in range(101)]


def duplicate_block_ids(view: dict[str, Any]) -> None:
    view["blocks"][2]["block_id"] = view["blocks"][1]["block_id"]


INVALID_VIEWS = {
    "not a modal": (lambda v: v.update(type="home"), "/view/type"),
    "long title": (lambda v: v.update(title=plain("x" * 25)), "/view/title/text"),
    "long submit": (lambda v: v.update(submit=plain("x" * 25)), "/view/submit/text"),
    "long close": (lambda v: v.update(close=plain("x" * 25)), "/view/close/text"),
    "101 blocks": (lambda v: v["blocks"].extend([{"type": "divider"}] * 95), "/view/blocks"),
    "long private_metadata": (
        lambda v: v.update(private_metadata="x" * 3001),
        "/view/private_metadata",
    ),
    "long callback_id": (lambda v: v.update(callback_id="x" * 256), "/view/callback_id"),
    "input without label": (lambda v: v["blocks"][1].pop("label"), "/view/blocks/1/label"),
    "input without element": (lambda v: v["blocks"][1].pop("element"), "/view/blocks/1/element"),
    "long label": (
        lambda v: v["blocks"][1].update(label=plain("x" * 2001)),
        "/view/blocks/1/label/text",
    ),
    "inputs without submit": (lambda v: v.pop("submit"), "/view/submit"),
    "duplicate block_ids": (duplicate_block_ids, "/view/blocks/2/block_id"),
    "101 options": (too_many_options, "/view/blocks/3/element/options"),
    "long option text": (
        lambda v: v["blocks"][3]["element"]["options"].append(option("ok", "x" * 76)),
        "/view/blocks/3/element/options/3/text/text",
    ),
    "long option value": (
        lambda v: v["blocks"][3]["element"]["options"].append(option("x" * 151, "ok")),
        "/view/blocks/3/element/options/3/value",
    ),
    "long initial_value": (
        lambda v: v["blocks"][1]["element"].update(initial_value="x" * 3001),
        "/view/blocks/1/element/initial_value",
    ),
    "long button value": (
        lambda v: v["blocks"].append(
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "action_id": "b", "text": plain("B"), "value": "x" * 2001}
                ],
            }
        ),
        "/view/blocks/7/elements/0/value",
    ),
}


@pytest.mark.parametrize("case", INVALID_VIEWS)
async def test_views_open_refuses_what_slack_refuses(slack, app, client, case):
    change, pointer = INVALID_VIEWS[case]
    view = notes_view()
    change(view)
    answer = await api_error(client.views_open(trigger_id=await a_trigger(slack, app), view=view))
    assert answer["error"] == "invalid_arguments"
    messages = answer["response_metadata"]["messages"]
    assert any(f"[json-pointer:{pointer}]" in m for m in messages), messages
    assert not slack.open_views(ANA)


async def test_views_update_replaces_the_view_and_checks_the_hash(slack, app, client):
    view = await open_notes(slack, app, client, external_id="notes-1")
    updated = (
        await client.views_update(
            view_id=view["id"],
            hash=view["hash"],
            view=notes_view(title=plain("Round 2"), external_id="notes-1"),
        )
    )["view"]
    assert updated["id"] == view["id"] and updated["hash"] != view["hash"]
    assert slack.open_views(ANA)[-1]["title"] == plain("Round 2")

    stale = await api_error(
        client.views_update(view_id=view["id"], hash=view["hash"], view=notes_view())
    )
    assert stale["error"] == "hash_conflict"
    by_external = await client.views_update(
        external_id="notes-1", view=notes_view(title=plain("Round 3"), external_id="notes-1")
    )
    assert by_external["view"]["title"] == plain("Round 3")
    unknown = await api_error(client.views_update(view_id="VNOPE", view=notes_view()))
    assert unknown["error"] == "not_found"


async def test_views_push_stacks_at_most_three_views(slack, app, client):
    first = await open_notes(slack, app, client)
    for title in ("Second", "Third"):
        pushed = await client.views_push(
            trigger_id=await a_trigger(slack, app), view=notes_view(title=plain(title))
        )
        assert pushed["view"]["root_view_id"] == first["id"]
    fourth = await api_error(
        client.views_push(trigger_id=await a_trigger(slack, app), view=notes_view())
    )
    assert fourth["error"] == "push_limit_reached"
    titles = [v["title"]["text"] for v in slack.open_views(ANA)]
    assert titles == ["Revision notes", "Second", "Third"]


# -- a person submits and closes ------------------------------------------------------------------


async def test_a_submission_carries_slacks_state_for_each_element(slack, app, client):
    view = await open_notes(slack, app, client)
    values = {
        "notes": "Shorter please",
        "rounds": 3,
        "tone": "green",
        "extras": ["red", "blue"],
        "checks": ["green"],
    }
    status, answer = await slack.submit_view(ANA, values)
    assert (status, answer) == (200, None)

    submission = app.received[-1]
    assert submission["type"] == "view_submission" and submission["trigger_id"]
    assert submission["user"] == {
        "id": ANA,
        "username": "uana",
        "name": "uana",
        "team_id": "TEMULATOR",
    }
    assert submission["team"]["id"] == "TEMULATOR" and submission["response_urls"] == []
    submitted = submission["view"]
    assert submitted["id"] == view["id"] and submitted["private_metadata"] == "review-123"
    assert submitted["callback_id"] == "review_notes"
    state = submitted["state"]["values"]
    assert state["notes"]["notes_input"] == {"type": "plain_text_input", "value": "Shorter please"}
    assert state["rounds"]["rounds_input"] == {"type": "number_input", "value": "3"}
    assert state["tone"]["tone_input"] == {
        "type": "static_select",
        "selected_option": option("green"),
    }
    assert state["extras"]["extras_input"]["selected_options"] == [option("red"), option("blue")]
    assert state["urgency"]["urgency_input"] == {  # left as it was: its initial option
        "type": "radio_buttons",
        "selected_option": option("red"),
    }
    assert state["checks"]["checks_input"] == {
        "type": "checkboxes",
        "selected_options": [option("green")],
    }
    assert slack.open_views(ANA) == []  # an empty ack closes the view


async def test_errors_keep_the_view_open_with_the_errors_under_the_fields(slack, app, client):
    await open_notes(slack, app, client)
    app.answers.append({"response_action": "errors", "errors": {"notes": "Say what to change"}})
    status, answer = await slack.submit_view(ANA, {"notes": "?"})
    assert status == 200 and answer and answer["response_action"] == "errors"
    [shown] = slack.open_views(ANA)
    assert shown["errors"] == {"notes": "Say what to change"}

    await slack.submit_view(ANA, {"rounds": "4"})  # the notes keep what was typed before
    assert app.received[-1]["view"]["state"]["values"]["notes"]["notes_input"]["value"] == "?"
    assert slack.open_views(ANA) == []


async def test_update_push_and_clear_answers_change_the_stack(slack, app, client):
    await open_notes(slack, app, client)
    app.answers.append({"response_action": "update", "view": notes_view(title=plain("Again"))})
    await slack.submit_view(ANA, {"notes": "kept"})
    [updated] = slack.open_views(ANA)
    assert updated["title"]["text"] == "Again"
    assert updated["state"]["values"]["notes"]["notes_input"]["value"] == "kept"

    app.answers.append({"response_action": "push", "view": notes_view(title=plain("Sure?"))})
    await slack.submit_view(ANA, {"notes": "x"})
    assert [v["title"]["text"] for v in slack.open_views(ANA)] == ["Again", "Sure?"]

    await slack.submit_view(ANA, {"notes": "y"})  # an empty ack closes the top view only
    assert [v["title"]["text"] for v in slack.open_views(ANA)] == ["Again"]

    app.answers.append({"response_action": "clear"})
    await slack.submit_view(ANA, {"notes": "z"})
    assert slack.open_views(ANA) == []


async def test_a_bad_answer_leaves_the_view_open_with_trouble(slack, app, client):
    await open_notes(slack, app, client)
    app.answers.append({"response_action": "update", "view": notes_view(title=plain("x" * 30))})
    await slack.submit_view(ANA, {"notes": "a"})
    assert "/view/title/text" in slack.open_views(ANA)[0]["trouble"]
    app.answers.append({"response_action": "errors", "errors": {"not_an_input": "no"}})
    await slack.submit_view(ANA, {"notes": "a"})
    assert "input blocks" in slack.open_views(ANA)[0]["trouble"]
    app.answers.append(web.Response(status=500))
    assert (await slack.submit_view(ANA, {"notes": "a"}))[0] == 500
    assert "500" in slack.open_views(ANA)[0]["trouble"]


async def test_slacks_client_refuses_an_empty_required_field_without_asking_the_app(
    slack, app, client
):
    await open_notes(slack, app, client)
    before = len(app.received)
    assert await slack.submit_view(ANA, {"notes": "", "rounds": "two"}) == (0, None)
    assert len(app.received) == before
    assert slack.open_views(ANA)[0]["errors"] == {
        "notes": "Please complete this required field.",
        "rounds": "Please enter a whole number.",
    }


async def test_submitting_what_is_not_open_is_a_test_bug(slack, app, client):
    with pytest.raises(LookupError):
        await slack.submit_view(ANA, {})
    await open_notes(slack, app, client)
    with pytest.raises(LookupError):
        await slack.submit_view(BEN, {})
    with pytest.raises(LookupError):
        await slack.submit_view(ANA, {"no_such_block": "x"})
    with pytest.raises(LookupError):
        await slack.submit_view(ANA, {"tone": "purple"})


async def test_close_removes_the_top_view_or_all_with_clear_on_close(slack, app, client):
    await open_notes(slack, app, client)
    await client.views_push(trigger_id=await a_trigger(slack, app), view=notes_view())
    slack.close_view(ANA)
    assert len(slack.open_views(ANA)) == 1
    await client.views_push(
        trigger_id=await a_trigger(slack, app), view=notes_view(clear_on_close=True)
    )
    slack.close_view(ANA)
    assert slack.open_views(ANA) == []


# -- clicks ---------------------------------------------------------------------------------------


async def test_click_picks_the_button_by_value_when_action_ids_are_shared(slack, app):
    buttons = [
        {"type": "button", "action_id": "pick", "text": plain(v), "value": v}
        for v in ("a", "b", "c")
    ]
    message = Message(
        CHANNEL,
        "1.000001",
        "UORCHBOT",
        "pick one",
        [{"type": "actions", "block_id": "choices", "elements": buttons}],
    )
    await slack.click(ANA, message, "pick", value="b")
    [action] = app.received[-1]["actions"]
    assert (action["value"], action["block_id"], action["text"]) == ("b", "choices", plain("b"))
    await slack.click(ANA, message, "pick")
    assert app.received[-1]["actions"][0]["value"] == "a"
    with pytest.raises(LookupError):
        slack.find_button(message, "pick", value="z")


# -- the demo workspace ---------------------------------------------------------------------------


async def page_post(workspace: DemoWorkspace, path: str, body: dict[str, Any]):
    async with (
        aiohttp.ClientSession() as session,
        session.post(workspace.base_url + path, json=body) as response,
    ):
        return response.status, await response.json()


async def test_the_channel_survives_a_restart_of_the_demo(workspace, tmp_path):
    demo, _ = workspace
    client = AsyncWebClient(token=demo.bot_token, base_url=demo.base_url + "/api/")
    root = await client.chat_postMessage(
        channel=CHANNEL,
        text="root",
        metadata={"event_type": "run", "event_payload": {"run_id": "r1"}},
    )
    reply = await client.chat_postMessage(
        channel=CHANNEL, text="review", thread_ts=root["ts"], blocks=[{"type": "divider"}]
    )
    await client.chat_update(channel=CHANNEL, ts=reply["ts"], text="decided", blocks=[])
    await client.reactions_add(channel=CHANNEL, timestamp=reply["ts"], name="memo")
    await demo.wait_for(lambda: (tmp_path / "slack-emulator.json").exists(), 2.0)
    await demo.close()  # flushes whatever the debounce still holds

    again = DemoWorkspace(state_file=tmp_path / "slack-emulator.json")
    assert again.messages == demo.messages
    loaded = again.messages[(CHANNEL, reply["ts"])]
    assert (loaded.thread_ts, loaded.reactions, loaded.edited) == (root["ts"], ["memo"], 1)
    assert again.messages[(CHANNEL, root["ts"])].metadata["event_payload"] == {"run_id": "r1"}
    assert float(again._next_ts()) > float(reply["ts"])
    assert [p.name for p in tmp_path.iterdir()] == ["slack-emulator.json"]


async def test_a_click_on_a_button_gone_since_the_page_drew_it_still_reaches_the_app(workspace):
    demo, app = workspace
    message = demo.post_as_person("UORCHBOT", CHANNEL, "Approved by @ben", None)  # decided
    click = {
        "user": ANA,
        "ts": message.ts,
        "action_id": "review_approve",
        "value": "rev-1",
        "block_id": "review-rev-1",
        "text": "Approve",
    }
    status, answer = await page_post(demo, "/ui/click", click)
    assert (status, answer) == (200, {"status": 200})
    [action] = app.received[-1]["actions"]
    assert (action["action_id"], action["value"], action["block_id"]) == (
        "review_approve",
        "rev-1",
        "review-rev-1",
    )
    assert app.received[-1]["container"]["message_ts"] == message.ts


async def test_the_page_sees_and_submits_a_persons_modal(workspace):
    demo, app = workspace
    await demo.slash_command(BEN, CHANNEL, "topic")
    client = AsyncWebClient(token=demo.bot_token, base_url=demo.base_url + "/api/")
    await client.views_open(trigger_id=app.received[-1]["trigger_id"], view=notes_view())
    async with (
        aiohttp.ClientSession() as session,
        session.get(demo.base_url + "/ui/state") as response,
    ):
        state = await response.json()
    [view] = state["views"][BEN]
    assert state["views"][ANA] == [] and view["callback_id"] == "review_notes"

    app.answers.append({"response_action": "errors", "errors": {"notes": "Too short"}})
    body = {"user": BEN, "view_id": view["id"], "values": {"notes": "ok", "tone": None}}
    assert (await page_post(demo, "/ui/submit", body))[0] == 200
    assert demo.open_views(BEN)[0]["errors"] == {"notes": "Too short"}
    assert (await page_post(demo, "/ui/close", {"user": BEN}))[0] == 200
    assert (await page_post(demo, "/ui/submit", body))[0] == 409  # closed meanwhile


def test_the_feedback_block_is_valid_and_a_made_up_one_is_refused():
    """The app's feedback buttons pass Slack's checks; what Slack refuses is refused here."""
    check_blocks([feedback_block("run-1")])
    bad_label = feedback_block("run-1")
    bad_label["elements"][0]["positive_button"]["text"]["text"] = "x" * 76
    a_button = {"type": "context_actions", "elements": [{"type": "button", "action_id": "a"}]}
    empty = {"type": "context_actions", "elements": []}
    for bad in (bad_label, a_button, empty):
        with pytest.raises(BlockKitError):
            check_blocks([bad])
