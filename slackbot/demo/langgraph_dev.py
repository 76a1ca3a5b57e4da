"""A real LangGraph Agent Server for tests and benchmarks: `langgraph dev --no-browser
--no-reload` (langgraph-cli[inmem]) as a subprocess on a free port, offline, serving the graphs
of a `langgraph.json` it is given. Its in-memory state is kept in its folder (`.langgraph_api`),
so a server stopped with SIGTERM and started again in the same folder has its threads back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slackbot.demo.process import free_port

REPOSITORY = Path(__file__).resolve().parents[2]
START_SECONDS = 90.0


def repository_graphs() -> dict[str, Any]:
    """The graphs of the repository's own `langgraph.json`, their paths made absolute."""
    config = json.loads((REPOSITORY / "langgraph.json").read_text())
    return {
        name: entry | {"path": str(REPOSITORY / entry["path"])}
        for name, entry in config["graphs"].items()
    }


@dataclass
class LangGraphServer:
    folder: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)  # on top of this process's environment
    process: subprocess.Popen | None = None
    started_in: float = 0.0  # seconds from the last launch to a 200 on /ok

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / "langgraph-dev.log"

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def start(self) -> LangGraphServer:
        """Launch on the same port and folder, and wait until it answers /ok."""
        langgraph = Path(sys.executable).parent / "langgraph"
        env = {
            **os.environ,
            "LANGGRAPH_CLI_NO_ANALYTICS": "1",
            "LANGSMITH_TRACING": "false",
            **self.env,
        }
        began = time.monotonic()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(langgraph), "dev", "--no-browser", "--no-reload", "--port", str(self.port),
                 "--config", str(self.folder / "langgraph.json")],
                cwd=self.folder, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        while time.monotonic() - began < START_SECONDS:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"langgraph dev exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.url + "/ok", timeout=1) as response:
                    if response.status == 200:
                        self.started_in = time.monotonic() - began
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(
            f"langgraph dev did not answer /ok in {START_SECONDS:g} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """SIGTERM: the server writes its state to its folder before it exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def serve(
    folder: Path, graphs: dict[str, Any], env: dict[str, str] | None = None
) -> LangGraphServer:
    """A `langgraph.json` serving `graphs` (name → path or {path, description}) in `folder`,
    served by a new `langgraph dev` on a free port."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {"dependencies": ["."], "graphs": graphs}
    (folder / "langgraph.json").write_text(json.dumps(config, indent=2))
    return LangGraphServer(folder, free_port(), dict(env or {})).start()
