"""What people say to the app: a mention or a DM starts a conversation, follow-ups continue it.

Every message the app acts on is stored first (store/messages.py), in the transaction that
decides what it is: a new run in its thread (as `/orchestrate <text>` would start one), the next
turn of a finished conversation, a turn that waits while another runs or a review is open, or
the answer to an open free-text question. The driver (driver.py) runs the turns; orchestrator.py
keeps what people *answer*.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

from slackbot.catalog import Catalog
from slackbot.driver import Driver
from slackbot.engine.inputs import InputError
from slackbot.notices import (
    NOT_SAVED,
    TOO_MANY_HERE,
    TOO_MANY_OF_YOURS,
    describe,
)
from slackbot.orchestrator import Orchestrator
from slackbot.prompts import suggested_prompts
from slackbot.reviews.cancelled import can_go_on
from slackbot.store import Run, Store
from slackbot.store.messages import Heard, NewRun, Received, Said
from slackbot.thread import SlackThread
from slackbot.turns import user_message

log = logging.getLogger(__name__)

WAIT_FOR_REVIEW = "I'll read this once the open review is answered"
REFUSED_FOR_REVIEW = WAIT_FOR_REVIEW + ": this message was not kept, send it again then."
REFUSED_WHILE_BUSY = "I'm still answering your last message: send this one again once I have."
CANNOT_GO_ON = (
    "This conversation was cancelled at a question only an answer can settle, so it cannot go"
    " on: a new message to me outside this thread starts a new one."
)
THREAD_MESSAGES = 19  # a mention inside a thread carries its root and the latest 19 messages
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass(frozen=True)
class Incoming:
    """A person's message as a listener saw it."""

    team_id: str
    channel_id: str
    user_id: str
    text: str
    ts: str
    thread_ts: str | None  # None or == ts: a top-level message
    mention: bool = False  # an app_mention, or a message whose text mentions the app
    dm: bool = False  # in the app's DM (message.im)

    @property
    def in_thread(self) -> bool:
        return bool(self.thread_ts) and self.thread_ts != self.ts


def mentions(text: str, bot_user_id: str | None) -> bool:
    return bool(bot_user_id) and any(m == bot_user_id for m in _MENTION.findall(text))


def without_mentions_of(text: str, bot_user_id: str | None) -> str:
    if not bot_user_id:
        return text.strip()
    return _MENTION.sub(lambda m: "" if m.group(1) == bot_user_id else m.group(0), text).strip()


async def _nothing() -> None:
    return None


class Conversations:
    def __init__(
        self,
        *,
        store: Store,
        catalog: Catalog,
        thread: SlackThread,
        driver: Driver,
        orchestrator: Orchestrator,
        approvers: frozenset[str] = frozenset(),
        limits: tuple[int, int] = (10, 50),
        follow_ups: str = "mention",
        double_text: str = "queue",
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.thread = thread
        self.driver = driver
        self.orchestrator = orchestrator
        self.approvers = approvers
        self.limits = limits
        self.every_reply = follow_ups == "all"
        self.reject = double_text == "reject"

    async def heard(
        self,
        message: Incoming,
        bot_user_id: str | None = None,
        stored: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """A person's message: stored, then a run, a turn, a queued turn, or an answer.
        `stored` (the event's ack) is called once it is stored or refused aloud: Slack sends
        an event it got no ack for again (recording.py)."""
        stored = stored or _nothing
        notes = None
        if message.in_thread:
            notes = await self.orchestrator.record_reply(
                channel_id=message.channel_id,
                thread_ts=message.thread_ts or "",
                user_id=message.user_id,
                text=message.text,
                ts=message.ts,
            )
        if notes is not None:  # the notes of a revision that person asked for
            await stored()
            await notes.show()
            return
        text = without_mentions_of(message.text, bot_user_id)
        thread_ts = message.thread_ts if message.in_thread else message.ts
        said = Said(message.channel_id, message.ts, thread_ts or message.ts, message.user_id, text)
        try:
            new_run, problem = await self._new_run(message, said)
            received = await self.store.receive(
                said,
                team_id=message.team_id,
                addressed=message.mention or message.dm,
                new_run=new_run,
                conversational=self.conversational,
                every_reply=self.every_reply,
                reject=self.reject,
                may_answer=not self.approvers or message.user_id in self.approvers,
                goes_on=can_go_on,
            )
        except Exception as error:
            log.exception("could not store a message")
            await stored()
            await self._tell(said, NOT_SAVED.format(why=describe(error)))
            return
        await stored()
        await self._act(said, received, problem)

    @property
    def conversational(self) -> frozenset[str]:
        return frozenset(n for n, g in self.catalog.graphs.items() if g.inputs.messages)

    async def _act(self, said: Said, received: Received, problem: str | None) -> None:
        heard, run = received.heard, received.run
        if heard == Heard.UNUSABLE and problem:
            await self._tell(said, problem)
        elif heard == Heard.TOO_MANY and received.limit:
            whose = TOO_MANY_OF_YOURS if received.limit.whose == "user" else TOO_MANY_HERE
            await self._tell(said, whose.format(limit=received.limit.limit))
        elif heard == Heard.STARTED and run:
            await self._start(said, run)
        elif heard == Heard.TURN and run:
            await self.thread.show_root(run)
            self.driver.begin(run)
        elif heard == Heard.WAITING:
            await self._tell(said, WAIT_FOR_REVIEW)
        elif heard == Heard.REFUSED and run:
            refusal = REFUSED_FOR_REVIEW if run.status == "waiting" else REFUSED_WHILE_BUSY
            await self._tell(said, refusal)
        elif heard == Heard.OVER:
            await self._tell(said, CANNOT_GO_ON)
        elif heard == Heard.ANSWER and received.decision:
            await self.orchestrator.answered_in_thread(said.channel_id, said.ts, received.decision)

    async def _start(self, said: Said, run: Run) -> None:
        """The progress message (with Cancel) as the app's first reply, then the graph."""
        if refused := await self.orchestrator.post_root(run):
            await self._tell(said, refused)

    async def _new_run(self, message: Incoming, said: Said) -> tuple[NewRun | None, str | None]:
        """The run this message would start, as `/orchestrate <text>` would; or why not."""
        if not (message.mention or message.dm):
            return None, None
        if unavailable := self.catalog.unavailable():
            return None, unavailable
        try:  # as /orchestrate <text> would: the graph its first word names, its input checked
            graph, rest, graph_input = self.catalog.prepare(said.text)
        except InputError as error:
            return None, str(error)
        typed = {"messages": [{"role": "user", "content": rest.strip()}]}
        if graph.inputs.messages and graph_input == typed:  # the text itself, not JSON
            earlier = await self._earlier(message, said) if message.in_thread else []
            graph_input = {"messages": [*earlier, user_message(said, rest)]}
        run = NewRun(graph.name, rest, graph_input, graph.inputs.messages, self.limits)
        return run, None

    async def _earlier(self, message: Incoming, said: Said) -> list[dict[str, Any]]:
        """The thread's root and latest messages before this one, each prefixed with its
        author's name: read once, and only for a thread that has no conversation yet."""
        if await self.store.thread_run(said.channel_id, said.thread_ts):
            return []
        try:
            response = await self.thread.client.conversations_replies(
                channel=said.channel_id, ts=said.thread_ts, limit=1000
            )
        except SlackApiError as error:
            log.warning("could not read the thread of a mention: %s", error)
            return []
        found = [m for m in response.get("messages") or [] if m.get("ts") != said.ts]
        found = [m for m in found if float(m.get("ts") or 0) < float(said.ts)]
        if len(found) > THREAD_MESSAGES + 1:
            found = [found[0], *found[-THREAD_MESSAGES:]]
        earlier = []
        for shown in found:
            name = await self._name(shown)
            text = " ".join(str(shown.get("text") or "").split())
            earlier.append({"role": "user", "content": f"{name}: {text}"})
        return earlier

    async def _name(self, message: dict[str, Any]) -> str:
        user = message.get("user")
        if not isinstance(user, str) or message.get("bot_id"):
            return str(message.get("username") or "app")
        return await self.thread.name_of(user)

    async def suggest_prompts(self, channel_id: str) -> None:
        """The Messages tab was opened: pin the suggested prompts to it (no thread_ts, as
        Slack's agent view wants)."""
        try:
            await self.thread.client.assistant_threads_setSuggestedPrompts(
                channel_id=channel_id, prompts=suggested_prompts(self.catalog)
            )
        except SlackApiError as error:
            log.warning("could not set the suggested prompts: %s", error)

    async def _tell(self, said: Said, text: str) -> None:
        await self.thread.tell(said.channel_id, said.user_id, text, thread_ts=said.thread_ts)
