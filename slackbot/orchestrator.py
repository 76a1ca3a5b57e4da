"""Orchestrations as people see them: start a run, record answers, cancel, retry.

Listeners call the public methods. Those that store return a Recorded (slackbot/recording.py):
stored within Slack's 3 s before the listener acks, then shown after the ack; the others return
the text of an ephemeral notice for the person, or None. The answer that completes a step
claims its resume and hands it to the driver (slackbot/driver.py), which runs the graph, posts
the step's reviews and the result. Forms (form_answers.py) and thread replies
(thread_replies.py) are answered in their own modules; what all answers share is answering.py.
"""

from __future__ import annotations

import dataclasses
import functools
import logging

from slack_sdk.errors import SlackApiError

from graphs.review import APPROVE
from slackbot.answering import Where
from slackbot.catalog import Catalog
from slackbot.driver import Driver
from slackbot.engine.inputs import InputError
from slackbot.form_answers import FormAnswers
from slackbot.logs import bind_log_context
from slackbot.metrics import Metrics
from slackbot.notices import (
    CANCEL_BUSY,
    CANCEL_LATE,
    CANCEL_NOT_ALLOWED,
    CANCEL_OVER,
    HELP,
    NOT_ALLOWED,
    NOT_IN_CHANNEL,
    NOT_RETRYABLE,
    NOTICES,
    TOO_MANY_HERE,
    TOO_MANY_OF_YOURS,
)
from slackbot.people import People
from slackbot.recording import Recorded, stored_first
from slackbot.reminding import RuleReminders
from slackbot.reviews.cancelled import can_go_on
from slackbot.steps import control_at
from slackbot.store import (
    Outcome,
    Run,
    RunLimitReached,
    Store,
)
from slackbot.thread import SlackThread
from slackbot.thread_replies import ThreadReplies

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RunLimits:
    """Runs in flight (running or waiting for people) one person, or one channel, may have."""

    per_user: int = 10
    per_channel: int = 50


class Orchestrator(FormAnswers, ThreadReplies):
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
        return Recorded(then=functools.partial(self.post_root, run))

    async def post_root(self, run: Run) -> str | None:
        """A stored run's progress message (with Cancel) posted, then the graph started; the
        line to tell the person when Slack refused it (the run is deleted then)."""
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
            # A conversation whose messages waited for the review goes on with them now.
            if going := await self.store.go_on_after_cancel(run_id, can_go_on):
                await self.thread.show_root(going)
                self.driver.begin(going)
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

    # -- the driver's work, for the server and tests ------------------------------------------

    async def start_background_work(self) -> None:
        await self.driver.start_background_work()

    async def run_due_work(self) -> None:
        await self.driver.due.run()

    async def wait_idle(self) -> None:
        await self.driver.wait_idle()

    async def close(self) -> None:
        await self.driver.close()
