"""The PostgreSQL connection pool, configured as LangGraph's saver needs it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

# AsyncPostgresSaver needs autocommit and dict rows; prepare_threshold=0 keeps it pgbouncer-safe.
CONNECTION_KWARGS = {"autocommit": True, "row_factory": dict_row, "prepare_threshold": 0}


@asynccontextmanager
async def open_pool(url: str, max_size: int = 10) -> AsyncIterator[AsyncConnectionPool]:
    pool = AsyncConnectionPool(
        url, kwargs=CONNECTION_KWARGS, min_size=1, max_size=max_size, open=False
    )
    await pool.open(wait=True, timeout=15)
    try:
        yield pool
    finally:
        await pool.close()
