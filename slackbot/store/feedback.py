"""People's opinions of answers (the feedback buttons): one per person and answer message."""

from __future__ import annotations

from slackbot.store.core import StoreBase


class FeedbackMixin(StoreBase):
    async def record_opinion(
        self, run_id: str, channel_id: str, message_ts: str, user_id: str, opinion: str
    ) -> None:
        """Store `user_id`'s opinion of the answer `message_ts`, replacing an earlier one."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO orchestrate_feedback (channel_id, message_ts, user_id, run_id,"
                " opinion, at) VALUES (%(c)s, %(ts)s, %(u)s, %(run)s, %(o)s, %(at)s)"
                " ON CONFLICT (channel_id, message_ts, user_id)"
                " DO UPDATE SET opinion = excluded.opinion, at = excluded.at",
                {"c": channel_id, "ts": message_ts, "u": user_id, "run": run_id,
                 "o": opinion, "at": self.clock()},
            )  # fmt: skip

    async def opinion(self, channel_id: str, message_ts: str, user_id: str) -> str | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT opinion FROM orchestrate_feedback WHERE channel_id = %(c)s"
                " AND message_ts = %(ts)s AND user_id = %(u)s",
                {"c": channel_id, "ts": message_ts, "u": user_id},
            )
        return row["opinion"] if row else None
