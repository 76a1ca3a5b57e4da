"""Health: can this process write to its database right now, and (with LANGGRAPH_URL) does
its LangGraph server answer? Answered within a second."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slackbot.catalog import Catalog

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

    def __init__(
        self, db: Any, timeout: float = ANSWER_WITHIN, langgraph: LangGraphHealth | None = None
    ) -> None:
        self.db = db  # a Database: `transaction()` yields a Tx with `fetchone(sql, params)`
        self.timeout = timeout
        self.langgraph = langgraph  # the LangGraph server the graph runs on, if any
        self._probe: asyncio.Task[str | None] | None = None
        self._last: str | None = None

    async def answer(self) -> tuple[int, dict[str, Any]]:
        """GET /healthz: (status, body). 503 when this process cannot write to its database.
        A LangGraph server that does not answer is reported under `langgraph` but keeps the
        200: the app still answers people (telling them to try again) and keeps their answers,
        which a balancer that took it out of rotation would not let it do."""
        if self.langgraph is None:
            problem = await self.problem()
            return (503, {"ok": False, "error": problem}) if problem else (200, {"ok": True})
        problem, server = await asyncio.gather(self.problem(), self.langgraph.report())
        body: dict[str, Any] = {"ok": problem is None}
        if problem:
            body["error"] = problem
        body["langgraph"] = server
        return (503 if problem else 200), body

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
        if self.langgraph is not None:
            await self.langgraph.close()


class LangGraphHealth:
    """Does the LangGraph server answer its health check (and is its graph loaded)? As for the
    database: one probe at a time, a caller waits at most `timeout` seconds."""

    def __init__(
        self, url: str, check: Callable[[], Awaitable[str | None]], timeout: float = ANSWER_WITHIN
    ) -> None:
        self.url = url
        self.check = check  # None when the server answers and its graph is loaded, else a line
        self.timeout = timeout
        self._probe: asyncio.Task[str | None] | None = None
        self._last: str | None = None

    async def report(self) -> dict[str, Any]:
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._check(), name="healthz-langgraph")
        try:
            problem = await asyncio.wait_for(asyncio.shield(self._probe), self.timeout)
        except TimeoutError:
            problem = f"the LangGraph server at {self.url} did not answer within {self.timeout:g} s"
        if problem != self._last:
            if problem:
                log.warning("LangGraph server unavailable: %s", problem)
            elif self._last:
                log.info("the LangGraph server at %s answers again", self.url)
            self._last = problem
        report: dict[str, Any] = {"url": self.url, "ok": problem is None}
        if problem:
            report["error"] = problem
        return report

    async def _check(self) -> str | None:
        try:
            return await self.check()
        except Exception as error:
            return f"checking the LangGraph server failed: {type(error).__name__}: {error}"

    async def close(self) -> None:
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
            await asyncio.gather(self._probe, return_exceptions=True)


def langgraph_health(catalog: Catalog) -> LangGraphHealth | None:
    """The health of the LangGraph server the catalog's graph runs on, if it runs on one."""
    from slackbot.remote_catalog import RemoteCatalog

    if not isinstance(catalog, RemoteCatalog):
        return None
    return LangGraphHealth(catalog.remote.url, catalog.probe)
