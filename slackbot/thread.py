"""An orchestration's Slack thread: posts and updates its messages through the Web API client."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slackbot import blocks
from slackbot.posted import find_in_history, permalink
from slackbot.routing import WAITING_EVENT, Routing, with_approvals
from slackbot.store import Review, Run

log = logging.getLogger(__name__)

# Message metadata lets a restarted process find what it posted before it could save the ts.
REVIEW_EVENT = "orchestrate_review"
SUMMARY_EVENT = "orchestrate_summary"
TIMED_OUT_EVENT = "orchestrate_timed_out"
ROOT_EVENT = "orchestrate_root"
HISTORY_PAGES = 5  # of 200 messages: how far back a restarted process looks for a root


# Root progress is coalesced: within ROOT_DELAY the most advanced state wins, and only it is
# sent. This keeps Slack calls per orchestration near 2n + 4 however fast clicks come.
ROOT_DELAY = 0.5
_PHASE_ORDER = {
    "planning": 0,
    "waiting": 1,
    "resuming": 2,
    "failed": 3,
    "done": 4,
    "cancelled": 5,
    "expired": 5,
}
_FINAL = {"failed", "done", "cancelled", "expired"}
REMINDER_EVENT = "orchestrate_reminder"
PERMALINKS_AT_ONCE = 10  # chat.getPermalink calls in flight for one Home tab or status
PERMALINKS_KEPT = 10_000


def result_metadata(run: Run) -> dict:
    """The metadata of the message showing a run's (or a turn's) result: found after a restart."""
    return {"event_type": SUMMARY_EVENT, "event_payload": {"id": run.result_key}}


class SlackThread:
    def __init__(
        self, client: AsyncWebClient, root_delay: float = ROOT_DELAY, model: str | None = None
    ) -> None:
        self.client = client
        self.model = model  # the LLM the built-in graph drafts with, named on its messages
        self.root_delay = root_delay
        self._root_pending: dict[str, tuple[tuple[int, int, int], Run, int, int]] = {}
        self._root_timers: dict[str, asyncio.Task] = {}
        # Done once the root is drawn: settling the outbox entries a drawing pays (outbox.py)
        self._root_settles: dict[str, list[Callable[[], Awaitable[None]]]] = {}
        self._links: dict[tuple[str, str], str] = {}  # (channel, ts) → permalink: never changes
        self.routing: Routing | None = None  # ORCHESTRATE_RULES: reviews posted elsewhere
        self._names: dict[str, str] = {}  # user id → the name people know them by

    async def close(self) -> None:
        for timer in self._root_timers.values():
            timer.cancel()
        await asyncio.gather(*self._root_timers.values(), return_exceptions=True)

    async def name_of(self, user: str) -> str:
        """A person's display name (for text a graph reads, never a mention); their id when
        Slack does not say."""
        if user not in self._names:
            try:
                info = (await self.client.users_info(user=user)).get("user") or {}
                profile = info.get("profile") or {}
                name = profile.get("display_name") or info.get("real_name") or info.get("name")
            except SlackApiError:
                name = None
            self._names[user] = str(name or user)
        return self._names[user]

    async def post_root(self, run: Run) -> str:
        # A conversation's progress message is the app's first reply to the person's message.
        response = await self.client.chat_postMessage(
            channel=run.channel_id,
            metadata={"event_type": ROOT_EVENT, "event_payload": {"id": run.run_id}},
            **({"thread_ts": run.thread_ts} if run.thread_ts else {}),
            **blocks.root_message(run).as_kwargs(),
        )
        return response["ts"]

    async def find_root(self, run: Run) -> str | None:
        """The ts of the run's root message if a process posted it and died before saving it
        (found by its metadata in the channel's recent history, or in the conversation's
        thread when the root is a reply to a person's message)."""
        if run.thread_ts:
            return (await self.find_posted(run, ROOT_EVENT)).get(run.run_id)
        found = await find_in_history(
            self.client, run.channel_id, ROOT_EVENT, {run.run_id}, HISTORY_PAGES
        )
        return found.get(run.run_id)

    async def show_root(
        self,
        run: Run,
        decided: int = 0,
        total: int = 0,
        again: bool = False,
        settles: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        """Show progress on the root message: at once when final, else coalesced. `again`: the
        step waits again (the graph refused an answer), though it had reached resuming.
        `settles`: called once a drawing of the root after this one reached Slack."""
        if not run.root_ts:
            return
        if settles:
            self._root_settles.setdefault(run.run_id, []).extend(settles)
        if again:
            self._root_pending.pop(run.run_id, None)
        if run.phase in _FINAL:
            timer = self._root_timers.pop(run.run_id, None)
            if timer:
                timer.cancel()
            self._root_pending.pop(run.run_id, None)
            await self._update_root(run, decided, total)
            return
        order = (run.step, _PHASE_ORDER.get(run.phase, 0), decided)
        pending = self._root_pending.get(run.run_id)
        if pending is None or order >= pending[0]:
            self._root_pending[run.run_id] = (order, run, decided, total)
        if run.run_id not in self._root_timers:
            self._root_timers[run.run_id] = asyncio.create_task(self._root_later(run.run_id))

    async def _root_later(self, run_id: str) -> None:
        await asyncio.sleep(self.root_delay)
        self._root_timers.pop(run_id, None)
        pending = self._root_pending.pop(run_id, None)
        if pending:
            _, run, decided, total = pending
            await self._update_root(run, decided, total)

    async def _update_root(self, run: Run, decided: int, total: int) -> None:
        """Progress on the root message is cosmetic: a failure is logged, never fatal."""
        try:
            await self.draw_root(run, decided, total)
        except SlackApiError as error:
            log.warning("could not update root message of %s: %s", run.run_id, error)

    async def draw_root(self, run: Run, decided: int = 0, total: int = 0) -> None:
        """The root as the run is now, at once (progress still coalescing is dropped); raises
        when Slack fails. For updates a state change owes (slackbot/outbox.py)."""
        timer = self._root_timers.pop(run.run_id, None)
        if timer:
            timer.cancel()
        self._root_pending.pop(run.run_id, None)
        if run.root_ts:
            await self.client.chat_update(
                channel=run.channel_id,
                ts=run.root_ts,
                **blocks.root_message(run, decided, total).as_kwargs(),
            )
        for settle in self._root_settles.pop(run.run_id, []):
            await settle()

    def _review(self, review: Review) -> dict:
        message = blocks.review_message(review, self.model)
        return {"text": message.text, "blocks": with_approvals(review, message.blocks)}

    async def post_review(self, run: Run, review: Review) -> str:
        if self.routing and self.routing.routed(run, review):
            return await self.routing.post_review(run, review, self._review(review))
        response = await self.client.chat_postMessage(
            channel=run.channel_id,
            thread_ts=run.thread,
            metadata={"event_type": REVIEW_EVENT, "event_payload": {"id": review.review_id}},
            **self._review(review),
        )
        return response["ts"]

    async def find_reviews(self, run: Run, reviews: list[Review]) -> dict[str, str]:
        """Reviews a process posted before it died unsaved, by review id → ts: in the run's
        thread by their metadata, and those a rule posts in another channel in its history."""
        found = await self.find_posted(run, REVIEW_EVENT)
        routed = [r for r in reviews if self.routing and self.routing.routed(run, r)]
        if self.routing and routed:
            noted = await self.find_posted(run, WAITING_EVENT)
            found |= await self.routing.find_posted(run, routed, noted)
        return found

    async def show_review(self, run: Run, review: Review, ts: str | None = None) -> None:
        try:
            await self.draw_review(run, review, ts)
        except SlackApiError as error:  # the decision is stored; only its display is late
            log.warning("could not update review %s: %s", review.review_id, error)

    async def draw_review(self, run: Run, review: Review, ts: str | None = None) -> None:
        """The review's message as the review is now; raises when Slack fails."""
        ts = review.message_ts or ts
        routed = self.routing is not None and self.routing.routed(run, review)
        if ts:
            await self.client.chat_update(
                channel=review.channel_id if routed else run.channel_id,
                ts=ts,
                **self._review(review),
            )
            if routed and self.routing:
                await self.routing.show_decided(run, review)

    async def post_result(self, run: Run, message: blocks.Message) -> str:
        """The summary (built-in graph) or the result of the graph, once per run."""
        response = await self.client.chat_postMessage(
            channel=run.channel_id,
            thread_ts=run.thread,
            metadata=result_metadata(run),
            **message.as_kwargs(),
        )
        return response["ts"]

    async def open_form(self, trigger_id: str, view: dict) -> None:
        await self.client.views_open(trigger_id=trigger_id, view=view)

    async def post_failure(self, run: Run) -> None:
        await self.client.chat_postMessage(
            channel=run.channel_id,
            thread_ts=run.thread,
            **blocks.failure_message(run).as_kwargs(),
        )

    async def show_retry(self, run: Run, ts: str, retried_by: str) -> None:
        try:
            await self.client.chat_update(
                channel=run.channel_id,
                ts=ts,
                **blocks.failure_message(run, retried_by=retried_by).as_kwargs(),
            )
        except SlackApiError as error:
            log.warning("could not update failure message of %s: %s", run.run_id, error)

    async def post_timed_out(self, run: Run, unanswered: int) -> None:
        """The thread's "timed out" note, once per run (an earlier attempt's is found)."""
        if run.run_id in await self.find_posted(run, TIMED_OUT_EVENT):
            return
        await self.client.chat_postMessage(
            channel=run.channel_id,
            thread_ts=run.thread,
            metadata={"event_type": TIMED_OUT_EVENT, "event_payload": {"id": run.run_id}},
            **blocks.timed_out_message(run, unanswered).as_kwargs(),
        )

    async def post_reminder(self, run: Run, people: list[str], reviews: list[Review]) -> None:
        """One reminder (its number in the metadata), unless an earlier attempt posted it."""
        number = f"{run.run_id}:{run.reminders_sent + 1}"
        if number in await self.find_posted(run, REMINDER_EVENT):
            return
        links = [await permalink(self.client, run.channel_id, r.message_ts) for r in reviews]
        message = blocks.reminder_message(run, people, [x for x in links if x], len(reviews))
        await self.client.chat_postMessage(
            channel=run.channel_id,
            thread_ts=run.thread,
            metadata={"event_type": REMINDER_EVENT, "event_payload": {"id": number}},
            **message.as_kwargs(),
        )

    async def permalinks(self, messages: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Links to (channel, ts) messages for the Home tab and status, each asked of Slack
        once per process (a few at a time); a message Slack gives no link for has none."""
        missing = [m for m in dict.fromkeys(messages) if m not in self._links]
        for start in range(0, len(missing), PERMALINKS_AT_ONCE):
            batch = missing[start : start + PERMALINKS_AT_ONCE]
            found = await asyncio.gather(
                *(permalink(self.client, *message) for message in batch), return_exceptions=True
            )
            for message, link in zip(batch, found, strict=True):
                if isinstance(link, str) and link:
                    if len(self._links) >= PERMALINKS_KEPT:
                        self._links.pop(next(iter(self._links)))  # the oldest
                    self._links[message] = link
        return {m: self._links[m] for m in messages if m in self._links}

    async def publish_home(self, user_id: str, view: dict) -> None:
        """Set a person's App Home tab (views.publish). A failure is logged: the next change or
        visit publishes it again."""
        try:
            await self.client.views_publish(user_id=user_id, view=view)
        except SlackApiError as error:
            log.warning("could not publish the Home tab of %s: %s", user_id, error)

    async def tell(
        self, channel_id: str, user_id: str, text: str, thread_ts: str | None = None
    ) -> None:
        """An ephemeral line for one person, when no response_url is at hand."""
        where = {"thread_ts": thread_ts} if thread_ts else {}
        try:
            await self.client.chat_postEphemeral(
                channel=channel_id, user=user_id, text=text, **where
            )
        except SlackApiError as error:
            log.warning("could not tell %s in %s: %s", user_id, channel_id, error)

    async def acknowledge_reply(self, channel_id: str, ts: str) -> None:
        try:
            await self.client.reactions_add(channel=channel_id, timestamp=ts, name="memo")
        except SlackApiError as error:
            log.warning("could not react to reply %s: %s", ts, error)

    async def find_posted(self, run: Run, event_type: str) -> dict[str, str]:
        """Messages of ours already in the thread, by metadata id → ts (used after a restart)."""
        found: dict[str, str] = {}
        cursor = None
        for _page in range(10):
            response = await self.client.conversations_replies(
                channel=run.channel_id,
                ts=run.thread,
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
            for message in response.get("messages", []):
                metadata = message.get("metadata") or {}
                if metadata.get("event_type") == event_type:
                    found[metadata.get("event_payload", {}).get("id", "")] = message["ts"]
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return found
