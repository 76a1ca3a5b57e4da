"""Numbered schema migrations (`migrations/NNNN_name.sql`), each applied once and recorded.

A database made before migrations existed has the tables of 0001 but no version table: 0001 is
written with IF NOT EXISTS, so it is recorded without changing anything and the rest follow.
Callers hold the set-up lock (PostgreSQL advisory lock) so replicas migrate one at a time.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from slackbot.store.backends import Database

FOLDER = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")
_ONLY = re.compile(r"^\s*--\s*only (postgres|sqlite)\b")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: list[str]
    only: dict[int, str] = field(default_factory=dict)  # statement index → its one dialect


def migrations(folder: Path = FOLDER) -> list[Migration]:
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name} is not named NNNN_name.sql")
        statements, only = _statements(path)
        found.append(Migration(int(match.group(1)), match.group(2), statements, only))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"migrations must be numbered 1..n without gaps, got {versions}")
    return found


def _statements(path: Path) -> tuple[list[str], dict[int, str]]:
    """The file's statements, each ending with `;` at the end of a line (a `;` inside a line,
    as in a trigger's body, does not end it). A comment `-- only postgres` (or `sqlite`) before
    a statement keeps it to that database."""
    statements: list[str] = []
    only: dict[int, str] = {}
    lines: list[str] = []
    for line in path.read_text().splitlines():
        marker = _ONLY.match(line)
        if marker:
            only[len(statements)] = marker.group(1)
        if line.lstrip().startswith("--"):
            continue
        lines.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(lines).strip().removesuffix(";").strip())
            lines = []
    if "\n".join(lines).strip():
        statements.append("\n".join(lines).strip())
    return statements, only


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
            for number, statement in enumerate(migration.statements):
                if migration.only.get(number, db.dialect) == db.dialect:
                    await tx.execute(statement)
            await tx.execute(
                "INSERT INTO orchestrate_schema_version (version, name, applied_at)"
                " VALUES (%(version)s, %(name)s, %(now)s)",
                {"version": migration.version, "name": migration.name, "now": clock()},
            )
        applied.append(migration.version)
    return applied
