"""The app's checkpointer: LangGraph's AsyncPostgresSaver on the pool, its instance lock widened
to half the pool (each call takes its own pooled connection). Concurrent runs lose nothing, and
checkpoint work never queues at the pool, where people's answers would wait behind it."""

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

        await asyncio.gather(*(write(uuid.uuid4().hex) for _ in range(20)))  # the pool grows
        pool.pop_stats()
        stored = await asyncio.gather(*(write(t) for t in threads))
        found = await asyncio.gather(*(saver.aget_tuple(config) for config in stored))
        for thread_id, config, item in zip(threads, stored, found, strict=True):
            assert item is not None and item.config == config
            assert item.checkpoint["channel_values"] == {"topic": thread_id}
            assert item.pending_writes == [("t1", "topic", f"next {thread_id}")]
        stats = pool.pop_stats()
        assert stats["requests_num"] >= 180  # three calls each: they did use the pool …
        assert stats.get("requests_queued", 0) == 0  # … and never waited for a connection
