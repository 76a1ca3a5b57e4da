"""Orchestrations as people see them: start a run, record answers, cancel, retry.

Listeners call the public methods; each returns the text of an ephemeral notice for the person,
or None. The answer that completes a step claims its resume and hands it to the driver
(slackbot/driver.py), which runs the graph, posts the step's reviews and the result.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from graphs.review import APPROVE
from slackbot import blocks
from slackbot.catalog import Catalog
from slackbot.driver import Driver
from slackbot.engine.inputs import InputError, build_input
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
    topic_problem,
)
from slackbot.reviews import KINDS
from slackbot.steps import control_at
from slackbot.store import (
    Decision,
    Outcome,
    Review,
    ReviewStatus,
    Run,
    RunLimitReached,
    Store,
)
from slackbot.thread import SlackThread

log = logging.getLogger(__name__)


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
        self.driver = Driver(
            store=store,
            catalog=catalog,
            thread=thread,
            metrics=self.metrics,
            approvers=approvers,
            max_concurrent_runs=max_concurrent_runs,
        )
        self.inbox = self.driver.inbox  # status and App Home

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
        try:
            with self.driver.hold(run.run_id):
                ts = await self.thread.post_root(run)
        except SlackApiError as error:
            await self.store.delete_run(run.run_id)
            if error.response.get("error") in {"not_in_channel", "channel_not_found"}:
                return NOT_IN_CHANNEL
            return f"I couldn't start: Slack answered `{error.response.get('error')}`."
        await self.store.set_root_ts(run.run_id, ts)
        self.metrics.run_started()
        self.driver.begin(dataclasses.replace(run, root_ts=ts), fresh=True)
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
    ) -> bool:
        """A thread reply: the notes of a revision the person asked for (True: taken, now or
        before), else ordinary chat."""
        if not text.strip() or not self._may_answer(user_id):
            return False
        try:
            decision = await self.store.record_notes(
                channel_id=channel_id, thread_ts=thread_ts, user=user_id, text=text, reply_ts=ts
            )
        except Exception as error:
            log.exception("could not store a thread reply")
            await self.thread.tell(channel_id, user_id, NOT_SAVED.format(why=describe(error)))
            return True
        if decision.outcome == Outcome.RECORDED:
            await self.thread.acknowledge_reply(channel_id, ts)
            await self._after(decision, None)
        return decision.outcome in (Outcome.RECORDED, Outcome.DUPLICATE)

    async def answered_in_thread(self, channel_id: str, ts: str, decision: Decision) -> None:
        """A thread reply stored as the answer to an open question (conversations.py)."""
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
        self.driver.spawn(self._after_quietly(decision))
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
        self.driver.begin(run, recovering=True)
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
        self.driver.begin(run, step=decision.step, shown=shown)
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

    # -- the driver's work, for the server and tests ------------------------------------------

    async def start_background_work(self) -> None:
        await self.driver.start_background_work()

    async def run_due_work(self) -> None:
        await self.driver.due.run()

    async def wait_idle(self) -> None:
        await self.driver.wait_idle()

    async def close(self) -> None:
        await self.driver.close()
