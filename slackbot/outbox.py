"""Doing the Slack updates a state change owes (slackbot/store/outbox.py records them).

The process that made the change does them at once; the recovery loop of every process does
what is left (a crash, a deploy, Slack failing), so what a person sees catches up with the
database. Each update draws the run as it is then; a retry waits longer each time (1 s, 2 s,
4 s … a minute), so a Slack outage costs a few calls a minute, not a storm.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence

from slackbot.notices import is_transient_fault
from slackbot.store import Review, ReviewStatus, Run, Store
from slackbot.store.outbox import REVIEW, ROOT, TIMED_OUT, Owed
from slackbot.thread import SlackThread

log = logging.getLogger(__name__)

MAX_DELAY = 60.0


class Outbox:
    def __init__(self, store: Store, thread: SlackThread) -> None:
        self.store = store
        self.thread = thread
        self._doing: set[str] = set()  # being done here: a slow Slack outlasts its claim

    async def do(
        self, owed: list[Owed], draw: Callable[[Owed], Awaitable[None]] | None = None
    ) -> bool:
        """Do these updates in order (each drawn as the store has it now, or by `draw`);
        True when Slack has all of them. At the first failure worth retrying, the rest wait
        for a retry too (any process does them later)."""
        owed = [item for item in owed if item.id not in self._doing]
        self._doing.update(item.id for item in owed)
        try:
            return await self._do(owed, draw or self._draw)
        finally:
            self._doing.difference_update(item.id for item in owed)

    async def _do(self, owed: list[Owed], draw: Callable[[Owed], Awaitable[None]]) -> bool:
        for at, item in enumerate(owed):
            try:
                await draw(item)
            except Exception as error:
                if not is_transient_fault(error):
                    if item.kind == REVIEW:  # said as it was before updates were owed
                        log.warning("could not update review %s: %s", item.target, error)
                    else:
                        log.warning(
                            "dropping an update Slack will not take (%s): %s", item.id, error
                        )
                    await self._settle(item)
                    continue
                log.warning("Slack has not taken %s yet, retrying later: %s", item.id, error)
                for left in owed[at:]:
                    try:
                        await self.store.owed_later(left, min(MAX_DELAY, 2.0**left.attempts))
                    except Exception:  # its claim runs out and it is done all the same
                        log.exception("could not put off an update owed to Slack")
                return False
            await self._settle(item)
        return True

    async def show(
        self,
        owed: Sequence[Owed],
        run: Run,
        review: Review,
        ts: str | None = None,
        decided: int = 0,
        total: int = 0,
    ) -> None:
        """What a stored answer owes: its review drawn at once (as the answer left it), the
        root as progress is (coalesced by the thread: as many Slack calls as without an
        outbox). Each is deleted once Slack has it; after a crash the next process does it.
        `ts`: the review's message, clicked before its ts was saved."""

        async def draw(_: Owed) -> None:
            await self.thread.draw_review(run, review, ts)

        await self.do([item for item in owed if item.kind == REVIEW], draw)
        roots = [functools.partial(self._settle, item) for item in owed if item.kind == ROOT]
        await self.thread.show_root(run, decided, total, settles=roots)

    async def drain(self) -> None:
        """Do what is owed and nobody is doing (what a stopped process left, retries due)."""
        try:
            owed = await self.store.claim_owed()
        except Exception:
            log.exception("could not read the Slack updates owed")
            return
        by_run: dict[str, list[Owed]] = {}
        for item in owed:
            by_run.setdefault(item.run_id, []).append(item)
        for items in by_run.values():
            await self.do(items)

    async def _settle(self, item: Owed) -> None:
        try:
            await self.store.owed_done(item)
        except Exception:  # done again after its claim runs out: each update is idempotent
            log.exception("could not mark an update to Slack done")

    async def _draw(self, item: Owed) -> None:
        if item.kind == REVIEW:
            review = await self.store.get_review(item.target)
            run = review and await self.store.get_run(review.run_id)
            if review and run:
                await self.thread.draw_review(run, review)
            return
        run = await self.store.get_run(item.target)
        if run is None:
            return
        reviews = await self.store.step_reviews(run.run_id, run.step)
        if item.kind == ROOT:
            decided = sum(r.status == ReviewStatus.DECIDED for r in reviews)
            await self.thread.draw_root(run, decided, len(reviews))
        elif item.kind == TIMED_OUT:
            expired = sum(r.status == ReviewStatus.EXPIRED for r in reviews)
            await self.thread.post_timed_out(run, expired)
