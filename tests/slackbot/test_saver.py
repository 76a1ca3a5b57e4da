"""The app's checkpointer: LangGraph's AsyncPostgresSaver on the pool, without its instance lock
(each call takes its own pooled connection). Concurrent runs must still lose nothing."""

from __future__ import annotations

import asyncio
import uuid

from langgraph.checkpoint.base import empty_checkpoint

from slackbot.persistence import pooled_saver
from slackbot.postgres import open_pool


async def test_concurrent_checkpoint_writes_and_reads_on_the_pool_all_persist(pg_url):
    async with open_pool(pg_url, max_size=4) as pool:
        saver = pooled_saver(pool)
        await saver.setup()
        threads = [uuid.uuid4().hex for _ in range(60)]

        async def write(thread_id: str) -> dict:
            checkpoint = empty_checkpoint()
            checkpoint["channel_values"] = {"topic": thread_id}
            checkpoint["channel_versions"] = {"topic": 1}
            config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
            stored = await saver.aput(
                config, checkpoint, {"source": "input", "step": -1}, {"topic": 1}
            )
            await saver.aput_writes(stored, [("topic", f"next {thread_id}")], task_id="t1")
            return stored

        stored = await asyncio.gather(*(write(t) for t in threads))
        found = await asyncio.gather(*(saver.aget_tuple(config) for config in stored))
        for thread_id, config, item in zip(threads, stored, found, strict=True):
            assert item is not None and item.config == config
            assert item.checkpoint["channel_values"] == {"topic": thread_id}
            assert item.pending_writes == [("t1", "topic", f"next {thread_id}")]
