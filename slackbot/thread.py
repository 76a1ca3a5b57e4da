"""An orchestration's Slack thread: posts and updates its messages through the Web API client."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slackbot import blocks
from slackbot.store import Review, Run

log = logging.getLogger(__name__)

# Message metadata lets a restarted process find what it posted before it could save the ts.
REVIEW_EVENT = "orchestrate_review"
SUMMARY_EVENT = "orchestrate_summary"


class SlackThread:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post_root(self, run: Run) -> str:
        response = await self.client.chat_postMessage(
            channel=run.channel_id, **blocks.root_message(run).as_kwargs()
        )
        return response["ts"]

    async def show_root(self, run: Run, decided: int = 0, total: int = 0) -> None:
        """Progress on the root message is cosmetic: a failure is logged, never fatal."""
        if not run.root_ts:
            return
        try:
            await self.client.chat_update(
                channel=run.channel_id,
                ts=run.root_ts,
                **blocks.root_message(run, decided, total).as_kwargs(),
            )
        except SlackApiError as error:
            log.warning("could not update root message of %s: %s", run.run_id, error)

    async def post_review(self, run: Run, review: Review) -> str:
        response = await self.client.chat_postMessage(
            channel=run.channel_id,
            thread_ts=run.root_ts,
            metadata={"event_type": REVIEW_EVENT, "event_payload": {"id": review.review_id}},
            **blocks.review_message(review).as_kwargs(),
        )
        return response["ts"]

    async def show_review(self, run: Run, review: Review, ts: str | None = None) -> None:
        ts = review.message_ts or ts
        if not ts:
            return
        try:
            await self.client.chat_update(
                channel=run.channel_id, ts=ts, **blocks.review_message(review).as_kwargs()
            )
        except SlackApiError as error:  # the decision is stored; only its display is late
            log.warning("could not update review %s: %s", review.review_id, error)

    async def post_summary(self, run: Run, summary: str, plan_note: str) -> str:
        response = await self.client.chat_postMessage(
            channel=run.channel_id,
            thread_ts=run.root_ts,
            metadata={"event_type": SUMMARY_EVENT, "event_payload": {"id": run.run_id}},
            **blocks.summary_message(summary, plan_note).as_kwargs(),
        )
        return response["ts"]

    async def post_failure(self, run: Run) -> None:
        await self.client.chat_postMessage(
            channel=run.channel_id,
            thread_ts=run.root_ts,
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
                ts=run.root_ts,
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
