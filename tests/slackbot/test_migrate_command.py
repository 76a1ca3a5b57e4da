"""`python -m slackbot migrate` as the owner, then the app as a role that may not CREATE."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from slackbot.blocks import ACTION_APPROVE
from slackbot.settings import StartupError
from tests.slackbot.conftest import ANA, app_settings, start_run, started, summaries, wait_reviews

ROOT = Path(__file__).parents[2]


def migrate(url: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    return subprocess.run(
        [sys.executable, "-m", "slackbot", "migrate"],
        env=env | {"DATABASE_URL": url}, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture
def app_role(pg_url):
    """A login role that may read and write the tables but not create any."""
    name = f"app_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        schema = conn.execute("SELECT current_schema()").fetchone()[0]
        conn.execute(f"CREATE ROLE {name} LOGIN")
        conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {name}")
        conn.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE"
            f" ON TABLES TO {name}"
        )
    info = psycopg.conninfo.conninfo_to_dict(pg_url)
    yield pg_url.replace(f"//{info['user']}@", f"//{name}@", 1), name
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"DROP OWNED BY {name}")
        conn.execute(f"DROP ROLE {name}")


async def test_the_app_runs_as_a_least_privilege_role_after_migrate(
    slack, llm_server, pg_url, app_role, tmp_path
):
    role_url, _ = app_role
    settings = app_settings(
        slack, llm_server, database_url=role_url, data_dir=tmp_path, migrate_on_start=False
    )
    with pytest.raises(StartupError, match=r"schema is at version 0.*python -m slackbot migrate"):
        async with started(settings, slack):
            pass

    done = migrate(pg_url)
    assert done.returncode == 0, done.stderr
    assert "migrations applied: 1, 2, 3" in done.stdout
    again = migrate(pg_url)
    assert "none (already up to date)" in again.stdout

    async with started(settings, slack):  # no CREATE needed any more
        root = await start_run(slack)
        reviews = await wait_reviews(slack, root.ts, {"researcher", "critic", "editor"})
        for message in reviews.values():
            await slack.click(ANA, message, ACTION_APPROVE)
        await slack.wait_for(lambda: summaries(slack, root.ts), 20)
