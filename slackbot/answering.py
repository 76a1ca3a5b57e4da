"""What every way of answering a review shares: who may answer it (ORCHESTRATE_APPROVERS or
the review's rule), and what a stored answer does next (shown in Slack, the step resumed when
it completed it) or the notice an answer not stored gets.

Orchestrator (slackbot/orchestrator.py) is one of these, with its forms (form_answers.py) and
thread replies (thread_replies.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging

from slackbot.driver import Driver
from slackbot.inbox import Inbox
from slackbot.logs import bind_log_context
from slackbot.metrics import Metrics
from slackbot.notices import ANSWERED_BY_YOU, NOTICES
from slackbot.people import People
from slackbot.recording import Recorded
from slackbot.rules import Gate
from slackbot.store import Decision, Outcome, Review, Store
from slackbot.thread import SlackThread

log = logging.getLogger(__name__)

Where = tuple[str, str] | None  # (team id, channel id) a click came from


class Answering:
    """The Orchestrator's shared state (set by its __init__) and its answers' common steps."""

    store: Store
    thread: SlackThread
    driver: Driver
    approvers: frozenset[str]
    people: People | None
    metrics: Metrics
    inbox: Inbox

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
