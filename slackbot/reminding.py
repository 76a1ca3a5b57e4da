"""Reminders and escalation for reviews a rule covers: posted where the review is (the run's
thread, or the rule's channel), mentioning the rule's approvers; one interval after the last
reminder, the rule's `escalate_to` are mentioned and may answer too."""

from __future__ import annotations

from collections import defaultdict

from slackbot.blocks import slack_date
from slackbot.people import People
from slackbot.store import Review, Run, Store
from slackbot.thread import REMINDER_EVENT, SlackThread


class RuleReminders:
    def __init__(self, store: Store, thread: SlackThread, people: People) -> None:
        self.store = store
        self.thread = thread
        self.people = people

    async def remind(self, run: Run, reviews: list[Review]) -> bool:
        """Remind the rules' approvers of the open reviews; False when no rule covers them."""
        if not any(r.rule for r in reviews):
            return False
        number = f"{run.run_id}:{run.reminders_sent + 1}"
        if number in await self.thread.find_posted(run, REMINDER_EVENT):
            return True  # an earlier attempt posted it
        for (channel, thread_ts), mentions, waiting in self._places(run, reviews, "approvers"):
            since = slack_date(run.waiting_since or 0)
            text = f"⏰ {' '.join(mentions)}: {waiting} review(s) wait for an answer since {since}."
            await self.thread.client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=text,
                metadata={"event_type": REMINDER_EVENT, "event_payload": {"id": number}},
            )
        return True

    async def escalate(self) -> list[tuple[Run, list[Review]]]:
        """Escalate the runs due (once each); returns them with their escalated reviews."""
        escalated = await self.store.claim_escalations()
        for run, reviews in escalated:
            for (channel, thread_ts), mentions, waiting in self._places(
                run, reviews, "escalate_to"
            ):
                since = slack_date(run.waiting_since or 0)
                await self.thread.client.chat_postMessage(
                    channel=channel,
                    thread_ts=thread_ts,
                    text=f"⏫ Escalated to {' '.join(mentions)}: {waiting} review(s) unanswered"
                    f" since {since}; you may answer them now.",
                )
        return escalated

    def _places(self, run: Run, reviews: list[Review], key: str):
        """(where, whom to mention, how many reviews) for each place the reviews are."""
        found: dict[tuple[str, str | None], tuple[list[str], int]] = defaultdict(lambda: ([], 0))
        for review in reviews:
            rule = self.people.rules.named(review.rule)
            if rule is None:
                continue
            routed = review.channel_id and review.channel_id != run.channel_id
            where = (review.channel_id, None) if routed else (run.channel_id, run.thread)
            mentions, count = found[where]  # type: ignore[index]
            new = [m for m in self.people.audience(rule, key).mentions() if m not in mentions]
            found[where] = ([*mentions, *new], count + 1)  # type: ignore[index]
        return [(where, mentions, count) for where, (mentions, count) in found.items() if mentions]
