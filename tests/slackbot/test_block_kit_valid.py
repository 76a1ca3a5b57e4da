"""blocks.py and home.py write Block Kit as plain dicts (fast); slack_sdk's models check them
here: every block of every builder's output parses, passes slack_sdk's limits, and is exactly
what the validating model would emit."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from slackbot import blocks, home
from slackbot.reviews import KINDS, kind_for
from slackbot.reviews.tools import expand
from slackbot.store import Review, ReviewStatus, Run, RunStatus
from slackbot.store.inbox import OpenReview
from tests.slackbot.test_review_kinds import TRIAGE as FORM
from tests.slackbot.test_review_kinds import UNION

WHEN = 1_700_000_000.0
HOSTILE = "<!here> & <@UEVE> [click](https://evil.example) @channel"
HUGE = "word " * 10_000

# test_review_kinds' schemas, with a number field too (forms render each type differently)
TRIAGE = {**FORM, "properties": {**FORM["properties"], "ratio": {"type": "number"}}}
TOOL_APPROVAL_SCHEMA = {
    "oneOf": [
        {"type": "object", "properties": {"type": {"const": "approve"}}, "required": ["type"]},
        {
            "type": "object",
            "properties": {"type": {"const": "reject"}, "message": {"type": "string"}},
            "required": ["type"],
        },
    ],
    "discriminator": {"propertyName": "type"},
}
EMAIL = {"to": "ana@example.com", "subject": "Launch <!here>", "body": "It ships.\n" * 400}
BATCH = {
    "action_requests": [
        {"name": "send_email", "args": EMAIL, "description": "Send it? " + HOSTILE},
        {"name": "create_ticket", "args": {"title": "Flaky", "priority": 2, "n": None}},
    ],
    "review_configs": [
        {
            "action_name": "send_email",
            "allowed_decisions": ["approve", "edit", "reject", "respond"],
        },
        {"action_name": "create_ticket", "allowed_decisions": ["approve", "edit"]},
    ],
}
INBOX = {
    "action_request": {"action": "write_file", "args": {"path": "/tmp/x", "text": "hello"}},
    "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": 1},
    "description": "Write the file? " + HOSTILE,
}

AGENT_STATE = {  # create_react_agent paused before its tools, after a long tool result
    "messages": [
        {"type": "human", "content": "Mail Ana " + HOSTILE, "id": "1"},
        {"type": "tool", "content": HUGE, "id": "2", "tool_call_id": "c0"},
        {"type": "ai", "content": "", "id": "3", "tool_calls": [
            {"name": "send_email", "args": EMAIL, "id": "c1", "type": "tool_call"},
            {"name": "log", "args": {"text": HUGE}, "id": "c2", "type": "tool_call"},
        ]},
    ],
    "remaining_steps": 20,
}  # fmt: skip


def a_run(**changes: Any) -> Run:
    values = dict(
        run_id="r1", team_id="T", channel_id="C", started_by="UANA", topic="Berlin " + HOSTILE,
        root_ts="1.0", status=RunStatus.WAITING, phase="waiting", step=1, error=None,
        summary_ts=None, waiting_since=WHEN, ended_by="UBEN",
    )  # fmt: skip
    return Run(**(values | changes))


def a_worker_review(status=ReviewStatus.PENDING, answer=None, **request: Any) -> Review:
    payload = dict(
        worker_id="editor", role="Editor", task="Write it " + HOSTILE, topic="Berlin",
        draft="A **draft** " + HOSTILE, round=1, max_rounds=4, answers=["approve", "revise"],
        notes="", notice="",
    ) | request  # fmt: skip
    return Review(
        review_id="f" * 32, run_id="r1", step=1, interrupt_id="0" * 32, position=0,
        request=payload, message_ts="2.0", status=status, notes_requested_by="UBEN",
        answer=answer, decided_by="UANA" if answer else None, decided_at=WHEN,
    )  # fmt: skip


def a_review(value: Any, schema: dict | None = None, **changes: Any) -> Review:
    fields = dict(
        review_id="r" * 32, run_id="run", step=1, interrupt_id="i" * 32, position=0,
        request=value, message_ts="1.0", status=ReviewStatus.PENDING, notes_requested_by=None,
        answer=None, decided_by=None, decided_at=None, kind=kind_for(value, schema),
        response_schema=schema,
    ) | changes  # fmt: skip
    return Review(**fields)


def kind_reviews() -> dict[str, Review]:
    """One review of every kind and shape, pending."""
    found = {
        "question-text": a_review("Ship it? " + HOSTILE),
        "question-options": a_review({"question": "Go?", "options": ["yes", "no", "x" * 90]}),
        "question-rest": a_review({"question": "Go?", "cost": 3, "plan": "step\n" * 900}),
        "question-none": a_review({"items": list(range(2_000))}),
        "question-huge": a_review(
            {"question": HOSTILE, "body": "x" * 20_000, "items": list(range(2_000))}
        ),
        "typed-boolean": a_review("Approve?", {"type": "boolean"}),
        "typed-enum": a_review("Pick", {"enum": ["approve", "reject"]}),
        "typed-many": a_review("Pick", {"enum": list("abcdef")}),
        "typed-triage": a_review({"question": "Triage it"}, TRIAGE),
        "typed-union": a_review("It failed", UNION),
        "breakpoint": a_review(
            {"position": "before", "nodes": ["approval"], "values": {"request": "drop", "n": 1}},
            kind="breakpoint",
        ),
        "breakpoint-empty": a_review({"position": "after", "nodes": []}, kind="breakpoint"),
        "breakpoint-agent": a_review(
            {"position": "before", "nodes": ["tools"], "values": AGENT_STATE}, kind="breakpoint"
        ),
        "tool-approval": a_review(
            {"type": "tool_approval", "name": "rm", "args": {"path": "/"}, "description": "why"},
            TOOL_APPROVAL_SCHEMA,
        ),
        "inbox": a_review([INBOX]),
    }
    for key, request in expand("k", BATCH):
        found[f"tool-batched-{key}"] = a_review(request, kind="tool_call")
    refusal = {"answer": {"decision": HUGE}, "by": "UEVE", "at": WHEN, "error": HOSTILE + HUGE}
    found["typed-refused"] = a_review("Sign off?", TRIAGE, refusals=(refusal,) * 2)
    return found


def finished(review: Review) -> dict[str, Review]:
    """The same review answered, cancelled and expired."""
    control = next((c for c in KINDS[review.kind].controls(review) if not c.form), None)
    answer = control.answer if control else {"some": "answer " + HOSTILE}
    return {
        "decided": _replace(review, ReviewStatus.DECIDED, answer=answer),
        "cancelled": _replace(review, ReviewStatus.CANCELLED),
        "expired": _replace(review, ReviewStatus.EXPIRED),
    }


def _replace(review: Review, status: ReviewStatus, answer: Any = None) -> Review:
    return a_review(
        review.request, review.response_schema, kind=review.kind, status=status, answer=answer,
        decided_by="UANA", decided_at=WHEN,
    )  # fmt: skip


@cache
def messages() -> dict[str, blocks.Message]:
    """Every builder of blocks.py that returns a Message, over the cases it tells apart."""
    found: dict[str, blocks.Message] = {}
    for builtin in (True, False):
        graph = {} if builtin else {"graph": "approvals <!here>"}
        for phase in [*blocks.ROOT_PHASES, "odd-phase"]:
            for step in (1, 3):
                run = a_run(phase=phase, step=step, error="boom " + HOSTILE, **graph)
                found[f"root-{builtin}-{phase}-{step}"] = blocks.root_message(run, 2, 5)
    found["root-empty-topic"] = blocks.root_message(a_run(topic="", error=None, phase="failed"))
    found["root-huge"] = blocks.root_message(a_run(topic=HUGE, error=HUGE, phase="failed"))

    worker = {
        "pending": a_worker_review(),
        "last-round": a_worker_review(answers=["approve"], round=4, notice="Last round <!here>"),
        "notes": a_worker_review(notes="cite the lease\n<!channel> terms"),
        "awaiting": a_worker_review(status=ReviewStatus.AWAITING_NOTES),
        "approved": a_worker_review(ReviewStatus.DECIDED, {"action": "approve"}),
        "revised": a_worker_review(ReviewStatus.DECIDED, {"action": "revise", "notes": HOSTILE}),
        "cancelled": a_worker_review(ReviewStatus.CANCELLED, {"action": "x"}),
        "expired": a_worker_review(ReviewStatus.EXPIRED),
        "huge": a_worker_review(draft=HUGE, notes="n" * 5_000, task="t" * 4_000, role="<r>" * 99),
        "empty-draft": a_worker_review(draft="   "),
    }
    for name, review in worker.items():
        found[f"worker-{name}"] = blocks.review_message(review)
        found[f"worker-{name}-model"] = blocks.review_message(review, model="gpt <!here>")

    for name, review in kind_reviews().items():
        found[f"kind-{name}"] = blocks.review_message(review)
        for state, done in finished(review).items():
            found[f"kind-{name}-{state}"] = blocks.review_message(done)

    for model in (None, "gpt-5 <@U1>"):
        for note in ("", "Plan note " + HOSTILE):
            for summary in ("A **summary** " + HOSTILE, HUGE, ""):
                key = f"summary-{model}-{bool(note)}-{len(summary)}"
                found[key] = blocks.summary_message(summary, note, model)

    for error in ("boom " + HOSTILE, None, HUGE):
        run = a_run(status=RunStatus.FAILED, error=error)
        found[f"failure-{error and len(error)}"] = blocks.failure_message(run)
        found[f"failure-{error and len(error)}-retried"] = blocks.failure_message(run, "UANA")

    results: dict[str, tuple[Any, tuple[str, ...] | None]] = {
        "ai": ({"messages": [{"type": "human", "content": "hi"}, {"type": "ai", "content": "Hi!"}]},
               None),
        "ai-parts": ({"messages": [{"type": "AIMessage", "content": [{"text": "a"}, "b"]}]}, None),
        "ai-none": ({"messages": [{"type": "assistant", "content": None}]}, None),
        "string": ({"answer": "**Done** " + HOSTILE}, None),
        "huge-string": ({"answer": HUGE}, None),
        "scalar": (42, None),
        "fields": ({"a": 1, "b": "two", "c": {"nested": [1, 2]}, "d": "long\n" * 900}, None),
        "outputs": ({"a": 1, "b": "only this"}, ("b",)),
        "outputs-missing": ({"a": 1, "b": 2}, ("z",)),
        "empty": ({}, None),
        "many": ({f"k{i}": "v\n" * 3 for i in range(80)}, None),
    }  # fmt: skip
    for name, (result, outputs) in results.items():
        found[f"result-{name}"] = blocks.result_message(result, outputs)

    found["timed-out"] = blocks.timed_out_message(a_run(), 3)
    found["reminder"] = blocks.reminder_message(a_run(), ["UANA", "UBEN"], ["https://x/1"], 2)
    found["reminder-no-links"] = blocks.reminder_message(a_run(waiting_since=None), ["U1"], [], 1)
    return found


@cache
def views() -> dict[str, dict[str, Any]]:
    """Every view: the review forms, the notice, the Home tab over the cases it tells apart."""
    found: dict[str, dict[str, Any]] = {}
    for name, review in kind_reviews().items():
        kind = KINDS[review.kind]
        for index, control in enumerate(kind.controls(review)):
            if control.form:
                found[f"form-{name}-{index}"] = blocks.form_view(
                    review, index, kind.form(review, index)
                )
    found["notice"] = blocks.notice_view("Already answered " + HOSTILE)
    found["notice-ack"] = blocks.FormReply(notice="Too late").ack_kwargs()["view"]

    run_a = a_run(run_id="ra", channel_id="CA", topic="Berlin " + HOSTILE)
    run_b = a_run(run_id="rb", channel_id="CB", topic="x" * 400, graph="approvals")
    items = [
        OpenReview(a_worker_review(), run_a, WHEN),
        OpenReview(a_worker_review(status=ReviewStatus.AWAITING_NOTES), run_a, WHEN + 1),
        OpenReview(a_review("Ship it? " + HOSTILE), run_b, WHEN + 2),
        OpenReview(a_review([INBOX]), run_b, WHEN + 3),
        OpenReview(a_review({"no": "question"}, kind="gone"), run_b, WHEN + 4),
    ]
    links = {("CA", "2.0"): "https://x.example/a?b=1&c=<2>", ("CB", "1.0"): "https://x/b"}
    for audience in home.AUDIENCE:
        for viewer in ("UBEN", "UANA"):
            key = f"home-{audience}-{viewer}"
            found[key] = home.home_view(items, len(items), links, audience, viewer)
        found[f"home-{audience}-empty"] = home.home_view([], 0, {}, audience, "UANA")
    many = [OpenReview(a_review(f"Q{i}"), run_b, WHEN + i) for i in range(60)]
    found["home-many"] = home.home_view(many, 75, {}, home.APPROVER, "UANA")
    found["home-one"] = home.home_view(items[:1], 1, {}, home.OWN, "UANA")
    return found


def corpus() -> dict[str, Any]:
    """Every output as JSON-plain data (also what a before/after comparison dumps)."""
    found: dict[str, Any] = {k: {"text": m.text, "blocks": m.blocks} for k, m in messages().items()}
    return found | views()


def check_block(block: dict[str, Any]) -> None:
    parsed = Block.parse(block)
    assert parsed is not None, f"slack_sdk knows no block {block.get('type')!r}"
    parsed.validate_json()  # raises SlackObjectFormationError past one of Slack's limits
    assert parsed.to_dict() == block


def check_view(view: dict[str, Any]) -> None:
    parsed = View(**view)
    parsed.validate_json()
    assert parsed.to_dict() == view
    for block in view["blocks"]:
        check_block(block)


@pytest.mark.parametrize("name", sorted(messages()))
def test_every_message_block_is_valid_block_kit(name):
    message = messages()[name]
    assert message.text and len(message.text) <= blocks.FALLBACK_LIMIT
    assert 0 < len(message.blocks) <= 50
    for block in message.blocks:
        check_block(block)


@pytest.mark.parametrize("name", sorted(views()))
def test_every_view_is_valid_block_kit(name):
    check_view(views()[name])


def test_the_check_fails_on_invalid_or_unfaithful_blocks():
    good = blocks.review_message(a_worker_review()).blocks
    header = next(b for b in good if b["type"] == "header")
    check_block(header)
    with pytest.raises(SlackObjectFormationError):  # over Slack's 150 characters
        check_block(header | {"text": header["text"] | {"text": "x" * 151}})
    with pytest.raises(AssertionError):  # slack_sdk would not emit an unknown key
        check_block(header | {"colour": "red"})
    with pytest.raises(AssertionError):  # nor a None value
        check_block(header | {"block_id": None})
    actions = next(b for b in good if b["type"] == "actions")
    check_block(actions)
    button = actions["elements"][0]
    with pytest.raises(SlackObjectFormationError):  # a style Slack does not know
        check_block(actions | {"elements": [button | {"style": "loud"}]})
    view = home.home_view([], 0, {}, home.OWN, "UANA")
    check_view(view)
    with pytest.raises(SlackObjectFormationError):  # over 100 blocks
        check_view(view | {"blocks": view["blocks"] * 40})
