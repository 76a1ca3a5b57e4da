"""Block Kit builders are pure: checked here without Slack, against Slack's limits."""

from slackbot import blocks
from slackbot.demo.slack_emulator import check_blocks
from slackbot.safe_text import neutralize
from slackbot.store import Review, ReviewStatus, Run, RunStatus


def a_run(**changes) -> Run:
    values = dict(
        run_id="r1", team_id="T", channel_id="C", started_by="UANA", topic="Berlin",
        root_ts="1.0", status=RunStatus.WAITING, phase="waiting", step=1, error=None,
        summary_ts=None,
    )  # fmt: skip
    return Run(**(values | changes))


def a_review(draft="A **draft**", status=ReviewStatus.PENDING, answer=None, **request) -> Review:
    payload = dict(
        worker_id="editor", role="Editor", task="Write it", topic="Berlin", draft=draft,
        round=1, max_rounds=4, answers=["approve", "revise"], notes="", notice="",
    ) | request  # fmt: skip
    return Review(
        review_id="f" * 32, run_id="r1", step=1, interrupt_id="0" * 32, position=0,
        request=payload, message_ts="2.0", status=status, notes_requested_by="UBEN",
        answer=answer, decided_by="UANA" if answer else None, decided_at=1_700_000_000.0,
    )  # fmt: skip


def buttons(message):
    return [
        e["action_id"] for b in message.blocks for e in b.get("elements", []) if "action_id" in e
    ]


def test_pending_review_has_approve_and_revise_with_the_review_id():
    message = blocks.review_message(a_review())
    assert buttons(message) == [blocks.ACTION_APPROVE, blocks.ACTION_REVISE]
    values = {e["value"] for b in message.blocks for e in b.get("elements", []) if "value" in e}
    assert values == {"f" * 32}
    assert {"type": "markdown", "text": "A **draft**"} in [
        {k: v for k, v in b.items() if k != "block_id"} for b in message.blocks
    ]


def test_last_round_offers_only_approve_and_says_why():
    review = a_review(answers=["approve"], round=4, notice="This is the last round")
    message = blocks.review_message(review)
    assert buttons(message) == [blocks.ACTION_APPROVE]
    assert "last round" in str(message.blocks)


def test_decided_reviews_replace_buttons_with_who_and_when():
    approved = blocks.review_message(
        a_review(status=ReviewStatus.DECIDED, answer={"action": "approve", "by": "UANA"})
    )
    assert buttons(approved) == []
    assert "✅ Approved by <@UANA> · <!date^1700000000^" in str(approved.blocks)
    revised = blocks.review_message(
        a_review(status=ReviewStatus.DECIDED, answer={"action": "revise", "notes": "x <!here>"})
    )
    assert "> x &lt;!here&gt;" in str(revised.blocks)


def test_awaiting_notes_asks_that_person_in_the_thread():
    message = blocks.review_message(a_review(status=ReviewStatus.AWAITING_NOTES))
    assert "<@UBEN>: reply in this thread with your notes for *editor*" in str(message.blocks)
    assert buttons(message) == [blocks.ACTION_APPROVE]


def test_a_huge_draft_stays_within_block_kit_limits_and_says_it_was_cut():
    long_draft = "word " * 10_000  # 50,000 characters
    message = blocks.review_message(
        a_review(draft=long_draft, notes="n" * 5_000, task="t" * 4_000, role="r" * 300)
    )
    check_blocks(message.blocks)  # raises on any limit Slack enforces
    markdown = next(b["text"] for b in message.blocks if b["type"] == "markdown")
    assert len(markdown) <= 12_000 and "more characters not shown" in markdown
    summary = blocks.summary_message(long_draft, "note")
    check_blocks(summary.blocks)
    assert len(summary.text) <= 300


def test_root_message_shows_progress():
    message = blocks.root_message(a_run(), decided=2, total=3)
    assert "Waiting for reviews: 2 of 3 in" in str(message.blocks)
    failed = blocks.root_message(a_run(phase="failed", error="the LLM call failed (HTTP 500)"))
    assert "Stopped: the LLM call failed (HTTP 500)" in str(failed.blocks)


def test_failure_message_offers_retry_until_retried():
    run = a_run(status=RunStatus.FAILED, error="boom <!channel>")
    assert buttons(blocks.failure_message(run)) == [blocks.ACTION_RETRY]
    retried = blocks.failure_message(run, retried_by="UANA")
    assert buttons(retried) == [] and "Retried by <@UANA>" in str(retried.blocks)
    assert "<!channel>" not in str(retried.blocks)


def test_neutralize_keeps_text_readable_but_inert():
    text = neutralize("a <!here> b <@U1|x> & @channel @Here <https://x|y>")
    assert "<" not in text and ">" not in text
    assert "@channel" not in text and "@Here" not in text
    assert text.startswith("a &lt;!here&gt; b &lt;@U1|x&gt; &amp;")
