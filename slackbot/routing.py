"""Reviews a rule posts in another channel: the review there with its context, and in the
run's thread where it waits, for whom, and once decided what was decided and by whom. Also the
approvals a quorum review has so far, as a line on the review."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from slackbot.people import People
from slackbot.rules import is_approving
from slackbot.safe_text import clip, neutralize
from slackbot.store import Review, ReviewStatus, Run

ROUTED_EVENT = "orchestrate_routed_review"


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


class Routing:
    def __init__(self, client: AsyncWebClient, people: People) -> None:
        self.client = client
        self.people = people

    @staticmethod
    def routed(run: Run, review: Review) -> bool:
        return bool(review.channel_id and review.channel_id != run.channel_id)

    async def post_review(self, run: Run, review: Review, message: dict[str, Any]) -> str:
        """The review in the rule's channel, with where it comes from; a note in the thread."""
        link = await self._permalink(run.channel_id, run.thread)
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
        await self.client.chat_postMessage(
            channel=run.channel_id, thread_ts=run.thread, text=self.waiting_text(review)
        )
        return response["ts"]

    def waiting_text(self, review: Review) -> str:
        """Names, not mentions: only the review and its reminders mention people."""
        rule = self.people.rules.named(review.rule)
        who = self.people.audience(rule).names() if rule else "the approvers"
        many = f"{review.quorum} approvals" if review.quorum > 1 else "an answer"
        where = self.people.channel_name(review.channel_id or "")
        return f"⏳ Waiting for {many} from {who} in #{where}"

    async def show_decided(self, run: Run, review: Review) -> None:
        """The thread hears what was decided in the other channel, and by whom."""
        if review.status != ReviewStatus.DECIDED:
            return
        what = "Approved" if is_approving(review.answer) else "Answered"
        by = ", ".join(f"<@{u}>" for u in review.approvals) or f"<@{review.decided_by}>"
        where = self.people.channel_name(review.channel_id or "")
        await self.client.chat_postMessage(
            channel=run.channel_id,
            thread_ts=run.thread,
            text=f"✅ {what} in #{where} by {by}",
        )

    async def _permalink(self, channel: str, ts: str | None) -> str | None:
        if not ts:
            return None
        try:
            response = await self.client.chat_getPermalink(channel=channel, message_ts=ts)
        except Exception:
            return None
        return response.get("permalink")
