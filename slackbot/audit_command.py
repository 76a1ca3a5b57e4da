"""`python -m slackbot audit [--since 7d] [--run RUN_ID] [--format jsonl|csv]`: print the audit
log, oldest first, one record per line, and exit. Reads DATABASE_URL, else the SQLite store in
ORCHESTRATE_DATA_DIR (default `data`)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

from slackbot.settings import StartupError, parse_duration
from slackbot.store import Store
from slackbot.store.audit import COLUMNS
from slackbot.store.backends import PostgresDatabase, SqliteDatabase


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m slackbot audit", description=__doc__)
    parser.add_argument("--since", help="only records this recent: 30m, 12h, 7d")
    parser.add_argument("--run", dest="run_id", help="only this run's records")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    return parser.parse_args(argv)


async def audit(argv: list[str], env: Mapping[str, str], out: TextIO = sys.stdout) -> int:
    args = parse(argv)
    since = None
    if args.since:
        try:
            since = time.time() - parse_duration(args.since)
        except ValueError:
            raise StartupError(f"--since must be like 30m, 12h or 7d, got {args.since!r}") from None
    async with _store(env) as store:
        try:
            records = await store.audit_log(since=since, run_id=args.run_id)
        except Exception as error:
            raise StartupError(f"could not read the audit log: {error}") from None
    write(records, args.format, out)
    return 0


def write(records: list[dict[str, Any]], form: str, out: TextIO) -> None:
    if form == "jsonl":
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow(
            [
                json.dumps(record[c], ensure_ascii=False) if c in ("shown", "answer", "detail")
                and record[c] is not None else record[c]
                for c in COLUMNS
            ]
        )  # fmt: skip


@asynccontextmanager
async def _store(env: Mapping[str, str]) -> AsyncIterator[Store]:
    url = env.get("DATABASE_URL", "").strip()
    if url:
        from slackbot.postgres import open_pool

        async with open_pool(url) as pool:
            yield Store(PostgresDatabase(pool))
        return
    path = Path(env.get("ORCHESTRATE_DATA_DIR", "").strip() or "data") / "orchestrate.sqlite"
    if not path.exists():
        raise StartupError(f"there is no store at {path}: set DATABASE_URL or ORCHESTRATE_DATA_DIR")
    db = await SqliteDatabase.open(path)
    try:
        yield Store(db)
    finally:
        await db.close()
