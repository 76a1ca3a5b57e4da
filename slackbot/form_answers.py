"""Forms: a button that opens a modal, and the modal's submission answered within Slack's 3 s
(errors shown on the form, or the answer stored, then shown and resumed in the background)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from slackbot import blocks
from slackbot.answering import Answering, Where
from slackbot.logs import bind_log_context
from slackbot.notices import (
    ANSWERED_BY_YOU,
    FORM_TOO_LATE,
    NOT_ALLOWED,
    NOT_SAVED,
    NOT_SAVED_IN_TIME,
    NOTICES,
    describe,
)
from slackbot.reviews import KINDS
from slackbot.steps import control_at
from slackbot.store import Decision, Outcome, ReviewStatus
from slackbot.store.retry import deadline

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


# A form submission is answered within Slack's 3 s: its database work gets STORE_SECONDS,
# and the answer goes back by FORM_SECONDS whatever the database does.
STORE_SECONDS, FORM_SECONDS = 2.0, 2.5


class FormAnswers(Answering):
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
