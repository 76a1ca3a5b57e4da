"""`python -m slackbot.demo` as a new user runs it: which model, approver rules, ending, Ctrl-C."""

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from dotenv import dotenv_values

from slackbot.demo.__main__ import LLMChoice, placeholder_problem
from slackbot.demo.process import free_port

ROOT = Path(__file__).parents[2]
REAL_LOOKING = "sk-proj-" + "Ab3dE6gH9jK2mN5pQ8sT" * 2
NOT_APPROVER = "Only the approvers configured for this app can approve, revise or retry here."


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without this machine's LLM, Slack or log settings, plus `extra`."""
    prefixes = ("OPENAI_", "SLACK_", "ORCHESTRATE_", "LOG_LEVEL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return env | extra


def demo(
    *args: str, timeout: float = 120, cwd: Path = ROOT, command: tuple[str, ...] = (), **env: str
) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    result = subprocess.run(
        [*(command or (sys.executable, "-m", "slackbot.demo")), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(**env),
        cwd=cwd,
    )
    return result, time.monotonic() - started


@pytest.fixture
def closed_port_url():
    return f"http://127.0.0.1:{free_port()}/v1"


@pytest.fixture
def silent_llm_url():
    """An LLM that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"


# -- which model ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "",
        "sk-...",
        "sk-…",
        "sk-your-key",
        "your-key-here",
        "sk-your-openai-api-key-here",
        "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "sk-proj-...AbCdEfGhIjKlMnOpQrSt",
        "<your OpenAI key>",
        "changeme",
        "sk-short1234",
    ],
)
def test_a_placeholder_key_means_the_stand_in(key):
    assert placeholder_problem(key, None)
    assert LLMChoice.from_env({"OPENAI_API_KEY": key}).stand_in


def test_a_real_looking_key_means_the_real_model():
    assert placeholder_problem(REAL_LOOKING, None) is None
    assert placeholder_problem("sk-" + "q7Zr2Lm9Xc4Vb8Nt" * 3, None) is None
    # Another OpenAI-compatible server may use keys of any shape, but not placeholders.
    assert placeholder_problem("ollama", "http://localhost:11434/v1") is None
    assert placeholder_problem("your-key-here", "http://localhost:11434/v1")
    choice = LLMChoice.from_env({"OPENAI_API_KEY": REAL_LOOKING, "OPENAI_MODEL": "gpt-x"})
    assert not choice.stand_in and choice.model == "gpt-x"
    assert REAL_LOOKING not in choice.line  # a key is never printed
    forced = LLMChoice.from_env({"OPENAI_API_KEY": REAL_LOOKING}, force_stand_in=True)
    assert forced.stand_in


def test_a_copied_env_example_means_the_stand_in():
    values = {k: v or "" for k, v in dotenv_values(ROOT / ".env.example").items()}
    assert LLMChoice.from_env(values).stand_in


# -- --script ---------------------------------------------------------------------------------


def test_script_with_a_placeholder_key_plays_with_the_stand_in_and_approver_rules(
    tmp_path, closed_port_url
):
    result, _ = demo(
        "--script",
        "--data-dir",
        str(tmp_path),
        OPENAI_API_KEY="sk-your-key",
        OPENAI_BASE_URL=closed_port_url,  # never called: the key is a placeholder
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    first = out.splitlines()[0]
    assert first.startswith("LLM: the offline stand-in model (OPENAI_API_KEY looks like a placeh")
    assert "with the offline stand-in model" in out
    assert "Done: the summary is in the thread" in out
    # Ana is the only approver: Ben's click is refused, privately; Ana revises and approves.
    assert f'only @ben saw: "{NOT_APPROVER}"' in out
    assert "✏️ Revision requested by @ana" in out and "Approved by @ben" not in out
    assert out.count("✅ Approved by @ana") == 3
    assert "Revised draft by the Editor, addressing: Please make it shorter" in out
    assert "🧾 Summary" in out and "(reactions: memo)" in out
    assert "[offline stand-in model]" not in out and result.stderr == ""


def test_script_with_anyone_approving_lets_ben_revise(tmp_path):
    result, _ = demo(
        "--script", "--anyone-approves", "--stand-in", "--data-dir", str(tmp_path),
        OPENAI_API_KEY=REAL_LOOKING,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("LLM: the offline stand-in model (--stand-in)\n")
    assert "✏️ Revision requested by @ben" in result.stdout
    assert "✅ Approved by @ben" in result.stdout and "only @ben saw" not in result.stdout


def test_script_ends_with_one_line_when_the_llm_fails(tmp_path, closed_port_url):
    result, took = demo(
        "--script", "--data-dir", str(tmp_path), timeout=90,
        OPENAI_API_KEY=REAL_LOOKING, OPENAI_BASE_URL=closed_port_url,
    )  # fmt: skip
    assert result.returncode == 1
    assert took < 60
    assert result.stdout.startswith(f"LLM: gpt-4o-mini at {closed_port_url} (real model")
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("demo: the run stopped while waiting for the first drafts: ")
    assert "the LLM call failed" in lines[0] and "OPENAI_BASE_URL" in lines[0]


def test_script_gives_up_when_nothing_happens(tmp_path, silent_llm_url):
    result, took = demo(
        "--script", "--timeout", "3", "--data-dir", str(tmp_path), timeout=90,
        OPENAI_API_KEY=REAL_LOOKING, OPENAI_BASE_URL=silent_llm_url,
    )  # fmt: skip
    assert result.returncode == 1
    assert took < 40
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("demo: nothing happened for 3 s while waiting for the first drafts")


def test_script_refuses_another_graph():
    result, _ = demo("--script", "--graph", "graphs/examples/langgraph.json", timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "demo: --script plays the built-in graph only; drop --graph or --script"
    )


def test_a_graph_that_does_not_load_is_one_line(tmp_path):
    port = str(free_port())
    result, _ = demo("--graph", "./no/such/file.py:graph", "--port", port,
                     "--data-dir", str(tmp_path), timeout=60)  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("demo: --graph"), result.stderr[-3000:]


def test_orchestrate_graph_naming_no_file_is_refused_in_one_line(tmp_path):
    port = str(free_port())
    result, _ = demo("--port", port, "--data-dir", str(tmp_path), timeout=60,
                     ORCHESTRATE_GRAPH="./no/such/file.py:graph")  # fmt: skip
    assert result.returncode == 2, result.stdout[-2000:]
    lines = result.stderr.strip().splitlines()
    assert lines == [f"demo: ORCHESTRATE_GRAPH: there is no file {ROOT}/no/such/file.py"]


def test_script_refuses_a_graph_from_the_environment_too():
    result, _ = demo("--script", timeout=30, ORCHESTRATE_GRAPH="graphs/examples/langgraph.json")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "demo: --script plays the built-in graph only; unset ORCHESTRATE_GRAPH or --script"
    )


def test_scripts_demo_reads_graph_and_env_from_where_it_is_run(tmp_path):
    """`--graph ./x` is the person's ./x, and their folder's .env is read (its OPENAI_MODEL)."""
    (tmp_path / ".env").write_text("OPENAI_MODEL=from-the-cwd-env\nOPENAI_API_KEY=sk-" + "a1" * 20)
    port = str(free_port())
    result, _ = demo("--graph", "./mine.py:graph", "--port", port, "--data-dir",
                     str(tmp_path / "data"), timeout=120, cwd=tmp_path,
                     command=(str(ROOT / "scripts" / "demo"),))  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stdout.startswith("LLM: from-the-cwd-env at OpenAI"), result.stdout
    assert result.stderr.strip() == f"demo: --graph: there is no file {tmp_path}/mine.py"


def test_a_busy_port_is_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result, _ = demo("--port", port, "--data-dir", str(tmp_path), timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"demo: cannot serve the page on port {port} (Address already in use); "
        "choose another with --port"
    )


# -- the interactive demo ---------------------------------------------------------------------


class Interactive:
    """`python -m slackbot.demo` serving its page, read line by line."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "slackbot.demo", "--port", str(self.port),
             "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=clean_env(LOG_LEVEL="WARNING", **env), cwd=ROOT,
        )  # fmt: skip
        self.output = ""

    def read_until(self, text: str, timeout: float = 60) -> str:
        assert self.process.stdout is not None
        stream = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while text not in self.output:
            ready, _, _ = select.select([stream], [], [], max(0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError(f"no {text!r} in {self.output!r}")
            chunk = os.read(stream, 65536)
            if not chunk:
                raise AssertionError(f"exited before {text!r}: {self.output!r}")
            self.output += chunk.decode()
        return self.output

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def state(self, since: int = -1) -> dict:
        with urllib.request.urlopen(self.url(f"/ui/state?since={since}"), timeout=30) as r:
            return json.loads(r.read())

    def command(self, user: str, text: str) -> None:
        data = json.dumps({"user": user, "text": text}).encode()
        request = urllib.request.Request(
            self.url("/ui/command"), data, {"Content-Type": "application/json"}
        )
        urllib.request.urlopen(request, timeout=30).read()

    def stop(self) -> float:
        """Ctrl-C; how long the process took to exit."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)
        return time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def test_ctrl_c_stops_promptly_during_a_long_poll_and_the_channel_is_restored(tmp_path):
    first = Interactive(tmp_path)
    try:
        ready = first.read_until("Ctrl-C stops.")
        assert ready.startswith("LLM: the offline stand-in model (OPENAI_API_KEY is not set;")
        assert "Ana approves, Ben may not" in ready
        first.command("UANA", "an offsite for the team")
        state = first.state()
        while sum("Approve" in json.dumps(m) for m in state["messages"]) < 3:  # three reviews
            state = first.state(state["version"])  # (after the root and the streamed plan)
        # A page waiting in its long poll, as a browser tab always is.
        poll = subprocess.Popen(
            ["curl", "-s", "-o", "/dev/null", first.url(f"/ui/state?since={state['version']}")]
        )
        time.sleep(0.5)
        assert first.stop() < 5
        poll.wait(timeout=5)
        assert "Stopping…" in first.output + first.process.stdout.read().decode()
    finally:
        first.kill()
    assert (tmp_path / "slack-emulator.json").exists()

    second = Interactive(tmp_path)
    try:
        ready = second.read_until("Ctrl-C stops.")
        restored = len(state["messages"])
        assert f"Restored {restored} messages from the last session" in ready
        assert second.stop() < 5
    finally:
        second.kill()


def test_the_demo_hosts_the_graphs_orchestrate_graph_names(tmp_path):
    """README: `ORCHESTRATE_GRAPH=graphs/examples/langgraph.json scripts/demo`."""
    demo = Interactive(tmp_path, ORCHESTRATE_GRAPH="graphs/examples/langgraph.json")
    try:
        demo.read_until("Ctrl-C stops.")
        demo.command("UANA", "help")
        state = demo.state()
        while not state["notices"]:
            state = demo.state(state["version"])
        help_text = state["notices"][-1]["text"]
        assert "approval" in help_text and "agent_inbox" in help_text, help_text
    finally:
        demo.kill()
