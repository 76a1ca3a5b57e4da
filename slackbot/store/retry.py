"""Transient database failures are retried: each store method is one transaction, so running
it again is safe. A connection killed under a click (a restarted server, pg_terminate_backend,
a failover) costs a retry on a fresh connection instead of the person's answer."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
import psycopg_pool

log = logging.getLogger(__name__)

ATTEMPTS = 3
BACKOFF = 0.2  # seconds before the second attempt; doubled before the third
TRANSIENT: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,  # connection lost, server shutting down, serialization…
    sqlite3.OperationalError,  # "database is locked"
)
# A pool that found no connection in time has waited already: not retried, but transient.
UNAVAILABLE = (*TRANSIENT, psycopg_pool.PoolTimeout)
T = TypeVar("T")


def is_transient(error: BaseException) -> bool:
    return isinstance(error, UNAVAILABLE)


def retrying(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    @functools.wraps(method)
    async def again(*args: Any, **kwargs: Any) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await method(*args, **kwargs)
            except TRANSIENT as error:
                if attempt == ATTEMPTS:
                    raise
                log.warning("%s failed (%s), retrying", method.__name__, one_line(error))
                await asyncio.sleep(BACKOFF * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    return again


def retry_public_methods(cls: type[T]) -> type[T]:
    """Wrap every public coroutine method of the store (its transactions) in `retrying`."""
    for name, member in inspect.getmembers(cls, inspect.iscoroutinefunction):
        if not name.startswith("_") and name not in {"ping", "setup"}:
            setattr(cls, name, retrying(member))
    return cls


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__
