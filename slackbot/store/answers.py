"""People's answers: clicks, forms and notes replies, each one transaction on the locked run."""

from __future__ import annotations

import json
import re
from typing import Any

from slackbot.store.backends import Tx
from slackbot.store.core import LIVE, StoreBase
from slackbot.store.models import Decision, Outcome, Review, ReviewStatus, Run, RunStatus

_ADDRESSED = re.compile(r"^\s*([\w-]+)\s*:\s*(.+)$", re.DOTALL)


class AnswersMixin(StoreBase):
    # -- people's answers ---------------------------------------------------------------------

    async def decide(
        self, review_id: str, user: str, answer: Any, where: tuple[str, str] | None = None
    ) -> Decision:
        """Record an answer. `where` (team, channel) of the click must be the review's own."""
        async with self.db.transaction() as tx:
            found = await self._open_review(tx, review_id, where)
            if isinstance(found, Decision):
                return found
            run, review, step = found
            return await self._record(tx, run, review, step, answer, user)

    async def request_notes(
        self, review_id: str, user: str, where: tuple[str, str] | None = None
    ) -> Decision:
        async with self.db.transaction() as tx:
            found = await self._open_review(tx, review_id, where)
            if isinstance(found, Decision):
                return found
            run, review, step = found
            if review.status == ReviewStatus.AWAITING_NOTES and review.notes_requested_by != user:
                return Decision(Outcome.TAKEN, review, run)
            row = await tx.fetchone(
                "UPDATE orchestrate_reviews SET status = 'awaiting_notes',"
                " notes_requested_by = %(user)s, notes_requested_at = %(now)s"
                " WHERE review_id = %(id)s RETURNING *",
                {"user": user, "now": self.clock(), "id": review_id},
            )
            assert row is not None
            decided = sum(r.status == ReviewStatus.DECIDED for r in step)
            return Decision(Outcome.RECORDED, Review.from_row(row), run, decided, len(step))

    async def record_notes(
        self, *, channel_id: str, thread_ts: str, user: str, text: str, reply_ts: str
    ) -> Decision:
        """A thread reply is the notes for the replier's oldest open revision in that thread.

        A reply that starts with `<worker id>:` goes to that worker's open revision instead.
        """
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT * FROM orchestrate_runs WHERE channel_id = %(channel)s AND (root_ts ="
                " %(ts)s OR thread_ts = %(ts)s) ORDER BY created_at DESC LIMIT 1"
                f"{self.db.for_update}",
                {"channel": channel_id, "ts": thread_ts},
            )
            if row is None:
                return Decision(Outcome.NO_MATCH)
            run = Run.from_row(row)
            if await tx.fetchone(
                "SELECT 1 AS seen FROM orchestrate_reviews WHERE run_id = %(run_id)s"
                " AND notes_ts = %(ts)s",
                {"run_id": run.run_id, "ts": reply_ts},
            ):
                return Decision(Outcome.DUPLICATE, run=run)
            if run.status not in LIVE:
                return Decision(Outcome.NO_MATCH, run=run)
            rows = await tx.fetchall(
                "SELECT * FROM orchestrate_reviews WHERE run_id = %(run_id)s AND step = %(step)s"
                " AND status = 'awaiting_notes' AND notes_requested_by = %(user)s"
                " ORDER BY notes_requested_at, position",
                {"run_id": run.run_id, "step": run.step, "user": user},
            )
            candidates = [Review.from_row(r) for r in rows]
            if not candidates:
                return Decision(Outcome.NO_MATCH, run=run)
            review, notes = candidates[0], text.strip()
            addressed = _ADDRESSED.match(text)
            if addressed:
                named = [c for c in candidates if c.request["worker_id"] == addressed.group(1)]
                if named:
                    review, notes = named[0], addressed.group(2).strip()
            answer = {"action": "revise", "notes": notes, "by": user}
            step = await self._step(tx, run)
            return await self._record(tx, run, review, step, answer, user, notes_ts=reply_ts)

    async def _open_review(
        self, tx: Tx, review_id: str, where: tuple[str, str] | None = None
    ) -> tuple[Run, Review, list[Review]] | Decision:
        """Lock the review's run, then read the review with the rest of its run's step (every
        writer of reviews locks the run first, so they are as they are now): two statements.
        Returns (run, review, the step's reviews) or why it cannot be answered."""
        row = await tx.fetchone(
            "SELECT * FROM orchestrate_runs WHERE run_id = (SELECT run_id FROM"
            f" orchestrate_reviews WHERE review_id = %(id)s){self.db.for_update}",
            {"id": review_id},
        )
        if row is None:
            return Decision(Outcome.UNKNOWN)
        run = Run.from_row(row)
        if where is not None and _elsewhere(run, *where):
            return Decision(Outcome.UNKNOWN)  # a button copied to another channel or team
        rows = await tx.fetchall(
            "SELECT * FROM orchestrate_reviews WHERE run_id = %(run_id)s"
            " AND (step = %(step)s OR review_id = %(id)s) ORDER BY position",
            {"run_id": run.run_id, "step": run.step, "id": review_id},
        )
        reviews = [Review.from_row(r) for r in rows]
        review = next(r for r in reviews if r.review_id == review_id)
        if review.status == ReviewStatus.DECIDED:
            return Decision(Outcome.ALREADY_DECIDED, review, run)
        if run.status == RunStatus.CANCELLED:
            return Decision(Outcome.CANCELLED, review, run)
        if run.status == RunStatus.EXPIRED:
            return Decision(Outcome.EXPIRED, review, run)
        if run.status not in LIVE or review.step != run.step:
            return Decision(Outcome.NOT_PENDING, review, run)
        return run, review, reviews

    async def _record(
        self,
        tx: Tx,
        run: Run,
        review: Review,
        step: list[Review],
        answer: dict[str, Any],
        user: str,
        notes_ts: str | None = None,
    ) -> Decision:
        """Store the answer; the one that completes a waiting step claims its resume and
        carries the step's answered reviews (what resumes it: nothing to read again)."""
        row = await tx.fetchone(
            "UPDATE orchestrate_reviews SET status = 'decided', answer = %(answer)s,"
            " decided_by = %(user)s, decided_at = %(now)s, notes_ts = %(notes_ts)s"
            " WHERE review_id = %(id)s RETURNING *",
            {
                "answer": json.dumps(answer),
                "user": user,
                "now": self.clock(),
                "notes_ts": notes_ts,
                "id": review.review_id,
            },
        )
        assert row is not None
        recorded = Review.from_row(row)
        step = [recorded if r.review_id == recorded.review_id else r for r in step]
        decided = sum(r.status == ReviewStatus.DECIDED for r in step)
        resume = run.status == RunStatus.WAITING and decided == len(step)
        if resume:
            await self._claim(tx, run.run_id)
        answered = tuple(step) if resume else ()
        return Decision(Outcome.RECORDED, recorded, run, decided, len(step), resume, answered)


def _elsewhere(run: Run, team_id: str, channel_id: str) -> bool:
    return bool(channel_id and channel_id != run.channel_id) or bool(
        team_id and run.team_id and team_id != run.team_id
    )
