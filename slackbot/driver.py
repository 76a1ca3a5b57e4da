"""Driving runs: the graph runs until it waits for people or ends, each step's reviews are
posted, the result is posted; and the work behind it (leases, recovery, due work).

A run is driven only by the process that holds its lease in the store. What to do next is
always derived from the checkpoint and the stored answers, so a process that takes over after
a crash runs exactly the same code. The tasks, leases and recovery behind it are in
run_leases.py; steps streamed as they run and the turn's answer in streamed_answers.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

from langgraph.errors import is_invalid_resume
from slack_sdk.errors import SlackApiError

from slackbot.catalog import Catalog
from slackbot.due import DueWork
from slackbot.engine.base import Engine, GraphState
from slackbot.engine.events import Step
from slackbot.engine.remote import RefusedAnswer
from slackbot.inbox import Inbox
from slackbot.live import Live
from slackbot.logs import bind_log_context
from slackbot.metrics import Metrics
from slackbot.notices import describe, is_transient_fault
from slackbot.reviews.cancelled import cancelled_answer
from slackbot.reviews.refusals import readable_error, refused_reviews
from slackbot.run_leases import RunLeases
from slackbot.steps import Resumption, resumption, resumption_of, step_requests
from slackbot.store import LeaseLost, Review, ReviewStatus, Run, StepRequest, Store
from slackbot.streamed_answers import StoppedByUser, StreamedAnswers
from slackbot.thread import SlackThread
from slackbot.turns import hand_over

log = logging.getLogger(__name__)

MAX_GRAPH_RUNS_PER_DRIVE = 20  # a guard against a graph that makes no progress


class Driver(RunLeases, StreamedAnswers):
    def __init__(
        self,
        *,
        store: Store,
        catalog: Catalog,
        thread: SlackThread,
        metrics: Metrics,
        approvers: frozenset[str] = frozenset(),
        max_concurrent_runs: int = 16,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.thread = thread
        self.metrics = metrics
        self._tasks: set[asyncio.Task] = set()
        # The runs this process holds leases on, and the task working on each: all renewed
        # in one statement per interval, however many runs are queued for a slot.
        self.held: dict[str, asyncio.Task] = {}
        self._background: list[asyncio.Task] = []
        self._closing = False
        # Bounds memory and database connections when many steps complete at once; the
        # runs that wait keep their leases alive.
        self._slots = asyncio.Semaphore(max_concurrent_runs)
        self.inbox = Inbox(store, thread, approvers, self.spawn)  # status and App Home
        self.due = DueWork(store, thread, metrics, self.inbox, approvers)  # expiry, reminders
        self.live: Live | None = None  # steps shown as they run (streams, status)
        # run id → (its turn's result key, the streamed message that is that turn's answer)
        self._streamed_answers: dict[str, tuple[str, str]] = {}

    async def drive(
        self,
        run: Run,
        recovering: bool = False,
        *,
        fresh: bool = False,
        step: Sequence[Review] = (),
        shown: asyncio.Future | None = None,
    ) -> None:
        """Run the graph until it waits for people or ends. `fresh`: a run just created (no
        checkpoint to read); `step`: the answered reviews of the step whose resume was just
        claimed; `shown`: Slack showing that answer, which the run's next messages wait for."""
        if run.run_id in self.held:
            return
        driver = asyncio.current_task()
        assert driver is not None
        self.held[run.run_id] = driver
        bind_log_context(run.run_id)  # this task's lines name the run (not a click's review)
        try:
            async with self._slots:
                next_turn: Run | None = run
                while next_turn is not None:  # a conversation's queued turns, one at a time
                    run = next_turn
                    next_turn = await self._advance(run, recovering, fresh, step, shown)
                    recovering, fresh, step, shown = False, False, (), None
        except StoppedByUser as stopped:
            await self._cancel_stopped(stopped.run)
        except LeaseLost:
            log.warning("run %s was taken over by another process", run.run_id)
        except asyncio.CancelledError:
            log.info("stopped driving run %s", run.run_id)
        except Exception as error:
            if is_transient_fault(error):
                # The database or Slack is away for a moment: nothing is wrong with the run.
                # Its lease runs out and recovery (here or on another replica) carries on.
                log.warning("run %s paused by a transient fault: %s", run.run_id, error)
            else:
                log.exception("run %s stopped", run.run_id)
                await _settled(shown)
                await self._stop(run.run_id, error)
        finally:
            del self.held[run.run_id]
            self._streamed_answers.pop(run.run_id, None)

    async def _stop(self, run_id: str, error: BaseException) -> None:
        self.metrics.graph_error(error)
        try:
            run = await self.store.fail(run_id, describe(error))
        except Exception:  # lease lost, or the database is gone too: recovery takes it from here
            log.exception("could not record that run %s stopped", run_id)
            return
        self.metrics.run_ended("failed")
        try:
            await self.thread.post_failure(run)
            await self.thread.show_root(run)
        except SlackApiError:
            log.exception("could not tell the thread that run %s stopped", run_id)

    # -- driving one run ----------------------------------------------------------------------

    async def _advance(
        self,
        run: Run,
        recovering: bool,
        fresh: bool,
        step: Sequence[Review],
        shown: asyncio.Future | None,
    ) -> Run | None:
        """Returns the run when its next turn (a queued message) is due now."""
        graph = self.catalog[run.graph]
        engine, run_id = graph.engine, run.run_id
        if run.root_ts is None:  # a process died between creating the run and saving the ts
            ts = await self.thread.find_root(run) or await self.thread.post_root(run)
            await self.store.set_root_ts(run_id, ts)
            run = dataclasses.replace(run, root_ts=ts)
        graph_input = run.input if run.input is not None else {}
        # The state the graph stopped in, when known without reading the checkpoint back.
        state: GraphState | None = None
        if step:
            state = await self._resume(engine, run, resumption_of(step))
        elif fresh:
            state = await self._run_step(engine, run, Step.start(graph_input))
        elif run.turn_ts:  # a conversation's turn: its message goes to the graph once
            state = await hand_over(
                engine, self.store, run, lambda i: self._run_step(engine, run, Step.start(i))
            )
        for _ in range(MAX_GRAPH_RUNS_PER_DRIVE):
            read = state is None  # else the graph just raised what it waits for: unanswered
            if state is None:
                state = await engine.state(run_id)
            requests = step_requests(state)
            if requests:
                answers = await self._answers(run) if read else {}
                if any(r.key in answers for r in requests):  # answered before a crash
                    state = await self._resume(engine, run, resumption(state, answers))
                    continue
                await _settled(shown)
                run, step = await self._open_step(run, requests, recovering)
                if not step:
                    return None  # waiting for people
                state = await self._resume(engine, run, resumption_of(step))
            elif not state.started:
                if run.step > 0:  # it had reached a step: its thread was deleted meanwhile
                    raise engine.lost(run_id)
                state = await self._run_step(engine, run, Step.start(graph_input))
            elif state.next:  # a crash stopped it mid-step: go on
                state = await self._run_step(engine, run, Step.proceed())
            else:
                await _settled(shown)
                return await self._finish(run, graph, state.values, recovering)
        raise RuntimeError("the graph made no progress")

    async def _answers(self, run: Run) -> dict[str, Any]:
        """The run's stored answers; and for the reviews a Cancel closed in a conversation
        that goes on (it runs again), the answers that tell the graph they were cancelled."""
        answers = await self.store.decided_answers(run.run_id)
        for review in await self.store.step_reviews(run.run_id, run.step):
            if review.status == ReviewStatus.CANCELLED and review.decided_by:
                by = await self.thread.name_of(review.decided_by)
                answer = cancelled_answer(review, by)
                if answer is not None:
                    answers[review.interrupt_id] = answer
        return answers

    async def _resume(self, engine: Engine, run: Run, how: Resumption) -> GraphState | None:
        self.metrics.step_resuming(run.run_id)
        if how.answers is not None:
            try:
                return await self._run_step(engine, run, Step.resume(how.answers))
            except Exception as error:
                if not await self._reopen_refused(engine, run, error):
                    raise
                return None  # the step waits again for the reopened reviews
        run_id = run.run_id
        if how.edit is not None:
            await engine.update(run_id, how.edit)
            return None
        return await self._run_step(engine, run, Step.proceed())

    async def _reopen_refused(self, engine: Engine, run: Run, error: Exception) -> bool:
        """The graph refused answers of the step (a typed interrupt's model raised
        `ValidationError`): open those reviews again, their answers kept as refused, and show
        why on each. False when the error is not that (the run stops as for any error)."""
        certain = is_invalid_resume(error)
        if not (certain or isinstance(error, RefusedAnswer)):
            return False
        text = error.detail if isinstance(error, RefusedAnswer) else str(error)
        current = await self.store.get_run(run.run_id)
        if current is None:
            return False
        step = await self.store.step_reviews(run.run_id, current.step)
        waiting = {i.id for i in (await engine.state(run.run_id)).interrupts}
        refused = refused_reviews(step, waiting, text, certain)
        if not refused:
            return False
        line = readable_error(text)
        log.info("run %s: the graph refused %d answer(s): %s", run.run_id, len(refused), line)
        reopened = await self.store.reopen(run.run_id, {r.review_id: line for r in refused})
        for review in reopened:
            await self.thread.show_review(current, review)
        waiting = dataclasses.replace(current, phase="waiting")
        await self.thread.show_root(waiting, len(step) - len(reopened), len(step), again=True)
        return True

    async def _open_step(
        self, run: Run, requests: list[StepRequest], recovering: bool
    ) -> tuple[Run, Sequence[Review]]:
        """Post the step's reviews; (the run, the step's reviews if they were all answered
        while they were posted: resume now) or (the run, ()) to wait for people."""
        run, reviews = await self.store.open_step(run.run_id, requests)
        unposted = [r for r in reviews if r.message_ts is None]
        already = await self.thread.find_reviews(run, unposted) if recovering and unposted else {}
        posted = {}  # saved with the end of posting; a crash before that finds them (metadata)
        for review in unposted:
            ts = already.get(review.review_id) or await self.thread.post_review(run, review)
            posted[review.review_id] = ts
        decision = await self.store.end_posting(run.run_id, posted)
        self.metrics.stored(decision)  # a step answered while it was posted resumes now
        assert decision.run is not None
        if decision.resume:
            return dataclasses.replace(decision.run, phase="resuming"), decision.step
        self.inbox.refresh(self.inbox.concerned(decision.run, *reviews))
        await self.thread.show_root(decision.run, decision.decided, decision.total)
        return decision.run, ()


async def _settled(shown: asyncio.Future | None) -> None:
    """Wait for Slack to show an answer (its failure was the clicker's to hear about)."""
    if shown is not None:
        with contextlib.suppress(Exception):
            await shown
