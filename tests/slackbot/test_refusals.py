"""Which answers a graph refused, and the error as one line a person can read (pure)."""

from __future__ import annotations

from slackbot import blocks
from slackbot.reviews.refusals import clip_words, model_title, readable_error, refused_reviews
from slackbot.store import ReviewStatus
from tests.slackbot.test_review_kinds import review

PYDANTIC = """2 validation errors for Signoff
comment
  Value error, a comment is required when rejecting [type=value_error, input_value={'decision': 'reject'}, input_type=dict]
    For further information visit https://errors.pydantic.dev/2.14/v/value_error
decision
  Input should be 'approve' or 'reject' [type=literal_error, input_value='maybe', input_type=str]
    For further information visit https://errors.pydantic.dev/2.14/v/literal_error"""  # noqa: E501
SIGNOFF = {"title": "Signoff", "type": "object", "properties": {"decision": {"type": "string"}}}
OTHER = {"title": "Budget", "type": "object", "properties": {"amount": {"type": "number"}}}


def test_a_pydantic_error_reads_as_one_line_without_its_internals():
    assert model_title(PYDANTIC) == "Signoff"
    assert readable_error(PYDANTIC) == (
        "comment: a comment is required when rejecting;"
        " decision: Input should be 'approve' or 'reject'"
    )
    assert model_title("ValueError: nope") is None
    assert readable_error("line one\n  line two") == "line one; line two"


def test_a_long_error_is_cut_at_a_word_never_inside_a_link():
    text = "see " + "word " * 10 + "https://example.com/a/very/long/path/to/somewhere"
    cut = clip_words(text, 60)
    assert cut.endswith("word…") and len(cut) <= 60 and "https" not in cut


def answered(interrupt_id, schema):
    return review({"question": "?"}, schema, interrupt_id=interrupt_id,
                  status=ReviewStatus.DECIDED, answer={"decision": "reject"})  # fmt: skip


def test_the_refused_review_is_the_answered_one_still_waiting_and_named_by_the_error():
    legal, budget, done = answered("a", SIGNOFF), answered("b", OTHER), answered("c", SIGNOFF)
    step = [legal, budget, done]
    # both a and b still wait, the error names Signoff: only a; c's task ran with its answer
    assert refused_reviews(step, {"a", "b"}, PYDANTIC, certain=False) == [legal]
    # no model named that matches: only LangGraph's own mark makes it certain
    assert refused_reviews(step, {"b"}, PYDANTIC, certain=False) == []
    assert refused_reviews(step, {"b"}, PYDANTIC, certain=True) == [budget]
    untyped = answered("d", None)
    assert refused_reviews([untyped], {"d"}, PYDANTIC, certain=True) == []


def test_a_reopened_review_says_whose_answer_was_refused_and_why():
    refusal = {"answer": {"decision": "reject"}, "by": "UANA", "at": 1.0, "error": "no <!here>"}
    r = review({"question": "Sign off?"}, SIGNOFF, refusals=(refusal,))
    text = str(blocks.review_message(r).blocks)
    assert "<@UANA>'s answer *decision: reject* was refused by the graph: no &lt;!here&gt;." in text
    assert "Answer" in text  # its controls are back
