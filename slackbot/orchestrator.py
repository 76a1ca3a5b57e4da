"""Orchestrations: start a run, record answers, resume each step once, post the results.

Listeners call the public methods; each returns the text of an ephemeral notice for the person,
or None. A run is driven (graph runs, reviews posted, summary posted) only by the process that
holds its lease in the store. What to do next is always derived from the checkpoint and the
stored answers, so a process that takes over after a crash runs exactly the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError

from graphs.review import APPROVE
from slackbot import blocks
from slackbot.catalog import Catalog, HostedGraph
from slackbot.engine.base import Engine, GraphState
from slackbot.engine.inputs import InputError, build_input
from slackbot.engine.plain import to_plain
from slackbot.inbox import Inbox
from slackbot.logs import bind_log_context
from slackbot.metrics import Metrics
from slackbot.notices import (
    ANSWERED_BY_YOU,
    CANCEL_BUSY,
    CANCEL_NOT_ALLOWED,
    CANCEL_OVER,
    FORM_TOO_LATE,
    HELP,
    NOT_ALLOWED,
    NOT_IN_CHANNEL,
    NOT_RETRYABLE,
    NOT_SAVED,
    NOTICES,
    TOO_MANY_HERE,
    TOO_MANY_OF_YOURS,
    describe,
    is_transient_fault,
    topic_problem,
)
from slackbot.reviews import KINDS
from slackbot.steps import Resumption, control_at, resumption, resumption_of, step_requests
from slackbot.store import (
    Decision,
    LeaseLost,
    Outcome,
    Review,
    ReviewStatus,
    Run,
    RunLimitReached,
    StepRequest,
    Store,
)
from slackbot.thread import REVIEW_EVENT, SUMMARY_EVENT, SlackThread

log = logging.getLogger(__name__)

MAX_GRAPH_RUNS_PER_DRIVE = 20  # a guard against a graph that makes no progress


def _told_on_failure(method: Callable[..., Awaitable[str | None]]):
    """A listener's call that fails (the database is down, Slack refuses) answers with a
    notice for the person instead of vanishing: nothing was stored, they can try again."""

    @functools.wraps(method)
    async def told(*args: Any, **kwargs: Any) -> str | None:
        try:
            return await method(*args, **kwargs)
        except Exception as error:
            log.exception("%s failed", method.__name__)
            return NOT_SAVED.format(why=describe(error))

    return told


Where = tuple[str, str] | None  # (team id, channel id) a click came from


@dataclasses.dataclass(frozen=True)
class RunLimits:
    """Runs in flight (running or waiting for people) one person, or one channel, may have."""

    per_user: int = 10
    per_channel: int = 50


class Orchestrator:
    def __init__(
        self,
        *,
        store: Store,
        catalog: Catalog,
        thread: SlackThread,
        approvers: frozenset[str] = frozenset(),
        max_concurrent_runs: int = 16,
        limits: RunLimits = RunLimits(),
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics or Metrics()  # what /metrics reports of runs and answers
        self.store = store
        self.limits = limits
        self.catalog = catalog
        self.thread = thread
        self.approvers = approvers
        self._tasks: set[asyncio.Task] = set()
        # The runs this process holds leases on, and the task working on each: all renewed
        # in one statement per interval, however many runs are queued for a slot.
        self._held: dict[str, asyncio.Task] = {}
        self._background: list[asyncio.Task] = []
        self._closing = False
        # Bounds memory and database connections when many steps complete at once; the
        # runs that wait keep their leases alive.
        self._slots = asyncio.Semaphore(max_concurrent_runs)
        self.inbox = Inbox(store, thread, approvers, self._spawn)  # status and App Home

    # -- what people do -----------------------------------------------------------------------

    def command_reply(self, text: str) -> str | None:
        """The ephemeral answer to `/orchestrate <text>` when it starts nothing (help, usage,
        refusals), else None. Pure and fast: it is the slash command's ack."""
        if text.strip().lower() == HELP:
            return self.catalog.help_text()
        if unavailable := self.catalog.unavailable():  # a LangGraph server that is down
            return unavailable
        graph, rest = self.catalog.pick(text)
        problem = topic_problem(rest)
        if problem:
            return problem if graph.builtin else f"{problem}\n{self.catalog.help_text()}"
        try:
            build_input(graph.inputs, rest)
        except InputError as error:
            return f"{error} See `/orchestrate help`."
        return None

    @_told_on_failure
    async def start(self, *, team_id: str, channel_id: str, user_id: str, topic: str) -> str | None:
        graph, text = self.catalog.pick(topic)
        try:
            graph_input = build_input(graph.inputs, text)
        except InputError as error:
            return f"{error} See `/orchestrate help`."
        try:
            run = await self.store.create_run(
                team_id=team_id,
                channel_id=channel_id,
                started_by=user_id,
                topic=text,
                graph=graph.name,
                graph_input=graph_input,
                limits=(self.limits.per_user, self.limits.per_channel),
            )
        except RunLimitReached as full:
            too_many = TOO_MANY_OF_YOURS if full.whose == "user" else TOO_MANY_HERE
            return too_many.format(limit=full.limit)
        # Slack may be slow (retries, Retry-After): hold the lease meanwhile, or recovery
        # would take the run over and post a second root message.
        self._held[run.run_id] = asyncio.current_task()  # type: ignore[assignment]
        try:
            ts = await self.thread.post_root(run)
        except SlackApiError as error:
            await self.store.delete_run(run.run_id)
            if error.response.get("error") in {"not_in_channel", "channel_not_found"}:
                return NOT_IN_CHANNEL
            return f"I couldn't start: Slack answered `{error.response.get('error')}`."
        finally:
            del self._held[run.run_id]
        await self.store.set_root_ts(run.run_id, ts)
        self.metrics.run_started()
        self._spawn(self._drive(dataclasses.replace(run, root_ts=ts), fresh=True))
        return None

    @_told_on_failure
    async def approve(
        self, review_id: str, user_id: str, message_ts: str | None, where: Where = None
    ) -> str | None:
        bind_log_context(None, review_id)
        if not self._may_answer(user_id):
            return NOT_ALLOWED
        answer = {"action": APPROVE, "by": user_id}
        decision = await self.store.decide(review_id, user_id, answer, where)
        return await self._after(decision, message_ts, user_id)

    @_told_on_failure
    async def request_revision(
        self, review_id: str, user_id: str, message_ts: str | None, where: Where = None
    ) -> str | None:
        bind_log_context(None, review_id)
        if not self._may_answer(user_id):
            return NOT_ALLOWED
        decision = await self.store.request_notes(review_id, user_id, where)
        return await self._after(decision, message_ts, user_id)

    async def record_reply(
        self, *, channel_id: str, thread_ts: str, user_id: str, text: str, ts: str
    ) -> None:
        """A thread reply: the notes of a revision the person asked for, else ordinary chat."""
        if not text.strip() or not self._may_answer(user_id):
            return
        try:
            decision = await self.store.record_notes(
                channel_id=channel_id, thread_ts=thread_ts, user=user_id, text=text, reply_ts=ts
            )
        except Exception as error:
            log.exception("could not store a thread reply")
            await self.thread.tell(channel_id, user_id, NOT_SAVED.format(why=describe(error)))
            return
        if decision.outcome == Outcome.RECORDED:
            await self.thread.acknowledge_reply(channel_id, ts)
            await self._after(decision, None)

    @_told_on_failure
    async def answer(
        self,
        review_id: str,
        control: int,
        user_id: str,
        message_ts: str | None,
        where: Where = None,
    ) -> str | None:
        """A button that answers at once (an option, Yes / No, Continue, …)."""
        bind_log_context(None, review_id)
        if not self._may_answer(user_id):
            return NOT_ALLOWED
        review = await self.store.get_review(review_id)
        chosen = control_at(review, control)
        if review is None or chosen is None or chosen.form:
            return NOTICES[Outcome.UNKNOWN]
        decision = await self.store.decide(review_id, user_id, chosen.answer, where)
        return await self._after(decision, message_ts, user_id)

    @_told_on_failure
    async def open_form(
        self, review_id: str, control: int, user_id: str, trigger_id: str
    ) -> str | None:
        """A button that opens a form: the modal opens now (its trigger lives 3 s)."""
        bind_log_context(None, review_id)
        if not self._may_answer(user_id):
            return NOT_ALLOWED
        review = await self.store.get_review(review_id)
        chosen = control_at(review, control)
        if review is None or chosen is None or not chosen.form:
            return NOTICES[Outcome.UNKNOWN]
        if review.status == ReviewStatus.CANCELLED:
            return NOTICES[Outcome.CANCELLED].format(ended_by=review.decided_by)
        if review.status == ReviewStatus.EXPIRED:
            return NOTICES[Outcome.EXPIRED]
        if review.decided_by:
            if review.decided_by == user_id:
                return ANSWERED_BY_YOU
            return NOTICES[Outcome.ALREADY_DECIDED].format(by=review.decided_by)
        form = KINDS[review.kind].form(review, control)
        try:
            await self.thread.open_form(trigger_id, blocks.form_view(review, control, form))
        except SlackApiError as error:
            if error.response.get("error") in {"expired_trigger_id", "exchanged_trigger_id"}:
                return FORM_TOO_LATE
            raise
        return None

    async def submit_form(
        self, review_id: str, control: int, user_id: str, values: dict[str, Any]
    ) -> blocks.FormReply:
        """A submitted form: errors shown on it, or the answer stored (then shown and resumed
        in the background, as Slack wants its answer to a submission within 3 s)."""
        bind_log_context(None, review_id)
        if not self._may_answer(user_id):
            return blocks.FormReply(notice=NOT_ALLOWED)
        review = await self.store.get_review(review_id)
        if review is None or control_at(review, control) is None:
            return blocks.FormReply(notice=NOTICES[Outcome.UNKNOWN])
        read = KINDS[review.kind].read_form(review, control, values)
        if read.errors:
            return blocks.FormReply(errors=read.errors)
        try:
            decision = await self.store.decide(review_id, user_id, read.answer)
        except Exception as error:  # the form stays open: the person can submit it again
            log.exception("could not store a form answer")
            first = next(iter(values), "")
            return blocks.FormReply(errors={first: NOT_SAVED.format(why=describe(error))})
        if decision.outcome != Outcome.RECORDED:
            return blocks.FormReply(notice=self._notice(decision, user_id))
        self._spawn(self._after_quietly(decision))
        return blocks.FormReply()

    async def _after_quietly(self, decision: Decision) -> None:
        try:
            await self._after(decision, None)
        except Exception:  # stored already; recovery resumes the step if this failed
            log.exception("could not show or resume after a form answer")

    @_told_on_failure
    async def cancel(
        self, run_id: str, user_id: str, message_ts: str | None, where: Where = None
    ) -> str | None:
        """The root's Cancel: the run is never resumed; its open reviews say who cancelled."""
        bind_log_context(run_id)
        run = await self.store.get_run(run_id)
        if run is None or (where and where[1] and where[1] != run.channel_id):
            return NOTICES[Outcome.UNKNOWN]
        if user_id != run.started_by and user_id not in self.approvers:
            return CANCEL_NOT_ALLOWED
        outcome, cancelled, closed = await self.store.cancel(run_id, user_id)
        if outcome == Outcome.BUSY:
            return CANCEL_BUSY
        if outcome != Outcome.RECORDED or cancelled is None:
            return CANCEL_OVER
        self.metrics.run_ended("cancelled")
        for review in closed:
            await self.thread.show_review(cancelled, review)
        await self.thread.show_root(cancelled)
        self.inbox.refresh(self.inbox.concerned(cancelled, *closed))
        return None

    @_told_on_failure
    async def retry(self, run_id: str, user_id: str, message_ts: str | None) -> str | None:
        bind_log_context(run_id)
        if not self._may_answer(user_id):
            return NOT_ALLOWED
        before = await self.store.get_run(run_id)
        run = await self.store.claim_failed(run_id)
        if before is None or run is None:
            return NOT_RETRYABLE
        if message_ts:
            await self.thread.show_retry(before, message_ts, retried_by=user_id)
        await self.thread.show_root(run)
        # As after a crash: a message whose ts was not saved is found, not posted again.
        self._spawn(self._drive(run, recovering=True))
        return None

    def _may_answer(self, user_id: str) -> bool:
        return not self.approvers or user_id in self.approvers

    async def _after(
        self, decision: Decision, message_ts: str | None, user_id: str | None = None
    ) -> str | None:
        """Show a stored answer in Slack and resume the step if it completed it."""
        if decision.outcome != Outcome.RECORDED:
            return self._notice(decision, user_id)
        assert decision.run and decision.review
        bind_log_context(decision.run.run_id, decision.review.review_id)
        self.metrics.stored(decision)
        self.inbox.refresh(self.inbox.concerned(decision.run, decision.review))
        if not decision.resume:
            await self.thread.show_review(decision.run, decision.review, message_ts)
            await self.thread.show_root(decision.run, decision.decided, decision.total)
            return None
        # The graph resumes first; Slack shows the answer meanwhile (the drive's own messages
        # wait for that, so the thread never shows "resuming" after the step's result).
        run = dataclasses.replace(decision.run, phase="resuming")
        shown = asyncio.ensure_future(self._show_answer(run, decision.review, message_ts))
        self._spawn(self._drive(run, step=decision.step, shown=shown))
        await shown
        return None

    async def _show_answer(self, run: Run, review: Review, message_ts: str | None) -> None:
        await self.thread.show_review(run, review, message_ts)
        await self.thread.show_root(run)

    @staticmethod
    def _notice(decision: Decision, user_id: str | None = None) -> str:
        review = decision.review
        by = (review.decided_by or review.notes_requested_by) if review else None
        if decision.outcome == Outcome.ALREADY_DECIDED and by and by == user_id:
            return ANSWERED_BY_YOU
        ended_by = decision.run.ended_by if decision.run else None
        return NOTICES[decision.outcome].format(by=by, ended_by=ended_by)

    # -- background work ----------------------------------------------------------------------

    async def start_background_work(self) -> None:
        """Keep this process's leases; pick up runs whose driver died (crash, deploy) now and
        whenever a lease expires."""
        self._background = [
            asyncio.create_task(self._renew_leases_forever()),
            asyncio.create_task(self._recover_forever()),
        ]

    async def close(self) -> None:
        self._closing = True  # listeners still finishing must not start new work
        tasks = [*self._tasks, *self._background]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.thread.close()
        with contextlib.suppress(Exception):
            await self.store.release_leases()

    async def wait_idle(self) -> None:
        """Wait until no run is being driven by this process (tests and the demo use this)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _recover_forever(self) -> None:
        while True:
            try:
                for run in await self.store.claim_expired():
                    log.info("taking over run %s (its lease expired)", run.run_id)
                    self._spawn(self._drive(run, recovering=True))
            except Exception:
                log.exception("recovery pass failed")
            await self.run_due_work()
            await asyncio.sleep(self.store.lease_seconds / 3)

    async def run_due_work(self) -> None:
        """Expire steps nobody answered in time and send the reminders that are due. Any
        replica may call this; the store hands each piece of work to exactly one."""
        try:
            expired = await self.store.expire_due() if self.store.expire_after else []
            reminders = await self.store.claim_reminders() if self.store.remind_after else []
        except Exception:
            log.exception("could not read the work that is due")
            return
        for run, reviews in expired:
            log.info("run %s expired: %d review(s) unanswered", run.run_id, len(reviews))
            self.metrics.run_ended("expired")
            with contextlib.suppress(SlackApiError):  # stored already; Slack only shows it
                for review in reviews:
                    await self.thread.show_review(run, review)
                await self.thread.post_note(run, blocks.timed_out_message(run, len(reviews)))
            await self.thread.show_root(run)
            self.inbox.refresh(self.inbox.concerned(run, *reviews))
        for run in reminders:
            try:
                await self._remind(run)
            except Exception:  # its claim runs out and the next pass tries again
                log.exception("could not send a reminder for run %s", run.run_id)

    async def _remind(self, run: Run) -> None:
        reviews = await self.store.step_reviews(run.run_id, run.step)
        open_ = [
            r for r in reviews if r.status in (ReviewStatus.PENDING, ReviewStatus.AWAITING_NOTES)
        ]
        people = sorted(self.approvers) or [run.started_by]
        await self.thread.post_reminder(run, people, open_)
        await self.store.reminder_sent(run)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        if self._closing:
            work.close()  # the lease expires and another process (or the restart) takes over
            return
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drive(
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
        if run.run_id in self._held:
            return
        driver = asyncio.current_task()
        assert driver is not None
        self._held[run.run_id] = driver
        bind_log_context(run.run_id)  # this task's lines name the run (not a click's review)
        try:
            async with self._slots:
                await self._advance(run, recovering, fresh, step, shown)
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
            del self._held[run.run_id]

    async def _renew_leases_forever(self) -> None:
        """One statement per interval renews every lease this process holds; a run another
        process took over meanwhile (this one stalled past its lease) stops here."""
        while True:
            await asyncio.sleep(self.store.lease_seconds / 3)
            held = dict(self._held)
            if not held:
                continue
            try:
                taken = await self.store.renew_leases(held)
            except Exception:
                log.exception("could not renew this process's leases")
                continue
            for run_id in taken:
                if self._held.get(run_id) is held[run_id]:
                    log.warning("run %s was taken over by another process", run_id)
                    held[run_id].cancel()

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
    ) -> None:
        graph = self.catalog[run.graph]
        engine, run_id = graph.engine, run.run_id
        if run.root_ts is None:  # the process died between creating the run and posting
            ts = await self.thread.post_root(run)
            await self.store.set_root_ts(run_id, ts)
            run = dataclasses.replace(run, root_ts=ts)
        graph_input = run.input if run.input is not None else {}
        # The state the graph stopped in, when known without reading the checkpoint back.
        state: GraphState | None = None
        if step:
            state = await self._resume(engine, run_id, resumption_of(step))
        elif fresh:
            state = await engine.start(run_id, graph_input)
        for _ in range(MAX_GRAPH_RUNS_PER_DRIVE):
            read = state is None  # else the graph just raised what it waits for: unanswered
            if state is None:
                state = await engine.state(run_id)
            requests = step_requests(state)
            if requests:
                answers = await self.store.decided_answers(run_id) if read else {}
                if any(r.key in answers for r in requests):  # answered before a crash
                    state = await self._resume(engine, run_id, resumption(state, answers))
                    continue
                await _settled(shown)
                run, step = await self._open_step(run, requests, recovering)
                if not step:
                    return  # waiting for people
                state = await self._resume(engine, run_id, resumption_of(step))
            elif not state.started:
                if run.step > 0:  # it had reached a step: its thread was deleted meanwhile
                    raise engine.lost(run_id)
                state = await engine.start(run_id, graph_input)
            elif state.next:
                state = await engine.proceed(run_id)  # a crash stopped it mid-step: go on
            else:
                await _settled(shown)
                await self._finish(run, graph, state.values, recovering)
                return
        raise RuntimeError("the graph made no progress")

    async def _resume(self, engine: Engine, run_id: str, how: Resumption) -> GraphState | None:
        self.metrics.step_resuming(run_id)
        if how.answers is not None:
            return await engine.resume(run_id, how.answers)
        if how.edit is not None:
            await engine.update(run_id, how.edit)
            return None
        return await engine.proceed(run_id)

    async def _open_step(
        self, run: Run, requests: list[StepRequest], recovering: bool
    ) -> tuple[Run, Sequence[Review]]:
        """Post the step's reviews; (the run, the step's reviews if they were all answered
        while they were posted: resume now) or (the run, ()) to wait for people."""
        run, reviews = await self.store.open_step(run.run_id, requests)
        unposted = [r for r in reviews if r.message_ts is None]
        already = (
            await self.thread.find_posted(run, REVIEW_EVENT) if recovering and unposted else {}
        )
        posted = {}  # saved with the end of posting; a crash before that finds them (metadata)
        for review in unposted:
            ts = already.get(review.review_id) or await self.thread.post_review(run, review)
            posted[review.review_id] = ts
        decision = await self.store.end_posting(run.run_id, posted)
        self.metrics.stored(decision)  # a step answered while it was posted resumes now
        assert decision.run is not None
        if decision.resume:
            return dataclasses.replace(decision.run, phase="resuming"), decision.step
        self.inbox.refresh(self.inbox.concerned(decision.run))
        await self.thread.show_root(decision.run, decision.decided, decision.total)
        return decision.run, ()

    async def _finish(self, run: Run, graph: HostedGraph, values: dict, recovering: bool) -> None:
        result = to_plain(values)
        if not run.summary_ts:
            already = await self.thread.find_posted(run, SUMMARY_EVENT) if recovering else {}
            if graph.builtin:
                message = blocks.summary_message(
                    values.get("summary", ""), values.get("plan_note", ""), self.thread.model
                )
            else:
                message = blocks.result_message(result, graph.outputs)
            ts = already.get(run.run_id) or await self.thread.post_result(run, message)
            run = dataclasses.replace(run, summary_ts=ts)
        await self.store.finish(run.run_id, result, run.summary_ts)
        self.metrics.run_ended("finished")
        await self.thread.show_root(dataclasses.replace(run, phase="done"))


async def _settled(shown: asyncio.Future | None) -> None:
    """Wait for Slack to show an answer (its failure was the clicker's to hear about)."""
    if shown is not None:
        with contextlib.suppress(Exception):
            await shown
