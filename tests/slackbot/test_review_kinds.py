"""Review kinds are pure: an interrupt's value and schema in, Block Kit and answers out."""

from __future__ import annotations

import json

from slackbot import blocks
from slackbot.demo.slack_emulator import check_blocks
from slackbot.demo.views import view_problems
from slackbot.reviews import KINDS, kind_for
from slackbot.reviews.forms import ACTION
from slackbot.store import Review, ReviewStatus

TRIAGE = {
    "type": "object",
    "title": "Triage",
    "required": ["severity", "summary"],
    "properties": {
        "severity": {"enum": ["sev1", "sev2", "sev3"], "type": "string", "title": "Severity"},
        "summary": {"type": "string", "description": "One line for the status page"},
        "responders": {"type": "integer", "default": 1, "maximum": 10},
        "page": {"type": "boolean"},
        "teams": {"type": "array", "items": {"enum": ["web", "db"]}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
    },
}
UNION = {
    "oneOf": [{"$ref": "#/$defs/Retry"}, {"$ref": "#/$defs/Abort"}],
    "discriminator": {"propertyName": "type"},
    "$defs": {
        "Retry": {"type": "object", "properties": {"type": {"const": "retry"}}},
        "Abort": {
            "type": "object",
            "required": ["type", "reason"],
            "properties": {"type": {"const": "abort"}, "reason": {"type": "string"}},
        },
    },
}


def review(value, schema=None, **changes) -> Review:
    fields = dict(
        review_id="r" * 32, run_id="run", step=1, interrupt_id="i" * 32, position=0,
        request=value, message_ts="1.0", status=ReviewStatus.PENDING, notes_requested_by=None,
        answer=None, decided_by=None, decided_at=None, kind=kind_for(value, schema),
        response_schema=schema,
    ) | changes  # fmt: skip
    return Review(**fields)


def labels(r: Review) -> list[str]:
    return [c.label for c in KINDS[r.kind].controls(r)]


def state(**by_block) -> dict:
    return {block: {ACTION: value} for block, value in by_block.items()}


def test_kinds_by_what_the_interrupt_carries():
    assert kind_for("Approve?", None) == "question"
    assert kind_for({"question": "Go?", "options": ["yes", "no"]}, None) == "question"
    assert kind_for("Approve?", {"type": "boolean"}) == "typed"
    assert labels(review({"question": "Go?", "options": ["yes", "no"]})) == ["yes", "no"]
    assert labels(review("Go?")) == ["Answer"]
    assert labels(review("Go?", {"type": "boolean"})) == ["Yes", "No"]
    assert labels(review("Go?", {"enum": ["approve", "reject"]})) == ["approve", "reject"]
    many = {"enum": ["a", "b", "c", "d", "e", "f"]}
    assert labels(review("Go?", many)) == ["Answer"]  # more than 5 values: a select in a form
    assert labels(review("Go?", UNION)) == ["Retry", "Abort"]
    assert labels(review("Go?", TRIAGE)) == ["Answer"]


def test_a_schema_becomes_inputs_and_answers_are_validated_before_anything_is_stored():
    r = review({"question": "Triage it"}, TRIAGE)
    form = KINDS["typed"].form(r, 0)
    inputs = {b["label"]["text"]: b for b in form.blocks}
    assert list(inputs) == ["Severity", "summary", "responders", "page", "teams", "labels", "note"]
    assert inputs["Severity"]["element"]["type"] == "static_select"
    assert inputs["summary"]["hint"]["text"] == "One line for the status page"
    assert inputs["summary"]["optional"] is False and inputs["note"]["optional"] is True
    assert inputs["responders"]["element"] == {
        "action_id": ACTION, "type": "number_input", "is_decimal_allowed": False,
        "initial_value": "1",
    }  # fmt: skip
    assert inputs["page"]["element"]["type"] == "radio_buttons"
    assert inputs["teams"]["element"]["type"] == "multi_static_select"
    assert inputs["labels"]["element"]["multiline"] is True  # not expressible: JSON input
    blocks_of = {b["label"]["text"]: b["block_id"] for b in form.blocks}

    def submit(**values):
        return KINDS["typed"].read_form(r, 0, state(**{blocks_of[k]: v for k, v in values.items()}))

    bad = submit(
        Severity={"selected_option": {"value": "1"}},
        summary={"value": "Slow"},
        responders={"value": "50"},
        labels={"value": "{oops"},
    )
    assert bad.answer is None and "not valid JSON" in bad.errors[blocks_of["labels"]]
    bad = submit(Severity={"selected_option": {"value": "1"}}, summary={"value": "Slow"},
                 responders={"value": "50"})  # fmt: skip
    assert bad.answer is None and "maximum" in bad.errors[blocks_of["responders"]]
    missing = submit(Severity={"selected_option": {"value": "0"}})
    assert missing.errors == {blocks_of["summary"]: "This field is required."}
    good = submit(
        Severity={"selected_option": {"value": "1"}},
        summary={"value": "Slow"},
        responders={"value": "3"},
        page={"selected_option": {"value": "0"}},
        teams={"selected_options": [{"value": "1"}]},
        labels={"value": '{"area": "eu"}'},
    )
    assert good.errors == {}
    assert good.answer == {
        "severity": "sev2", "summary": "Slow", "responders": 3, "page": True,
        "teams": ["db"], "labels": {"area": "eu"},
    }  # fmt: skip


def test_a_union_branch_with_fields_opens_a_form_and_fixes_its_discriminator():
    r = review("It failed", UNION)
    kind = KINDS["typed"]
    assert [c.form for c in kind.controls(r)] == [False, True]
    assert kind.controls(r)[0].answer == {"type": "retry"}
    (reason,) = kind.form(r, 1).blocks
    assert reason["label"]["text"] == "reason"
    empty = kind.read_form(r, 1, state(**{reason["block_id"]: {"value": ""}}))
    assert empty.errors == {reason["block_id"]: "This field is required."}
    answer = kind.read_form(r, 1, state(**{reason["block_id"]: {"value": "frozen"}})).answer
    assert answer == {"type": "abort", "reason": "frozen"}


def test_messages_and_forms_stay_within_slacks_limits_and_ping_nobody():
    huge = {"question": "<!here> approve?", "body": "x" * 20_000, "items": list(range(2_000))}
    for r in (review(huge), review(huge, TRIAGE), review(huge, UNION)):
        message = blocks.review_message(r)
        check_blocks(message.blocks)
        assert "<!here>" not in str(message.blocks) and "&lt;!here&gt;" in str(message.blocks)
        for index, control in enumerate(KINDS[r.kind].controls(r)):
            if control.form:
                view = blocks.form_view(r, index, KINDS[r.kind].form(r, index))
                assert view_problems(view) == []
    answered = review(huge, TRIAGE, status=ReviewStatus.DECIDED, answer={"severity": "sev1"},
                      decided_by="UANA", decided_at=1_700_000_000.0)  # fmt: skip
    text = str(blocks.review_message(answered).blocks)
    assert "<@UANA> answered *severity: sev1*" in text and '"type": "actions"' not in text


def test_a_breakpoint_offers_continue_and_an_edit_of_the_changed_keys_only():
    value = {"position": "before", "nodes": ["approval"], "values": {"request": "drop db", "n": 1}}
    r = review(value, kind="breakpoint")
    kind = KINDS["breakpoint"]
    assert labels(r) == ["Continue", "Edit state"]
    assert "Paused before approval" in str(kind.body(r))
    assert [b["block_id"] for b in kind.form(r, 1).blocks] == ["state"]
    edit = kind.read_form(r, 1, state(state={"value": '{"request": "drop test db", "n": 1}'}))
    assert edit.answer == {"action": "edit", "values": {"request": "drop test db"}}
    same = kind.read_form(r, 1, state(state={"value": '{"request": "drop db", "n": 1}'}))
    assert same.answer is None and "Nothing changed" in same.errors["state"]
    assert kind.read_form(r, 1, state(state={"value": "[1]"})).errors


def test_a_breakpoint_state_too_big_for_the_editor_keeps_the_keys_that_fit():
    values = {"request": "drop db", "log": "x" * 5_000, "n": 1}
    r = review({"position": "before", "nodes": ["approval"], "values": values}, kind="breakpoint")
    kind = KINDS["breakpoint"]
    (editor,) = kind.form(r, 1).blocks
    assert json.loads(editor["element"]["initial_value"]) == {"request": "drop db", "n": 1}
    assert "kept as they are: log" in editor["hint"]["text"]
    edit = kind.read_form(r, 1, state(state={"value": '{"request": "drop test db", "n": 1}'}))
    assert edit.answer == {"action": "edit", "values": {"request": "drop test db"}}


def test_a_form_shows_the_request_it_answers():
    """The Answer modal of a typed review without a `question` shows what it is asked about,
    not only "Your answer is needed"."""
    request = {"trip": "Berlin → Lisbon", "traveller": "Ana", "estimated_cost_eur": 420}
    schema = {"type": "object", "properties": {"comment": {"type": "string"}}}
    r = review(request, schema)
    view = blocks.form_view(r, 0, KINDS[r.kind].form(r, 0))
    shown = json.dumps(view["blocks"], ensure_ascii=False)
    for text in ("trip", "Berlin → Lisbon", "traveller", "estimated_cost_eur", "420"):
        assert text in shown
    assert view_problems(view) == []
    assert view["blocks"][-1]["type"] == "input"  # the form's own input stays last
