"""The stamps the figures `floor` and `burst` read, by topic: the stand-in LLM notes when each
orchestration's summary request arrives (TimedLLM); the emulated Slack approves every review the
moment it is posted and notes when the step's last click began to be sent, when the summary was
posted and when the root said done (FloorSlack). Times are time.monotonic(): CLOCK_MONOTONIC is
one clock for every process on the machine, so the floor process's stamps compare with these."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import aiohttp

from bench.harness import PEOPLE, is_review
from slackbot.blocks import ACTION_APPROVE, ROOT_PHASES
from slackbot.demo.openai_server import OpenAIServer
from slackbot.demo.slack_emulator import Message, SlackEmulator

TOPIC = re.compile(r"\b(?:warm|seq|load|burst) \d{5}\b")
SUMMARY_FOR = re.compile(r"final summary for the topic: ([^\n]*)")
DONE = ROOT_PHASES["done"]


class TimedLLM(OpenAIServer):
    """Notes when each orchestration's summary request arrives, by topic."""

    def __init__(self) -> None:
        super().__init__()
        self.summary_at: dict[str, float] = {}

    async def _completions(self, request):  # type: ignore[no-untyped-def]
        arrived = time.monotonic()
        body = await request.json()  # aiohttp keeps the body: the server reads it again
        for message in body.get("messages", []):
            content = message.get("content")
            if message.get("role") == "system" and isinstance(content, str):
                found = SUMMARY_FOR.search(content)
                if found:
                    self.summary_at.setdefault(found.group(1).strip(), arrived)
        return await super()._completions(request)


class FloorSlack(SlackEmulator):
    """Approves every review as soon as it is posted (as `figures.ApprovingSlack`), noting by
    topic when its last click began to be sent, when its summary was posted and when its root
    said done."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.topic_of: dict[str, str] = {}  # root ts → topic
        self.last_click: dict[str, float] = {}
        self.summary_posted: dict[str, float] = {}
        self.done: set[str] = set()
        self.click_failures = 0
        self._clicks: set[asyncio.Task] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        url = await super().start(host, port)
        # Clicks and commands must not queue in the emulator's own client (aiohttp's default
        # is 100 connections): a click is stamped as it starts to be sent.
        assert self._session is not None
        await self._session.close()
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return url

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        answer = super()._chat_postMessage(args)
        message = self.messages[(answer["channel"], answer["ts"])]
        if not message.thread_ts:
            found = TOPIC.search(message.text)
            if found:
                self.topic_of[message.ts] = found.group(0)
            return answer
        topic = self.topic_of.get(message.thread_ts, "")
        if not is_review(self, message):
            if "Summary" in json.dumps(message.blocks):
                self.summary_posted.setdefault(topic, time.monotonic())
            return answer
        task = asyncio.create_task(self._approve(message, topic))
        self._clicks.add(task)
        task.add_done_callback(self._clicks.discard)
        return answer

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        answer = super()._chat_update(args)
        message = self.messages[(answer["channel"], answer["ts"])]
        if message.ts in self.topic_of and DONE in json.dumps(message.blocks, ensure_ascii=False):
            self.done.add(self.topic_of[message.ts])
        return answer

    async def _approve(self, message: Message, topic: str) -> None:
        self.last_click[topic] = max(self.last_click.get(topic, 0.0), time.monotonic())
        try:
            status, _ = await self.click(PEOPLE[1], message, ACTION_APPROVE)
        except aiohttp.ClientError:
            status = 0
        if status != 200:
            self.click_failures += 1
