"""Work that falls due while runs wait for people: steps that expire (fail closed) and
reminders. Any replica may run it; the store hands each piece to exactly one."""

from __future__ import annotations

import logging

from slackbot.inbox import Inbox
from slackbot.metrics import Metrics
from slackbot.outbox import Outbox
from slackbot.reminding import RuleReminders
from slackbot.store import ReviewStatus, Run, Store
from slackbot.thread import SlackThread

log = logging.getLogger(__name__)

REMINDERS_PER_PASS = 20


class DueWork:
    def __init__(
        self,
        store: Store,
        thread: SlackThread,
        metrics: Metrics,
        inbox: Inbox,
        approvers: frozenset[str],
    ) -> None:
        self.store = store
        self.outbox = Outbox(store, thread)
        self.thread = thread
        self.metrics = metrics
        self.inbox = inbox
        self.approvers = approvers  # whom reminders name (else who started the run)
        self.rules: RuleReminders | None = None  # ORCHESTRATE_RULES: reviews a rule covers

    async def run(self) -> None:
        """Expire steps nobody answered in time and send the reminders that are due. Any
        replica may call this; the store hands each piece of work to exactly one."""
        try:
            expired = await self.store.expire_due() if self.store.expiring else []
        except Exception:
            log.exception("could not read the work that is due")
            return
        for run, reviews, owed in expired:
            log.info("run %s expired: %d review(s) unanswered", run.run_id, len(reviews))
            self.metrics.run_ended("expired")
            self.inbox.refresh(self.inbox.concerned(run, *reviews))
            # Stored already, with what Slack must show: done now, or later by any process.
            await self.outbox.do(owed)
        await self._send_reminders()
        if self.rules:
            try:
                for run, reviews in await self.rules.escalate():  # escalate_to may answer now
                    self.inbox.refresh(self.inbox.concerned(run, *reviews))
            except Exception:
                log.exception("could not escalate")

    async def _send_reminders(self) -> None:
        # One at a time, each claimed when its turn comes: a process that dies holds one.
        for _ in range(REMINDERS_PER_PASS if self.store.reminding else 0):
            try:
                run = await self.store.claim_reminder()
            except Exception:
                log.exception("could not read the reminders that are due")
                return
            if run is None:
                return
            try:
                await self._remind(run)
            except Exception:  # its claim runs out and the next pass tries again
                log.exception("could not send a reminder for run %s", run.run_id)

    async def _remind(self, run: Run) -> None:
        reviews = await self.store.step_reviews(run.run_id, run.step)
        open_ = [
            r for r in reviews if r.status in (ReviewStatus.PENDING, ReviewStatus.AWAITING_NOTES)
        ]
        if not (self.rules and await self.rules.remind(run, open_)):
            people = sorted(self.approvers) or [run.started_by]
            await self.thread.post_reminder(run, people, open_)
        await self.store.reminder_sent(run)
