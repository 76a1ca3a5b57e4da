"""`python -m slackbot.demo`: the app, a local Slack emulator with a web page, and an LLM.

Without OPENAI_API_KEY the LLM is an offline stand-in that labels everything it writes.
`--script` plays a short session as two people and prints the thread, then exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m slackbot.demo", description=__doc__)
    parser.add_argument("--port", type=int, default=8080, help="web page port (default 8080)")
    parser.add_argument("--script", action="store_true", help="run a scripted session and exit")
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="PER_SECOND",
        help="limit chat.postMessage per channel, answering 429 with Retry-After (Slack: ~1)",
    )
    parser.add_argument("--topic", default="a launch plan for our Berlin office")
    parser.add_argument("--data-dir", type=Path, default=Path("data/demo"))
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    from slackbot.demo.openai_server import OpenAIServer
    from slackbot.demo.script import scripted_session
    from slackbot.demo.transcript import thread_transcript
    from slackbot.demo.workspace import CHANNEL, NAMES, PEOPLE, DemoWorkspace
    from slackbot.server import running_app
    from slackbot.settings import Settings

    workspace = DemoWorkspace(post_rate_per_channel=args.rate_limit)
    api_url = await workspace.start(port=0 if args.script else args.port)
    stand_in = None
    api_key = os.environ.get("OPENAI_API_KEY", "").strip()
    base_url = os.environ.get("OPENAI_BASE_URL", "").strip() or None
    if not api_key:
        stand_in = OpenAIServer(delay=0.0 if args.script else 0.4)
        base_url, api_key = await stand_in.start(), "offline-stand-in"
    settings = Settings(
        slack_bot_token=workspace.bot_token,
        slack_signing_secret=workspace.signing_secret,
        slack_api_url=api_url,
        port=0,
        data_dir=args.data_dir,
        openai_api_key=api_key,
        openai_base_url=base_url,
        openai_model=os.environ.get("OPENAI_MODEL", "").strip() or "gpt-4o-mini",
    )
    model = "the offline stand-in model" if stand_in else f"{settings.openai_model} (real LLM)"
    try:
        async with running_app(settings, host="127.0.0.1") as app:
            workspace.app_url = app.url
            if args.script:
                ana, ben = list(PEOPLE)
                root_ts = await scripted_session(workspace, CHANNEL, args.topic, ana, ben)
                print(f"#demo, with {model}:\n")
                print(thread_transcript(workspace.thread(CHANNEL, root_ts), NAMES))
                return 0
            print(f"\n  Offline demo ready, using {model}.")
            print(f"  Open {workspace.page_url} and type /orchestrate <topic>.  Ctrl-C stops.\n")
            stop = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            await stop.wait()
            return 0
    finally:
        await workspace.close()
        if stand_in:
            await stand_in.close()


def main(argv: list[str] | None = None) -> int:
    from dotenv import load_dotenv

    load_dotenv()
    os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
    args = parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "WARNING" if args.script else "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run(args))
    return 130


if __name__ == "__main__":
    sys.exit(main())
