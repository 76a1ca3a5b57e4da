"""Entry point: `python -m slackbot` reads settings once, then serves until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys


def main() -> int:
    from dotenv import load_dotenv

    load_dotenv()
    # Read by langgraph when it is imported: checkpoints may only rebuild plain types.
    os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")

    from slackbot.settings import Settings, SettingsError

    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as error:
        print(f"slack-orchestrate: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from slackbot.server import serve

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
