"""Rules applied by the store, inside the transaction on the locked run: which rule a review
opened under, who may answer it (from membership read before the transaction), four-eyes,
approvals counted to a quorum, and escalation once the last reminder went unanswered."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slackbot.rules import Gate, is_approving
from slackbot.store import audit
from slackbot.store.backends import Tx
from slackbot.store.core import StoreBase
from slackbot.store.models import Decision, Outcome, Review, ReviewStatus, Run

MAX_REMINDERS = 3  # as store/due.py: escalation comes one interval after the last of them


class VotesMixin(StoreBase):
    async def _apply_rules(self, tx: Tx, run: Run, step: int) -> None:
        """A new step's reviews: each gets the first rule that matches it (if any)."""
        if not self.rules:
            return
        rows = await tx.fetchall(
            "SELECT * FROM orchestrate_reviews WHERE run_id = %(run_id)s AND step = %(step)s",
            {"run_id": run.run_id, "step": step},
        )
        for review in map(Review.from_row, rows):
            rule = self.rules.match(self.graph_names(run.graph), review.kind, review.request)
            if rule is None:
                continue
            await tx.execute(
                "UPDATE orchestrate_reviews SET rule = %(rule)s, quorum = %(quorum)s,"
                " channel_id = %(channel)s WHERE review_id = %(id)s",
                {
                    "rule": rule.name,
                    "quorum": rule.quorum,
                    "channel": rule.channel,
                    "id": review.review_id,
                },
            )

    def _step_times(self, step: Sequence[Review]) -> tuple[float | None, float | None]:
        """(expire after, remind every) for a step: the shortest its reviews' rules ask for,
        else the app-wide settings."""
        rules = [r for r in (self.rules.named(review.rule) for review in step) if r]
        expire = [r.expire_after for r in rules if r.expire_after] or [self.expire_after]
        remind = [r.remind_after for r in rules if r.remind_after] or [self.remind_after]
        return (
            min((x for x in expire if x), default=None),
            min((x for x in remind if x), default=None),
        )

    @property
    def expiring(self) -> bool:
        return bool(self.expire_after or any(r.expire_after for r in self.rules.rules))

    @property
    def reminding(self) -> bool:
        return bool(self.remind_after or any(r.remind_after for r in self.rules.rules))

    async def _gate(
        self, tx: Tx, run: Run, review: Review, step: list[Review], answer: Any, user: str,
        gate: Gate | None,
    ) -> tuple[Decision | None, Review]:  # fmt: skip
        """Apply the review's rule to an answer: (why it is refused or why it waits for more
        approvals, the review) or (None, the review with the approvals counted) to record it."""
        if gate is None:
            return None, review
        allowed = gate.approvers | (gate.escalation if run.escalated else frozenset())
        approving = is_approving(answer)
        if user not in allowed:
            why = "not one of the rule's approvers"
            await audit.record(tx, self.clock(), "refused", run, actor=user, review=review,
                               answer=answer, detail={"why": why})  # fmt: skip
            return Decision(Outcome.REFUSED, review, run), review
        if approving and not gate.self_approval and user == run.started_by:
            why = "four-eyes: the person who started the run may not approve it"
            await audit.record(tx, self.clock(), "refused", run, actor=user, review=review,
                               answer=answer, detail={"why": why})  # fmt: skip
            return Decision(Outcome.SELF_APPROVAL, review, run), review
        if not approving or review.quorum <= 1:
            return None, review
        if user in review.approvals:
            return Decision(Outcome.ALREADY_APPROVED, review, run), review
        approvals = [*review.approvals, user]
        row = await tx.fetchone(
            "UPDATE orchestrate_reviews SET approvals = %(approvals)s WHERE review_id = %(id)s"
            " RETURNING *",
            {"approvals": json.dumps(approvals), "id": review.review_id},
        )
        assert row is not None
        review = Review.from_row(row)
        if len(approvals) >= review.quorum:
            return None, review  # the last approval needed: recorded as the answer
        await audit.record(tx, self.clock(), "approval", run, actor=user, review=review,
                           answer=answer, detail={"approvals": approvals,
                                                  "quorum": review.quorum})  # fmt: skip
        decided = sum(r.status == ReviewStatus.DECIDED for r in step)
        return Decision(Outcome.RECORDED, review, run, decided, len(step)), review

    async def claim_escalations(self, limit: int = 20) -> list[tuple[Run, list[Review]]]:
        """Waiting runs one interval past their last reminder whose open reviews' rules name
        `escalate_to`: escalated once (who may answer grows), with those reviews."""
        names = [r.name for r in self.rules.rules if r.escalate_to]
        if not names:
            return []
        now = self.clock()
        found = []
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT * FROM orchestrate_runs WHERE status = 'waiting'"
                " AND escalated_at IS NULL AND reminders_sent >= %(most)s"
                " AND remind_at IS NOT NULL AND remind_at <= %(now)s AND EXISTS (SELECT 1 FROM"
                " orchestrate_reviews r WHERE r.run_id = orchestrate_runs.run_id"
                " AND r.step = orchestrate_runs.step AND r.status IN ('pending', 'awaiting_notes')"
                f" AND r.rule {self.db.in_json('names')}) ORDER BY remind_at"
                f" LIMIT %(limit)s{self.db.skip_locked}",
                {"now": now, "most": MAX_REMINDERS, "limit": limit, "names": json.dumps(names)},
            )
            for run in map(Run.from_row, rows):
                reviews = [
                    r
                    for r in await self._step(tx, run)
                    if r.rule in names
                    and r.status in (ReviewStatus.PENDING, ReviewStatus.AWAITING_NOTES)
                ]
                if not reviews:
                    continue
                row = await tx.fetchone(
                    "UPDATE orchestrate_runs SET escalated_at = %(now)s WHERE run_id = %(id)s"
                    " RETURNING *",
                    {"now": now, "id": run.run_id},
                )
                assert row is not None
                for review in reviews:
                    detail = {"escalate_to": list(self._escalate_to(review))}
                    await audit.record(tx, now, "escalated", run, review=review, detail=detail)
                found.append((Run.from_row(row), reviews))
        return found

    def _escalate_to(self, review: Review) -> tuple[str, ...]:
        rule = self.rules.named(review.rule)
        return rule.escalate_to if rule else ()
