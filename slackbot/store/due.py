"""Work that falls due with time: expiring steps nobody answered, reminding people.

Each is claimed in a transaction on the locked run (FOR UPDATE SKIP LOCKED on PostgreSQL), so
any replica may do it and exactly one does. A reminder is claimed one at a time, when it is
due, with a lease as long as a run's (the time a process has to show it is alive), and marked
sent only after it is posted: a process that dies in between holds that one reminder for no
longer than a lease, and the next finds the posted message by its metadata instead of posting
again.
"""

from __future__ import annotations

from slackbot.store import audit
from slackbot.store.models import Review, Run
from slackbot.store.outbox import REVIEW, ROOT, TIMED_OUT, OutboxMixin, Owed

MAX_REMINDERS = 3


class DueMixin(OutboxMixin):
    async def expire_due(self, limit: int = 20) -> list[tuple[Run, list[Review], list[Owed]]]:
        """Runs whose step waited past its expiry: expired (fail closed), with the reviews
        that had no answer (marked expired, dated when the step began to wait) and the Slack
        updates this owes (those reviews, the timed-out note, the root), recorded with it."""
        now = self.clock()
        expired = []
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT * FROM orchestrate_runs WHERE status = 'waiting'"
                " AND expires_at IS NOT NULL AND expires_at <= %(now)s ORDER BY expires_at"
                f" LIMIT %(limit)s{self.db.skip_locked}",
                {"now": now, "limit": limit},
            )
            for row in rows:
                run = Run.from_row(row)
                reviews = await tx.fetchall(
                    "UPDATE orchestrate_reviews SET status = 'expired', decided_at = %(since)s"
                    " WHERE run_id = %(run_id)s AND step = %(step)s"
                    " AND status IN ('pending', 'awaiting_notes') RETURNING *",
                    {"since": run.waiting_since, "run_id": run.run_id, "step": run.step},
                )
                updated = await tx.fetchone(
                    "UPDATE orchestrate_runs SET status = 'expired', phase = 'expired',"
                    " updated_at = %(now)s WHERE run_id = %(run_id)s RETURNING *",
                    {"now": now, "run_id": run.run_id},
                )
                assert updated is not None
                closed = sorted((Review.from_row(r) for r in reviews), key=lambda r: r.position)
                for review in closed:
                    await audit.record(tx, now, "expired", run, review=review)
                owed = [(REVIEW, r.review_id) for r in closed if r.message_ts]
                owed += [(TIMED_OUT, run.run_id), (ROOT, run.run_id)]
                owes = await self._owe(tx, run.run_id, owed)
                expired.append((Run.from_row(updated), closed, owes))
        return expired

    async def claim_reminder(self) -> Run | None:
        """A waiting run whose next reminder is due now, claimed by this process for a lease."""
        now = self.clock()
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "UPDATE orchestrate_runs SET remind_claimed_until = %(until)s"
                " WHERE run_id IN (SELECT run_id FROM orchestrate_runs WHERE status = 'waiting'"
                " AND remind_at IS NOT NULL AND remind_at <= %(now)s"
                " AND reminders_sent < %(most)s AND (remind_claimed_until IS NULL"
                " OR remind_claimed_until < %(now)s) ORDER BY remind_at LIMIT 1"
                f"{self.db.skip_locked}) RETURNING *",
                {"now": now, "until": now + self.lease_seconds, "most": MAX_REMINDERS},
            )
        return Run.from_row(rows[0]) if rows else None

    async def reminder_sent(self, run: Run) -> bool:
        """Mark the claimed reminder sent and schedule the next; False if the run moved on."""
        async with self.db.transaction() as tx:
            count = await tx.execute(
                "UPDATE orchestrate_runs SET reminders_sent = reminders_sent + 1,"
                " remind_at = remind_at + COALESCE(remind_every, %(every)s),"
                " remind_claimed_until = NULL"
                " WHERE run_id = %(run_id)s AND status = 'waiting' AND step = %(step)s"
                " AND reminders_sent = %(sent)s",
                {
                    "every": self.remind_after or 0,
                    "run_id": run.run_id,
                    "step": run.step,
                    "sent": run.reminders_sent,
                },
            )
        return count == 1
