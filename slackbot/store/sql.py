"""The store: every decision is one transaction that locks its run row first.

Exactly-once resume rests on one rule: the transaction that records the last open answer of a
waiting step also flips the run to `running` with a lease for the recording process. Two clicks
at the same moment serialize on the run row, so only one of them sees the step complete.
A lease expires unless renewed; an expired `running` run is picked up by any process.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from slackbot.store.backends import Database, Tx
from slackbot.store.models import Decision, Outcome, Review, ReviewStatus, Run, RunStatus

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS orchestrate_runs (
        run_id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        started_by TEXT NOT NULL,
        topic TEXT NOT NULL,
        root_ts TEXT,
        status TEXT NOT NULL,
        phase TEXT NOT NULL,
        step INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until DOUBLE PRECISION,
        error TEXT,
        summary_ts TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    )""",
    """CREATE UNIQUE INDEX IF NOT EXISTS orchestrate_runs_thread
        ON orchestrate_runs (channel_id, root_ts)""",
    """CREATE INDEX IF NOT EXISTS orchestrate_runs_lease
        ON orchestrate_runs (status, lease_until)""",
    """CREATE TABLE IF NOT EXISTS orchestrate_reviews (
        review_id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES orchestrate_runs (run_id),
        step INTEGER NOT NULL,
        interrupt_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        request TEXT NOT NULL,
        message_ts TEXT,
        status TEXT NOT NULL,
        notes_requested_by TEXT,
        notes_requested_at DOUBLE PRECISION,
        answer TEXT,
        decided_by TEXT,
        decided_at DOUBLE PRECISION,
        notes_ts TEXT,
        UNIQUE (run_id, interrupt_id)
    )""",
    """CREATE INDEX IF NOT EXISTS orchestrate_reviews_step
        ON orchestrate_reviews (run_id, step)""",
    """CREATE UNIQUE INDEX IF NOT EXISTS orchestrate_reviews_notes
        ON orchestrate_reviews (run_id, notes_ts) WHERE notes_ts IS NOT NULL""",
]

_ADDRESSED = re.compile(r"^\s*([\w-]+)\s*:\s*(.+)$", re.DOTALL)
_LIVE = (RunStatus.RUNNING, RunStatus.WAITING)


class LeaseLost(RuntimeError):
    """Another process took this run over; this one must stop driving it."""


class Store:
    def __init__(
        self,
        db: Database,
        *,
        owner: str | None = None,
        lease_seconds: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.owner = owner or uuid.uuid4().hex  # one per process: who holds a lease
        self.lease_seconds = lease_seconds
        self.clock = clock

    # -- set-up -------------------------------------------------------------------------------

    async def setup(self) -> None:
        async with self.db.transaction() as tx:
            for statement in SCHEMA:
                await tx.execute(statement)

    async def ping(self) -> bool:
        try:
            async with self.db.transaction() as tx:
                return (await tx.fetchone("SELECT 1 AS ok")) is not None
        except Exception:
            return False

    # -- reads --------------------------------------------------------------------------------

    async def get_run(self, run_id: str) -> Run | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT * FROM orchestrate_runs WHERE run_id = %(run_id)s", {"run_id": run_id}
            )
        return Run.from_row(row) if row else None

    async def step_reviews(self, run_id: str, step: int) -> list[Review]:
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT * FROM orchestrate_reviews WHERE run_id = %(run_id)s AND step = %(step)s"
                " ORDER BY position",
                {"run_id": run_id, "step": step},
            )
        return [Review.from_row(row) for row in rows]

    async def decided_answers(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Every stored answer of the run, by interrupt id: the resume map is rebuilt from this."""
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT interrupt_id, answer FROM orchestrate_reviews"
                " WHERE run_id = %(run_id)s AND status = 'decided'",
                {"run_id": run_id},
            )
        return {row["interrupt_id"]: json.loads(row["answer"]) for row in rows}

    # -- the run's own progress (written by the lease holder) --------------------------------

    async def create_run(
        self, *, team_id: str, channel_id: str, started_by: str, topic: str
    ) -> Run:
        now = self.clock()
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO orchestrate_runs (run_id, team_id, channel_id, started_by, topic,"
                " status, phase, lease_owner, lease_until, created_at, updated_at)"
                " VALUES (%(run_id)s, %(team_id)s, %(channel_id)s, %(started_by)s, %(topic)s,"
                " 'running', 'planning', %(owner)s, %(until)s, %(now)s, %(now)s) RETURNING *",
                {
                    "run_id": uuid.uuid4().hex,
                    "team_id": team_id,
                    "channel_id": channel_id,
                    "started_by": started_by,
                    "topic": topic,
                    "owner": self.owner,
                    "until": now + self.lease_seconds,
                    "now": now,
                },
            )
        assert row is not None
        return Run.from_row(row)

    async def delete_run(self, run_id: str) -> None:
        """Only for a run that never got a root message: nothing of it reached Slack."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM orchestrate_runs WHERE run_id = %(run_id)s AND root_ts IS NULL",
                {"run_id": run_id},
            )

    async def set_root_ts(self, run_id: str, ts: str) -> None:
        await self._update_run(run_id, {"root_ts": ts})

    async def set_summary_ts(self, run_id: str, ts: str) -> None:
        await self._update_run(run_id, {"summary_ts": ts})

    async def set_message_ts(self, review_id: str, ts: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE orchestrate_reviews SET message_ts = %(ts)s WHERE review_id = %(id)s",
                {"ts": ts, "id": review_id},
            )

    async def open_step(self, run_id: str, requests: list[tuple[str, dict]]) -> Run:
        """Record the interrupts the graph paused on as the reviews of a new step.

        Interrupts already known (a restart re-reading the same pause) are not added again.
        The run stays `running` under this lease until its reviews are posted (`end_posting`).
        """
        async with self.db.transaction() as tx:
            run = await self._lock_held_run(tx, run_id)
            known = {
                row["interrupt_id"]
                for row in await tx.fetchall(
                    "SELECT interrupt_id FROM orchestrate_reviews WHERE run_id = %(run_id)s",
                    {"run_id": run_id},
                )
            }
            new = [(iid, request) for iid, request in requests if iid not in known]
            if new:
                step = run.step + 1
                for position, (interrupt_id, request) in enumerate(new):
                    await tx.execute(
                        "INSERT INTO orchestrate_reviews (review_id, run_id, step, interrupt_id,"
                        " position, request, status) VALUES (%(id)s, %(run_id)s, %(step)s,"
                        " %(iid)s, %(position)s, %(request)s, 'pending')",
                        {
                            "id": uuid.uuid4().hex,
                            "run_id": run_id,
                            "step": step,
                            "iid": interrupt_id,
                            "position": position,
                            "request": json.dumps(request),
                        },
                    )
                row = await tx.fetchone(
                    "UPDATE orchestrate_runs SET step = %(step)s, phase = 'waiting',"
                    " updated_at = %(now)s WHERE run_id = %(run_id)s RETURNING *",
                    {"step": step, "now": self.clock(), "run_id": run_id},
                )
                assert row is not None
                run = Run.from_row(row)
        return run

    async def end_posting(self, run_id: str) -> Decision:
        """The step's reviews are all posted: wait for people, or resume now if all answered."""
        async with self.db.transaction() as tx:
            run = await self._lock_held_run(tx, run_id)
            decided, total = await self._count(tx, run)
            if total and decided == total:
                await self._claim(tx, run_id)  # answered while we were still posting
                return Decision(
                    Outcome.RECORDED, run=run, decided=decided, total=total, resume=True
                )
            row = await tx.fetchone(
                "UPDATE orchestrate_runs SET status = 'waiting', lease_owner = NULL,"
                " lease_until = NULL, updated_at = %(now)s WHERE run_id = %(run_id)s RETURNING *",
                {"now": self.clock(), "run_id": run_id},
            )
        assert row is not None
        return Decision(Outcome.RECORDED, run=Run.from_row(row), decided=decided, total=total)

    async def finish(self, run_id: str) -> None:
        await self._update_run(
            run_id,
            {"status": "done", "phase": "done", "lease_owner": None, "lease_until": None},
            held=True,
        )

    async def fail(self, run_id: str, error: str) -> Run:
        return await self._update_run(
            run_id,
            {
                "status": "failed",
                "phase": "failed",
                "error": error,
                "lease_owner": None,
                "lease_until": None,
            },
            held=True,
        )

    async def renew_lease(self, run_id: str) -> bool:
        async with self.db.transaction() as tx:
            count = await tx.execute(
                "UPDATE orchestrate_runs SET lease_until = %(until)s WHERE run_id = %(run_id)s"
                " AND lease_owner = %(owner)s AND status = 'running'",
                {"until": self.clock() + self.lease_seconds, "run_id": run_id, "owner": self.owner},
            )
        return count == 1

    async def claim_expired(self, limit: int = 20) -> list[Run]:
        """Runs whose driver died (lease expired): this process takes them over."""
        now = self.clock()
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "UPDATE orchestrate_runs SET lease_owner = %(owner)s, lease_until = %(until)s"
                " WHERE run_id IN (SELECT run_id FROM orchestrate_runs WHERE status = 'running'"
                " AND (lease_until IS NULL OR lease_until < %(now)s) ORDER BY updated_at"
                f" LIMIT %(limit)s{self.db.skip_locked}) RETURNING *",
                {
                    "owner": self.owner,
                    "until": now + self.lease_seconds,
                    "now": now,
                    "limit": limit,
                },
            )
        return [Run.from_row(row) for row in rows]

    async def claim_failed(self, run_id: str) -> Run | None:
        """Retry: a failed run goes back to `running` under this process's lease."""
        now = self.clock()
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "UPDATE orchestrate_runs SET status = 'running', phase = 'resuming', error = NULL,"
                " lease_owner = %(owner)s, lease_until = %(until)s, updated_at = %(now)s"
                " WHERE run_id = %(run_id)s AND status = 'failed' RETURNING *",
                {
                    "owner": self.owner,
                    "until": now + self.lease_seconds,
                    "now": now,
                    "run_id": run_id,
                },
            )
        return Run.from_row(row) if row else None

    async def release_leases(self) -> None:
        """At shutdown: let another process take this one's runs at once."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE orchestrate_runs SET lease_until = 0 WHERE lease_owner = %(owner)s"
                " AND status = 'running'",
                {"owner": self.owner},
            )

    # -- people's answers ---------------------------------------------------------------------

    async def decide(self, review_id: str, user: str, answer: dict[str, Any]) -> Decision:
        async with self.db.transaction() as tx:
            found = await self._open_review(tx, review_id)
            if isinstance(found, Decision):
                return found
            run, review = found
            return await self._record(tx, run, review, answer, user)

    async def request_notes(self, review_id: str, user: str) -> Decision:
        async with self.db.transaction() as tx:
            found = await self._open_review(tx, review_id)
            if isinstance(found, Decision):
                return found
            run, review = found
            if review.status == ReviewStatus.AWAITING_NOTES and review.notes_requested_by != user:
                return Decision(Outcome.TAKEN, review, run)
            row = await tx.fetchone(
                "UPDATE orchestrate_reviews SET status = 'awaiting_notes',"
                " notes_requested_by = %(user)s, notes_requested_at = %(now)s"
                " WHERE review_id = %(id)s RETURNING *",
                {"user": user, "now": self.clock(), "id": review_id},
            )
            assert row is not None
            decided, total = await self._count(tx, run)
            return Decision(Outcome.RECORDED, Review.from_row(row), run, decided, total)

    async def record_notes(
        self, *, channel_id: str, thread_ts: str, user: str, text: str, reply_ts: str
    ) -> Decision:
        """A thread reply is the notes for the replier's oldest open revision in that thread.

        A reply that starts with `<worker id>:` goes to that worker's open revision instead.
        """
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT * FROM orchestrate_runs WHERE channel_id = %(channel)s"
                f" AND root_ts = %(ts)s{self.db.for_update}",
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
            if run.status not in _LIVE:
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
            return await self._record(tx, run, review, answer, user, notes_ts=reply_ts)

    # -- helpers ------------------------------------------------------------------------------

    async def _review(self, tx: Tx, review_id: str) -> dict[str, Any] | None:
        return await tx.fetchone(
            "SELECT * FROM orchestrate_reviews WHERE review_id = %(id)s", {"id": review_id}
        )

    async def _open_review(self, tx: Tx, review_id: str) -> tuple[Run, Review] | Decision:
        """Lock the review's run, then read the review: its state or why it cannot be answered."""
        first = await self._review(tx, review_id)
        if first is None:
            return Decision(Outcome.UNKNOWN)
        row = await tx.fetchone(
            f"SELECT * FROM orchestrate_runs WHERE run_id = %(run_id)s{self.db.for_update}",
            {"run_id": first["run_id"]},
        )
        assert row is not None
        run = Run.from_row(row)
        locked = await self._review(tx, review_id)  # as it is now that the run is locked
        assert locked is not None
        review = Review.from_row(locked)
        if review.status == ReviewStatus.DECIDED:
            return Decision(Outcome.ALREADY_DECIDED, review, run)
        if run.status not in _LIVE or review.step != run.step:
            return Decision(Outcome.NOT_PENDING, review, run)
        return run, review

    async def _record(
        self,
        tx: Tx,
        run: Run,
        review: Review,
        answer: dict[str, Any],
        user: str,
        notes_ts: str | None = None,
    ) -> Decision:
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
        decided, total = await self._count(tx, run)
        resume = run.status == RunStatus.WAITING and decided == total
        if resume:
            await self._claim(tx, run.run_id)
        return Decision(Outcome.RECORDED, Review.from_row(row), run, decided, total, resume)

    async def _count(self, tx: Tx, run: Run) -> tuple[int, int]:
        row = await tx.fetchone(
            "SELECT COUNT(*) AS total,"
            " COALESCE(SUM(CASE WHEN status = 'decided' THEN 1 ELSE 0 END), 0) AS decided"
            " FROM orchestrate_reviews WHERE run_id = %(run_id)s AND step = %(step)s",
            {"run_id": run.run_id, "step": run.step},
        )
        assert row is not None
        return int(row["decided"]), int(row["total"])

    async def _claim(self, tx: Tx, run_id: str) -> None:
        await tx.execute(
            "UPDATE orchestrate_runs SET status = 'running', phase = 'resuming',"
            " lease_owner = %(owner)s, lease_until = %(until)s, updated_at = %(now)s"
            " WHERE run_id = %(run_id)s",
            {
                "owner": self.owner,
                "until": self.clock() + self.lease_seconds,
                "now": self.clock(),
                "run_id": run_id,
            },
        )

    async def _lock_held_run(self, tx: Tx, run_id: str) -> Run:
        row = await tx.fetchone(
            f"SELECT * FROM orchestrate_runs WHERE run_id = %(run_id)s{self.db.for_update}",
            {"run_id": run_id},
        )
        if row is None or row["lease_owner"] != self.owner or row["status"] != "running":
            raise LeaseLost(run_id)
        return Run.from_row(row)

    async def _update_run(self, run_id: str, values: dict[str, Any], held: bool = False) -> Run:
        columns = ", ".join(f"{name} = %({name})s" for name in values)
        guard = " AND lease_owner = %(owner)s AND status = 'running'" if held else ""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                f"UPDATE orchestrate_runs SET {columns}, updated_at = %(now)s"
                f" WHERE run_id = %(run_id)s{guard} RETURNING *",
                {**values, "now": self.clock(), "run_id": run_id, "owner": self.owner},
            )
        if row is None:
            raise LeaseLost(run_id)
        return Run.from_row(row)
