"""The ts of each step's streamed message (a restart finishes it instead of posting again)."""

from __future__ import annotations

from slackbot.store.core import StoreBase


class LiveMixin(StoreBase):
    async def live_message(self, run_id: str, step: int) -> str | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT ts FROM orchestrate_live_messages"
                " WHERE run_id = %(id)s AND step = %(step)s",
                {"id": run_id, "step": step},
            )
        return row["ts"] if row else None

    async def save_live_message(self, run_id: str, step: int, ts: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO orchestrate_live_messages (run_id, step, ts)"
                " VALUES (%(id)s, %(step)s, %(ts)s) ON CONFLICT (run_id, step) DO NOTHING",
                {"id": run_id, "step": step, "ts": ts},
            )
