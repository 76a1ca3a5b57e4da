"""`python -m bench.sqlcount <module | script.py> [args]`: run a program with every SQL statement
it sends through psycopg counted, the same way whatever the program is (the app:
`python -m bench.sqlcount slackbot`; the floor: `python -m bench.sqlcount bench/bare_loop.py`).

psycopg here runs on its C implementation (psycopg_binary): libpq's PGconn is a C type that
cannot be patched, but every statement still leaves through one of a few Python methods of the
cursor and connection classes, patched here before the program imports anything:

- `BaseCursor._execute_send` (and `ClientCursor`'s own): a statement sent unprepared, alone or
  queued in a pipeline;
- `BaseCursor._send_query_prepared`: a statement executed as a prepared one;
- `BaseConnection._exec_command`: the commands psycopg sends itself: BEGIN, COMMIT, ROLLBACK,
  SAVEPOINT, RELEASE (`conn.transaction()`), DEALLOCATE.

So "statements" is every execution, BEGIN/COMMIT included. Apart from it: `prepares` (Parse
messages sent by `_send_prepare`: with `prepare_threshold=0` a first execution on a connection is
prepared first, one more round trip outside a pipeline), `pipeline_syncs` (each pipeline
sync ends a batch of statements sent together: one round trip for the batch), `in_pipeline`
(statements among "statements" sent inside a pipeline), `transactions` (BEGINs), and
`lease_renewals` (statements starting with "UPDATE orchestrate_runs SET lease_until", but for
a release at shutdown: "… SET lease_until = 0" or "= NULL").
The pool's connection check is counted when it sends a statement (the app's `check_alive`
reads the socket instead: nothing to count).

With BENCH_SQLCOUNT_TEXTS=1 the exit JSON also has "texts": each statement's text (its
first 120 characters, spaces collapsed) → how many times it was sent: where the statements go.

Where the counts go: the file BENCH_SQLCOUNT_FILE names is mapped in memory and holds the live
counts (little-endian uint64s in FIELDS order), so a benchmark reads them (`read_counts`) at any
moment, from outside; at exit (atexit: also after SIGTERM, which the app handles by shutting
down normally) they are written as JSON beside it, to `<file>.json`.
"""

from __future__ import annotations

import atexit
import functools
import json
import mmap
import os
import runpy
import struct
import sys
from pathlib import Path
from typing import Any

ENV = "BENCH_SQLCOUNT_FILE"
TEXTS_ENV = "BENCH_SQLCOUNT_TEXTS"
FIELDS = (
    "statements",
    "lease_renewals",
    "prepares",
    "pipeline_syncs",
    "in_pipeline",
    "transactions",
)
SIZE = 8 * len(FIELDS)
LEASE_RENEWAL = b"UPDATE orchestrate_runs SET lease_until"


class Counter:
    def __init__(self, path: str | None) -> None:
        if path:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.ftruncate(fd, SIZE)
                self.map = mmap.mmap(fd, SIZE)
            finally:
                os.close(fd)
        else:
            self.map = mmap.mmap(-1, SIZE)
        self.values = [0] * len(FIELDS)
        self.texts: dict[str, int] | None = {} if os.environ.get(TEXTS_ENV) == "1" else None

    def add(self, index: int) -> None:
        value = self.values[index] + 1
        self.values[index] = value
        struct.pack_into("<Q", self.map, index * 8, value)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(zip(FIELDS, self.values, strict=True))
        if self.texts is not None:
            out["texts"] = dict(sorted(self.texts.items(), key=lambda item: -item[1]))
        return out


STATEMENTS, LEASES, PREPARES, SYNCS, IN_PIPELINE, TRANSACTIONS = range(len(FIELDS))


def read_counts(path: str | Path) -> dict[str, int]:
    """The live counts of the process counting into `path` (zeros before it started)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        data = b""
    if len(data) < SIZE:
        return dict.fromkeys(FIELDS, 0)
    return dict(zip(FIELDS, struct.unpack_from(f"<{len(FIELDS)}Q", data), strict=True))


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    """The counts between two readings."""
    return {key: after[key] - before.get(key, 0) for key in after}


def _text(query: Any) -> bytes:
    if isinstance(query, bytes | bytearray | memoryview):
        return bytes(query)
    if isinstance(query, str):
        return query.encode()
    return b""  # a Composable: counted, never a lease renewal


def install(counter: Counter) -> None:
    from psycopg import _connection_base, _cursor_base, _pipeline_base, client_cursor

    def note(query: Any, in_pipeline: bool) -> None:
        counter.add(STATEMENTS)
        if counter.texts is not None:
            key = " ".join(_text(query).decode(errors="replace").split())[:120]
            counter.texts[key] = counter.texts.get(key, 0) + 1
        if in_pipeline:
            counter.add(IN_PIPELINE)
        text = _text(query).lstrip()
        if text.startswith(LEASE_RENEWAL):
            value = text[len(LEASE_RENEWAL) :].lstrip()
            if not value.startswith((b"= 0 ", b"= NULL")):  # a release at shutdown, not a renewal
                counter.add(LEASES)
        elif text[:5].upper() == b"BEGIN":
            counter.add(TRANSACTIONS)

    def cursor_send(original):  # type: ignore[no-untyped-def]
        @functools.wraps(original)
        def send(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
            note(query.query, self._conn._pipeline is not None)
            return original(self, query, *args, **kwargs)

        return send

    def prepared_send(original):  # type: ignore[no-untyped-def]
        @functools.wraps(original)
        def send(self, name, query, *args, **kwargs):  # type: ignore[no-untyped-def]
            note(query.query, self._conn._pipeline is not None)
            return original(self, name, query, *args, **kwargs)

        return send

    def prepare(original):  # type: ignore[no-untyped-def]
        @functools.wraps(original)
        def send(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            counter.add(PREPARES)
            return original(self, *args, **kwargs)

        return send

    def command(original):  # type: ignore[no-untyped-def]
        @functools.wraps(original)
        def exec_command(self, command, *args, **kwargs):  # type: ignore[no-untyped-def]
            note(command, self._pipeline is not None)
            return original(self, command, *args, **kwargs)

        return exec_command

    def sync(original):  # type: ignore[no-untyped-def]
        @functools.wraps(original)
        def enqueue_sync(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            counter.add(SYNCS)
            return original(self, *args, **kwargs)

        return enqueue_sync

    base = _cursor_base.BaseCursor
    base._execute_send = cursor_send(base._execute_send)  # type: ignore[method-assign]
    client = client_cursor.ClientCursorMixin
    if "_execute_send" in vars(client):
        client._execute_send = cursor_send(client._execute_send)  # type: ignore[method-assign]
    base._send_query_prepared = prepared_send(base._send_query_prepared)  # type: ignore[method-assign]
    base._send_prepare = prepare(base._send_prepare)  # type: ignore[method-assign]
    conn = _connection_base.BaseConnection
    conn._exec_command = command(conn._exec_command)  # type: ignore[method-assign]
    pipeline = _pipeline_base.BasePipeline
    pipeline._enqueue_sync = sync(pipeline._enqueue_sync)  # type: ignore[method-assign]


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python -m bench.sqlcount <module | script.py> [args]")
    path = os.environ.get(ENV) or None
    counter = Counter(path)
    install(counter)
    if path:

        def dump() -> None:
            Path(path + ".json").write_text(json.dumps(counter.as_dict()))

        atexit.register(dump)
    target, *rest = sys.argv[1:]
    sys.argv = [target, *rest]
    if target.endswith(".py"):
        runpy.run_path(target, run_name="__main__")
    else:
        runpy.run_module(target, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
