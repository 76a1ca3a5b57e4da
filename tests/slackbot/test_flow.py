"""The whole flow a person sees, over real HTTP, on PostgreSQL and on the SQLite default."""

from slackbot.blocks import ACTION_APPROVE, ACTION_REVISE
from slackbot.store import RunStatus
from tests.slackbot.conftest import (
    ANA,
    BEN,
    CHANNEL,
    block_text,
    open_reviews,
    start_run,
    summaries,
    wait_reviews,
)

WORKERS = {"researcher", "critic", "editor"}


async def test_orchestrate_review_revise_resume_summary(slack, llm_server, app):
    root = await start_run(slack, "Open an office in Berlin")
    assert "Open an office in Berlin" in block_text(root) and f"<@{ANA}>" in block_text(root)

    reviews = await wait_reviews(slack, root.ts, WORKERS)
    await slack.wait_for(lambda: "Waiting for reviews: 0 of 3 in" in root_text(slack))
    editor = reviews["editor"]
    assert "First draft by the Editor" in block_text(editor)

    # Approve: stored, then the message shows who approved instead of buttons.
    await slack.click(ANA, reviews["researcher"], ACTION_APPROVE)
    approved = await slack.wait_for(
        lambda: "Approved by <@UANA>" in block_text(reviews["researcher"]) and reviews["researcher"]
    )
    assert "<!date^" in block_text(approved)
    await slack.wait_for(lambda: "1 of 3 in" in root_text(slack))

    # Revise: the message asks Ben for notes; his reply in the thread is the notes.
    await slack.click(BEN, editor, ACTION_REVISE)
    await slack.wait_for(lambda: "reply in this thread with your notes" in block_text(editor))
    reply, status = await slack.reply(BEN, CHANNEL, root.ts, "Cite the lease terms")
    assert status == 200
    await slack.wait_for(lambda: reply.reactions == ["memo"])
    await slack.wait_for(lambda: "Revision requested by <@UBEN>" in block_text(editor))
    assert "Cite the lease terms" in block_text(editor)

    # The last answer of the step resumes the graph once: only the editor redrafts.
    await slack.click(ANA, reviews["critic"], ACTION_APPROVE)
    second = await wait_reviews(slack, root.ts, {"editor"})
    redraft = second["editor"]
    assert redraft.ts != editor.ts
    assert "addressing: Cite the lease terms" in block_text(redraft)
    assert "Round 2 of 4" in block_text(redraft)
    await slack.wait_for(lambda: "Waiting for reviews: 0 of 1 in · round 2" in root_text(slack))
    assert len(llm_server.requests_where("Reviewer notes: Cite the lease terms")) == 1

    await slack.click(BEN, redraft, ACTION_APPROVE)
    summary = (await slack.wait_for(lambda: summaries(slack, root.ts)))[0]
    await slack.wait_for(lambda: "Done" in root_text(slack))
    await app.services.orchestrator.wait_idle()

    text = block_text(summary)
    assert "addressing: Cite the lease terms" in text  # the approved redraft is in the summary
    assert "First draft by the Researcher" in text
    assert len(summaries(slack, root.ts)) == 1
    assert len(llm_server.requests) == 6  # plan, 3 drafts, 1 redraft, 1 summary
    assert len(llm_server.requests_where("final summary")) == 1
    assert open_reviews(slack, root.ts) == {}
    # Nothing posted twice: root, 4 reviews, summary.
    assert len(slack.calls_to("chat.postMessage")) == 6

    store = app.services.store
    assert await store.claim_expired() == []  # nothing left for recovery
    stored = await _run_by_root(store, root.ts)
    assert stored.status == RunStatus.DONE and stored.summary_ts == summary.ts
    reviews_of = [await store.step_reviews(stored.run_id, step) for step in (1, 2)]
    assert [len(r) for r in reviews_of] == [3, 1]
    answers = {r.request["worker_id"]: r.answer for r in reviews_of[0]}
    assert answers["editor"] == {"action": "revise", "notes": "Cite the lease terms", "by": BEN}
    assert answers["critic"] == {"action": "approve", "by": ANA}


def root_text(slack):
    return block_text(slack.roots(CHANNEL)[-1])


async def _run_by_root(store, root_ts):
    async with store.db.transaction() as tx:
        row = await tx.fetchone(
            "SELECT run_id FROM orchestrate_runs WHERE root_ts = %(ts)s", {"ts": root_ts}
        )
    return await store.get_run(row["run_id"])
