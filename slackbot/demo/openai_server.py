"""A local OpenAI-compatible Chat Completions server: the tests' LLM and the demo's stand-in model.

It answers `POST /v1/chat/completions` in OpenAI's wire format and records every request body.
Answers come, in order of preference, from `script` (canned contents queued by a test), else from
a deterministic stand-in that labels every text it writes with `STAND_IN_LABEL`. `fail_next()`
makes the next calls answer an HTTP error; `delay` makes every call take that long.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections import deque
from typing import Any

from aiohttp import web

STAND_IN_LABEL = "[offline stand-in model]"
_STAND_IN_PLAN = [
    ("researcher", "Researcher", "Gather the key facts"),
    ("critic", "Critic", "Name the risks and weak points"),
    ("editor", "Editor", "Write a clear recommendation"),
]


def stand_in_content(body: dict[str, Any]) -> str:
    """A deterministic answer shaped by the prompt: a plan, a draft, a revision or a summary."""
    messages = body.get("messages", [])
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    if body.get("response_format", {}).get("type") == "json_schema":
        wanted = re.search(r"between 2 and (\d+)", system)
        count = min(len(_STAND_IN_PLAN), int(wanted.group(1)) if wanted else 3)
        assignments = [
            {"worker_id": w, "role": f"{r} {STAND_IN_LABEL}", "task": f"{t} about: {user[:80]}"}
            for w, r, t in _STAND_IN_PLAN[:count]
        ]
        return json.dumps({"assignments": assignments})
    if "final summary" in system:
        return f"{STAND_IN_LABEL} Summary of the approved drafts:\n\n{user}"
    role = re.search(r"You are the (.+?) on a small team", system)
    who = role.group(1) if role else "worker"
    notes = re.search(r"Reviewer notes: (.*)", user)
    if notes:
        return f"{STAND_IN_LABEL} Revised draft by the {who}, addressing: {notes.group(1)}"
    task = re.search(r"Your task: (.*)", system)
    return (
        f"{STAND_IN_LABEL} First draft by the {who}.\n\n"
        f"- Task: {task.group(1) if task else '?'}\n- Point one.\n- Point two."
    )


class OpenAIServer:
    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self.spans: list[tuple[float, float]] = []  # (arrived, answered), monotonic, per request
        self.script: deque[str] = deque()
        self._failures: deque[int] = deque()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def fail_next(self, count: int, status: int = 500) -> None:
        self._failures.extend([status] * count)

    def requests_where(self, text: str) -> list[dict[str, Any]]:
        """Recorded request bodies whose messages contain `text`."""
        return [r for r in self.requests if text in json.dumps(r.get("messages", []))]

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound}/v1"
        return self.base_url

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"object": "list", "data": [{"id": "stand-in", "object": "model"}]}
        )

    async def _completions(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        body = await request.json()
        self.requests.append(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        self.spans.append((arrived, time.monotonic()))
        if self._failures:
            status = self._failures.popleft()
            error = {"message": f"stand-in failure {status}", "type": "server_error"}
            return web.json_response({"error": error}, status=status)
        content = self.script.popleft() if self.script else stand_in_content(body)
        return web.json_response(
            {
                "id": f"chatcmpl-{next(self._ids)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "stand-in"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )
