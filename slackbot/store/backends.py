"""Two SQL backends with one small interface: transactions that fetch dict rows.

SQL is written once with psycopg's `%(name)s` placeholders; SQLite gets them as `:name`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import aiosqlite
from psycopg_pool import AsyncConnectionPool

from slackbot.store.retry import time_left

Params = Mapping[str, Any]


class Tx(Protocol):
    async def fetchone(self, sql: str, params: Params = ...) -> dict[str, Any] | None: ...
    async def fetchall(self, sql: str, params: Params = ...) -> list[dict[str, Any]]: ...
    async def execute(self, sql: str, params: Params = ...) -> int: ...


class Database(Protocol):
    dialect: str  # "postgres" or "sqlite": which statements of a migration apply
    for_update: str  # row lock suffix inside a transaction ("" where the whole db is locked)
    skip_locked: str
    # Takes the lock named by %(key)s (a signed 64-bit number) until the transaction ends
    # ("" where the whole db is locked already).
    xact_lock: str

    def in_json(self, param: str) -> str:
        """`IN (…)` over a parameter holding a JSON array of strings: one statement for a
        list of any length, the same params on both backends."""
        ...

    def transaction(self) -> Any: ...  # async context manager yielding a Tx
    async def close(self) -> None: ...


class PostgresDatabase:
    dialect = "postgres"
    for_update = " FOR UPDATE"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    xact_lock = "SELECT pg_advisory_xact_lock(%(key)s)"

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    @staticmethod
    def in_json(param: str) -> str:
        return f"IN (SELECT jsonb_array_elements_text(%({param})s::jsonb))"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PostgresTx]:
        left = time_left()  # under a deadline: wait for a connection no longer than it allows
        timeout = None if left is None else min(left, self.pool.timeout)
        async with self.pool.connection(timeout) as conn, conn.transaction():
            yield _PostgresTx(conn)

    async def close(self) -> None:
        return None  # the pool has its own owner


class _PostgresTx:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def fetchone(self, sql: str, params: Params = {}) -> dict[str, Any] | None:  # noqa: B006
        cursor = await self.conn.execute(sql, params)
        return await cursor.fetchone()

    async def fetchall(self, sql: str, params: Params = {}) -> list[dict[str, Any]]:  # noqa: B006
        cursor = await self.conn.execute(sql, params)
        return await cursor.fetchall()

    async def execute(self, sql: str, params: Params = {}) -> int:  # noqa: B006
        cursor = await self.conn.execute(sql, params)
        return cursor.rowcount


@lru_cache(maxsize=256)
def _to_sqlite(sql: str) -> str:
    return re.sub(r"%\((\w+)\)s", r":\1", sql)


class SqliteDatabase:
    """One connection, one transaction at a time (SQLite has a single writer anyway)."""

    for_update = ""
    dialect = "sqlite"
    skip_locked = ""
    xact_lock = ""  # BEGIN IMMEDIATE: one writer at a time

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self._lock = asyncio.Lock()

    @staticmethod
    def in_json(param: str) -> str:
        return f"IN (SELECT value FROM json_each(%({param})s))"

    @classmethod
    async def open(cls, path: Path) -> SqliteDatabase:
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA busy_timeout=5000")
        await conn.execute("PRAGMA synchronous=NORMAL")
        return cls(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_SqliteTx]:
        async with self._lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(self.conn)
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    async def close(self) -> None:
        await self.conn.close()


class _SqliteTx:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def fetchone(self, sql: str, params: Params = {}) -> dict[str, Any] | None:  # noqa: B006
        async with self.conn.execute(_to_sqlite(sql), dict(params)) as cursor:
            row = await cursor.fetchone()
        return dict(row) if row is not None else None

    async def fetchall(self, sql: str, params: Params = {}) -> list[dict[str, Any]]:  # noqa: B006
        async with self.conn.execute(_to_sqlite(sql), dict(params)) as cursor:
            return [dict(row) for row in await cursor.fetchall()]

    async def execute(self, sql: str, params: Params = {}) -> int:  # noqa: B006
        async with self.conn.execute(_to_sqlite(sql), dict(params)) as cursor:
            return cursor.rowcount
