"""`python -m bench [figure ...]`: run the benchmarks, print a Markdown table, write RESULTS.md."""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import sys
import tempfile
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench import burst, figures, floor, remote, scale, streams
from bench.rows import table

FIGURES = {
    "ack": figures.ack_latency,
    "resume": figures.click_to_resume,
    "throughput100": lambda tmp: figures.throughput(tmp, 100),
    "throughput500": lambda tmp: figures.throughput(tmp, 500),
    "memory": figures.paused_memory,
    "drafting": figures.parallel_drafting,
    "backoff": figures.slack_backoff,
    "floor": floor.floor_figure,  # BENCH_PAIRS=3, BENCH_K=100
    "burst": burst.burst_figure,  # BENCH_BURST=2000
    "remote": remote.remote_resume,  # LANGGRAPH_URL: the app's overhead on a server's resume
    "scale": scale.scale,  # BENCH_PAUSED=10000
    "streams": streams.stream_figure,  # an agent's answer streamed into Slack, at 1 and 50
}


async def run(names: list[str]) -> list[dict]:
    rows: list[dict] = []
    for name in names:
        print(f"… {name}", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            rows.extend(await FIGURES[name](Path(tmp)))
    return rows


def main() -> int:
    os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
    logging.basicConfig(level=logging.ERROR)
    names = sys.argv[1:] or list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        print(f"unknown figure(s) {unknown}; choose from {list(FIGURES)}", file=sys.stderr)
        return 2
    rows = asyncio.run(run(names))
    packages = ", ".join(
        f"{p} {version(p)}" for p in ("langgraph", "langgraph-checkpoint-postgres", "slack-bolt")
    )
    header = (
        f"# Benchmark results\n\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · "
        f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
        f"{packages}\n\nFigures run: {', '.join(names)}\n\n"
    )
    text = header + table(rows) + "\n"
    print(text)
    Path(__file__).with_name("RESULTS.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
