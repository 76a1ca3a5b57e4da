"""Figure `burst`: BENCH_BURST (default 2,000) orchestrations in one app process and in the floor.

The same two processes as figure `floor` (`bench/subjects.py`), each with a fresh database and
stand-in LLM: after one warm-up orchestration and 1 s idle, the app gets BENCH_BURST /orchestrate
commands (50 in flight, every review approved), the floor runs that many at once. On 2 cores the
2,000 burst takes ~10 min (app ~5.8/s, floor ~7.4/s); BENCH_BURST=200 about a minute.

Measured: all completed or not, the time (as figure `floor`'s throughput), RSS growth = VmHWM at
the end − VmRSS after the warm-up (+1 s), and the lease-renewal statements counted during the
burst (1 app process: renewals go by time, one statement per interval, not by runs).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from bench import proc
from bench.harness import log
from bench.rows import Row, mb, ratio, row
from bench.sqlcount import delta
from bench.subjects import subject

BURST = int(os.environ.get("BENCH_BURST", "2000"))
LEASE_SECONDS = 30.0  # the app's default ORCHESTRATE_LEASE_SECONDS: renewals every 10 s


@dataclass
class Burst:
    count: int
    completed: int
    took: float
    growth: int  # bytes: VmHWM at the end − VmRSS after warm-up
    end_growth: int
    renewals: int
    statements: int


async def burst(kind: str, tmp: Path, count: int) -> Burst:
    async with subject(kind, tmp, f"burst{count}") as s:
        await s.run_one("warm 00000")
        await asyncio.sleep(1.0)
        base = proc.memory(s.pid).rss
        sql = s.sql()
        done = await s.batch("burst", count, 300 + count)
        memory = proc.memory(s.pid)
        sql = delta(s.sql(), sql)
    result = Burst(count, done.completed, done.took, memory.peak - base, memory.rss - base,
                   sql["lease_renewals"], sql["statements"])  # fmt: skip
    log(
        "burst",
        f"{kind}: {done.completed}/{count} in {done.took:.1f} s, RSS +{mb(result.growth)}"
        f" (peak) / +{mb(result.end_growth)} (end), {result.renewals} lease renewals",
    )
    return result


async def burst_figure(tmp: Path) -> list[Row]:
    return [burst_row(await burst("app", tmp, BURST), await burst("bare", tmp, BURST))]


def burst_row(app_b: Burst, bare_b: Burst) -> Row:
    growth_ratio = ratio(app_b.growth, bare_b.growth)
    allowed = (app_b.took / (LEASE_SECONDS / 3) + 1) * 2
    all_done = app_b.completed == app_b.count and bare_b.completed == bare_b.count
    return row(
        f"floor: burst of {app_b.count} /orchestrate, 50 in flight, all approved",
        f"app {app_b.completed}/{app_b.count} done in {app_b.took:.1f} s; RSS"
        f" +{mb(app_b.growth)} peak (+{mb(app_b.end_growth)} at the end);"
        f" {app_b.renewals} lease renewals by 1 process"
        f" ({app_b.statements / max(app_b.count, 1):.1f} statements/orchestration)",
        f"bare {bare_b.completed}/{bare_b.count} at once in {bare_b.took:.1f} s; RSS"
        f" +{mb(bare_b.growth)} peak (+{mb(bare_b.end_growth)} at the end)",
        growth_ratio,
        f"all complete; RSS growth ≤ 1.3×; renewals ≤ {allowed:.0f} (by time, not runs)",
        all_done and growth_ratio <= 1.3 and app_b.renewals <= allowed,
    )
