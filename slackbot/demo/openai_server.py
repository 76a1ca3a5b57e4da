"""A local OpenAI-compatible Chat Completions server: the tests' LLM and the demo's stand-in model.

It answers `POST /v1/chat/completions` in OpenAI's wire format (as one JSON body, or as
server-sent chunks when the request says `stream: true`) and records every request body.
Answers come, in order of preference, from `script` (queued by a test: a string is the content, a
`ToolCalls` calls tools; `script_tool_calls()` queues one), else from a deterministic stand-in
(`stand_in_answer`) that says nothing about itself: every answer carries
`model: "offline-stand-in"` (`STAND_IN_MODEL`) instead, so whoever shows the text can say where it
came from. Without tools the stand-in writes plausible text shaped by the prompt
(`stand_in_content`). When the request offers tools, it proposes calls to those the user's text
asks for, whatever their names, with arguments from the text fitted to each tool's schema
(`stand_in_tools.py`), and once tool results come back it reports them, quoting each whole.
`fail_next()` makes the next calls answer an HTTP error; `delay` makes every call take that long.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from aiohttp import web

from slackbot.demo.stand_in_tools import (
    Answer,
    ToolCall,
    ToolCalls,
    shorten,
    stand_in_recall,
    stand_in_tool_calls,
    stand_in_tool_report,
)

STAND_IN_MODEL = "offline-stand-in"  # the `model` of every answer; never part of the content

# (worker_id, role, task templates): a task is chosen by the topic's hash; {topic} is quoted.
_STAND_IN_PLAN = [
    (
        "researcher",
        "Researcher",
        [
            "Gather the key facts behind {topic}: costs, timing and who decides.",
            "Collect what we already know about {topic} and what is still missing.",
            "Find the numbers and constraints that {topic} depends on.",
        ],
    ),
    (
        "critic",
        "Critic",
        [
            "Name the main risks and weak points of {topic}, and how to reduce them.",
            "Question the assumptions behind {topic} and say which ones could fail.",
            "List what could go wrong with {topic}, most serious first.",
        ],
    ),
    (
        "editor",
        "Editor",
        [
            "Turn the work on {topic} into a clear recommendation with next steps.",
            "Write a short recommendation on {topic} that a busy reader can act on.",
            "Draft the decision memo on {topic}: what we propose, why, and what comes next.",
        ],
    ),
]

# Sentence banks per kind of worker: openings, bullets (three are chosen) and closings.
_BANKS: dict[str, dict[str, list[str]]] = {
    "research": {
        "open": [
            "Here is what we know so far about {topic}, and where the gaps are.",
            "Before anyone decides on {topic}, these are the facts to agree on.",
            "The facts that matter most for {topic} fall into a few groups.",
        ],
        "bullets": [
            "**Cost:** a first estimate with the largest items, and which of them are fixed.",
            "**Timing:** the earliest realistic start and what it depends on.",
            "**People:** who has to be involved, and who makes the final call.",
            "**Rules:** the permits, contracts and policies that apply.",
            "**Comparables:** what similar efforts took elsewhere, in time and money.",
            "**Open questions:** the two or three facts we still have to find out.",
        ],
        "close": [
            "The figures are first estimates and need a source before they go into a plan.",
            "None of this is a recommendation yet; it is the ground the others can build on.",
            "I can add a source for each point in the next round.",
        ],
    },
    "critic": {
        "open": [
            "The plan for {topic} looks sound, but a few points could still sink it.",
            "Here are the weak points I see in {topic}, most serious first.",
            "Three risks deserve an answer before we commit to {topic}.",
        ],
        "bullets": [
            "**Budget:** the estimate has no contingency; a 15% buffer would be prudent.",
            "**Schedule:** the timeline assumes every approval arrives on time.",
            "**Ownership:** no single person is accountable for the outcome.",
            "**Dependencies:** one supplier or partner could delay everything.",
            "**Evidence:** some claims rest on a single source or on intuition.",
            "**Exit:** there is no agreed point at which we would stop.",
        ],
        "close": [
            "None of these is a reason to stop, but each needs an owner and a date.",
            "If only one risk gets attention, it should be the first.",
            "A short check-in after the first month would catch most of these early.",
        ],
    },
    "edit": {
        "open": [
            "My recommendation: go ahead with {topic}, in clear stages.",
            "In short, {topic} is worth doing if we keep the first stage small.",
            "This is the version of {topic} I would put in front of the decision makers.",
        ],
        "bullets": [
            "**Decide** on scope and budget this month, with one accountable owner.",
            "**Start small:** a first stage that proves the idea before the larger spend.",
            "**Review** progress at fixed checkpoints against two or three measures.",
            "**Communicate** the plan early to everyone it affects.",
            "**Keep** a contingency in both time and money.",
            "**Write down** what would make us change course.",
        ],
        "close": [
            "Next step: agree on the owner and the first checkpoint.",
            "With the facts and risks above, this can be decided in one meeting.",
            "I kept it short on purpose; the details live in the other drafts.",
        ],
    },
    "other": {
        "open": [
            "Here is my contribution to {topic}.",
            "This draft covers my part of {topic}.",
            "A first pass at my part of {topic} follows.",
        ],
        "bullets": [
            "**Goal:** what this part should achieve and how we will know.",
            "**Approach:** the steps, in order, with rough effort for each.",
            "**Inputs:** what this part needs from the others.",
            "**Risks:** what could slow it down, and the fallback.",
            "**Result:** what the team gets at the end.",
        ],
        "close": [
            "Happy to go deeper on any point in the next round.",
            "The rough effort figures still need a second opinion.",
            "This should fit with the other drafts without overlap.",
        ],
    },
}

_SHORTER = ("short", "brief", "concise", "cut", "trim", "tighter")
_CITE = ("cite", "source", "reference", "evidence")
_REVISION_NOTES = [  # (words in the notes, the sentence that answers them)
    (_SHORTER, "It is shorter: only the two points that matter most are kept."),
    (_CITE, "Each point now names what it rests on, to be confirmed before sign-off."),
    (("risk", "concern", "weak"), "The main risk is now named up front, with its mitigation."),
    (("number", "cost", "budget", "figure", "price"), "The figures now state their assumptions."),
    (("example", "concrete", "specific"), "Each point now comes with a concrete example."),
]
_REVISION_CLOSE = [
    "Everything else from the first draft still stands.",
    "The substance of the first draft is unchanged.",
    "The structure of the first draft is kept, so it is easy to compare.",
]


def _quoted(topic: str) -> str:
    return f"“{shorten(topic) or 'the topic'}”"


def _pick(options: Sequence[str], seed: bytes, index: int) -> str:
    return options[seed[index % len(seed)] % len(options)]


def _seed(*parts: str) -> bytes:
    return hashlib.sha256("\n".join(parts).encode()).digest()


def _bank(role: str) -> dict[str, list[str]]:
    lowered = role.lower()
    for key, words in (
        ("research", ("research", "fact", "analyst")),
        ("critic", ("critic", "risk", "review", "skeptic")),
        ("edit", ("edit", "writ", "author")),
    ):
        if any(word in lowered for word in words):
            return _BANKS[key]
    return _BANKS["other"]


def stand_in_plan(topic: str, count: int) -> list[dict[str, str]]:
    seed = _seed(topic)
    return [
        {"worker_id": w, "role": r, "task": _pick(tasks, seed, i).format(topic=_quoted(topic))}
        for i, (w, r, tasks) in enumerate(_STAND_IN_PLAN[:count])
    ]


def stand_in_draft(role: str, topic: str, task: str) -> str:
    """A first draft: 3–5 sentences and a short bullet list, chosen by the topic and the task."""
    seed, bank = _seed(topic, task), _bank(role)
    count = len(bank["bullets"])
    chosen = sorted(sorted(range(count), key=lambda i: (seed[4 + i], i))[:3])
    opening = _pick(bank["open"], seed, 2).format(topic=_quoted(topic))
    return "\n".join(
        [
            f"First draft by the {role}. {opening}",
            "",
            *(f"- {bank['bullets'][i]}" for i in chosen),
            "",
            _pick(bank["close"], seed, 3),
        ]
    )


def stand_in_revision(role: str, previous: str, notes: str) -> str:
    """A redraft that keeps the previous draft's substance and says how it answers the notes."""
    lowered = notes.lower()
    answers = [s for words, s in _REVISION_NOTES if any(w in lowered for w in words)][:2]
    lines = [line.strip() for line in previous.splitlines() if line.strip()]
    prose = [line for line in lines if not line.startswith(("- ", "Revised draft by the "))]
    opening = re.sub(r"^First draft by the .+?\. ", "", prose[0]) if prose else ""
    bullets = [line for line in lines if line.startswith("- ")]
    if any(word in lowered for word in _SHORTER):
        bullets = bullets[:2]
    if any(word in lowered for word in _CITE):
        bullets = [
            b if "(source:" in b else f"{b.rstrip('.')} (source: to confirm)." for b in bullets
        ]
    closing = [*answers] or ["The notes are taken into account throughout."]
    closing.append(_pick(_REVISION_CLOSE, _seed(previous, notes), 0))
    parts = [f"Revised draft by the {role}, addressing: {notes}", ""]
    parts += [opening, ""] if opening else []
    parts += [*bullets, ""] if bullets else []
    return "\n".join([*parts, " ".join(closing)])


def stand_in_summary(topic: str, drafts: str) -> str:
    """The approved drafts as they are (their text is the substance), with a frame around them."""
    seed = _seed(topic, drafts)
    intro = _pick(
        [
            "Summary for {topic}: the team's approved drafts, combined.",
            "Here is where the team landed on {topic}.",
            "The approved work on {topic}, in one place.",
        ],
        seed,
        0,
    ).format(topic=_quoted(topic))
    close = _pick(
        [
            "**Next:** agree on an owner and the first checkpoint.",
            "**Next:** settle the open questions, then decide.",
            "**Next:** turn the recommendation into a dated plan.",
        ],
        seed,
        1,
    )
    return f"{intro}\n\n{drafts.strip()}\n\n{close}"


def stand_in_content(body: dict[str, Any]) -> str:
    """A deterministic answer shaped by the prompt: a plan, a draft, a revision or a summary."""
    messages = body.get("messages", [])
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    if body.get("response_format", {}).get("type") == "json_schema":
        wanted = re.search(r"between 2 and (\d+)", system)
        count = min(len(_STAND_IN_PLAN), int(wanted.group(1)) if wanted else 3)
        return json.dumps({"assignments": stand_in_plan(user, count)})
    if "final summary" in system:
        topic = re.search(r"final summary for the topic: (.*)", system)
        return stand_in_summary(topic.group(1) if topic else "", user)
    role = re.search(r"You are the (.+?) on a small team working on: (.*)", system)
    who, topic = (role.group(1), role.group(2)) if role else ("worker", "")
    notes = re.search(r"Reviewer notes: (.*)", user)
    if notes:
        previous = re.search(r"Your previous draft:\n---\n(.*?)\n---\n", user, re.DOTALL)
        return stand_in_revision(who, previous.group(1) if previous else "", notes.group(1))
    task = re.search(r"Your task: (.*)", system)
    return stand_in_draft(who, topic, task.group(1) if task else "")


def stand_in_answer(body: dict[str, Any]) -> Answer:
    """Tool calls, a report on tool results, or text (`stand_in_content`), as the request asks."""
    messages = body.get("messages", [])
    tools = [t for t in body.get("tools") or [] if t.get("type") == "function"]
    if tools and messages:
        if messages[-1]["role"] == "tool":
            return stand_in_tool_report(messages)
        if messages[-1]["role"] == "user":
            calls = stand_in_tool_calls(body)
            if calls:
                return ToolCalls(tuple(calls))
            names = ", ".join(tool["function"]["name"] for tool in tools)
            offer = f"Tell me what to do: I can use {names}."
            return " ".join(filter(None, [stand_in_recall(messages), offer]))
    return stand_in_content(body)


class OpenAIServer:
    def __init__(self, *, delay: float = 0.0, token_delay: float = 0.0) -> None:
        self.delay = delay
        self.token_delay = token_delay  # seconds between streamed tokens (the demo: 1/40)
        self.requests: list[dict[str, Any]] = []
        self.spans: list[tuple[float, float]] = []  # (arrived, answered), monotonic, per request
        self.first_tokens: list[tuple[str, float]] = []  # (a stream's first token, written at)
        self.script: deque[Answer] = deque()  # a str is the content; ToolCalls call tools
        self._failures: deque[int] = deque()
        self._ids = itertools.count(1)
        self._call_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def fail_next(self, count: int, status: int = 500) -> None:
        self._failures.extend([status] * count)

    def script_tool_calls(
        self, calls: Iterable[ToolCall | tuple[str, dict[str, Any]]], content: str = ""
    ) -> ToolCalls:
        """Queue one answer that calls these tools, in one model turn: `(name, args)` pairs or
        `ToolCall`s."""
        answer = ToolCalls(
            tuple(call if isinstance(call, ToolCall) else ToolCall(*call) for call in calls),
            content,
        )
        self.script.append(answer)
        return answer

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
            {
                "object": "list",
                "data": [{"id": STAND_IN_MODEL, "object": "model", "owned_by": "demo"}],
            }
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
        answer = self.script.popleft() if self.script else stand_in_answer(body)
        message, finish_reason = self._message(answer)
        completion = {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": STAND_IN_MODEL,
            "choices": [
                {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        if body.get("stream"):
            return await self._stream(request, completion, body)
        return web.json_response(completion)

    def _message(self, answer: Answer) -> tuple[dict[str, Any], str]:
        """OpenAI's assistant message for an answer, and its finish_reason."""
        if isinstance(answer, str):
            return {"role": "assistant", "content": answer, "refusal": None}, "stop"
        tool_calls = [
            {
                "id": call.id or f"call_{next(self._call_ids)}",
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.args)},
            }
            for call in answer.calls
        ]
        message = {
            "role": "assistant",
            "content": answer.content or None,
            "refusal": None,
            "tool_calls": tool_calls,
        }
        return message, "tool_calls"

    async def _stream(
        self, request: web.Request, completion: dict[str, Any], body: dict[str, Any]
    ) -> web.StreamResponse:
        """The same answer as server-sent `chat.completion.chunk`s, as OpenAI sends them: the
        content a token (a word and its space) at a time, `token_delay` apart, then each tool
        call (its name and id, then its arguments), the finish_reason, the usage if asked for,
        then `[DONE]`."""
        (choice,) = completion["choices"]
        message = choice["message"]
        frame = {k: completion[k] for k in ("id", "created", "model")}
        frame["object"] = "chat.completion.chunk"

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            choices = [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
            return {**frame, "choices": choices}

        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        deltas += [{"content": token} for token in tokens(message["content"] or "")]
        for i, call in enumerate(message.get("tool_calls") or ()):
            function = call["function"]
            head = {"index": i, "id": call["id"], "type": "function"}
            deltas.append({"tool_calls": [head | {"function": {"name": function["name"]}}]})
            args = {"index": i, "function": {"arguments": function["arguments"]}}
            deltas.append({"tool_calls": [args]})
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        first = True
        for delta in deltas:
            if self.token_delay and "content" in delta and delta["content"]:
                await asyncio.sleep(self.token_delay)
            await response.write(f"data: {json.dumps(chunk(delta))}\n\n".encode())
            if first and delta.get("content"):  # the benchmark times it to Slack
                first = False
                self.first_tokens.append((delta["content"], time.monotonic()))
        await response.write(f"data: {json.dumps(chunk({}, choice['finish_reason']))}\n\n".encode())
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {**frame, "choices": [], "usage": completion["usage"]}
            await response.write(f"data: {json.dumps(usage)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def tokens(text: str) -> list[str]:
    """A text as streamed tokens: each word with the spaces after it (they join back to it)."""
    return re.findall(r"\S+\s*|\s+", text)
