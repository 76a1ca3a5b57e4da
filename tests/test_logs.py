"""LOG_FORMAT=json: one JSON object per line, naming the run and review a line is about."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import signal

import pytest

from slackbot.blocks import ACTION_APPROVE
from slackbot.demo.process import free_port
from slackbot.demo.script import open_reviews
from slackbot.demo.slack_emulator import SlackEmulator
from slackbot.logs import JsonFormatter, bind_log_context, setup_logging
from slackbot.settings import Settings, SettingsError
from tests.test_startup import app_env, read_lines_for, run_app, start_app

CHANNEL, ANA = "CGENERAL", "UANA"
HTTP_ENV = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "OPENAI_API_KEY": "k"}


def json_logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, lines


def parsed(lines: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in lines.getvalue().split("\n") if line]


def test_log_format_is_text_or_json():
    assert Settings.from_env(HTTP_ENV).log_format == "text"
    assert Settings.from_env(HTTP_ENV | {"LOG_FORMAT": " JSON "}).log_format == "json"
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(HTTP_ENV | {"LOG_FORMAT": "xml", "PORT": "0"})
    message = str(refused.value)
    assert "LOG_FORMAT must be text or json, got 'xml'" in message and "PORT" in message
    assert "\n" not in message  # with the other problems, in the one-line report


def test_a_line_is_one_object_with_an_exception_on_one_line():
    log, lines = json_logger("tests.logs.plain")
    log.info("hello %s", "there")
    log.warning("about a run", extra={"run_id": "r1", "review_id": "v1"})
    try:
        raise ValueError("two\nlines  and  spaces")
    except ValueError:
        log.exception("it failed:\nbadly")
    log.info("unicode … \u2028 stays on its line")
    text = lines.getvalue()
    assert text.count("\n") == 4 and text.isascii()
    plain, about, failed, unicode = parsed(lines)
    assert plain["message"] == "hello there" and plain["level"] == "INFO"
    assert plain["logger"] == "tests.logs.plain" and plain["time"].endswith("Z")
    assert "run_id" not in plain and "error" not in plain
    assert (about["run_id"], about["review_id"]) == ("r1", "v1")
    assert failed["message"] == "it failed:\nbadly" and failed["level"] == "ERROR"
    assert failed["error"] == "ValueError: two lines and spaces"
    assert failed["exc_info"].startswith("Traceback") and "raise ValueError" in failed["exc_info"]
    assert unicode["message"] == "unicode … \u2028 stays on its line"


async def test_each_task_logs_its_own_run_and_nothing_leaks():
    log, lines = json_logger("tests.logs.tasks")

    async def drive(run_id: str, review_id: str | None) -> None:
        bind_log_context(run_id, review_id)
        for _ in range(3):
            log.info("working on %s", run_id)
            await asyncio.sleep(0)

    await asyncio.gather(drive("run-a", None), drive("run-b", "review-b"))
    log.info("between runs")
    entries = parsed(lines)
    for entry in entries[:-1]:
        assert entry["message"] == f"working on {entry['run_id']}"
        assert entry.get("review_id") == ("review-b" if entry["run_id"] == "run-b" else None)
    assert "run_id" not in entries[-1] and "review_id" not in entries[-1]


def test_setup_logging_installs_one_handler_on_the_root(monkeypatch):
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # restored afterwards
    monkeypatch.setattr(root, "level", root.level)
    stream = io.StringIO()
    setup_logging("INFO", "json", stream)
    logging.getLogger("tests.logs.root").info("through the root")
    assert len(root.handlers) == 1
    assert json.loads(stream.getvalue())["message"] == "through the root"


async def test_python_m_slackbot_writes_json_lines_with_run_and_review(tmp_path, llm_server):
    """The real entry point against the Slack emulator: a run whose plan fails (the exception
    logged with its run) and a click Slack refuses to show (logged with run and review)."""
    slack = SlackEmulator()
    await slack.start()
    slack.add_channel(CHANNEL, ANA)
    port = free_port()
    slack.app_url = f"http://127.0.0.1:{port}"
    env = app_env(
        tmp_path,
        slack.base_url + "/api/",
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_SIGNING_SECRET=slack.signing_secret,
        OPENAI_BASE_URL=llm_server.base_url,
        PORT=str(port),
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
    )
    process = await start_app(env, tmp_path)
    try:
        lines = await read_lines_for(process, 30.0, until="listening")
        assert "listening" in lines[-1], "\n".join(lines)

        llm_server.fail_next(3, status=500)  # the plan of the first run, and its 2 retries
        await slack.slash_command(ANA, CHANNEL, "Open an office in Berlin")
        first = (await slack.wait_for(lambda: slack.roots(CHANNEL)))[0]
        await slack.wait_for(lambda: "Stopped" in str(first.blocks))

        await slack.slash_command(ANA, CHANNEL, "Open an office in Lisbon")
        root = await slack.wait_for(
            lambda: len(slack.roots(CHANNEL)) > 1 and slack.roots(CHANNEL)[1]
        )
        await slack.wait_for(lambda: "0 of 3 in" in str(root.blocks))  # no update pending
        review = next(iter(open_reviews(slack, CHANNEL, root.ts).values()))
        slack.fail_next("chat.update", status=400)
        clicked = slack.find_button(review, ACTION_APPROVE)[0]["value"]
        await slack.click(ANA, review, ACTION_APPROVE)
        lines += await read_lines_for(process, 10.0, until="could not update review")

        process.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(process.communicate(), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await slack.close()
    lines += rest.decode().splitlines()
    assert process.returncode == 0, "\n".join(lines)

    entries = [json.loads(line) for line in lines]  # every line, whoever logged it
    assert all({"time", "level", "logger", "message"} <= e.keys() for e in entries)
    stopped = [e for e in entries if e["message"].endswith(" stopped")]
    assert len(stopped) == 1, lines
    assert stopped[0]["message"] == f"run {stopped[0]['run_id']} stopped"
    assert stopped[0]["error"].startswith("OpenAIAPIError: Error code: 500")
    assert "Traceback" in stopped[0]["exc_info"]
    calls = [e for e in entries if e["message"].startswith("HTTP Request: POST")]
    assert calls and all(e.get("run_id") for e in calls)  # the LLM calls, made by a run's driver
    refused = [e for e in entries if e["message"].startswith("could not update review")]
    assert len(refused) == 1, lines
    assert refused[0]["message"].startswith(f"could not update review {refused[0]['review_id']}:")
    assert refused[0]["run_id"] != stopped[0]["run_id"]  # the second run's
    stored = [e for e in entries if e["message"].startswith("stored UANA's answer")]
    assert len(stored) == 1 and stored[0]["level"] == "INFO", lines
    assert (stored[0]["run_id"], stored[0]["review_id"]) == (refused[0]["run_id"], clicked)
    assert f"review {clicked} of run {stored[0]['run_id']}" in stored[0]["message"]
    assert "run_id" not in next(e for e in entries if "listening" in e["message"])


async def test_an_unknown_log_format_stops_start_up_in_one_line(tmp_path):
    code, lines, _ = await run_app(app_env(tmp_path, "", LOG_FORMAT="xml"), tmp_path)
    assert code == 2 and len(lines) == 1
    assert "LOG_FORMAT must be text or json, got 'xml'" in lines[0]
