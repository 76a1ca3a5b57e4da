"""Settings are read once from the environment; a missing one is one clear line, not a traceback."""

import os
import subprocess
import sys

import pytest

from slackbot.settings import Settings, SettingsError, StartupError

HTTP_ENV = {
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_SIGNING_SECRET": "secret",
    "OPENAI_API_KEY": "sk-1",
}


def test_port_range_ends_are_accepted():
    assert Settings.from_env(HTTP_ENV | {"PORT": "1"}).port == 1
    assert Settings.from_env(HTTP_ENV | {"PORT": "65535"}).port == 65535


def test_http_mode_reads_every_documented_name():
    settings = Settings.from_env(
        HTTP_ENV
        | {
            "PORT": "8080",
            "DATABASE_URL": "postgresql://u@h/db",
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "OPENAI_MODEL": "m",
            "ORCHESTRATE_APPROVERS": "U1, U2,,",
            "LOG_LEVEL": "debug",
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
        }
    )
    assert settings.port == 8080
    assert settings.approvers == frozenset({"U1", "U2"})
    assert settings.log_level == "DEBUG"
    assert settings.openai_model == "m"
    assert settings.database_url == "postgresql://u@h/db"
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert not settings.socket_mode


def test_defaults():
    settings = Settings.from_env(HTTP_ENV)
    assert (settings.port, settings.openai_model, settings.log_level) == (
        3000,
        "gpt-4o-mini",
        "INFO",
    )
    assert settings.database_url is None and settings.approvers == frozenset()


def test_socket_mode_needs_no_signing_secret():
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "OPENAI_API_KEY": "k"}
    assert Settings.from_env(env).socket_mode


@pytest.mark.parametrize("missing", sorted(HTTP_ENV))
def test_missing_required_setting_names_it(missing):
    env = {k: v for k, v in HTTP_ENV.items() if k != missing}
    with pytest.raises(SettingsError, match=missing):
        Settings.from_env(env)


def test_every_missing_setting_is_named_at_once():
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"PORT": "70000"})
    message = str(error.value)
    for name in [*HTTP_ENV, "PORT"]:
        assert name in message
    assert "\n" not in message and error.value.exit_code == 2
    assert isinstance(error.value, StartupError)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "abc"),
        ("PORT", "0"),
        ("PORT", "70000"),
        ("DATABASE_URL", "mysql://x"),
        ("SLACK_APP_TOKEN", "xoxb-wrong"),
        ("ORCHESTRATE_LEASE_SECONDS", "nan"),
        ("ORCHESTRATE_LEASE_SECONDS", "inf"),
    ],
)
def test_invalid_values_are_refused(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(HTTP_ENV | {name: value})


def test_settings_are_frozen():
    settings = Settings.from_env(HTTP_ENV)
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


def test_entry_point_without_settings_prints_one_line_and_fails(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    result = subprocess.run(
        [sys.executable, "-m", "slackbot"],
        cwd=tmp_path,  # no .env here
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SLACK_BOT_TOKEN" in lines[0] and "Traceback" not in result.stderr


def test_durations_are_written_like_30s_15m_4h_3d():
    from slackbot.settings import parse_duration

    assert [parse_duration(t) for t in ("30s", "15m", "4h", "3d", "1.5h")] == [
        30,
        900,
        14_400,
        259_200,
        5_400,
    ]
    for bad in ("", "10", "3 weeks", "-4h", "0m", "h"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_entry_point_reads_the_env_file_of_the_working_directory(tmp_path):
    """README runs `python -m slackbot` from the person's own project: its .env counts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    env.pop("PORT", None)
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-1\nSLACK_SIGNING_SECRET=s\nOPENAI_API_KEY=k\nPORT=0\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "slackbot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "PORT must be between" in line and "SLACK_BOT_TOKEN" not in line, line


def test_follow_ups_and_double_texting_default_and_read_any_case():
    settings = Settings.from_env(HTTP_ENV)
    assert (settings.follow_ups, settings.double_text) == ("mention", "queue")
    chosen = {"ORCHESTRATE_FOLLOW_UPS": " ALL ", "ORCHESTRATE_DOUBLE_TEXT": "Reject"}
    settings = Settings.from_env(HTTP_ENV | chosen)
    assert (settings.follow_ups, settings.double_text) == ("all", "reject")


def test_unknown_follow_ups_and_double_texting_are_named_in_one_line():
    wrong = {"ORCHESTRATE_FOLLOW_UPS": "everything", "ORCHESTRATE_DOUBLE_TEXT": "interrupt"}
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(HTTP_ENV | wrong)
    line = str(raised.value)
    assert "\n" not in line
    assert "ORCHESTRATE_FOLLOW_UPS must be mention or all, got 'everything'" in line
    assert "ORCHESTRATE_DOUBLE_TEXT must be queue or reject, got 'interrupt'" in line
