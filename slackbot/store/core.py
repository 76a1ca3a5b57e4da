"""The store's base: who holds leases, set-up, reads, and the helpers every transaction shares.

Exactly-once resume rests on one rule: the transaction that records the last open answer of a
waiting step also flips the run to `running` with a lease for the recording process. Two clicks
at the same moment serialize on the run row, so only one of them sees the step complete.
A lease expires unless renewed; an expired `running` run is picked up by any process.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from slackbot.rules import Rules
from slackbot.settings import StartupError
from slackbot.store.backends import Database, Tx
from slackbot.store.migrations import migrate, migrations
from slackbot.store.models import Review, Run, RunStatus

LIVE = (RunStatus.RUNNING, RunStatus.WAITING)


class LeaseLost(RuntimeError):
    """Another process took this run over; this one must stop driving it."""


class StoreBase:
    def __init__(
        self,
        db: Database,
        *,
        owner: str | None = None,
        lease_seconds: float = 30.0,
        expire_after: float | None = None,
        remind_after: float | None = None,
        clock: Callable[[], float] = time.time,
        rules: Rules | None = None,
    ) -> None:
        self.db = db
        self.rules = rules or Rules()  # ORCHESTRATE_RULES: who answers which reviews
        self.expire_after = expire_after  # a step unanswered this long expires its run
        self.remind_after = remind_after  # remind people each time a step waited this long
        self.owner = owner or uuid.uuid4().hex  # one per process: who holds a lease
        self.lease_seconds = lease_seconds
        self.clock = clock
        # A hosted graph's name → it and its aliases, for rules (set from the catalog).
        self.graph_names: Callable[[str], tuple[str, ...]] = lambda name: (name,)

    # -- set-up -------------------------------------------------------------------------------

    async def setup(self) -> list[int]:
        """Bring the schema up to date; returns the migrations applied now."""
        return await migrate(self.db, self.clock)

    async def check_schema(self) -> None:
        """For a start without migrations: the schema must already be what this code needs."""
        wanted = {m.version for m in migrations()}
        needed = max(wanted)
        try:
            async with self.db.transaction() as tx:
                rows = await tx.fetchall("SELECT version FROM orchestrate_schema_version")
        except Exception:
            rows = []
        applied = {int(row["version"]) for row in rows}
        found = max(applied, default=0)
        if wanted - applied:  # every migration this code knows must have been applied
            raise StartupError(
                f"the database schema is at version {found}, this app needs {needed}: run"
                " `python -m slackbot migrate` as a role that may create tables",
                exit_code=1,
            )

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

    async def get_review(self, review_id: str) -> Review | None:
        async with self.db.transaction() as tx:
            row = await self._review(tx, review_id)
        return Review.from_row(row) if row else None

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

    # -- helpers ------------------------------------------------------------------------------

    async def _review(self, tx: Tx, review_id: str) -> dict[str, Any] | None:
        return await tx.fetchone(
            "SELECT * FROM orchestrate_reviews WHERE review_id = %(id)s", {"id": review_id}
        )

    async def _step(self, tx: Tx, run: Run) -> list[Review]:
        """The reviews of the run's current step, in order."""
        rows = await tx.fetchall(
            "SELECT * FROM orchestrate_reviews WHERE run_id = %(run_id)s AND step = %(step)s"
            " ORDER BY position",
            {"run_id": run.run_id, "step": run.step},
        )
        return [Review.from_row(row) for row in rows]

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
