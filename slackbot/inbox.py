"""What waits for people: `/orchestrate status` and the App Home "Waiting for you" tab.

Reads only; the orchestrator asks for a refresh (`refresh(concerned(run, …))`) when answers
change, and the Home tabs are published again in the background, one per person per burst.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from slackbot import home
from slackbot.notices import describe
from slackbot.people import People
from slackbot.store import Review, Run, Store
from slackbot.store.inbox import Ruled
from slackbot.thread import SlackThread

log = logging.getLogger(__name__)


class Inbox:
    def __init__(
        self,
        store: Store,
        thread: SlackThread,
        approvers: frozenset[str],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self.store = store
        self.thread = thread
        self.approvers = approvers
        self.people: People | None = None  # ORCHESTRATE_RULES: who a review's rule names
        self._spawn = spawn  # the orchestrator's: tracked, cancelled at shutdown
        self._homes_due: set[str] = set()  # people whose Home tab is published again soon
        self._homes_refreshing = False

    async def status(self, team_id: str, channel_id: str, user_id: str) -> str:
        """`/orchestrate status`: this channel's runs that wait for people, as an ephemeral
        text (the same for everyone in the channel; `user_id` is who asked)."""
        try:
            runs, total = await self.store.waiting_runs(team_id, channel_id, home.STATUS_RUNS)
        except Exception as error:
            log.exception("could not read the waiting runs of %s for %s", channel_id, user_id)
            return f"I couldn't read the runs just now ({describe(error)}). Please try again."
        return home.status_text(runs, total, await self.thread.permalinks(home.status_links(runs)))

    async def show_home(self, user_id: str) -> None:
        """Publish the person's Home tab: the open reviews they may answer, newest first."""
        audience = self._audience(user_id)
        try:
            items, total = [], 0
            ruled = await self._ruled(user_id, audience)
            if audience != home.NOBODY or ruled:
                mine = None if audience == home.APPROVER else user_id
                items, total = await self.store.open_reviews_for(mine, home.HOME_REVIEWS, ruled)
            if ruled and audience == home.NOBODY:
                audience = home.RULED
            links = await self.thread.permalinks(home.home_links(items))
            view = home.home_view(items, total, links, audience, user_id)
            await self.thread.publish_home(user_id, view)
        except Exception:  # the next change or visit publishes it again
            log.exception("could not show the Home tab of %s", user_id)

    async def _ruled(self, user_id: str, audience: str) -> Ruled | None:
        """With rules: the rules that let the person answer (None without rules, or when
        they answer none and nothing else)."""
        if self.people is None or not self.people.rules:
            return None
        approves, escalated = await self.people.answers(user_id)
        if audience == home.NOBODY and not (approves or escalated):
            return None
        return Ruled(approves, escalated, unruled=audience != home.NOBODY)

    def _audience(self, user_id: str) -> str:
        if not self.approvers:
            return home.OWN
        return home.APPROVER if user_id in self.approvers else home.NOBODY

    def concerned(self, run: Run, *reviews: Review) -> set[str]:
        """Whose Home tab lists this run's reviews: the approvers when set, else the person
        who started it and whoever answered or owes notes on these reviews; and for a review
        a rule covers, the people it names (escalate_to too once the run escalated)."""
        people = set(self.approvers) or {run.started_by}
        for review in reviews:
            if not self.approvers:
                people |= {review.decided_by or "", review.notes_requested_by or ""}
            people |= self._named_by_rule(run, review)
        return people - {""}

    def _named_by_rule(self, run: Run, review: Review) -> set[str]:
        """Whom the review's rule lets answer it, as far as this process knows (cached)."""
        rule = self.people.rules.named(review.rule) if self.people else None
        if rule is None or self.people is None:
            return set()
        named = self.people.known_members(rule)
        return named | self.people.known_members(rule, "escalate_to") if run.escalated else named

    def refresh(self, people: set[str]) -> None:
        """Publish these people's Home tabs again, in the background (never delaying a click);
        a burst of answers costs one views.publish per person."""
        self._homes_due |= people
        if self._homes_due and not self._homes_refreshing:
            self._homes_refreshing = True
            self._spawn(self._publish_due_homes())

    async def _publish_due_homes(self) -> None:
        try:
            while self._homes_due:
                await asyncio.sleep(self.thread.root_delay)  # let a burst of clicks gather
                people, self._homes_due = self._homes_due, set()
                for user_id in sorted(people):
                    await self.show_home(user_id)
        finally:
            self._homes_refreshing = False
