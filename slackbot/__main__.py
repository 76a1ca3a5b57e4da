"""Entry point: `python -m slackbot` reads settings once, then serves until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys


def main() -> int:
    from slackbot.settings import load_env_file

    load_env_file()
    # Read by langgraph when it is imported: checkpoints may only rebuild plain types.
    os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")

    from slackbot.settings import Settings, StartupError

    if sys.argv[1:] == ["migrate"]:
        return migrate()
    if sys.argv[1:2] == ["audit"]:
        return audit(sys.argv[2:])
    try:
        settings = Settings.from_env(os.environ)
        # The settings are the one source from here on: Bolt would read the token again from
        # the environment (and warn that its client's token wins); child processes need none.
        for secret in (
            "SLACK_BOT_TOKEN",
            "SLACK_SIGNING_SECRET",
            "SLACK_APP_TOKEN",
            "LANGGRAPH_API_KEY",
        ):
            os.environ.pop(secret, None)
        from slackbot.logs import setup_logging

        setup_logging(settings.log_level, settings.log_format)
        from slackbot.server import serve

        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C before the signal handlers
            asyncio.run(serve(settings))
    except StartupError as error:
        # Settings, credentials, database, port, data folder: one line for a person to act on.
        print(f"slack-orchestrate: {error}", file=sys.stderr)
        return error.exit_code
    return 0


def migrate() -> int:
    """`python -m slackbot migrate`: only DATABASE_URL is needed."""
    from slackbot.persistence import migrate_database
    from slackbot.settings import StartupError

    url = os.environ.get("DATABASE_URL", "").strip()
    if not url.startswith(("postgresql://", "postgres://")):
        print("slack-orchestrate: migrate needs DATABASE_URL=postgresql://…", file=sys.stderr)
        return 2
    try:
        applied = asyncio.run(migrate_database(url))
    except StartupError as error:
        print(f"slack-orchestrate: {error}", file=sys.stderr)
        return error.exit_code
    done = ", ".join(map(str, applied)) or "none (already up to date)"
    print(f"slack-orchestrate: migrations applied: {done}")
    return 0


def audit(argv: list[str]) -> int:
    """`python -m slackbot audit [--since 7d] [--run RUN_ID] [--format jsonl|csv]`."""
    from slackbot.audit_command import audit as print_audit
    from slackbot.settings import StartupError

    try:
        return asyncio.run(print_audit(argv, os.environ))
    except StartupError as error:
        print(f"slack-orchestrate: {error}", file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
