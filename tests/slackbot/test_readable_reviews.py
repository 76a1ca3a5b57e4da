"""What people read on reviews and stopped runs: no stray `null`, arguments shown once, errors
in words (no regex, no pydantic internals, never cut mid-word), a rejection not stamped ✅."""

from __future__ import annotations

import re

from pydantic import BaseModel

from slackbot import blocks
from slackbot.notices import describe
from slackbot.reviews import KINDS
from slackbot.reviews.tools import expand
from slackbot.store import ReviewStatus, RunStatus
from tests.slackbot.conftest import block_text
from tests.slackbot.test_block_kit_valid import a_run
from tests.slackbot.test_review_kinds import review, state

EMAIL = {"to": "ana@example.com", "subject": "Launch", "body": "Hi team,\nIt ships Friday.\nAna"}
DEFAULT_DESCRIPTION = (  # what HumanInTheLoopMiddleware writes when the tool gives none
    f"Tool execution requires approval\n\nTool: send_email\nArgs: {EMAIL}"
)
BATCH = {
    "action_requests": [{"name": "send_email", "args": EMAIL, "description": DEFAULT_DESCRIPTION}],
    "review_configs": [{"action_name": "send_email", "allowed_decisions": ["edit", "reject"]}],
}


def text_of(r) -> str:
    return block_text(blocks.review_message(r))


def test_a_plain_question_shows_no_stray_null():
    shown = blocks.review_message(review("Ship it?")).blocks
    assert "null" not in str(shown)
    assert [b["type"] for b in shown] == ["section", "actions"]


def test_a_tool_review_shows_its_arguments_once_and_readably():
    ((_, request),) = expand("k", BATCH)
    text = text_of(review(request, kind="tool_call"))
    assert text.count("ana@example.com") == 1 and "Args:" not in text
    assert "Tool execution requires approval" in text
    assert "\\n" not in text and "> It ships Friday." in text  # the body's lines, quoted


def test_a_rejection_is_not_stamped_with_a_green_check():
    ((_, request),) = expand("k", BATCH)
    rejected = review(request, kind="tool_call", status=ReviewStatus.DECIDED,
                      answer={"type": "reject", "message": "no"}, decided_by="UANA")  # fmt: skip
    assert "🚫 <@UANA> answered *Reject: no*" in text_of(rejected)
    no = review("Go?", {"type": "boolean"}, status=ReviewStatus.DECIDED, answer=False,
                decided_by="UANA")  # fmt: skip
    assert "🚫" in text_of(no) and "✅" not in text_of(no)
    yes = review("Go?", {"type": "boolean"}, status=ReviewStatus.DECIDED, answer=True,
                 decided_by="UANA")  # fmt: skip
    assert "✅ <@UANA> answered *Yes*" in text_of(yes)


def test_an_edit_summary_stays_bold_on_one_line():
    ((_, request),) = expand("k", BATCH)
    edited = {"type": "edit", "edited_action": {"name": "send_email", "args": EMAIL}}
    r = review(request, kind="tool_call", status=ReviewStatus.DECIDED, answer=edited,
               decided_by="UANA")  # fmt: skip
    (bold,) = re.findall(r"answered \*([^*]*)\*", text_of(r))
    assert "\n" not in bold and "body=Hi team, It ships Friday. Ana" in bold


def test_form_errors_name_the_field_in_words_not_a_regex_or_a_type_name():
    schema = {
        "type": "object",
        "required": ["email", "count"],
        "properties": {
            "email": {"type": "string", "title": "email address", "pattern": r"^[^@\s]+@[^@\s]+$"},
            "count": {"type": "integer"},
            "tags": {"type": "object"},
        },
    }
    r = review("Who?", schema)
    kind = KINDS["typed"]
    ids = {b["label"]["text"]: b["block_id"] for b in kind.form(r, 0).blocks}
    submitted = state(
        **{ids["email address"]: {"value": "ana at example"}, ids["count"]: {"value": "2"},
           ids["tags"]: {"value": "[1]"}}
    )  # fmt: skip
    errors = kind.read_form(r, 0, submitted).errors
    assert errors[ids["email address"]] == "This is not a valid email address."
    assert errors[ids["tags"]] == "tags must be an object."
    assert "^" not in str(errors) and "'object'" not in str(errors)


class Quote(BaseModel):
    reference: int
    amount: float
    currency: str


def test_a_stopped_run_reads_in_one_line_cut_at_a_word_without_links():
    try:
        Quote(reference="Q-" + "7" * 30, amount="lots", currency=None)
    except Exception as error:
        line = describe(error)
    assert line.startswith("ValidationError: reference: Input should be a valid integer")
    assert "pydantic.dev" not in line and "[type=" not in line and "\n" not in line
    run = a_run(status=RunStatus.FAILED, phase="failed", error=line, graph="quotes")
    root = block_text(blocks.root_message(run))
    shown = root.split("Stopped: ", 1)[1].split(". Use Retry")[0]
    assert shown.endswith("…") and line.startswith(shown[:-1])  # cut after a whole word
    assert line[len(shown) - 1] == " "
    thread = block_text(blocks.failure_message(run))
    assert "https://" not in thread and "currency: Input should be a valid string" in thread
