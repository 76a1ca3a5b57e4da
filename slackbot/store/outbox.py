"""Slack updates owed by state changes (the outbox): recorded in the change's transaction,
done by the process that made the change, or after a crash or a deploy by whichever comes next.

An entry names what to show (a review's message, the root, the timed-out note), never the
message itself: whoever does it draws the run's state as it is then. It is claimed for a lease
(by its creator at once), deleted once Slack has it, and retried later when Slack fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slackbot.store.backends import Tx
from slackbot.store.core import StoreBase

REVIEW, ROOT, TIMED_OUT = "review", "root", "timed_out"


@dataclass(frozen=True)
class Owed:
    id: str
    run_id: str
    kind: str  # REVIEW (target: review id), ROOT or TIMED_OUT (target: run id)
    target: str
    version: int
    attempts: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Owed:
        return cls(
            row["id"], row["run_id"], row["kind"], row["target"], row["version"], row["attempts"]
        )


class OutboxMixin(StoreBase):
    async def _owe(self, tx: Tx, run_id: str, items: list[tuple[str, str]]) -> list[Owed]:
        """Record updates owed (kind, target), claimed by this process: it does them next."""
        now, owed = self.clock(), []
        for kind, target in items:
            row = await tx.fetchone(
                "INSERT INTO orchestrate_outbox (id, run_id, kind, target, due_at, claimed_until)"
                " VALUES (%(id)s, %(run_id)s, %(kind)s, %(target)s, %(now)s, %(until)s)"
                " ON CONFLICT (id) DO UPDATE SET version = orchestrate_outbox.version + 1,"
                " attempts = 0, due_at = excluded.due_at, claimed_until = excluded.claimed_until"
                " RETURNING *",
                {
                    "id": f"{kind}:{target}",
                    "run_id": run_id,
                    "kind": kind,
                    "target": target,
                    "now": now,
                    "until": now + self.lease_seconds,
                },
            )
            assert row is not None
            owed.append(Owed.from_row(row))
        return owed

    async def claim_owed(self, limit: int = 20) -> list[Owed]:
        """Updates owed that nobody is doing (their claim ran out, or they wait for a retry)."""
        now = self.clock()
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "UPDATE orchestrate_outbox SET claimed_until = %(until)s WHERE id IN"
                " (SELECT id FROM orchestrate_outbox WHERE due_at <= %(now)s"
                " AND (claimed_until IS NULL OR claimed_until < %(now)s)"
                f" ORDER BY due_at LIMIT %(limit)s{self.db.skip_locked}) RETURNING *",
                {"now": now, "until": now + self.lease_seconds, "limit": limit},
            )
        return sorted((Owed.from_row(row) for row in rows), key=lambda o: (o.run_id, o.id))

    async def owed_done(self, owed: Owed) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM orchestrate_outbox WHERE id = %(id)s AND version = %(version)s",
                {"id": owed.id, "version": owed.version},
            )

    async def owed_later(self, owed: Owed, delay: float) -> None:
        """Slack failed: try again after `delay` seconds (any process may)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE orchestrate_outbox SET attempts = attempts + 1, due_at = %(due)s,"
                " claimed_until = NULL WHERE id = %(id)s AND version = %(version)s",
                {"id": owed.id, "version": owed.version, "due": self.clock() + delay},
            )
