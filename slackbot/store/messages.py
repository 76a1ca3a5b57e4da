"""What people say to the app: each message stored once (keyed by channel and ts) in the same
transaction that decides what it is (a new run, the next turn of a conversation, a turn that
waits, the answer to an open question) while the thread's run is locked; turns are taken from
the queue one at a time, in Slack's order, by whoever holds the run's lease."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from slackbot.store.answers import AnswersMixin
from slackbot.store.backends import Tx
from slackbot.store.models import Decision, Review, ReviewStatus, Run, RunStatus
from slackbot.store.runs import RunLimitReached, RunsMixin


class Heard(StrEnum):
    DUPLICATE = "duplicate"  # stored before: Slack delivered it again (or as both events)
    IGNORED = "ignored"  # not for the app (chat in a thread, no mention)
    STARTED = "started"  # a new run in the thread (`run`)
    TURN = "turn"  # the next turn of a finished conversation starts now (`run`)
    QUEUED = "queued"  # a turn runs: this one waits its turn
    WAITING = "waiting"  # a review waits: this one runs after it is answered
    REFUSED = "refused"  # a busy conversation with ORCHESTRATE_DOUBLE_TEXT=reject
    ANSWER = "answer"  # the answer to an open free-text question (`decision`)
    OVER = "over"  # a cancelled conversation whose open question nothing else can answer
    TOO_MANY = "too_many"  # a new run would pass a run limit (`limit`)
    UNUSABLE = "unusable"  # it would start a run, but its text cannot be an input


@dataclass(frozen=True)
class NewRun:
    """The run a message would start, prepared from its text (graph choice, input)."""

    graph: str
    topic: str
    graph_input: Any
    conversational: bool  # the graph's input has `messages`: follow-ups are turns
    limits: tuple[int, int]


@dataclass(frozen=True)
class Received:
    heard: Heard
    run: Run | None = None
    decision: Decision | None = None
    limit: RunLimitReached | None = None


@dataclass(frozen=True)
class Said:
    """One stored message."""

    channel_id: str
    ts: str
    thread_ts: str
    user_id: str
    text: str


FREE_TEXT = {"type": "string"}  # a typed interrupt answered with one string


def free_text(review: Review) -> bool:
    """A review a thread reply can answer: a plain question without options, or a typed one
    whose schema is a bare string."""
    if review.kind == "question":
        request = review.request
        return not (isinstance(request, dict) and isinstance(request.get("options"), list))
    schema = review.response_schema or {}
    return review.kind == "typed" and {k: v for k, v in schema.items() if k == "type"} == FREE_TEXT


class MessagesMixin(RunsMixin, AnswersMixin):
    async def receive(
        self,
        said: Said,
        *,
        team_id: str,
        addressed: bool,
        new_run: NewRun | None,
        conversational: Collection[str],
        every_reply: bool = False,
        reject: bool = False,
        may_answer: bool = True,
        goes_on: Callable[[Sequence[Review]], bool] = lambda step: False,
    ) -> Received:
        """Store `said` and decide what it is, in one transaction. `addressed`: a mention, or a
        DM; `new_run`: what it starts when it starts a run (None: it cannot); `conversational`:
        the graphs whose follow-ups are turns; `every_reply`: ORCHESTRATE_FOLLOW_UPS=all;
        `goes_on`: whether a cancelled step's reviews can tell the graph they were cancelled
        (then the conversation goes on after them)."""
        async with self.db.transaction() as tx:
            if not await self._keep(tx, said):  # a second delivery waits for the first here
                return Received(Heard.DUPLICATE)
            row = await tx.fetchone(
                "SELECT * FROM orchestrate_runs WHERE channel_id = %(c)s AND (thread_ts = %(t)s"
                " OR (thread_ts IS NULL AND root_ts = %(t)s)) ORDER BY created_at DESC LIMIT 1"
                f"{self.db.for_update}",
                {"c": said.channel_id, "t": said.thread_ts},
            )
            run = Run.from_row(row) if row else None
            if run is not None and run.status == RunStatus.WAITING and may_answer:
                step = await self._step(tx, run)
                open_ = [r for r in step if r.status == ReviewStatus.PENDING]
                if len(open_) == 1 and free_text(open_[0]):
                    await self._mark(tx, said, run.run_id, "answer")
                    answer = said.text.strip()
                    decision = await self._record(tx, run, open_[0], step, answer, said.user_id)
                    return Received(Heard.ANSWER, run, decision)
            talking = run is not None and run.graph in conversational
            live = run is not None and run.status in (RunStatus.RUNNING, RunStatus.WAITING)
            over = (RunStatus.DONE, RunStatus.CANCELLED)  # a conversation goes on after these
            if not live and not (talking and run and run.status in over):
                # No run here, or one that is over and cannot go on: a mention starts one.
                if not addressed:
                    return await self._ignore(tx, said)
                if new_run is None:
                    await self._mark(tx, said, None, "refused")
                    return Received(Heard.UNUSABLE)
                return await self._start(tx, said, team_id, new_run)
            assert run is not None
            if not talking or not (addressed or every_reply):
                return await self._ignore(tx, said)
            if run.status == RunStatus.CANCELLED:
                return await self._after_cancel(tx, said, run, goes_on)
            if run.status == RunStatus.DONE:
                await self._mark(tx, said, run.run_id, "current")
                return Received(Heard.TURN, await self._next_turn(tx, run.run_id, said.ts))
            heard = Heard.QUEUED if run.status == RunStatus.RUNNING else Heard.WAITING
            await self._mark(tx, said, run.run_id, "refused" if reject else "queued")
            return Received(Heard.REFUSED if reject else heard, run)

    async def thread_run(self, channel_id: str, thread_ts: str) -> Run | None:
        """The latest run in a Slack thread (as a conversation, or as /orchestrate's root)."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT * FROM orchestrate_runs WHERE channel_id = %(c)s AND (thread_ts = %(t)s"
                " OR (thread_ts IS NULL AND root_ts = %(t)s)) ORDER BY created_at DESC LIMIT 1",
                {"c": channel_id, "t": thread_ts},
            )
        return Run.from_row(row) if row else None

    async def finish_turn(
        self, run_id: str, result: Any = None, summary_ts: str | None = None
    ) -> Run | None:
        """The graph ended its turn (or the run): keep its result; the next queued message's
        turn starts at once under the same lease (returned), else the run is done."""
        async with self.db.transaction() as tx:
            run = await self._lock_held_run(tx, run_id)
            if run.turn_ts:
                await tx.execute(
                    "UPDATE orchestrate_messages SET status = 'done' WHERE channel_id = %(c)s"
                    " AND ts = %(ts)s",
                    {"c": run.channel_id, "ts": run.turn_ts},
                )
            queued = await tx.fetchone(
                "SELECT ts FROM orchestrate_messages WHERE run_id = %(run_id)s"
                " AND status = 'queued' ORDER BY ts LIMIT 1",
                {"run_id": run_id},
            )
            if queued is not None:
                await tx.execute(
                    "UPDATE orchestrate_messages SET status = 'current' WHERE channel_id = %(c)s"
                    " AND ts = %(ts)s",
                    {"c": run.channel_id, "ts": queued["ts"]},
                )
                return await self._next_turn(tx, run_id, queued["ts"], result)
            await tx.execute(
                "UPDATE orchestrate_runs SET status = 'done', phase = 'done', result = %(result)s,"
                " summary_ts = %(summary_ts)s, lease_owner = NULL, lease_until = NULL,"
                " updated_at = %(now)s WHERE run_id = %(run_id)s",
                {
                    "result": json.dumps(result),
                    "summary_ts": summary_ts,
                    "now": self.clock(),
                    "run_id": run_id,
                },
            )
            return None

    async def turn_message(self, run: Run) -> Said | None:
        """The message of the run's current turn."""
        if not run.turn_ts:
            return None
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT * FROM orchestrate_messages WHERE channel_id = %(c)s AND ts = %(ts)s",
                {"c": run.channel_id, "ts": run.turn_ts},
            )
        if row is None:
            return None
        return Said(row["channel_id"], row["ts"], row["thread_ts"], row["user_id"], row["text"])

    # -- helpers ------------------------------------------------------------------------------

    async def _keep(self, tx: Tx, said: Said) -> bool:
        """Store the message (status `new` until decided); False when it was stored before."""
        row = await tx.fetchone(
            "INSERT INTO orchestrate_messages (channel_id, ts, thread_ts, user_id, text,"
            " status, received_at) VALUES (%(c)s, %(ts)s, %(t)s, %(u)s, %(text)s, 'new',"
            " %(now)s) ON CONFLICT (channel_id, ts) DO NOTHING RETURNING ts",
            {
                "c": said.channel_id,
                "ts": said.ts,
                "t": said.thread_ts,
                "u": said.user_id,
                "text": said.text,
                "now": self.clock(),
            },
        )
        return row is not None

    async def _mark(self, tx: Tx, said: Said, run_id: str | None, status: str) -> None:
        await tx.execute(
            "UPDATE orchestrate_messages SET run_id = %(run_id)s, status = %(status)s"
            " WHERE channel_id = %(c)s AND ts = %(ts)s",
            {"run_id": run_id, "status": status, "c": said.channel_id, "ts": said.ts},
        )

    async def _ignore(self, tx: Tx, said: Said) -> Received:
        """Chat that is not for the app is not kept."""
        await tx.execute(
            "DELETE FROM orchestrate_messages WHERE channel_id = %(c)s AND ts = %(ts)s",
            {"c": said.channel_id, "ts": said.ts},
        )
        return Received(Heard.IGNORED)

    async def _after_cancel(
        self, tx: Tx, said: Said, run: Run, goes_on: Callable[[Sequence[Review]], bool]
    ) -> Received:
        """A message after a Cancel. When the Cancel closed reviews the graph still waits
        for, the run first answers them as cancelled (the driver does, from the cancelled
        reviews) and this message waits its turn; when nothing can tell the graph, the
        conversation is over. Else (cancelled after a failure) it is the next turn."""
        cancelled = [r for r in await self._step(tx, run) if r.status == ReviewStatus.CANCELLED]
        if not cancelled:
            await self._mark(tx, said, run.run_id, "current")
            return Received(Heard.TURN, await self._next_turn(tx, run.run_id, said.ts))
        if not goes_on(cancelled):
            await self._mark(tx, said, run.run_id, "refused")
            return Received(Heard.OVER, run)
        await self._mark(tx, said, run.run_id, "queued")
        return Received(Heard.TURN, await self._answer_cancelled(tx, run.run_id))

    async def _answer_cancelled(self, tx: Tx, run_id: str) -> Run:
        """The cancelled run works again, under this process's lease: its driver first answers
        the cancelled reviews (as cancelled), then takes the queued messages in turn."""
        now = self.clock()
        row = await tx.fetchone(
            "UPDATE orchestrate_runs SET status = 'running', phase = 'planning', turn_ts = NULL,"
            " ended_by = NULL, summary_ts = NULL, error = NULL, lease_owner = %(owner)s,"
            " lease_until = %(until)s, updated_at = %(now)s WHERE run_id = %(run_id)s"
            " RETURNING *",
            {"owner": self.owner, "until": now + self.lease_seconds, "now": now,
             "run_id": run_id},
        )  # fmt: skip
        assert row is not None
        return Run.from_row(row)

    async def go_on_after_cancel(
        self, run_id: str, goes_on: Callable[[Sequence[Review]], bool]
    ) -> Run | None:
        """A conversation cancelled while messages waited for its review: they are not left
        waiting for yet another message. The run works again (as `_after_cancel` makes it for
        a new message) when messages are queued and the cancelled reviews can say so; else
        None (nothing waits, or the conversation cannot go on: the next message says so)."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                f"SELECT * FROM orchestrate_runs WHERE run_id = %(id)s{self.db.for_update}",
                {"id": run_id},
            )
            run = Run.from_row(row) if row else None
            if run is None or run.status != RunStatus.CANCELLED:
                return None
            queued = await tx.fetchone(
                "SELECT ts FROM orchestrate_messages WHERE run_id = %(id)s AND status = 'queued'"
                " LIMIT 1",
                {"id": run_id},
            )
            step = await self._step(tx, run)
            cancelled = [r for r in step if r.status == ReviewStatus.CANCELLED]
            if queued is None or not cancelled or not goes_on(cancelled):
                return None
            return await self._answer_cancelled(tx, run_id)

    async def _next_turn(self, tx: Tx, run_id: str, ts: str, result: Any = None) -> Run:
        """The run works on the turn of message `ts` now, under this process's lease."""
        now = self.clock()
        row = await tx.fetchone(
            "UPDATE orchestrate_runs SET status = 'running', phase = 'planning', turn_ts = %(ts)s,"
            " ended_by = NULL,"
            " summary_ts = NULL, error = NULL, result = %(result)s, lease_owner = %(owner)s,"
            " lease_until = %(until)s, updated_at = %(now)s WHERE run_id = %(run_id)s"
            " RETURNING *",
            {
                "ts": ts,
                "result": json.dumps(result),
                "owner": self.owner,
                "until": now + self.lease_seconds,
                "now": now,
                "run_id": run_id,
            },
        )
        assert row is not None
        return Run.from_row(row)

    async def _start(self, tx: Tx, said: Said, team_id: str, new: NewRun) -> Received:
        try:
            await self._check_limits(tx, team_id, said.channel_id, said.user_id, new.limits)
        except RunLimitReached as full:
            await self._mark(tx, said, None, "refused")
            return Received(Heard.TOO_MANY, limit=full)
        now = self.clock()
        run_id = uuid.uuid4().hex
        row = await tx.fetchone(
            "INSERT INTO orchestrate_runs (run_id, team_id, channel_id, started_by, topic,"
            " graph, input, status, phase, lease_owner, lease_until, created_at, updated_at,"
            " thread_ts, turn_ts) VALUES (%(run_id)s, %(team_id)s, %(channel_id)s, %(user)s,"
            " %(topic)s, %(graph)s, %(input)s, 'running', 'planning', %(owner)s, %(until)s,"
            " %(now)s, %(now)s, %(thread_ts)s, %(turn_ts)s) RETURNING *",
            {
                "run_id": run_id,
                "team_id": team_id,
                "channel_id": said.channel_id,
                "user": said.user_id,
                "topic": new.topic,
                "graph": new.graph,
                "input": json.dumps(new.graph_input),
                "owner": self.owner,
                "until": now + self.lease_seconds,
                "now": now,
                "thread_ts": said.thread_ts,
                "turn_ts": said.ts if new.conversational else None,
            },
        )
        assert row is not None
        await self._mark(tx, said, run_id, "current" if new.conversational else "done")
        return Received(Heard.STARTED, Run.from_row(row))
