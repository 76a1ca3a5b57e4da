"""Figure `scale`: one app process with BENCH_PAUSED (default 10,000) orchestrations waiting.

BENCH_PAUSED_VIA_APP of them (default 1,000, the warm-up run included) go through the app
process that is measured, and the rest are seeded by processes running the app's own code,
Slack left out (`bench/seed.py`). The DB-bytes row compares the two kinds run by run.

Measured, each beside a floor taken in the same run:
- RSS of the app process that holds them (it drove the via-app ones) vs after one run;
- start-up (spawn → /healthz 200) of a fresh process on that database vs on an empty one;
- one recovery pass (`claim_expired` + `run_due_work`, with expiry and reminders on, nothing
  due) timed here on the app's Orchestrator and Store with the app's policy, at N paused vs on
  the empty database;
- /healthz latency (200 sequential GETs) at N paused vs an idle app on the empty database;
- database bytes per paused orchestration, the checkpointer's tables and the app's apart.
The floors use a second database that stays empty, and alternate with the measurements (other
load on the machine then falls on both alike). BENCH_EXPLAIN=1 logs the plans of the store's
queries that read many runs, at N paused.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench import pgstat
from bench.harness import TimedApp, environment, fresh_database, log, median, percentile
from bench.rows import Row, kb
from bench.seed import CountingSlack, seed, through_app
from slackbot.services import Services, open_services

EXPIRE_AFTER = 7 * 86400.0  # expiry and reminders on, so the pass runs their queries; none due
REMIND_AFTER = 86400.0
POLICY_ENV = {"ORCHESTRATE_EXPIRE_AFTER": "7d", "ORCHESTRATE_REMIND_AFTER": "1d"}
STARTS = 3  # timed start-ups of each kind; the median is reported
HEALTH_GETS = 200
PASSES = 10  # recovery passes timed at each size
RSS_TARGET_MB = 100.0


async def _timed_starts(
    empty_env: dict[str, str], paused_env: dict[str, str], tmp: Path
) -> tuple[list[float], list[float], TimedApp, TimedApp]:
    """STARTS fresh processes on each database, one at a time, alternating: (empty start-ups,
    paused start-ups, then one more process on each, both running)."""
    empty_times: list[float] = []
    paused_times: list[float] = []
    kinds = (("empty", empty_env, empty_times), ("paused", paused_env, paused_times))
    for i in range(STARTS):
        for name, env, times in kinds:
            app = await TimedApp(env, tmp, f"{name}{i}").start()
            times.append(app.started_in)
            await app.stop()
    empty = await TimedApp(empty_env, tmp, "idle2").start()
    paused = await TimedApp(paused_env, tmp, "fresh").start()
    log(
        "scale",
        f"start-ups (ms): empty {', '.join(f'{t * 1000:.0f}' for t in empty_times)};"
        f" paused {', '.join(f'{t * 1000:.0f}' for t in paused_times)}",
    )
    return empty_times, paused_times, empty, paused


async def _healthz_pair(
    url: str, floor_url: str, count: int = HEALTH_GETS
) -> tuple[list[float], list[float]]:
    """`count` GETs /healthz to each app, one at a time, alternating: (latencies, floor's)."""
    latencies: dict[str, list[float]] = {url: [], floor_url: []}
    async with aiohttp.ClientSession() as session:
        for _ in range(count):
            for target in (url, floor_url):
                began = time.perf_counter()
                async with session.get(target + "/healthz") as response:
                    await response.read()
                    assert response.status == 200, response.status
                latencies[target].append(time.perf_counter() - began)
    return latencies[url], latencies[floor_url]


async def _recovery_pass(services: Services) -> float:
    """The loop body of RunLeases._recover_forever (the driver's), timed: claim the runs whose lease
    expired, then expire and remind what is due. Nothing is claimed or due here."""
    orchestrator = services.orchestrator
    began = time.perf_counter()
    claimed = await orchestrator.store.claim_expired()
    await orchestrator.run_due_work()
    took = time.perf_counter() - began
    if claimed:  # not driven here: their lease runs out and the app takes them again
        log("scale", f"a recovery pass claimed {len(claimed)} run(s) (none expected)")
    return took


async def _recovery_pair(
    services: Services, floor_services: Services, count: int = PASSES
) -> tuple[list[float], list[float]]:
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(count):
        times[0].append(await _recovery_pass(services))
        times[1].append(await _recovery_pass(floor_services))
    return times


# -- the figure -----------------------------------------------------------------------------------


async def scale(tmp: Path) -> list[Row]:
    count = int(os.environ.get("BENCH_PAUSED", "10000"))
    assert count >= 3, "BENCH_PAUSED: at least 3"
    via_app = min(count, max(3, int(os.environ.get("BENCH_PAUSED_VIA_APP", "1000"))))
    seeded = count - via_app
    half = (via_app - 1) // 2  # RSS is read after half of them too: the slope of the rest
    async with environment(tmp, in_process=False, slack_class=CountingSlack) as env:
        slack: CountingSlack = env.slack  # type: ignore[assignment]
        # The floors run on a second database that stays empty, beside the measured one.
        with fresh_database() as empty_url:
            app_env = env.env() | POLICY_ENV
            empty_env = app_env | {"DATABASE_URL": empty_url}
            policy: dict[str, Any] = {"expire_after": EXPIRE_AFTER, "remind_after": REMIND_AFTER}
            # Services built as the app builds them (this migrates both databases), for the
            # recovery passes timed here.
            async with (
                open_services(env.settings(tmp, **policy)) as services,
                open_services(env.settings(tmp, database_url=empty_url, **policy)) as empty,
            ):
                app = await TimedApp(app_env, tmp, "app").start()
                idle: TimedApp | None = None
                try:
                    slack.app_url = app.url
                    await through_app(slack, 0, 1)  # warm-up: the floor is "after one run"
                    await asyncio.sleep(2)
                    rss = {1: app.rss_bytes()}
                    sizes_before = pgstat.sizes(env.database_url)

                    took_app = await through_app(slack, 1, half)
                    await asyncio.sleep(2)
                    rss[1 + half] = app.rss_bytes()
                    took_app += await through_app(slack, 1 + half, via_app - 1 - half)
                    await asyncio.sleep(2)
                    rss[via_app] = app.rss_bytes()
                    log(
                        "scale",
                        f"{via_app - 1} more through the app in {took_app:.1f} s; RSS (MB) after"
                        + ", ".join(f" {n}: {b / 2**20:.1f}" for n, b in rss.items()),
                    )
                    sizes_app = pgstat.sizes(env.database_url)
                    took_seed = await seed(app_env, tmp, seeded)
                    log("scale", f"{seeded} seeded in {took_seed:.1f} s")
                    sizes_after = pgstat.sizes(env.database_url)
                    waiting = pgstat.waiting(env.database_url)
                    assert waiting == count, f"{waiting} runs wait, not {count}"
                    assert not slack.responses, slack.responses[:3]  # no refusals, no errors

                    idle = await TimedApp(empty_env, tmp, "idle").start()
                    await asyncio.sleep(2)
                    rss_paused = app.rss_bytes()
                    health, idle_health = await _healthz_pair(app.url, idle.url)
                    passes, empty_passes = await _recovery_pair(services, empty)
                    if os.environ.get("BENCH_EXPLAIN"):
                        pgstat.explain(env.database_url)
                    connections = pgstat.connections(env.database_url)
                finally:
                    await app.stop()
                    if idle is not None:
                        await idle.stop()
                connections -= pgstat.connections(env.database_url)  # the app's own, as it stopped
                empty_starts, paused_starts, idle2, fresh = await _timed_starts(
                    empty_env, app_env, tmp
                )
                try:
                    await asyncio.sleep(2)
                    rss_fresh = fresh.rss_bytes()
                    fresh_health, idle_health2 = await _healthz_pair(fresh.url, idle2.url)
                finally:
                    await asyncio.gather(fresh.stop(), idle2.stop())
        per_run = pgstat.per_run(env.database_url)

    how = f"{via_app} through the app, {seeded} seeded with its code"
    return [
        _memory_row(count, how, rss, rss_paused, rss_fresh),
        _start_row(count, empty_starts, paused_starts),
        _pass_row(count, passes, empty_passes),
        _health_row(count, (health, idle_health), (fresh_health, idle_health2), connections),
        _bytes_row(count, sizes_before, sizes_app, sizes_after, via_app, per_run),
    ]


def _memory_row(count: int, how: str, rss: dict[int, int], paused: int, fresh: int) -> Row:
    """`rss`: the process's RSS after it drove 1, then half, then all of its runs."""
    floor = rss[1]
    grown = (paused - floor) / 2**20
    (mid, at_mid), (driven, at_all) = sorted(rss.items())[-2:]
    # Growth per run it drives, once warm (the second half), carried on to all `count`:
    slope = max(0.0, (at_all - at_mid) / max(1, driven - mid)) / 2**20
    projected = grown + slope * (count - driven)
    return {
        "figure": f"scale: RSS with {count} orchestrations waiting for review ({how})",
        "measured": f"RSS {paused / 2**20:.0f} MB (+{grown:.1f} MB) in the process that drove"
        f" {driven} of them; it grew {slope * 1000:.1f} MB per 1000 more it drove, so"
        f" ≈ +{projected:.0f} MB had it driven all {count}; a fresh process on that"
        f" database: {fresh / 2**20:.0f} MB",
        "floor": f"after one run {floor / 2**20:.0f} MB",
        "ratio": f"{paused / floor:.2f}×",
        "target": f"< {RSS_TARGET_MB:.0f} MB more than after one run (measured and projected)",
        "met": grown < RSS_TARGET_MB and projected < RSS_TARGET_MB,
    }


def _start_row(count: int, empty: list[float], paused: list[float]) -> Row:
    ratio = median(paused) / median(empty)
    return {
        "figure": f"scale: start-up, spawn → /healthz 200, with {count} paused in the database"
        f" (median of {STARTS}, alternating with the empty database's)",
        "measured": f"{median(paused) * 1000:.0f} ms",
        "floor": f"empty database {median(empty) * 1000:.0f} ms",
        "ratio": f"{ratio:.2f}×",
        "target": "≤ 1.5× the empty start",
        "met": ratio <= 1.5,
    }


def _pass_row(count: int, paused: list[float], empty: list[float]) -> Row:
    worst = max(paused)
    return {
        "figure": f"scale: recovery pass (claim_expired + run_due_work, expiry and reminders on,"
        f" nothing due) with {count} paused (median / worst of {PASSES}, alternating)",
        "measured": f"{median(paused) * 1000:.1f} / {worst * 1000:.1f} ms",
        "floor": f"empty database {median(empty) * 1000:.1f} / {max(empty) * 1000:.1f} ms",
        "ratio": f"{median(paused) / median(empty):.2f}× at the median",
        "target": "< 100 ms (worst pass)",
        "met": worst < 0.1,
    }


def _health_row(
    count: int,
    driver: tuple[list[float], list[float]],
    fresh: tuple[list[float], list[float]],
    connections: int,
) -> Row:
    """Each pair: (latencies of a process with `count` paused, an idle app's, interleaved)."""

    def ms(values: list[float]) -> str:
        return f"{median(values) * 1000:.2f} / {percentile(values, 99) * 1000:.2f} ms"

    ratios = [percentile(p, 99) / percentile(i, 99) for p, i in (driver, fresh)]
    return {
        "figure": f"scale: /healthz latency, {HEALTH_GETS} GETs each, with {count} paused"
        " (p50 / p99; GETs alternate with an idle app's on an empty database)",
        "measured": f"{ms(driver[0])} in the process that drove them (its pool:"
        f" {connections} connections); {ms(fresh[0])} in a fresh process on that database",
        "floor": f"idle app {ms(driver[1])}; beside the fresh one {ms(fresh[1])}",
        "ratio": f"{ratios[0]:.2f}× / {ratios[1]:.2f}× at p99",
        "target": "p99 ≤ 2× the idle app's",
        "met": max(ratios) <= 2,
    }


def _bytes_row(
    count: int,
    before: dict[str, int],
    app_phase: dict[str, int],
    after: dict[str, int],
    via_app: int,
    per_run: dict[bool, dict[str, float]],
) -> Row:
    made = count - 1  # the floor was taken after the warm-up run
    checkpoints = (after["checkpoints"] - before["checkpoints"]) / made
    app = (after["app"] - before["app"]) / made
    database = (after["database"] - before["database"]) / made
    parts = []
    if via_app > 1 and count > via_app:
        by_app = sum(app_phase[k] - before[k] for k in ("checkpoints", "app")) / (via_app - 1)
        by_seed = sum(after[k] - app_phase[k] for k in ("checkpoints", "app")) / (count - via_app)
        parts.append(f"tables grew {kb(by_app)} per run made through the app, {kb(by_seed)}"
                     " per seeded run")  # fmt: skip
    for is_seeded, label in ((False, "through the app"), (True, "seeded")):
        if (r := per_run.get(is_seeded)) is not None:
            parts.append(
                f"{label}: {r['checkpoints']:.1f} checkpoints + {r['writes']:.1f} writes +"
                f" {r['blobs']:.1f} blobs = {kb(r['checkpoint_bytes'])}, {r['reviews']:.1f}"
                f" reviews + run = {kb(r['app_bytes'])} of row data per run"
            )
    return {
        "figure": f"scale: database bytes per paused orchestration (growth / {made};"
        " pg_total_relation_size of checkpoint* and orchestrate_* tables, not vacuumed)",
        "measured": f"checkpointer {kb(checkpoints)} + app {kb(app)} per run;"
        f" pg_database_size {kb(database)} per run; " + "; ".join(parts),
        "floor": "—",
        "ratio": f"app = {app / checkpoints:.2f}× the checkpointer's" if checkpoints else "—",
        "target": "none fixed; the app's tables < the checkpointer's",
        "met": app < checkpoints,
    }
