"""People's answers: clicks, forms and notes replies, each one transaction on the locked run."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from slackbot.rules import Gate
from slackbot.store import audit
from slackbot.store.backends import Tx
from slackbot.store.core import LIVE
from slackbot.store.models import Decision, Outcome, Review, ReviewStatus, Run, RunStatus
from slackbot.store.outbox import REVIEW, ROOT, OutboxMixin
from slackbot.store.votes import VotesMixin

ADDRESSED = re.compile(r"^\s*([\w-]+)\s*:\s*(.+)$", re.DOTALL)  # "<worker id>: notes"


class AnswersMixin(VotesMixin, OutboxMixin):
    # -- people's answers ---------------------------------------------------------------------

    async def decide(
        self,
        review_id: str,
        user: str,
        answer: Any,
        where: tuple[str, str] | None = None,
        gate: Gate | None = None,
    ) -> Decision:
        """Record an answer. `where` (team, channel) of the click must be the review's own;
        `gate`: the review's rule, applied here (votes.py)."""
        async with self.db.transaction() as tx:
            found = await self._open_review(tx, review_id, where)
            if isinstance(found, Decision):
                return found
            run, review, step = found
            waits, review = await self._gate(tx, run, review, step, answer, user, gate)
            if waits is not None:
                return await self._owing(tx, waits)  # a vote that is not the last: shown too
            return await self._record(tx, run, review, step, answer, user)

    async def request_notes(
        self,
        review_id: str,
        user: str,
        where: tuple[str, str] | None = None,
        gate: Gate | None = None,
    ) -> Decision:
        async with self.db.transaction() as tx:
            found = await self._open_review(tx, review_id, where)
            if isinstance(found, Decision):
                return found
            run, review, step = found
            refused, review = await self._gate(tx, run, review, step, None, user, gate)
            if refused is not None:
                return refused
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
            recorded = Decision(Outcome.RECORDED, Review.from_row(row), run, decided, len(step))
            return await self._owing(tx, recorded)

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
                return await self._notes_overtaken(tx, run, user)
            review, notes = candidates[0], text.strip()
            addressed = ADDRESSED.match(text)
            if addressed:
                named = [c for c in candidates if c.request["worker_id"] == addressed.group(1)]
                if named:
                    review, notes = named[0], addressed.group(2).strip()
            answer = {"action": "revise", "notes": notes, "by": user}
            step = await self._step(tx, run)
            return await self._record(tx, run, review, step, answer, user, notes_ts=reply_ts)

    async def reopen(self, run_id: str, refused: dict[str, str]) -> list[Review]:
        """The graph refused these answers on resume (review id → the error, one line): in one
        transaction under the run's lease, each review is open again with its answer kept in
        `refusals`. The step's other answers stay; the run stays `running` until the driver
        ends posting (a new answer then completes the step and resumes it once)."""
        async with self.db.transaction() as tx:
            run = await self._lock_held_run(tx, run_id)
            reopened = []
            for review in await self._step(tx, run):
                if review.review_id not in refused or review.status != ReviewStatus.DECIDED:
                    continue
                refusal = {
                    "answer": review.answer,
                    "by": review.decided_by,
                    "at": review.decided_at,
                    "error": refused[review.review_id],
                }
                row = await tx.fetchone(
                    "UPDATE orchestrate_reviews SET status = 'pending', answer = NULL,"
                    " decided_by = NULL, decided_at = NULL, notes_requested_by = NULL,"
                    " refusals = %(refusals)s WHERE review_id = %(id)s RETURNING *",
                    {
                        "refusals": json.dumps([*review.refusals, refusal]),
                        "id": review.review_id,
                    },
                )
                assert row is not None
                reopened.append(Review.from_row(row))
            if reopened:  # what the root message shows until the step is posted as waiting
                await tx.execute(
                    "UPDATE orchestrate_runs SET phase = 'waiting' WHERE run_id = %(run_id)s",
                    {"run_id": run_id},
                )
            return reopened

    async def open_reviews_in_thread(self, channel_id: str, thread_ts: str) -> list[Review]:
        """The open reviews of the current step of the live run whose thread this is."""
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT v.* FROM orchestrate_reviews v JOIN orchestrate_runs r"
                " ON r.run_id = v.run_id AND v.step = r.step WHERE r.channel_id = %(channel)s"
                " AND (r.root_ts = %(ts)s OR r.thread_ts = %(ts)s)"
                " AND r.status IN ('running', 'waiting')"
                " AND v.status IN ('pending', 'awaiting_notes') ORDER BY v.position",
                {"channel": channel_id, "ts": thread_ts},
            )
        return [Review.from_row(row) for row in rows]

    async def _notes_overtaken(self, tx: Tx, run: Run, user: str) -> Decision:
        """A reply from someone whose requested revision another person answered meanwhile
        (ALREADY_DECIDED, with that review: they are told), else NO_MATCH (ordinary chat)."""
        row = await tx.fetchone(
            "SELECT * FROM orchestrate_reviews WHERE run_id = %(run_id)s AND step = %(step)s"
            " AND status = 'decided' AND notes_requested_by = %(user)s AND decided_by <> %(user)s"
            " ORDER BY decided_at DESC LIMIT 1",
            {"run_id": run.run_id, "step": run.step, "user": user},
        )
        if row is None:
            return Decision(Outcome.NO_MATCH, run=run)
        return Decision(Outcome.ALREADY_DECIDED, Review.from_row(row), run)

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
        rows = await tx.fetchall(
            "SELECT * FROM orchestrate_reviews WHERE run_id = %(run_id)s"
            " AND (step = %(step)s OR review_id = %(id)s) ORDER BY position",
            {"run_id": run.run_id, "step": run.step, "id": review_id},
        )
        reviews = [Review.from_row(r) for r in rows]
        review = next(r for r in reviews if r.review_id == review_id)
        if where is not None and run.elsewhere(*where, review.channel_id):
            return Decision(Outcome.UNKNOWN)  # a button copied to another channel or team
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
        await audit.record(tx, self.clock(), "answer", run, actor=user, review=recorded,
                           answer=answer)  # fmt: skip
        step = [recorded if r.review_id == recorded.review_id else r for r in step]
        decided = sum(r.status == ReviewStatus.DECIDED for r in step)
        resume = run.status == RunStatus.WAITING and decided == len(step)
        if resume:
            await self._claim(tx, run.run_id)
        answered = tuple(step) if resume else ()
        decision = Decision(Outcome.RECORDED, recorded, run, decided, len(step), resume, answered)
        return await self._owing(tx, decision)

    async def _owing(self, tx: Tx, decision: Decision) -> Decision:
        """A recorded answer owes Slack its review's message and the root, in the answer's
        transaction: shown by this process after the ack, or by the next one after a crash."""
        if decision.outcome != Outcome.RECORDED or not decision.run or not decision.review:
            return decision
        run_id = decision.run.run_id
        owed = await self._owe(tx, run_id, [(REVIEW, decision.review.review_id), (ROOT, run_id)])
        return dataclasses.replace(decision, owed=tuple(owed))
