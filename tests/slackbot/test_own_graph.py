"""Bring your own graph: the example graphs (and so the seed documents' patterns) driven from
Slack over real HTTP with signed requests, on PostgreSQL and SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

import graphs.examples
from slackbot.store import ReviewStatus, RunStatus
from tests.slackbot.conftest import (
    ANA,
    BEN,
    CHANNEL,
    app_settings,
    block_text,
    is_answer,
    shown_text,
    started,
)

EXAMPLES = str(Path(graphs.examples.__file__).parent / "langgraph.json")


@pytest.fixture
async def app(slack, llm_server, database, monkeypatch):
    # The example agents build their model from these when the app loads them.
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    database_url, data_dir = database
    settings = app_settings(
        slack, llm_server, database_url=database_url, data_dir=data_dir, graph_spec=EXAMPLES
    )
    async with started(settings, slack) as running:
        yield running


# -- a person in Slack --------------------------------------------------------------------------


def buttons(message) -> dict[str, dict]:
    """The message's buttons by label."""
    return {
        e["text"]["text"]: e
        for b in message.blocks
        for e in b.get("elements", [])
        if e.get("type") == "button"
    }


async def start(slack, text, user=ANA):
    before = len(slack.roots(CHANNEL))
    status, body = await slack.slash_command(user, CHANNEL, text)
    assert status == 200 and not body.strip(), body
    return await slack.wait_for(lambda: len(r := slack.roots(CHANNEL)) > before and r[before])


async def next_open(slack, root, after=None, timeout=15.0):
    """The newest thread message still showing buttons (after message `after`, if given)."""

    def find():
        for message in reversed(slack.thread(CHANNEL, root.ts)[1:]):
            if after is not None and float(message.ts) <= float(after.ts):
                return None
            if buttons(message):
                return message
        return None

    return await slack.wait_for(find, timeout)


async def press(slack, message, label, user=ANA):
    button = buttons(message)[label]
    status, _ = await slack.click(user, message, button["action_id"], value=button["value"])
    assert status == 200


async def result(slack, root, timeout=15.0):
    """What the run's one answer shows, once the root says Done (the "🏁 Result" message, or
    an agent's streamed answer)."""

    def find():
        found = [m for m in slack.thread(CHANNEL, root.ts) if is_answer(m)]
        return found and "Done" in block_text(slack.messages[(CHANNEL, root.ts)]) and found

    found = await slack.wait_for(find, timeout)
    assert len(found) == 1
    return shown_text(slack, found[0])


def fill(view, **by_label) -> dict:
    """Values for `submit_view` from what a person reads: input labels and option texts."""
    values = {}
    for block in view["blocks"]:
        if block.get("type") != "input" or block["label"]["text"] not in by_label:
            continue
        wanted, element = by_label[block["label"]["text"]], block["element"]
        options = {o["text"]["text"]: o["value"] for o in element.get("options", [])}
        if isinstance(wanted, list):
            values[block["block_id"]] = [options[str(w)] for w in wanted]
        elif options:
            values[block["block_id"]] = options[
                "Yes" if wanted is True else "No" if wanted is False else str(wanted)
            ]
        else:
            values[block["block_id"]] = str(wanted)
    assert len(values) == len(by_label), (by_label, view["blocks"])
    return values


async def form(slack, message, label, user=ANA):
    await press(slack, message, label, user)
    return (await slack.wait_for(lambda: slack.open_views(user)))[-1]


async def run_row(app, root):
    store = app.services.store
    async with store.db.transaction() as tx:
        row = await tx.fetchone(
            "SELECT run_id FROM orchestrate_runs WHERE root_ts = %(ts)s", {"ts": root.ts}
        )
    return await store.get_run(row["run_id"])


# -- the patterns -------------------------------------------------------------------------------


async def test_options_become_buttons_and_the_result_is_posted(slack, app):
    root = await start(slack, "approval pay 1200 EUR to ACME")
    review = await next_open(slack, root)
    assert "Approve paying 1,200.00 EUR to ACME?" in block_text(review)
    assert list(buttons(review)) == ["yes", "no"]
    await press(slack, review, "yes")
    text = await result(slack, root)
    assert "Paid 1,200.00 EUR to ACME (approved)" in text
    assert "<@UANA> answered *yes*" in block_text(review)
    assert buttons(review) == {}

    run = await run_row(app, root)
    assert (run.graph, run.status, run.input) == (
        "approval",
        RunStatus.DONE,
        {"request": "pay 1200 EUR to ACME"},
    )
    assert run.result["outcome"] == "Paid 1,200.00 EUR to ACME (approved)."
    (stored,) = await app.services.store.step_reviews(run.run_id, 1)
    assert (stored.kind, stored.status, stored.answer, stored.decided_by) == (
        "question",
        ReviewStatus.DECIDED,
        "yes",
        ANA,
    )


async def test_typed_form_with_a_validation_error_fixed_and_resubmitted(slack, app):
    root = await start(slack, "typed_answer Checkout is down for EU customers")
    review = await next_open(slack, root)
    view = await form(slack, review, "Answer")
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    assert labels[:2] == ["Severity", "Summary"], labels
    answers = dict(
        Severity="sev2", Summary="Checkout is slow", Responders="50", Teams=["backend", "database"]
    )
    status, reply = await slack.submit_view(ANA, fill(view, **answers))
    assert status == 200 and reply["response_action"] == "errors"
    (shown,) = slack.open_views(ANA)
    assert any("maximum" in e or "10" in e for e in shown["errors"].values()), shown["errors"]
    assert (await run_row(app, root)).status == RunStatus.WAITING  # nothing stored, nothing resumed

    status, reply = await slack.submit_view(ANA, fill(shown, Responders="3"))
    assert status == 200 and not reply
    assert slack.open_views(ANA) == []
    text = await result(slack, root)
    assert "SEV2 opened" in text and "3 responder(s)" in text
    assert "severity: sev2" in block_text(review)


async def test_a_step_of_several_typed_interrupts_resumes_once(slack, app):
    root = await start(slack, "parallel Q3 launch plan")
    reviews = []
    for _ in range(3):
        reviews.append(await next_open(slack, root, after=reviews[-1] if reviews else None))
    assert all(list(buttons(r)) == ["approve", "reject"] for r in reviews)
    await press(slack, reviews[0], "approve")
    await press(slack, reviews[1], "approve", user=BEN)
    await press(slack, reviews[2], "reject")
    text = await result(slack, root)
    assert "Back to the author" in text
    run = await run_row(app, root)
    steps = await app.services.store.step_reviews(run.run_id, 1)
    assert [r.answer for r in steps] == ["approve", "approve", "reject"]
    assert await app.services.store.step_reviews(run.run_id, 2) == []


async def test_breakpoint_edited_then_continued(slack, app):
    root = await start(slack, "breakpoint delete the staging database")
    paused = await next_open(slack, root)
    assert "Paused before approval" in block_text(paused)
    assert list(buttons(paused)) == ["Continue", "Edit state"]
    view = await form(slack, paused, "Edit state")
    (state_block,) = [b for b in view["blocks"] if b["type"] == "input"]
    status, reply = await slack.submit_view(ANA, {state_block["block_id"]: "{not json"})
    assert reply["response_action"] == "errors" and "not valid JSON" in str(reply["errors"])
    edited = '{"request": "delete the test database"}'
    status, reply = await slack.submit_view(ANA, {state_block["block_id"]: edited})
    assert status == 200 and not reply
    again = await next_open(slack, root, after=paused)
    assert "Paused before approval" in block_text(
        again
    ) and "delete the test database" in block_text(again)
    assert "Edit state" in block_text(paused) and buttons(paused) == {}
    await press(slack, again, "Continue")
    after = await next_open(slack, root, after=again)
    assert "Paused after approval" in block_text(after)
    await press(slack, after, "Continue")
    text = await result(slack, root)
    assert "delete the test database" in text


async def test_several_questions_in_one_node_come_one_after_the_other(slack, app):
    root = await start(slack, "questions Rosa Diaz")
    team = await next_open(slack, root)
    assert list(buttons(team)) == ["engineering", "design", "sales", "support"]
    await press(slack, team, "engineering")
    date = await next_open(slack, root, after=team)
    view = await form(slack, date, "Answer")
    status, reply = await slack.submit_view(ANA, fill(view, **{"Your answer": "2025-03-03"}))
    assert status == 200 and not reply
    laptop = await next_open(slack, root, after=date)
    assert list(buttons(laptop)) == ["Yes", "No"]  # a boolean response_schema
    await press(slack, laptop, "Yes")
    text = await result(slack, root)
    assert "engineering" in text and "2025-03-03" in text
    run = await run_row(app, root)
    assert [len(await app.services.store.step_reviews(run.run_id, s)) for s in (1, 2, 3)] == [
        1,
        1,
        1,
    ]


async def test_discriminated_union_buttons_and_a_branch_form(slack, app):
    root = await start(slack, "recovery sync invoices to the ledger")
    review = await next_open(slack, root)
    assert list(buttons(review)) == ["Retry", "Skip", "Abort"]
    view = await form(slack, review, "Abort")
    assert [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"] == ["Reason"]
    status, reply = await slack.submit_view(ANA, fill(view, Reason="ledger is frozen"))
    assert status == 200 and not reply
    text = await result(slack, root)
    assert "aborted" in text and "ledger is frozen" in text
    assert "type: abort · reason: ledger is frozen" in block_text(review)


async def test_retry_from_a_union_answers_on_click_and_loops(slack, app):
    root = await start(slack, "recovery nightly export")
    review = await next_open(slack, root)
    await press(slack, review, "Retry")
    text = await result(slack, root)
    assert "finished on attempt 2" in text


async def test_two_stage_signoff_and_command_goto(slack, app):
    root = await start(slack, "signoff buy 20 laptops")
    manager = await next_open(slack, root)
    await press(slack, manager, "Yes")
    compliance = await next_open(slack, root, after=manager)
    await press(slack, compliance, "approve", user=BEN)
    assert "Signed off by manager and compliance" in await result(slack, root)

    root = await start(slack, "edit_flow We ship on Friday")
    review = await next_open(slack, root)
    await press(slack, review, "edit")
    revise = await next_open(slack, root, after=review)
    view = await form(slack, revise, "Answer")
    await slack.submit_view(ANA, fill(view, **{"Your answer": "We ship on Monday"}))
    again = await next_open(slack, root, after=revise)
    await press(slack, again, "accept")
    assert "[PUBLISHED] We ship on Monday" in await result(slack, root)


async def test_messages_graph_gets_the_text_as_a_message_and_posts_the_ai_reply(slack, app):
    root = await start(slack, "assistant book a table for four")
    review = await next_open(slack, root)
    await press(slack, review, "go ahead")
    text = await result(slack, root)  # the streamed reply is the answer, shown once
    assert text.startswith("Done:") and "book a table for four" in text
    assert "🏁 Result" not in text


async def test_help_lists_graphs_and_bad_input_is_refused_before_anything_starts(slack, app):
    status, body = await slack.slash_command(ANA, CHANNEL, "help")
    assert status == 200
    for name in ("approval", "typed_answer", "breakpoint", "assistant"):
        assert f"`{name}`" in body
    assert "Approve a payment" in body and "Takes text (becomes `request`)" in body
    status, body = await slack.slash_command(ANA, CHANNEL, "signoff")
    assert body == (
        "`signoff` takes text (becomes `request`), for example"
        " `/orchestrate signoff &lt;request&gt;`."
    )
    assert slack.roots(CHANNEL) == []


async def test_a_form_answered_elsewhere_and_a_stale_trigger_lose_nothing(slack, app):
    root = await start(slack, "typed_answer Search is down")
    review = await next_open(slack, root)
    view = await form(slack, review, "Answer")
    other = await form(slack, review, "Answer", user=BEN)
    answers = dict(Severity="sev3", Summary="Search slow", Responders="2")
    status, reply = await slack.submit_view(BEN, fill(other, **answers))
    assert status == 200 and not reply
    await result(slack, root)
    status, reply = await slack.submit_view(ANA, fill(view, **answers | {"Severity": "sev1"}))
    assert reply["response_action"] == "update"
    assert "Already decided by <@UBEN>" in str(reply["view"])
    run = await run_row(app, root)
    (stored,) = await app.services.store.step_reviews(run.run_id, 1)
    assert stored.answer["severity"] == "sev3" and stored.decided_by == BEN
