"""Reviews a rule posts in another channel: the review there with its context, and in the
run's thread where it waits, for whom, and once decided what was decided and by whom. Also the
approvals a quorum review has so far, as a line on the review."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from slackbot.people import People
from slackbot.posted import find_in_history, permalink
from slackbot.reviews import KINDS, WORKER
from slackbot.rules import is_approving
from slackbot.safe_text import clip, neutralize
from slackbot.store import Review, ReviewStatus, Run

ROUTED_EVENT = "orchestrate_routed_review"
WAITING_EVENT = "orchestrate_routed_waiting"  # the note in the run's thread saying where


def approvals_line(review: Review) -> dict[str, Any] | None:
    """ "1 of 2 approvals: ✅ @ana" on a review that needs more than one (None otherwise)."""
    if review.quorum <= 1 or not review.approvals:
        return None
    who = " ".join(f"✅ <@{u}>" for u in review.approvals)
    text = f"{len(review.approvals)} of {review.quorum} approvals: {who}"
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def with_approvals(review: Review, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    line = approvals_line(review)
    if line is None:
        return blocks
    if review.status == ReviewStatus.PENDING and blocks and blocks[-1]["type"] == "actions":
        return [*blocks[:-1], line, blocks[-1]]
    return [*blocks, line]


def decided_words(review: Review) -> tuple[str, str]:
    """(the mark and the verb, the answer in a few words or "") for a decided review: an
    approving answer reads "✅ Approved"; a Reject, an Ignore or a No "❌ Rejected"; any
    other answer "📝 Answered" with what it said."""
    answer = review.answer
    if is_approving(answer):
        return "✅ Approved", ""
    said = ""
    kind = KINDS.get(review.kind)
    if kind is not None:
        said = kind.describe(review)
    inner = answer[0] if isinstance(answer, list) and len(answer) == 1 else answer
    word = inner.get("type") or inner.get("action") if isinstance(inner, dict) else inner
    if word is False or (isinstance(word, str) and word.lower() in _REJECTING):
        return "❌ Rejected", "" if said.lower() in _REJECTING else said
    if review.kind == WORKER:
        said = "revision requested"
    return "📝 Answered", said


_REJECTING = frozenset({"reject", "rejected", "ignore", "no", "deny", "denied"})


class Routing:
    def __init__(self, client: AsyncWebClient, people: People) -> None:
        self.client = client
        self.people = people

    @staticmethod
    def routed(run: Run, review: Review) -> bool:
        return bool(review.channel_id and review.channel_id != run.channel_id)

    async def post_review(self, run: Run, review: Review, message: dict[str, Any]) -> str:
        """The review in the rule's channel, with where it comes from; a note in the thread."""
        link = await permalink(self.client, run.channel_id, run.thread)
        topic = clip(neutralize(run.topic), 300)
        thread = f"<{link}|the thread>" if link else "the thread"
        context = (
            f"From <#{run.channel_id}> · started by <@{run.started_by}> · “{topic}” · {thread}"
        )
        blocks = [{"type": "context", "elements": [{"type": "mrkdwn", "text": context}]}]
        response = await self.client.chat_postMessage(
            channel=review.channel_id,
            metadata={"event_type": ROUTED_EVENT, "event_payload": {"id": review.review_id}},
            text=message["text"],
            blocks=[*blocks, *message["blocks"]][:50],
        )
        await self.post_waiting(run, review)
        return response["ts"]

    async def post_waiting(self, run: Run, review: Review) -> None:
        await self.client.chat_postMessage(
            channel=run.channel_id,
            thread_ts=run.thread,
            metadata={"event_type": WAITING_EVENT, "event_payload": {"id": review.review_id}},
            text=await self.waiting_text(review),
        )

    async def find_posted(
        self, run: Run, reviews: list[Review], in_thread: dict[str, str]
    ) -> dict[str, str]:
        """Routed reviews posted before a crash, by review id → ts: found by their metadata in
        their channel's recent history (as a root is, thread.find_root). A found review whose
        note in the run's thread (`in_thread`: WAITING_EVENT ids there) is missing gets it."""
        wanted: dict[str, set[str]] = {}
        for review in reviews:
            if review.channel_id:
                wanted.setdefault(review.channel_id, set()).add(review.review_id)
        found: dict[str, str] = {}
        for channel, ids in wanted.items():
            found |= await find_in_history(self.client, channel, ROUTED_EVENT, ids)
        for review in reviews:
            if review.review_id in found and review.review_id not in in_thread:
                await self.post_waiting(run, review)
        return found

    async def waiting_text(self, review: Review) -> str:
        """Names, not mentions: only the review and its reminders mention people."""
        rule = self.people.rules.named(review.rule)
        names = await self.people.names(self.people.audience(rule)) if rule else []
        who = ", ".join(neutralize(n) for n in names) or "the approvers"
        many = f"{review.quorum} approvals" if review.quorum > 1 else "an answer"
        where = neutralize(self.people.channel_name(review.channel_id or ""))
        return f"⏳ Waiting for {many} from {who} in #{where}"

    async def show_decided(self, run: Run, review: Review) -> None:
        """The thread hears what was decided in the other channel, and by whom (names)."""
        if review.status != ReviewStatus.DECIDED:
            return
        what, said = decided_words(review)
        people = list(review.approvals) if is_approving(review.answer) else []
        people = people or [review.decided_by or ""]
        by = ", ".join([neutralize(await self.people.name(u)) for u in people if u])
        where = neutralize(self.people.channel_name(review.channel_id or ""))
        text = f"{what} in #{where} by {by}" + (f": {said}" if said else "")
        await self.client.chat_postMessage(channel=run.channel_id, thread_ts=run.thread, text=text)
