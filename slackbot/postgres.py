"""The PostgreSQL connection pool, configured as LangGraph's saver needs it."""

from __future__ import annotations

import select
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from time import monotonic

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from slackbot.settings import StartupError

# AsyncPostgresSaver needs autocommit and dict rows. prepare_threshold=0 (LangGraph's documented
# setting) prepares each statement on its first run on a connection: not safe behind a
# transaction-mode pgbouncer older than 1.21, which would need None (never prepare).
CONNECTION_KWARGS = {"autocommit": True, "row_factory": dict_row, "prepare_threshold": 0}
CONNECT_TIMEOUT = 5  # seconds for the first connection at start-up: fail in one line, not 15 s
OPEN_TIMEOUT = 15.0
# Idle pooled connections are dropped before firewalls silently do.
MAX_IDLE = 5 * 60.0
RECONNECT_TIMEOUT = 60.0  # give up one reconnection attempt after this; the next use tries again
# How long a transaction waits for a connection: past it the person is told to try again
# (an answer is never held for half a minute while the database is away). Request work with
# a deadline (a form submission: Slack waits 3 s) waits only as long as its deadline allows.
CHECKOUT_TIMEOUT = 5.0


def describe(url: str) -> str:
    """host:port/dbname of a connection URL, for messages (never the password)."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the DATABASE_URL server"
    host = info.get("host") or info.get("hostaddr") or "localhost"
    return f"{host}:{info.get('port') or 5432}/{info.get('dbname') or ''}"


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


async def check_alive(conn: psycopg.AsyncConnection) -> None:
    """The pool's check as it hands a connection out, without a round trip: a server that
    closed the connection (a restart, pg_terminate_backend) left its goodbye or an EOF on
    the socket, while a healthy idle connection has nothing to read. (The pool's own
    `check_connection` sends a query: it tripled the transactions per click.) A connection
    that dies silently (a NAT timeout) is caught by MAX_IDLE and the store's retries."""
    if not conn.closed:
        readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
        if not readable:
            return
        await conn.close()  # closed, the pool replaces it instead of handing it out again
    raise psycopg.OperationalError("the server closed this pooled connection")


class ConnectionPool(AsyncConnectionPool):
    """psycopg_pool's pool, handing out the next connection at once when one fails the check.

    psycopg_pool backs off 1 s, 2 s, 4 s… after each connection that fails its check, as if
    the check were a slow query on a struggling server. `check_alive` costs nothing, and after
    pg_terminate_backend or a server restart every idle connection fails it: with three idle
    connections the first click waited 3 s, with more it timed out after 5 s. The dead ones
    are replaced in the background as before (the pool's own reconnection, with its back-off);
    a request takes the next idle one, or waits for the first replacement."""

    async def _getconn_with_check_loop(self, deadline: float) -> psycopg.AsyncConnection:
        while True:
            conn = await self._getconn_unchecked(deadline - monotonic())
            try:
                await self._check_connection(conn)
            except Exception:
                await self._putconn(conn, from_getconn=True)
                continue
            except BaseException:
                await self._putconn(conn, from_getconn=True)
                raise
            return conn


async def check_reachable(url: str) -> None:
    """One direct connection first: an unreachable or refusing server is one line at once,
    instead of the pool's warnings for 15 s and then a PoolTimeout traceback."""
    try:
        conn = await psycopg.AsyncConnection.connect(url, connect_timeout=CONNECT_TIMEOUT)
    except (psycopg.Error, OSError) as error:
        raise StartupError(
            f"cannot connect to the database at {describe(url)}: {one_line(error)}"
        ) from None
    await conn.close()


@asynccontextmanager
async def open_pool(url: str, max_size: int = 10) -> AsyncIterator[AsyncConnectionPool]:
    await check_reachable(url)
    pool = ConnectionPool(
        url,
        kwargs=CONNECTION_KWARGS,
        min_size=1,
        max_size=max_size,
        open=False,
        check=check_alive,
        max_idle=MAX_IDLE,
        reconnect_timeout=RECONNECT_TIMEOUT,
        timeout=CHECKOUT_TIMEOUT,
    )
    try:
        await pool.open(wait=True, timeout=OPEN_TIMEOUT)
    except PoolTimeout:
        await pool.close()
        raise StartupError(
            f"the database at {describe(url)} did not accept connections within {OPEN_TIMEOUT:g} s"
        ) from None
    try:
        yield pool
    finally:
        await pool.close()
