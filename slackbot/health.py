"""Health: can this process write to its database right now? Answered within a second."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)

ANSWER_WITHIN = 1.0  # seconds: a load balancer's or Docker's check gives up after a few
# In a transaction: a hot standby is in recovery, and `default_transaction_read_only` (or
# ALTER DATABASE … SET default_transaction_read_only) makes every write fail.
POSTGRES_WRITABLE = (
    "SELECT pg_is_in_recovery() AS standby, current_setting('transaction_read_only') AS read_only"
)


class DatabaseHealth:
    """One probe at a time; a caller waits for it at most `timeout` seconds.

    The probe is not cancelled when a caller gives up (a cancelled SQLite statement would
    leave its transaction open); the next caller waits on the same probe instead of piling
    new ones onto a database that is not answering.
    """

    def __init__(self, db: Any, timeout: float = ANSWER_WITHIN) -> None:
        self.db = db  # a Database: `transaction()` yields a Tx with `fetchone(sql, params)`
        self.timeout = timeout
        self._probe: asyncio.Task[str | None] | None = None
        self._last: str | None = None

    async def problem(self) -> str | None:
        """None when the database takes writes now, else one line saying what is wrong."""
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._check(), name="healthz-probe")
        try:
            problem = await asyncio.wait_for(asyncio.shield(self._probe), self.timeout)
        except TimeoutError:
            problem = f"the database did not answer within {self.timeout:g} s"
        if problem != self._last:
            if problem:
                log.warning("unhealthy: %s", problem)
            else:
                log.info("healthy again: the database takes writes")
            self._last = problem
        return problem

    async def _check(self) -> str | None:
        pool = getattr(self.db, "pool", None)  # PostgreSQL's; SQLite has one connection
        postgres = pool is not None
        try:
            if pool is not None:
                # Replace dead pooled connections now (a restarted server, pg_terminate_backend):
                # the pool's own check on checkout backs off a second or more per dead one.
                await pool.check()
            # SQLite: the transaction begins IMMEDIATE, so it takes the write lock.
            async with self.db.transaction() as tx:
                row = await tx.fetchone(POSTGRES_WRITABLE if postgres else "SELECT 1 AS ok", {})
        except Exception as error:
            return "the database failed: " + (" ".join(str(error).split()) or type(error).__name__)
        if postgres and row and row["standby"]:
            return "the database is a read-only standby"
        if postgres and row and str(row["read_only"]).lower() == "on":
            return "the database is read-only"
        return None if row else "the database answered nothing"

    async def close(self) -> None:
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
            await asyncio.gather(self._probe, return_exceptions=True)
