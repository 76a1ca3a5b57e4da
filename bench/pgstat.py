"""What the figures read from PostgreSQL about the database they measure: transactions committed,
backends and the CPU of the server processes serving it, table sizes and rows per run, and the
plans of the store's queries. Readings taken through the admin database count nothing in the
measured one."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from bench import proc
from bench.harness import ADMIN_URL, CHANNEL, PEOPLE, log
from slackbot.demo.slack_emulator import TEAM_ID

# -- transactions and backends -------------------------------------------------------------------


def committed_transactions(database_url: str) -> int:
    """xact_commit, read over a connection to the database itself (this reading's counts too)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def _dbname(url: str) -> str:
    return str(conninfo_to_dict(url)["dbname"])


def _admin(query: str, params: tuple = ()) -> Any:
    """One value, read from the admin database: nothing counted in the measured database."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_stat_clear_snapshot()")
        row = admin.execute(query, params).fetchone()
    return row[0] if row else None


def xact_commit(url: str) -> int:
    found = _admin("SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (_dbname(url),))
    return int(found or 0)


def backends(url: str) -> int:
    return int(_admin("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (_dbname(url),)))


def foreign_backends(url: str) -> int:
    """Backends busy on other databases right now: someone else's load on the same server."""
    return int(
        _admin(
            "SELECT count(*) FROM pg_stat_activity WHERE datname IS NOT NULL"
            " AND datname <> %s AND pid <> pg_backend_pid() AND state = 'active'",
            (_dbname(url),),
        )
    )


async def backends_gone(url: str, timeout: float = 20.0) -> None:
    """Until the database has no backend: those that exited have flushed their counters."""
    for _ in range(int(timeout / 0.1)):
        if not backends(url):
            return
        await asyncio.sleep(0.1)
    log("pgstat", "the measured database still has backends: its transaction count may be short")


def connections(database_url: str) -> int:
    """Connections to the database now, other than this one."""
    time.sleep(0.5)  # a process that just exited: its backends are gone by now
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


# -- the server's CPU ----------------------------------------------------------------------------


def serving(url: str) -> list[int]:
    """The server processes working for this database: its backends, and the background
    processes every database shares (WAL writer, checkpointer, background writer, …)."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            " AND (datname = %s OR backend_type <> 'client backend')",
            (_dbname(url),),
        ).fetchall()
    return [int(row[0]) for row in rows]


class ScopedPgCpu:
    """PostgreSQL CPU of `serving(url)` only, between `start` and `stop`: other databases'
    load left out (a backend of ours that exits meanwhile is lost: the pools keep theirs)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.before = proc.cpu_of(serving(url))

    def stop(self) -> float:
        after = proc.cpu_of(serving(self.url))
        return sum(cpu - self.before.get(pid, 0.0) for pid, cpu in after.items())


# -- sizes and runs ------------------------------------------------------------------------------


def sizes(database_url: str) -> dict[str, int]:
    """Bytes of the checkpointer's tables, the app's tables (pg_total_relation_size: heap,
    indexes, TOAST) and the whole database (pg_database_size)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        ).fetchall()
        database = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    assert database is not None
    return {
        "checkpoints": sum(size for name, size in rows if name.startswith("checkpoint")),
        "app": sum(size for name, size in rows if name.startswith("orchestrate_")),
        "database": int(database[0]),
    }


PER_RUN_SQL = """
WITH per AS (
  SELECT r.topic LIKE 'seed %%' AS seeded,
    (SELECT COUNT(*) FROM checkpoints c WHERE c.thread_id = r.run_id) AS checkpoints,
    (SELECT COUNT(*) FROM checkpoint_writes w WHERE w.thread_id = r.run_id) AS writes,
    (SELECT COUNT(*) FROM checkpoint_blobs b WHERE b.thread_id = r.run_id) AS blobs,
    (SELECT COALESCE(SUM(pg_column_size(c.*)), 0) FROM checkpoints c
      WHERE c.thread_id = r.run_id)
    + (SELECT COALESCE(SUM(pg_column_size(w.*)), 0) FROM checkpoint_writes w
      WHERE w.thread_id = r.run_id)
    + (SELECT COALESCE(SUM(pg_column_size(b.*)), 0) FROM checkpoint_blobs b
      WHERE b.thread_id = r.run_id) AS checkpoint_bytes,
    (SELECT COUNT(*) FROM orchestrate_reviews v WHERE v.run_id = r.run_id) AS reviews,
    pg_column_size(r.*) + (SELECT COALESCE(SUM(pg_column_size(v.*)), 0)
      FROM orchestrate_reviews v WHERE v.run_id = r.run_id) AS app_bytes
  FROM orchestrate_runs r WHERE r.status = 'waiting'
)
SELECT seeded, COUNT(*) AS runs, AVG(checkpoints) AS checkpoints, AVG(writes) AS writes,
  AVG(blobs) AS blobs, AVG(reviews) AS reviews, AVG(checkpoint_bytes) AS checkpoint_bytes,
  AVG(app_bytes) AS app_bytes
FROM per GROUP BY seeded
"""


def per_run(database_url: str) -> dict[bool, dict[str, float]]:
    """Rows and row bytes (pg_column_size) per waiting run, made through the app vs seeded."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        cursor = conn.execute(PER_RUN_SQL)
        names = [d.name for d in cursor.description or []]
        return {
            row[0]: {n: float(v) for n, v in zip(names[1:], row[1:], strict=True)} for row in cursor
        }


def waiting(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM orchestrate_runs WHERE status = 'waiting'"
        ).fetchone()
    return int(row[0]) if row else 0


# Diagnostics (BENCH_EXPLAIN=1): copies of the store's queries that read many runs, as of when
# this was written (the inner SELECTs of the UPDATEs), explained at the measured size.
EXPLAINED = {
    "claim_expired": "SELECT run_id FROM orchestrate_runs WHERE status = 'running'"
    " AND (lease_until IS NULL OR lease_until < %(now)s) ORDER BY updated_at LIMIT 20",
    "expire_due": "SELECT * FROM orchestrate_runs WHERE status = 'waiting'"
    " AND expires_at IS NOT NULL AND expires_at <= %(now)s ORDER BY expires_at LIMIT 20",
    "claim_reminders": "SELECT run_id FROM orchestrate_runs WHERE status = 'waiting'"
    " AND remind_at IS NOT NULL AND remind_at <= %(now)s AND reminders_sent < 3"
    " AND (remind_claimed_until IS NULL OR remind_claimed_until < %(now)s)"
    " ORDER BY remind_at LIMIT 20",
    "live_runs (each /orchestrate)": "SELECT COALESCE(SUM(CASE WHEN started_by = %(user)s"
    " THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN channel_id = %(channel)s THEN 1 ELSE 0"
    " END), 0) FROM orchestrate_runs WHERE team_id = %(team)s"
    " AND status IN ('running', 'waiting')",
    "open_reviews_for (each Home refresh)": "SELECT v.* FROM orchestrate_reviews v"
    " JOIN orchestrate_runs r ON r.run_id = v.run_id WHERE r.status = 'waiting'"
    " AND v.step = r.step AND v.status IN ('pending', 'awaiting_notes')"
    " AND (r.started_by = %(user)s OR v.notes_requested_by = %(user)s)"
    " ORDER BY COALESCE(r.waiting_since, r.updated_at) DESC, r.run_id, v.position LIMIT 45",
}


def explain(database_url: str) -> None:
    params = {"now": time.time(), "user": PEOPLE[0], "channel": CHANNEL, "team": TEAM_ID}
    with psycopg.connect(database_url, autocommit=True) as conn:
        for name, sql in EXPLAINED.items():
            plan = [row[0] for row in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)]
            log("scale", f"EXPLAIN {name}:\n    " + "\n    ".join(plan))
