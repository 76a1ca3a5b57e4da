"""Transient database failures are retried: each store method is one transaction, so running
it again is safe. A connection killed under a click (a restarted server, pg_terminate_backend,
a failover) costs a retry on a fresh connection instead of the person's answer."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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
# A pool that found no connection in time has waited already: not retried, but transient
# (PoolTimeout is an OperationalError: retried, a read before storing took 3 × 5 s).
UNAVAILABLE = (*TRANSIENT, psycopg_pool.PoolTimeout)
T = TypeVar("T")
_DEADLINE: ContextVar[float | None] = ContextVar("store_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Store work in this context gives up `seconds` from now: no connection is waited for
    and no transaction retried past it (work that Slack waits for, as a form submission)."""
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def time_left() -> float | None:
    """Seconds left before this context's deadline (at least 0), None without a deadline."""
    end = _DEADLINE.get()
    return None if end is None else max(0.0, end - time.monotonic())


def is_transient(error: BaseException) -> bool:
    return isinstance(error, UNAVAILABLE)


def retrying(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    @functools.wraps(method)
    async def again(*args: Any, **kwargs: Any) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await method(*args, **kwargs)
            except TRANSIENT as error:
                wait, left = BACKOFF * 2 ** (attempt - 1), time_left()
                if attempt == ATTEMPTS or isinstance(error, psycopg_pool.PoolTimeout):
                    raise
                if left is not None and left <= wait:
                    raise
                log.warning("%s failed (%s), retrying", method.__name__, one_line(error))
                await asyncio.sleep(wait)
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
