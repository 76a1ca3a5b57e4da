"""The work behind driving runs: the tasks this process drives runs in, the leases it holds on
them (all renewed in one statement per interval), and recovery of runs whose driver died
(crash, deploy) once their lease expires."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterator
from typing import Any

from slackbot.due import DueWork
from slackbot.store import Run, Store
from slackbot.thread import SlackThread

log = logging.getLogger(__name__)


class RunLeases:
    """The Driver's tasks and leases (its state is set by Driver.__init__; `drive` is its)."""

    store: Store
    thread: SlackThread
    due: DueWork
    held: dict[str, asyncio.Task]
    _tasks: set[asyncio.Task]
    _background: list[asyncio.Task]
    _closing: bool

    async def start_background_work(self) -> None:
        """Keep this process's leases; pick up runs whose driver died (crash, deploy) now and
        whenever a lease expires."""
        self._background = [
            asyncio.create_task(self._renew_leases_forever()),
            asyncio.create_task(self._recover_forever()),
        ]

    async def close(self) -> None:
        self._closing = True  # listeners still finishing must not start new work
        tasks = [*self._tasks, *self._background]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.thread.close()
        with contextlib.suppress(Exception):
            await self.store.release_leases()

    async def wait_idle(self) -> None:
        """Wait until no run is being driven by this process (tests and the demo use this)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _recover_forever(self) -> None:
        while True:
            try:
                for run in await self.store.claim_expired():
                    log.info("taking over run %s (its lease expired)", run.run_id)
                    self.begin(run, recovering=True)
            except Exception:
                log.exception("recovery pass failed")
            await self.due.run()
            await self.due.outbox.drain()  # Slack updates a stopped process left owed
            await asyncio.sleep(self.store.lease_seconds / 3)

    @contextlib.contextmanager
    def hold(self, run_id: str) -> Iterator[None]:
        """Keep renewing the lease of a run the current task works on (not driving it yet)."""
        self.held[run_id] = asyncio.current_task()  # type: ignore[assignment]
        try:
            yield
        finally:
            del self.held[run_id]

    def begin(self, run: Run, **how: Any) -> None:
        """Drive the run in the background (see `drive` for `how`)."""
        self.spawn(self.drive(run, **how))

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        if self._closing:
            work.close()  # the lease expires and another process (or the restart) takes over
            return
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _renew_leases_forever(self) -> None:
        """One statement per interval renews every lease this process holds; a run another
        process took over meanwhile (this one stalled past its lease) stops here."""
        while True:
            await asyncio.sleep(self.store.lease_seconds / 3)
            held = dict(self.held)
            if not held:
                continue
            try:
                taken = await self.store.renew_leases(held)
            except Exception:
                log.exception("could not renew this process's leases")
                continue
            for run_id in taken:
                if self.held.get(run_id) is held[run_id]:
                    log.warning("run %s was taken over by another process", run_id)
                    held[run_id].cancel()
