"""Thread replies: the notes of a revision someone asked for, or chat the app leaves alone
(notes it does not take are refused aloud, never ignored in silence)."""

from __future__ import annotations

import functools
import logging

from slackbot.answering import Answering
from slackbot.logs import bind_log_context
from slackbot.notices import NOT_SAVED, NOTES_NOT_ALLOWED, NOTES_OVERTAKEN, describe
from slackbot.recording import Recorded
from slackbot.store import Decision, Outcome
from slackbot.store.answers import ADDRESSED

log = logging.getLogger(__name__)


class ThreadReplies(Answering):
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
