"""Cancelling a run: one transaction on the locked run, like an answer."""

from __future__ import annotations

from slackbot.store import audit
from slackbot.store.models import Outcome, Review, Run, RunStatus
from slackbot.store.outbox import REVIEW, ROOT, OutboxMixin, Owed

Cancelled = tuple[Outcome, Run | None, list[Review], list[Owed]]


class CancelMixin(OutboxMixin):
    async def cancel(self, run_id: str, user: str) -> Cancelled:
        """End a run that waits for people (or stopped on an error): it is never resumed.

        Locks the run like an answer does, so a cancel and a last click on two replicas
        serialize: a run the click already resumes is BUSY; one already over is NOT_PENDING.
        Returns the reviews the cancel closed and the Slack updates it owes (those reviews
        and the root), recorded with it."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                f"SELECT * FROM orchestrate_runs WHERE run_id = %(run_id)s{self.db.for_update}",
                {"run_id": run_id},
            )
            if row is None:
                return Outcome.UNKNOWN, None, [], []
            run = Run.from_row(row)
            if run.status == RunStatus.RUNNING:
                return Outcome.BUSY, run, [], []
            if run.status not in (RunStatus.WAITING, RunStatus.FAILED):
                return Outcome.NOT_PENDING, run, [], []
            now = self.clock()
            closed = await tx.fetchall(
                "UPDATE orchestrate_reviews SET status = 'cancelled', decided_by = %(user)s,"
                " decided_at = %(now)s WHERE run_id = %(run_id)s AND step = %(step)s"
                " AND status IN ('pending', 'awaiting_notes') RETURNING *",
                {"user": user, "now": now, "run_id": run_id, "step": run.step},
            )
            updated = await tx.fetchone(
                "UPDATE orchestrate_runs SET status = 'cancelled', phase = 'cancelled',"
                " ended_by = %(user)s, lease_owner = NULL, lease_until = NULL,"
                " updated_at = %(now)s WHERE run_id = %(run_id)s RETURNING *",
                {"user": user, "now": now, "run_id": run_id},
            )
            assert updated is not None
            await audit.record(tx, now, "cancelled", Run.from_row(updated), actor=user)
            reviews = sorted((Review.from_row(r) for r in closed), key=lambda r: r.position)
            owed = [(REVIEW, r.review_id) for r in reviews if r.message_ts] + [(ROOT, run_id)]
            owes = await self._owe(tx, run_id, owed)
        assert updated is not None
        return Outcome.RECORDED, Run.from_row(updated), reviews, owes

    async def cancel_running(
        self, run_id: str, user: str
    ) -> tuple[Run | None, list[Review], list[Owed]]:
        """End a run this process drives (a person pressed Stop on its streamed message): as
        `cancel`, for a run that is running under this process's lease; (None, [], []) if it
        is not (another process took it over, or it ended meanwhile)."""
        async with self.db.transaction() as tx:
            now = self.clock()
            updated = await tx.fetchone(
                "UPDATE orchestrate_runs SET status = 'cancelled', phase = 'cancelled',"
                " ended_by = %(user)s, lease_owner = NULL, lease_until = NULL,"
                " updated_at = %(now)s WHERE run_id = %(run_id)s AND status = 'running'"
                " AND lease_owner = %(owner)s RETURNING *",
                {"user": user, "now": now, "run_id": run_id, "owner": self.owner},
            )
            if updated is None:
                return None, [], []
            run = Run.from_row(updated)
            await audit.record(tx, now, "cancelled", run, actor=user)
            owes = await self._owe(tx, run_id, [(ROOT, run_id)])
        return run, [], owes
