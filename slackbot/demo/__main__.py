"""`python -m slackbot.demo`: the app, a local Slack emulator with a web page, and an LLM.

The LLM is an offline stand-in unless OPENAI_API_KEY looks real: sk-… and over 20 characters
(any shape when OPENAI_BASE_URL is set), without placeholder words such as your/key/here, dots
or xxxxx. Ana is the only approver unless --anyone-approves; Ben can start runs and chat in
threads. Without --graph the demo hosts the built-in graph (the default for /orchestrate) and a
chat agent (graphs/examples/chat.py) to talk to: mention @Orchestrator in #demo or write to it in
its Messages tab. `--script` plays a short session as Ana and Ben and prints the thread, then exits.
`--socket-mode` runs the app in Socket Mode: it connects to the emulator over a WebSocket.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slackbot.demo.workspace import DemoWorkspace

CHAT_AGENT = "graphs.examples.chat:make_graph"  # hosted beside the built-in graph by default
APPROVER = "UANA"  # Ana; Ben (UBEN) is not an approver unless --anyone-approves
STATE_FILE = "slack-emulator.json"  # the emulated channel, kept in --data-dir between sessions
CLOSE_TIMEOUT = 2.0  # seconds Ctrl-C waits for the page and the app to close
TOKEN_DELAY = 1 / 40  # seconds between the stand-in model's streamed tokens (about 40/s)
# Words that mark a key from .env.example or a README rather than a real key.
PLACEHOLDER_WORDS = frozenset(
    {"your", "key", "here", "api", "openai", "changeme", "change", "me", "placeholder"}
    | {"example", "replace", "secret", "token", "dummy", "fake", "todo", "insert", "paste"}
)


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
    parser.add_argument(
        "--topic", default="a launch plan for our Berlin office", help="the topic --script uses"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the app's SQLite files and the emulated channel live (default data/demo; "
        "--script uses a fresh temporary directory)",
    )
    parser.add_argument(
        "--anyone-approves",
        action="store_true",
        help="let anyone answer reviews (default: only Ana may approve, revise or retry)",
    )
    parser.add_argument(
        "--graph",
        metavar="SPEC",
        default=None,
        help="host another graph: ./path/file.py:attr, package.module:attr or a langgraph.json, "
        "relative to the working directory (default: ORCHESTRATE_GRAPH if set, else the "
        "built-in orchestration graph and the chat agent of graphs/examples/chat.py)",
    )
    parser.add_argument(
        "--rules",
        type=Path,
        default=Path(__file__).parent / "rules.toml",
        help="who answers which reviews (ORCHESTRATE_RULES; default: the demo's rules.toml)",
    )
    parser.add_argument(
        "--socket-mode",
        action="store_true",
        help="run the app in Socket Mode (an app-level token, a WebSocket to the emulator) "
        "instead of HTTP mode",
    )
    parser.add_argument(
        "--stand-in",
        action="store_true",
        help="use the offline stand-in model even when OPENAI_API_KEY is set",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="with --script: give up when nothing happens for this long (default 60)",
    )
    return parser.parse_args(argv)


def placeholder_problem(key: str, base_url: str | None) -> str | None:
    """Why `key` is not used as a real key, or None when it looks real.

    A real-looking key is made of letters, digits, `-` and `_` only (no `...`, `…`, `<>` or
    spaces), has no placeholder word such as `your`, `key` or `here` between its dashes, and no
    run of five equal characters (`xxxxx`). Without OPENAI_BASE_URL it must also be an OpenAI
    key: `sk-` and more than 20 characters. With OPENAI_BASE_URL any such key counts, since
    other OpenAI-compatible servers have keys of their own shapes.
    """
    if not key:
        return "OPENAI_API_KEY is not set"
    placeholder = "OPENAI_API_KEY looks like a placeholder, not a real key"
    if not re.fullmatch(r"[A-Za-z0-9_-]+", key) or re.search(r"(.)\1{4}", key):
        return placeholder
    if any(part.lower() in PLACEHOLDER_WORDS for part in re.split(r"[-_]", key)):
        return placeholder
    if base_url is None and not (key.startswith("sk-") and len(key) > 20):
        return placeholder + " (an OpenAI key starts with sk- and is longer)"
    return None


@dataclass(frozen=True)
class LLMChoice:
    """Which model the demo uses, and the one line that says so."""

    stand_in: bool
    why: str = ""  # for the stand-in: why the real model is not used
    api_key: str = ""
    base_url: str | None = None
    model: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, force_stand_in: bool = False) -> LLMChoice:
        key = env.get("OPENAI_API_KEY", "").strip()
        base_url = env.get("OPENAI_BASE_URL", "").strip() or None
        why = "--stand-in" if force_stand_in else placeholder_problem(key, base_url)
        if why:
            return cls(stand_in=True, why=why)
        model = env.get("OPENAI_MODEL", "").strip() or "gpt-4o-mini"
        return cls(stand_in=False, api_key=key, base_url=base_url, model=model)

    @property
    def name(self) -> str:
        return "the offline stand-in model" if self.stand_in else f"{self.model} (real LLM)"

    @property
    def line(self) -> str:
        if self.stand_in:
            hint = "" if self.why == "--stand-in" else "; a real key uses a real model"
            return f"LLM: the offline stand-in model ({self.why}{hint})"
        where = self.base_url or "OpenAI"
        return f"LLM: {self.model} at {where} (real model, from OPENAI_API_KEY)"


async def run(args: argparse.Namespace, llm: LLMChoice, data_dir: Path) -> int:
    from slackbot.demo.openai_server import STAND_IN_MODEL, OpenAIServer
    from slackbot.demo.script import ScriptStopped, scripted_session
    from slackbot.demo.transcript import thread_transcript
    from slackbot.demo.workspace import CHANNEL, NAMES, PEOPLE, DemoWorkspace
    from slackbot.engine.loading import GraphLoadError
    from slackbot.prompts import talk_example
    from slackbot.rules import load_rules
    from slackbot.server import running_app
    from slackbot.settings import Settings

    if args.script:
        workspace = DemoWorkspace(post_rate_per_channel=args.rate_limit)
    else:
        workspace = DemoWorkspace(
            post_rate_per_channel=args.rate_limit, state_file=data_dir / STATE_FILE
        )
    stand_in = None
    if llm.stand_in:  # interactive: a model one can watch write (about 40 tokens a second)
        interactive = not args.script
        stand_in = OpenAIServer(delay=0.4 * interactive, token_delay=TOKEN_DELAY * interactive)
    closed = False

    async def close_all() -> None:
        nonlocal closed
        if not closed:
            closed = True
            await close_promptly(workspace)
            if stand_in:
                await stand_in.close()

    try:
        try:
            api_url = await workspace.start(port=0 if args.script else args.port)
        except OSError as error:
            why = os.strerror(error.errno) if error.errno else str(error)
            print(f"demo: cannot serve the page on port {args.port} ({why}); "
                  "choose another with --port", file=sys.stderr)  # fmt: skip
            return 1
        restored = sum(1 for m in workspace.messages.values() if m.channel == CHANNEL)
        if restored:
            print(
                f"Restored {restored} messages from the last session "
                f"(delete {data_dir} to start afresh).",
                flush=True,
            )
        base_url, api_key, model = llm.base_url, llm.api_key, llm.model
        if stand_in:
            base_url, api_key, model = await stand_in.start(), "offline", STAND_IN_MODEL
            # Graphs of --graph that build their own model (graphs/examples/agent*.py) read
            # these when the app loads them: point them at the stand-in too.
            os.environ.update(OPENAI_BASE_URL=base_url, OPENAI_API_KEY=api_key, OPENAI_MODEL=model)
        settings = Settings(
            slack_bot_token=workspace.bot_token,
            slack_signing_secret=workspace.signing_secret,
            slack_api_url=api_url,
            port=0,
            data_dir=data_dir,
            openai_api_key=api_key,
            openai_base_url=base_url,
            openai_model=model,
            approvers=frozenset() if args.anyone_approves else frozenset({APPROVER}),
            graph_spec=args.graph or CHAT_AGENT,
            with_builtin=args.graph is None,
            rules=load_rules(args.rules),
            slack_app_token=workspace.app_token if args.socket_mode else None,
        )
        mode = " (the app in Socket Mode)" if args.socket_mode else ""
        async with running_app(settings, host="127.0.0.1") as app:
            workspace.app_url = app.url
            catalog = app.services.orchestrator.catalog
            workspace.example = catalog.example_command()
            workspace.talk_example = talk_example(catalog)
            if args.script:
                ana, ben = list(PEOPLE)
                try:
                    session = await scripted_session(
                        workspace,
                        CHANNEL,
                        args.topic,
                        ana,
                        ben,
                        ben_may_answer=args.anyone_approves,
                        stall_timeout=args.timeout,
                    )
                except ScriptStopped as error:
                    print(f"demo: {error}. {script_hint(llm)}", file=sys.stderr)
                    return 1
                thread = workspace.thread(CHANNEL, session.root_ts)
                print(f"#demo, with {llm.name}{mode}:\n")
                print(thread_transcript(thread, NAMES, session.asides, workspace.streams))
                return 0
            approvers = (
                "anyone may approve" if args.anyone_approves else "Ana approves, Ben may not"
            )
            print(f"\n  Offline demo ready{mode}, using {llm.name}; {approvers}.")
            print(f"  Open {workspace.page_url} and type /orchestrate <topic>.  Ctrl-C stops.")
            if workspace.talk_example:
                print(f"  Or talk to an agent: {workspace.talk_example}")
            print(flush=True)
            sys.stdout.flush()  # for a terminal that is a pipe (tee, a test)
            await stop_requested()
            print("  Stopping…", flush=True)
            await close_all()  # the page first: its long polls must not hold the app's exit
            return 0
    except GraphLoadError as error:  # the graph named cannot be hosted: say so in one line
        print(f"demo: {str(error).replace('ORCHESTRATE_GRAPH', args.graph_from)}", file=sys.stderr)
        return 2
    finally:
        await close_all()


async def close_promptly(workspace: DemoWorkspace) -> None:
    """Close the emulator and its page without waiting out the page's long polls."""
    workspace.wake_all()  # open long polls answer now instead of after up to 25 s
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(workspace.close(), CLOSE_TIMEOUT)


async def stop_requested() -> None:
    """Wait for the first Ctrl-C or SIGTERM; a second Ctrl-C then stops at once."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def script_hint(llm: LLMChoice) -> str:
    if llm.stand_in:
        return "Set LOG_LEVEL=INFO to see the app's log"
    return (
        f"Check OPENAI_API_KEY, OPENAI_BASE_URL ({llm.base_url or 'unset'}) and OPENAI_MODEL "
        f"({llm.model}), or use --stand-in; LOG_LEVEL=INFO shows the app's log"
    )


def main(argv: list[str] | None = None) -> int:
    from slackbot.settings import load_env_file

    asked_log_level = os.environ.get("LOG_LEVEL", "").strip().upper()  # before .env's
    load_env_file()
    os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
    args = parse_args(argv)
    args.graph_from = "--graph"  # what a one-line error about the graph names
    if args.graph is None and os.environ.get("ORCHESTRATE_GRAPH", "").strip():
        args.graph, args.graph_from = os.environ["ORCHESTRATE_GRAPH"].strip(), "ORCHESTRATE_GRAPH"
    if args.script and args.graph:
        fix = "drop --graph" if args.graph_from == "--graph" else "unset ORCHESTRATE_GRAPH"
        print(f"demo: --script plays the built-in graph only; {fix} or --script",
              file=sys.stderr)  # fmt: skip
        return 2
    llm = LLMChoice.from_env(os.environ, force_stand_in=args.stand_in)
    print(llm.line, flush=True)
    # --script prints the thread or one line of error, and the log only when LOG_LEVEL is set
    # in the environment (not from a .env copied from .env.example).
    level = asked_log_level if args.script else os.environ.get("LOG_LEVEL", "").strip().upper()
    if args.script and not level:
        logging.disable()
    logging.basicConfig(
        level=level or "INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with contextlib.ExitStack() as stack:
        if args.data_dir is not None:
            data_dir = args.data_dir
        elif args.script:  # every scripted session starts from nothing
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="demo-")))
        else:
            data_dir = Path("data/demo")
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            return asyncio.run(run(args, llm, data_dir))
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    sys.exit(main())
