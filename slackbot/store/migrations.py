"""Numbered schema migrations (`migrations/NNNN_name.sql`), each applied once and recorded.

A database made before migrations existed has the tables of 0001 but no version table: 0001 is
written with IF NOT EXISTS, so it is recorded without changing anything and the rest follow.
Callers hold the set-up lock (PostgreSQL advisory lock) so replicas migrate one at a time.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from slackbot.store.backends import Database

FOLDER = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: list[str]


def migrations(folder: Path = FOLDER) -> list[Migration]:
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name} is not named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), _statements(path)))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions) or not versions or versions[0] != 1:
        raise ValueError(f"migrations must be numbered from 1, each once, got {versions}")
    return found


def _statements(path: Path) -> list[str]:
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


async def migrate(db: Database, clock=time.time) -> list[int]:
    """Apply the migrations this database lacks, each in its own transaction; return them."""
    async with db.transaction() as tx:
        await tx.execute(
            "CREATE TABLE IF NOT EXISTS orchestrate_schema_version (version INTEGER PRIMARY KEY,"
            " name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
        )
        rows = await tx.fetchall("SELECT version FROM orchestrate_schema_version")
    done = {row["version"] for row in rows}
    applied = []
    for migration in migrations():
        if migration.version in done:
            continue
        async with db.transaction() as tx:
            for statement in migration.statements:
                await tx.execute(statement)
            await tx.execute(
                "INSERT INTO orchestrate_schema_version (version, name, applied_at)"
                " VALUES (%(version)s, %(name)s, %(now)s)",
                {"version": migration.version, "name": migration.name, "now": clock()},
            )
        applied.append(migration.version)
    return applied
