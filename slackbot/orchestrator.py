"""Orchestrations as people see them: start a run, record answers, cancel, retry.

Listeners call the public methods. Those that store return a Recorded (slackbot/recording.py):
stored within Slack's 3 s before the listener acks, then shown after the ack; the others return
the text of an ephemeral notice for the person, or None. The answer that completes a step
claims its resume and hands it to the driver (slackbot/driver.py), which runs the graph, posts
the step's reviews and the result.
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
from slackbot.engine.inputs import InputError
from slackbot.logs import bind_log_context
from slackbot.metrics import Metrics
from slackbot.notices import (
    ANSWERED_BY_YOU,
    CANCEL_BUSY,
    CANCEL_LATE,
    CANCEL_NOT_ALLOWED,
    CANCEL_OVER,
    FORM_TOO_LATE,
    HELP,
    NOT_ALLOWED,
    NOT_IN_CHANNEL,
    NOT_RETRYABLE,
    NOT_SAVED,
    NOT_SAVED_IN_TIME,
    NOTES_NOT_ALLOWED,
    NOTES_OVERTAKEN,
    NOTICES,
    TOO_MANY_HERE,
    TOO_MANY_OF_YOURS,
    describe,
)
from slackbot.people import People
from slackbot.recording import Recorded, stored_first
from slackbot.reminding import RuleReminders
from slackbot.reviews import KINDS
from slackbot.rules import Gate
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
from slackbot.store.answers import ADDRESSED
from slackbot.store.retry import deadline
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
# A form submission is answered within Slack's 3 s: its database work gets STORE_SECONDS,
# and the answer goes back by FORM_SECONDS whatever the database does.
STORE_SECONDS, FORM_SECONDS = 2.0, 2.5


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
        people: People | None = None,
    ) -> None:
        self.metrics = metrics or Metrics()  # what /metrics reports of runs and answers
        self.people = people  # ORCHESTRATE_RULES: who a review's rule lets answer it
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
        if people is not None:
            self.driver.due.rules = RuleReminders(store, thread, people)
            self.inbox.people = people

    # -- what people do -----------------------------------------------------------------------

    def command_reply(self, text: str) -> str | None:
        """The ephemeral answer to `/orchestrate <text>` when it starts nothing (help, usage,
        refusals), else None. Pure and fast: it is the slash command's ack."""
        if text.strip().lower() == HELP:
            return self.catalog.help_text()
        if unavailable := self.catalog.unavailable():  # a LangGraph server that is down
            return unavailable
        try:
            self.catalog.prepare(text)
        except InputError as error:
            return str(error)
        return None

    @stored_first
    async def start(self, *, team_id: str, channel_id: str, user_id: str, topic: str) -> Recorded:
        """The run is stored (before the ack); its root is posted and the graph started after
        (a process that dies in between leaves the run to recovery, which posts the root)."""
        try:
            graph, text, graph_input = self.catalog.prepare(topic)
        except InputError as error:
            return Recorded(str(error))
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
            return Recorded(too_many.format(limit=full.limit))
        return Recorded(then=functools.partial(self._post_root, run))

    async def _post_root(self, run: Run) -> str | None:
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

    @stored_first
    async def approve(
        self, review_id: str, user_id: str, message_ts: str | None, where: Where = None
    ) -> Recorded:
        bind_log_context(None, review_id)
        gate = await self._gate(review_id, user_id)
        if gate is None and not self._may_answer(user_id):
            return Recorded(NOT_ALLOWED)
        answer = {"action": APPROVE, "by": user_id}
        decision = await self.store.decide(review_id, user_id, answer, where, gate)
        return self._recorded(decision, message_ts, user_id)

    @stored_first
    async def request_revision(
        self, review_id: str, user_id: str, message_ts: str | None, where: Where = None
    ) -> Recorded:
        bind_log_context(None, review_id)
        gate = await self._gate(review_id, user_id)
        if gate is None and not self._may_answer(user_id):
            return Recorded(NOT_ALLOWED)
        decision = await self.store.request_notes(review_id, user_id, where, gate)
        return self._recorded(decision, message_ts, user_id)

    async def record_reply(
        self, *, channel_id: str, thread_ts: str, user_id: str, text: str, ts: str
    ) -> Recorded | None:
        """A thread reply: the notes of a revision the person asked for (stored, or taken
        before, or refused aloud: what to show once Slack has its ack), else ordinary chat
        (None). Notes the app does not take are not ignored in silence: the person is told."""
        if not text.strip():
            return None

        def tell(notice: str) -> Recorded:
            return Recorded(then=functools.partial(self._tell, channel_id, user_id, notice))

        try:
            if not self._may_answer(user_id):
                if await self._meant_as_notes(channel_id, thread_ts, text):
                    return tell(NOTES_NOT_ALLOWED)
                return None
            decision = await self.store.record_notes(
                channel_id=channel_id, thread_ts=thread_ts, user=user_id, text=text, reply_ts=ts
            )
        except Exception as error:
            log.exception("could not store a thread reply")
            return tell(NOT_SAVED.format(why=describe(error)))
        if decision.outcome == Outcome.RECORDED:
            shown = functools.partial(self.answered_in_thread, channel_id, ts, decision)
            return Recorded(then=shown)
        if decision.outcome == Outcome.ALREADY_DECIDED and decision.review:
            bind_log_context(
                decision.run.run_id if decision.run else None, decision.review.review_id
            )
            return tell(NOTES_OVERTAKEN.format(by=decision.review.decided_by))
        return Recorded() if decision.outcome == Outcome.DUPLICATE else None

    async def _tell(self, channel_id: str, user_id: str, notice: str) -> None:
        await self.thread.tell(channel_id, user_id, notice)

    async def _meant_as_notes(self, channel_id: str, thread_ts: str, text: str) -> bool:
        """`<worker id>: …` in the thread of a run with that worker's review open."""
        addressed = ADDRESSED.match(text)
        if not addressed:
            return False
        reviews = await self.store.open_reviews_in_thread(channel_id, thread_ts)
        return any(
            isinstance(r.request, dict) and r.request.get("worker_id") == addressed.group(1)
            for r in reviews
        )

    async def answered_in_thread(self, channel_id: str, ts: str, decision: Decision) -> None:
        """A thread reply stored as notes, or as the answer to an open question
        (conversations.py)."""
        await self.thread.acknowledge_reply(channel_id, ts)
        await self._after(decision)

    @stored_first
    async def answer(
        self,
        review_id: str,
        control: int,
        user_id: str,
        message_ts: str | None,
        where: Where = None,
    ) -> Recorded:
        """A button that answers at once (an option, Yes / No, Continue, …)."""
        bind_log_context(None, review_id)
        review = await self.store.get_review(review_id)
        gate = await self._gate(review, user_id)
        if gate is None and not self._may_answer(user_id):
            return Recorded(NOT_ALLOWED)
        chosen = control_at(review, control)
        if review is None or chosen is None or chosen.form:
            return Recorded(NOTICES[Outcome.UNKNOWN])
        decision = await self.store.decide(review_id, user_id, chosen.answer, where, gate)
        return self._recorded(decision, message_ts, user_id)

    @_told_on_failure
    async def open_form(
        self, review_id: str, control: int, user_id: str, trigger_id: str, where: Where = None
    ) -> str | None:
        """A button that opens a form: the modal opens now (its trigger lives 3 s), only from
        the review's own channel (its submission then carries the team to check)."""
        bind_log_context(None, review_id)
        review = await self.store.get_review(review_id)
        gate = await self._gate(review, user_id)
        if not self._may_answer(user_id, gate):
            return NOT_ALLOWED
        chosen = control_at(review, control)
        if review is None or chosen is None or not chosen.form:
            return NOTICES[Outcome.UNKNOWN]
        run = await self.store.get_run(review.run_id)
        if run is None or (where and run.elsewhere(*where, review.channel_id)):
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
        self,
        review_id: str,
        control: int,
        user_id: str,
        values: dict[str, Any],
        team_id: str = "",
    ) -> blocks.FormReply:
        """A submitted form: errors shown on it, or the answer stored (then shown and resumed
        in the background). Slack wants the answer within 3 s: store work that takes longer
        is answered "couldn't save in time" and, should it store after all, shown as stored.
        Only from the review's team: the modal itself opened only from the review's channel."""
        bind_log_context(None, review_id)
        storing = asyncio.ensure_future(
            self._store_form(review_id, control, user_id, values, team_id)
        )
        try:
            reply, decision = await asyncio.wait_for(asyncio.shield(storing), FORM_SECONDS)
        except TimeoutError:
            log.warning("a form answer was not stored within %g s", FORM_SECONDS)
            self.driver.spawn(self._show_when_stored(storing))
            return blocks.FormReply(errors={next(iter(values), ""): NOT_SAVED_IN_TIME})
        if decision is not None:
            self.driver.spawn(self._after_quietly(decision))
        return reply

    async def _store_form(
        self, review_id: str, control: int, user_id: str, values: dict[str, Any], team_id: str
    ) -> tuple[blocks.FormReply, Decision | None]:
        """The form read and its answer stored, within STORE_SECONDS of database work: the
        reply, and the decision to show when one was recorded."""
        with deadline(STORE_SECONDS):
            try:
                review = await self.store.get_review(review_id)
                gate = await self._gate(review, user_id)
                if gate is None and not self._may_answer(user_id):
                    return blocks.FormReply(notice=NOT_ALLOWED), None
                if review is None or control_at(review, control) is None:
                    return blocks.FormReply(notice=NOTICES[Outcome.UNKNOWN]), None
                read = KINDS[review.kind].read_form(review, control, values)
                if read.errors:
                    return blocks.FormReply(errors=read.errors), None
                where = (team_id, "")
                decision = await self.store.decide(review_id, user_id, read.answer, where, gate)
            except Exception as error:  # the form stays open: the person can submit it again
                log.exception("could not store a form answer")
                first = next(iter(values), "")
                return blocks.FormReply(errors={first: NOT_SAVED.format(why=describe(error))}), None
        if decision.outcome != Outcome.RECORDED:
            return blocks.FormReply(notice=self._notice(decision, user_id)), None
        return blocks.FormReply(), decision

    async def _show_when_stored(self, storing: asyncio.Future) -> None:
        """A form answer stored after its submission was answered: shown as stored anyway."""
        _, decision = await storing
        if decision is not None:
            await self._after_quietly(decision)

    async def _after_quietly(self, decision: Decision) -> None:
        try:
            await self._after(decision)
        except Exception:  # stored already; recovery resumes the step if this failed
            log.exception("could not show or resume after a form answer")

    @stored_first
    async def cancel(
        self, run_id: str, user_id: str, message_ts: str | None, where: Where = None
    ) -> Recorded:
        """The root's Cancel: the run is never resumed; its open reviews say who cancelled."""
        bind_log_context(run_id)
        run = await self.store.get_run(run_id)
        if run is None or (where and run.elsewhere(*where)):
            return Recorded(NOTICES[Outcome.UNKNOWN])
        if user_id != run.started_by and user_id not in self.approvers:
            return Recorded(CANCEL_NOT_ALLOWED)
        outcome, cancelled, closed, owed = await self.store.cancel(run_id, user_id)
        if outcome == Outcome.BUSY:
            return Recorded(CANCEL_BUSY)
        if outcome != Outcome.RECORDED or cancelled is None:
            return Recorded(CANCEL_OVER)
        self.metrics.run_ended("cancelled")
        self.inbox.refresh(self.inbox.concerned(cancelled, *closed))

        async def show() -> str | None:
            # Stored with the cancel: shown now, or by whichever process retries it.
            shown = await self.driver.due.outbox.do(owed)
            return None if shown else CANCEL_LATE

        return Recorded(then=show)

    @stored_first
    async def retry(
        self, run_id: str, user_id: str, message_ts: str | None, where: Where = None
    ) -> Recorded:
        """The failed run is claimed again (before the ack); shown and driven after (a process
        that dies in between leaves it to recovery once its lease runs out)."""
        bind_log_context(run_id)
        if not self._may_answer(user_id):
            return Recorded(NOT_ALLOWED)
        before = await self.store.get_run(run_id)
        if before is None or (where and before.elsewhere(*where)):
            return Recorded(NOTICES[Outcome.UNKNOWN])
        run = await self.store.claim_failed(run_id)
        if run is None:
            return Recorded(NOT_RETRYABLE)
        return Recorded(then=functools.partial(self._retried, before, run, user_id, message_ts))

    async def _retried(
        self, before: Run, run: Run, user_id: str, message_ts: str | None
    ) -> str | None:
        if message_ts:
            await self.thread.show_retry(before, message_ts, retried_by=user_id)
        await self.thread.show_root(run)
        # As after a crash: a message whose ts was not saved is found, not posted again.
        self.driver.begin(run, recovering=True)
        return None

    def _may_answer(self, user_id: str, gate: Gate | None = None) -> bool:
        if gate is not None:  # the store decides with the run's escalation; a form may open
            return user_id in gate.approvers | gate.escalation
        return not self.approvers or user_id in self.approvers

    async def _gate(self, review: Review | str | None, user_id: str) -> Gate | None:
        """The review's rule, with who may answer it read from Slack now (before the answer's
        transaction); None when no rule covers it (ORCHESTRATE_APPROVERS decides)."""
        if self.people is None or not self.people.rules:
            return None
        if isinstance(review, str):
            review = await self.store.get_review(review)
        rule = self.people.rules.named(review.rule) if review else None
        return await self.people.gate(rule, user_id) if rule else None

    async def _after(
        self, decision: Decision, user_id: str | None = None, message_ts: str | None = None
    ) -> str | None:
        """Show a stored answer in Slack and resume the step if it completed it."""
        if decision.outcome != Outcome.RECORDED:
            return self._notice(decision, user_id)
        assert decision.run and decision.review
        bind_log_context(decision.run.run_id, decision.review.review_id)
        log.info(
            "stored %s's answer to review %s of run %s (%d of %d answered)",
            decision.review.decided_by or decision.review.notes_requested_by,
            decision.review.review_id,
            decision.run.run_id,
            decision.decided,
            decision.total,
        )
        self.metrics.stored(decision)
        self.inbox.refresh(self.inbox.concerned(decision.run, decision.review))
        # What Slack shows of it was owed with the answer (the outbox): a process killed
        # before this leaves it to the next one.
        outbox = self.driver.due.outbox
        if not decision.resume:
            await outbox.show(
                decision.owed,
                decision.run,
                decision.review,
                message_ts,
                decision.decided,
                decision.total,
            )
            return None
        # The graph resumes first; Slack shows the answer meanwhile (the drive's own messages
        # wait for that, so the thread never shows "resuming" after the step's result).
        run = dataclasses.replace(decision.run, phase="resuming")
        shown = asyncio.ensure_future(outbox.show(decision.owed, run, decision.review, message_ts))
        self.driver.begin(run, step=decision.step, shown=shown)
        await shown
        return None

    def _recorded(
        self, decision: Decision, message_ts: str | None, user_id: str | None = None
    ) -> Recorded:
        """A click's decision: a notice now, or (stored) shown and resumed after the ack."""
        if decision.outcome != Outcome.RECORDED:
            return Recorded(self._notice(decision, user_id))
        return Recorded(then=functools.partial(self._after, decision, user_id, message_ts))

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
