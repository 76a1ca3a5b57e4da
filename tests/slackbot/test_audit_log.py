"""The audit log is append-only in the database itself: an UPDATE or a DELETE of a record
raises, on PostgreSQL and SQLite, whoever sends it (migration 0011)."""

from __future__ import annotations

import pytest

from slackbot.postgres import open_pool
from slackbot.store import Run, RunStatus, Store, audit
from slackbot.store.backends import PostgresDatabase, SqliteDatabase

RUN = Run("r1", "T", "C", "UANA", "Berlin", None, RunStatus.WAITING, "waiting", 1, None, None)


@pytest.fixture(params=["postgres", "sqlite"])
async def store(request, tmp_path):
    if request.param == "sqlite":
        db = await SqliteDatabase.open(tmp_path / "audit.sqlite")
        store = Store(db)
        await store.setup()
        yield store
        await db.close()
        return
    async with open_pool(request.getfixturevalue("pg_url")) as pool:
        store = Store(PostgresDatabase(pool))
        await store.setup()
        yield store


@pytest.mark.parametrize(
    "statement",
    ["UPDATE orchestrate_audit SET actor = 'UEVE'", "DELETE FROM orchestrate_audit"],
)
async def test_records_cannot_be_changed_or_deleted(store, statement):
    async with store.db.transaction() as tx:
        await audit.record(tx, 1.0, "answer", RUN, actor="UANA", answer={"type": "approve"})
    with pytest.raises(Exception, match="append-only"):
        async with store.db.transaction() as tx:
            await tx.execute(statement)
    (record,) = await store.audit_log()
    assert (record["action"], record["actor"], record["answer"]) == (
        "answer",
        "UANA",
        {"type": "approve"},
    )
    async with store.db.transaction() as tx:  # appending still works
        await audit.record(tx, 2.0, "expired", RUN)
    assert [r["action"] for r in await store.audit_log()] == ["answer", "expired"]
