"""Figure `floor`: the app beside a bare-LangGraph floor on the same workload, in the same run.

The floor (`bench/bare_loop.py`, a subprocess) drives the same built-in graph with the same
AsyncPostgresSaver on a pool from the same `open_pool`, the same chat model at the same stand-in
LLM, resuming each step with one `Command(resume={id: approve answer, ...})`. The app is
`python -m slackbot` (a subprocess) against a Slack emulator that approves every review the
moment it is posted. Both run under `python -m bench.sqlcount`, which counts the SQL they send
(`bench/subjects.py`).

Each pair (BENCH_PAIRS, default 3: app, bare, app, bare, …) gives each process a fresh database
and a fresh stand-in LLM, then, per process:
  1. one warm-up orchestration, then BENCH_SEQUENTIAL (20) one at a time: the unloaded latency;
  2. BENCH_SETTLE (10.5 s) idle: a backend flushes its pg_stat counters up to 10 s late;
  3. readings: the process's CPU, PostgreSQL's CPU (/proc), the SQL counters;
  4. K = BENCH_K (100) orchestrations at once (the app: /orchestrate sent 50 at a time as fast as
     it acks; the floor: K tasks), each 3 workers, instant LLM, every review approved;
  5. readings again once all K are done (the app: all summaries posted and Slack quiet 0.5 s);
  6. the process stopped (SIGTERM; the floor: exit), its backends gone (their counters then
     flushed): pg_stat_database.xact_commit of its database, read from the admin database.
The rows give the medians over the pairs. On 2 cores the pairs take ~3.5 min. The burst of
2,000 in each is figure `burst` (`bench/burst.py`).

How each number is measured:
- throughput: K / (the K-th summary posted in Slack − the first /orchestrate sent); the floor:
  K / (the last orchestration's end − the first's start), timed inside the floor process.
- Python CPU: utime + stime of the process (/proc/<pid>/stat) between 3 and 5, / K.
- PostgreSQL CPU: `proc.postgres_cpu()` between 3 and 5 (every postgres process plus the
  postmaster's reaped children), / K. The whole server: anything else it serves counts too.
- last click → next graph work: the stand-in LLM's arrival time of an orchestration's summary
  request (the resumed graph's first call) minus, in the app, when the emulator began sending
  the step's last approval click, in the floor, the moment before its resume `ainvoke`
  (time.monotonic in both: CLOCK_MONOTONIC is one clock for all processes). p50 during the K
  workload, and p50 of the BENCH_SEQUENTIAL unloaded ones.
- DB transactions: xact_commit after 6 minus at 3, / K (includes the app's shutdown).
- SQL statements: bench.sqlcount's counters between 3 and 5, / K.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import proc
from bench.harness import log, median
from bench.pgstat import ScopedPgCpu, backends_gone, foreign_backends, xact_commit
from bench.rows import Row, ms, ratio, row
from bench.sqlcount import delta
from bench.subjects import subject

K = int(os.environ.get("BENCH_K", "100"))
PAIRS = int(os.environ.get("BENCH_PAIRS", "3"))
SEQUENTIAL = int(os.environ.get("BENCH_SEQUENTIAL", "20"))
SETTLE = float(os.environ.get("BENCH_SETTLE", "10.5"))


@dataclass
class Sample:
    completed: int
    took: float
    cpu: float
    pg_cpu: float | None
    pg_own: float  # of this database's backends and the shared background processes only
    xacts: int
    sql: dict[str, int]
    loaded: list[float]
    idle: list[float]
    bench_cpu: float
    foreign: int


async def measure(kind: str, tmp: Path, tag: str) -> Sample:
    async with subject(kind, tmp, tag) as s:
        await s.run_one("warm 00000")
        idle = await s.sequential(SEQUENTIAL)
        await asyncio.sleep(SETTLE)
        foreign = foreign_backends(s.database_url)
        xacts = xact_commit(s.database_url)
        sql, cpu, pg = s.sql(), proc.cpu_seconds(s.pid), proc.postgres_cpu()
        scoped = ScopedPgCpu(s.database_url)
        bench = proc.cpu_seconds(os.getpid())
        done = await s.batch("load", K, 120 + K)
        cpu = proc.cpu_seconds(s.pid) - cpu
        pg_after = proc.postgres_cpu()
        pg_own = scoped.stop()
        pg_cpu = pg_after - pg if pg is not None and pg_after is not None else None
        sql = delta(s.sql(), sql)
        bench = proc.cpu_seconds(os.getpid()) - bench
        foreign = max(foreign, foreign_backends(s.database_url))
        await s.stop()
        await backends_gone(s.database_url)  # exited: their counters are flushed
        xacts = xact_commit(s.database_url) - xacts
    sample = Sample(done.completed, done.took, cpu, pg_cpu, pg_own, xacts, sql, done.latencies,
                    idle, bench, foreign)  # fmt: skip
    log(
        "floor",
        f"{kind} {tag}: {done.completed}/{K} in {done.took:.2f} s, CPU {cpu:.2f} s,"
        f" PG CPU {pg_cpu if pg_cpu is None else round(pg_cpu, 2)} s (this database's"
        f" {pg_own:.2f} s), {xacts} xacts,"
        f" {sql['statements']} statements, p50 loaded {median(done.latencies) * 1000:.0f} ms,"
        f" idle {median(idle) * 1000:.1f} ms; bench process CPU {bench:.2f} s"
        + (f"; {foreign} busy backend(s) of other databases seen" if foreign else ""),
    )
    return sample


def _med(samples: list[Sample], value: Callable[[Sample], float | None]) -> float:
    """The median of `value` over the samples that have one (NaN: none has)."""
    return median([v for v in map(value, samples) if v is not None])


async def floor_figure(tmp: Path) -> list[Row]:
    began = time.monotonic()
    apps: list[Sample] = []
    bares: list[Sample] = []
    for pair in range(PAIRS):
        apps.append(await measure("app", tmp, f"p{pair}"))
        bares.append(await measure("bare", tmp, f"p{pair}"))
    log("floor", f"figure took {time.monotonic() - began:.0f} s")
    return paired_rows(apps, bares) if apps else []


def paired_rows(apps: list[Sample], bares: list[Sample]) -> list[Row]:
    n = f"{len(apps)} pairs, medians"
    complete = all(s.completed == K for s in apps + bares)
    out = []

    rate_a = _med(apps, lambda s: s.completed / s.took)
    rate_b = _med(bares, lambda s: s.completed / s.took)
    r = ratio(rate_a, rate_b)
    done = "" if complete else f"; INCOMPLETE: {[s.completed for s in apps + bares]} of {K}"
    out.append(
        row(
            f"floor: throughput, K = {K} concurrent × 3 workers, instant LLM ({n})",
            f"app {rate_a:.1f} orchestrations/s{done}",
            f"bare LangGraph {rate_b:.1f} orchestrations/s",
            r,
            "≥ 0.9× floor",
            r >= 0.9 and complete,
        )
    )

    cpu_a = _med(apps, lambda s: s.cpu / K)
    cpu_b = _med(bares, lambda s: s.cpu / K)
    r = ratio(cpu_a, cpu_b)
    out.append(
        row(
            "floor: Python CPU per orchestration (process utime+stime)",
            f"app {ms(cpu_a)}",
            f"bare {ms(cpu_b)}",
            r,
            "reported; ≤ 1.3×",
            r <= 1.3,
        )
    )

    pg_a = _med(apps, lambda s: None if s.pg_cpu is None else s.pg_cpu / K)
    pg_b = _med(bares, lambda s: None if s.pg_cpu is None else s.pg_cpu / K)
    r = ratio(pg_a, pg_b)
    own_a = _med(apps, lambda s: s.pg_own / K)
    own_b = _med(bares, lambda s: s.pg_own / K)
    noisy = sum(s.foreign for s in apps + bares)
    note = f"; {noisy} busy backends of other databases seen" if noisy else ""
    out.append(
        row(
            "floor: PostgreSQL CPU per orchestration (all postgres processes)",
            f"app {ms(pg_a)} (this database's backends: {ms(own_a)}{note})",
            f"bare {ms(pg_b)} (this database's backends: {ms(own_b)})",
            r,
            "≤ 1.3×",
            r <= 1.3,
        )
    )

    for label, pick in (
        (f"during the K = {K} workload", lambda s: s.loaded),
        (f"one at a time ({SEQUENTIAL})", lambda s: s.idle),
    ):
        lat_a = _med(apps, lambda s, pick=pick: median(pick(s)))
        lat_b = _med(bares, lambda s, pick=pick: median(pick(s)))
        r = ratio(lat_a, lat_b)
        out.append(
            row(
                f"floor: last click → next graph work (summary LLM request), p50, {label}",
                f"app {ms(lat_a)}",
                f"bare (resume ainvoke → request) {ms(lat_b)}",
                r,
                "≤ 1.25×",
                r <= 1.25,
            )
        )

    tx_a = _med(apps, lambda s: s.xacts / K)
    tx_b = _med(bares, lambda s: s.xacts / K)
    r = ratio(tx_a, tx_b)
    out.append(
        row(
            "floor: DB transactions per orchestration (xact_commit)",
            f"app {tx_a:.1f}",
            f"bare {tx_b:.1f}",
            r,
            "≤ 1.15×",
            r <= 1.15,
        )
    )

    def sql(samples: list[Sample], key: str) -> float:
        return _med(samples, lambda s: s.sql[key] / K)

    st_a, st_b = sql(apps, "statements"), sql(bares, "statements")
    r = ratio(st_a, st_b)

    def detail(samples: list[Sample]) -> str:
        return (
            f"{sql(samples, 'statements'):.1f} statements ({sql(samples, 'in_pipeline'):.1f} in"
            f" pipelines, {sql(samples, 'pipeline_syncs'):.1f} pipeline syncs,"
            f" {sql(samples, 'transactions'):.1f} BEGINs) + {sql(samples, 'prepares'):.2f}"
            f" prepares; {sql(samples, 'lease_renewals'):.2f} lease renewals"
        )

    out.append(
        row(
            "floor: SQL statements sent per orchestration (psycopg, BEGIN/COMMIT included)",
            f"app {detail(apps)}",
            f"bare {detail(bares)}",
            r,
            "— (reported only)",
            True,
        )
    )

    return out
