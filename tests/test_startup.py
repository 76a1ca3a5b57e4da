"""`python -m slackbot` when something is wrong: one line saying what, quickly, no traceback."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest
from aiohttp import web

from slackbot.demo.process import free_port

GOOD_BOT_TOKEN = "xoxb-good"


class FakeSlack:
    """Stands in for Slack's Web API at start-up: auth.test and apps.connections.open."""

    def __init__(self, connections_open: str = "invalid_auth") -> None:
        self.connections_open = connections_open  # "invalid_auth" or "unavailable" (HTTP 503)
        self.calls: list[str] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/api/"
        return self

    async def close(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls.append(method)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if method == "auth.test" and token == GOOD_BOT_TOKEN:
            return web.json_response(
                {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1"}
            )
        if method == "apps.connections.open" and self.connections_open == "unavailable":
            return web.json_response({"ok": False, "error": "service_unavailable"}, status=503)
        return web.json_response({"ok": False, "error": "invalid_auth"})


@pytest.fixture
async def fake_slack():
    slack = await FakeSlack().start()
    yield slack
    await slack.close()


def app_env(tmp_path: Path, slack_url: str, **values: str) -> dict[str, str]:
    """The environment of a start: only what the test sets, in a folder without a .env."""
    kept = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "OPENAI_", "ORCHESTRATE_"))
        and k not in {"DATABASE_URL", "PORT", "LOG_LEVEL"}
    }
    settings = {
        "SLACK_BOT_TOKEN": GOOD_BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": slack_url,
        "OPENAI_API_KEY": "test",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
        "PORT": str(free_port()),
        "ORCHESTRATE_DATA_DIR": str(tmp_path / "data"),
    }
    return kept | {k: v for k, v in (settings | values).items() if v is not None}


async def start_app(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "slackbot", cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def run_app(env: dict[str, str], cwd: Path, timeout: float = 30.0):
    """(exit code, stderr lines, seconds) of a start that is expected to stop by itself."""
    began = time.monotonic()
    process = await start_app(env, cwd)
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), timeout)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode, stderr.decode().strip().splitlines(), time.monotonic() - began


def assert_one_line(lines: list[str], *words: str) -> None:
    text = "\n".join(lines)
    assert len(lines) == 1 and "Traceback" not in text, text
    assert lines[0].startswith("slack-orchestrate: "), text
    for word in words:
        assert word in lines[0], text


# The interpreter and its imports take about 2-3 s here before any of our code runs.
QUICK = 10.0


async def test_every_missing_setting_is_named_in_one_line(tmp_path):
    env = app_env(tmp_path, "", SLACK_BOT_TOKEN=None, SLACK_SIGNING_SECRET=None,
                  OPENAI_API_KEY=None, SLACK_API_URL=None)  # fmt: skip
    code, lines, seconds = await run_app(env, tmp_path)
    assert code == 2 and seconds < QUICK
    assert_one_line(lines, "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "OPENAI_API_KEY")


async def test_port_out_of_range_is_one_line(tmp_path, fake_slack):
    code, lines, _ = await run_app(app_env(tmp_path, fake_slack.url, PORT="70000"), tmp_path)
    assert code == 2
    assert_one_line(lines, "PORT", "70000")


async def test_bot_token_slack_rejects_stops_start_up(tmp_path, fake_slack):
    env = app_env(tmp_path, fake_slack.url, SLACK_BOT_TOKEN="hello")
    code, lines, seconds = await run_app(env, tmp_path)
    assert code == 2 and seconds < QUICK
    assert_one_line(lines, "Slack rejected SLACK_BOT_TOKEN", "invalid_auth")
    assert fake_slack.calls == ["auth.test"]


async def test_unreachable_database_is_one_line_naming_the_host(tmp_path, fake_slack):
    closed = free_port()
    url = f"postgresql://orchestrate:secret-pw@127.0.0.1:{closed}/orchestrate"
    env = app_env(tmp_path, fake_slack.url, DATABASE_URL=url)
    code, lines, seconds = await run_app(env, tmp_path)
    assert code == 1 and seconds < QUICK
    assert_one_line(lines, "database", f"127.0.0.1:{closed}")
    assert "secret-pw" not in lines[0]


async def test_port_in_use_is_one_line(tmp_path, fake_slack):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code, lines, seconds = await run_app(app_env(tmp_path, fake_slack.url, PORT=port), tmp_path)
    assert code == 1 and seconds < QUICK
    assert_one_line(lines, f"port {port}", "in use")


async def test_unwritable_data_dir_is_one_line(tmp_path, fake_slack):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = app_env(tmp_path, fake_slack.url, ORCHESTRATE_DATA_DIR=str(blocker / "data"))
    code, lines, seconds = await run_app(env, tmp_path)
    assert code == 1 and seconds < QUICK
    assert_one_line(lines, "ORCHESTRATE_DATA_DIR", str(blocker / "data"))


async def test_socket_mode_app_token_slack_rejects_stops_start_up(tmp_path, fake_slack):
    env = app_env(tmp_path, fake_slack.url, SLACK_APP_TOKEN="xapp-rejected")
    code, lines, seconds = await run_app(env, tmp_path)
    assert code == 2 and seconds < QUICK
    assert_one_line(lines, "Slack rejected SLACK_APP_TOKEN", "invalid_auth")
    assert fake_slack.calls == ["auth.test", "apps.connections.open"]


async def read_lines_for(
    process: asyncio.subprocess.Process, seconds: float, until: str | None = None
) -> list[str]:
    """The app's log lines for `seconds`, or until one contains `until`."""
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = await asyncio.wait_for(process.stderr.readline(), left)
        except TimeoutError:
            break
        if not line:
            break
        lines.append(line.decode().rstrip())
        if until and until in lines[-1]:
            break
    return lines


@pytest.mark.parametrize(
    ("slack", "stop"),
    [("closed port", signal.SIGTERM), ("closed port", signal.SIGINT), ("503", signal.SIGTERM)],
)
async def test_socket_mode_while_slack_is_unreachable(tmp_path, slack, stop):
    """One line per failed attempt, further apart each time; a signal ends it cleanly."""
    fake = await FakeSlack(connections_open="unavailable").start()
    try:
        url = f"http://127.0.0.1:{free_port()}/api/" if slack == "closed port" else fake.url
        process = await start_app(app_env(tmp_path, url, SLACK_APP_TOKEN="xapp-1"), tmp_path)
        try:
            lines = await read_lines_for(process, 7.0)
            process.send_signal(stop)
            began = time.monotonic()
            _, rest = await asyncio.wait_for(process.communicate(), 10)
            stopped_in = time.monotonic() - began
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    finally:
        await fake.close()
    text = "\n".join(lines + rest.decode().splitlines())
    assert "Traceback" not in text, text
    attempts = [line for line in lines if "cannot reach Slack" in line]
    assert 2 <= len(attempts) <= 4, text  # back-off: 1 s, 2 s, 4 s …
    assert "retrying in 1 s" in attempts[0] and "retrying in 2 s" in attempts[1], text
    assert all(line.count("\n") == 0 for line in attempts)
    assert "listening" not in text
    assert process.returncode == 0 and stopped_in < 5, text


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
async def test_a_running_app_stops_cleanly_on_a_signal(tmp_path, fake_slack, stop):
    env = app_env(tmp_path, fake_slack.url)
    process = await start_app(env, tmp_path)
    try:
        lines = await read_lines_for(process, 20.0, until="listening")
        assert "listening" in lines[-1], "\n".join(lines)
        process.send_signal(stop)
        began = time.monotonic()
        _, rest = await asyncio.wait_for(process.communicate(), 10)
        stopped_in = time.monotonic() - began
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = "\n".join(lines + rest.decode().splitlines())
    assert process.returncode == 0 and stopped_in < 5, text
    assert "shutting down" in text and "Traceback" not in text


async def test_a_graph_spec_that_gives_no_graph_stops_start_up_in_one_line(tmp_path, fake_slack):
    (tmp_path / "broken.py").write_text("raise RuntimeError('bad config')\n")
    env = app_env(tmp_path, fake_slack.url, ORCHESTRATE_GRAPH="./broken.py:graph")
    code, lines, seconds = await run_app(env, tmp_path)
    assert code == 2 and seconds < QUICK
    assert_one_line(lines, "graph 'broken'", "RuntimeError: bad config")
